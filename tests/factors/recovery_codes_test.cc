#include "factors/recovery_codes.h"

#include <gtest/gtest.h>

#include <array>
#include <regex>
#include <set>
#include <string>

#include "crypto/hash.h"

namespace stepup::factors {
namespace {

TEST(RecoveryCodes, AlphabetHas32ReadableSymbols) {
  EXPECT_EQ(kRecoveryCodeAlphabet.size(), 32u);
  EXPECT_EQ(std::set<char>(kRecoveryCodeAlphabet.begin(), kRecoveryCodeAlphabet.end()).size(), 32u);
  for (const char bad : {'1', 'i', 'l', 'o', 'I', 'L', 'O', '-', ' '}) {
    EXPECT_EQ(kRecoveryCodeAlphabet.find(bad), std::string_view::npos) << bad;
  }
}

TEST(RecoveryCodes, CountAndFormat) {
  const std::regex kFormat("[023456789a-hjkmnp-z]{4}(-[023456789a-hjkmnp-z]{4}){3}");
  for (const int count : {1, 8, 10, 16}) {
    const auto codes = generate_recovery_codes(count);
    ASSERT_EQ(codes.size(), static_cast<std::size_t>(count));
    for (const auto& code : codes) {
      EXPECT_EQ(code.size(), 19u);
      EXPECT_TRUE(std::regex_match(code, kFormat)) << code;
      // Every generated code survives normalisation unchanged (minus dashes).
      const auto n = normalize_recovery_code(code);
      ASSERT_TRUE(n.has_value()) << code;
      std::string undashed = code;
      std::erase(undashed, '-');
      EXPECT_EQ(*n, undashed);
    }
  }
  EXPECT_TRUE(generate_recovery_codes(0).empty());
  EXPECT_TRUE(generate_recovery_codes(-3).empty());
}

TEST(RecoveryCodes, UniqueOver10kCodes) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    for (auto& code : generate_recovery_codes(10)) seen.insert(std::move(code));
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(RecoveryCodes, SymbolsAreRoughlyUniform) {
  // 10k codes x 16 symbols = 160k draws, 5000 expected per symbol. A
  // generator stuck on 31 symbols or biased by modulo would show up as an
  // empty bucket or a bucket far off; +-15% is > 10 standard deviations.
  std::array<int, 256> counts{};
  for (int i = 0; i < 1000; ++i) {
    for (const auto& code : generate_recovery_codes(10)) {
      for (const char c : code) {
        if (c != '-') ++counts[static_cast<unsigned char>(c)];
      }
    }
  }
  int total = 0;
  for (const char c : kRecoveryCodeAlphabet) {
    const int n = counts[static_cast<unsigned char>(c)];
    EXPECT_GT(n, 4250) << c;
    EXPECT_LT(n, 5750) << c;
    total += n;
  }
  EXPECT_EQ(total, 160000);  // nothing outside the alphabet
}

TEST(RecoveryCodes, NormalisesLooseInput) {
  EXPECT_EQ(normalize_recovery_code("7KQ3 M9XD-2hpt wc4n"), "7kq3m9xd2hptwc4n");
  EXPECT_EQ(normalize_recovery_code("7kq3-m9xd-2hpt-wc4n"), "7kq3m9xd2hptwc4n");
  EXPECT_EQ(normalize_recovery_code("  7kq3m9xd2hptwc4n  "), "7kq3m9xd2hptwc4n");
  EXPECT_EQ(normalize_recovery_code("7kq3--m9xd\t2hpt wc4n"), "7kq3m9xd2hptwc4n");
  // The letter o is read as the digit zero.
  EXPECT_EQ(normalize_recovery_code("0kq3-m9xd-2hpt-wc4n"), "0kq3m9xd2hptwc4n");
  EXPECT_EQ(normalize_recovery_code("Okq3-m9xd-2hpt-wc4n"), "0kq3m9xd2hptwc4n");
  EXPECT_EQ(normalize_recovery_code("okq3-m9xd-2hpt-wc4n"), "0kq3m9xd2hptwc4n");
}

TEST(RecoveryCodes, RejectsInvalidInput) {
  EXPECT_EQ(normalize_recovery_code(""), std::nullopt);
  EXPECT_EQ(normalize_recovery_code("----"), std::nullopt);
  EXPECT_EQ(normalize_recovery_code("7kq3-m9xd-2hpt-wc4"), std::nullopt);    // 15 symbols
  EXPECT_EQ(normalize_recovery_code("7kq3-m9xd-2hpt-wc4nn"), std::nullopt);  // 17 symbols
  EXPECT_EQ(normalize_recovery_code("1kq3-m9xd-2hpt-wc4n"), std::nullopt);   // '1'
  EXPECT_EQ(normalize_recovery_code("ikq3-m9xd-2hpt-wc4n"), std::nullopt);   // 'i'
  EXPECT_EQ(normalize_recovery_code("lkq3-m9xd-2hpt-wc4n"), std::nullopt);   // 'l'
  EXPECT_EQ(normalize_recovery_code("7kq3_m9xd_2hpt_wc4n"), std::nullopt);   // '_'
  EXPECT_EQ(normalize_recovery_code("7kq3.m9xd.2hpt.wc4n"), std::nullopt);
  EXPECT_EQ(normalize_recovery_code("7kq3-m9xd-2hpt-wc4\xc3\xb1"), std::nullopt);  // UTF-8
  EXPECT_EQ(normalize_recovery_code(std::string("7kq3m9xd2hptwc4\0", 16)), std::nullopt);
  // Lots of separators around a valid code: bounded input is refused.
  EXPECT_EQ(normalize_recovery_code(std::string(100, ' ') + "7kq3m9xd2hptwc4n"), std::nullopt);
}

TEST(RecoveryCodes, HashIsSha256HexOfTheNormalisedCode) {
  const auto n = normalize_recovery_code("7KQ3 M9XD-2hpt wc4n");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(recovery_code_hash(*n), crypto::sha256_hex("7kq3m9xd2hptwc4n"));
  EXPECT_EQ(recovery_code_hash(*n),
            recovery_code_hash(*normalize_recovery_code("7kq3m9xd2hptwc4n")));
  EXPECT_NE(recovery_code_hash(*n),
            recovery_code_hash(*normalize_recovery_code("7kq3m9xd2hptwc4m")));
  EXPECT_EQ(recovery_code_hash(*n).size(), 64u);
}

}  // namespace
}  // namespace stepup::factors
