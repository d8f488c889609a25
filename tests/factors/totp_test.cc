#include "factors/totp.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace stepup::factors {
namespace {

// RFC 6238 Appendix B seeds: the ASCII digits repeated to the hash size.
const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 = "1234567890123456789012345678901234567890123456789012345678901234";

TotpParams params(TotpAlg alg, int digits = 6, int window = 1) {
  TotpParams p;
  p.alg = alg;
  p.digits = digits;
  p.window = window;
  return p;
}

// RFC 6238 Appendix B: time, then 8-digit TOTP for SHA1, SHA256, SHA512.
struct Rfc6238Row {
  core::UnixTime time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};
constexpr Rfc6238Row kRfc6238[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

TEST(Totp, Rfc6238AppendixBSha1) {
  for (const auto& row : kRfc6238) {
    EXPECT_EQ(totp_code(kSeed20, row.time, params(TotpAlg::kSha1, 8)), row.sha1) << row.time;
  }
}

TEST(Totp, Rfc6238AppendixBSha256) {
  for (const auto& row : kRfc6238) {
    EXPECT_EQ(totp_code(kSeed32, row.time, params(TotpAlg::kSha256, 8)), row.sha256) << row.time;
  }
}

TEST(Totp, Rfc6238AppendixBSha512) {
  for (const auto& row : kRfc6238) {
    EXPECT_EQ(totp_code(kSeed64, row.time, params(TotpAlg::kSha512, 8)), row.sha512) << row.time;
  }
}

TEST(Totp, Rfc6238StepValues) {
  // RFC 6238 Appendix B lists T in hex: 59 -> 1, 1111111109 -> 0x23523EC,
  // 20000000000 -> 0x27BC86AA.
  const TotpParams p;
  EXPECT_EQ(totp_step(59, p), 1);
  EXPECT_EQ(totp_step(1111111109, p), 0x23523EC);
  EXPECT_EQ(totp_step(20000000000, p), 0x27BC86AA);
  EXPECT_EQ(totp_step(0, p), 0);
  EXPECT_EQ(totp_step(29, p), 0);
  EXPECT_EQ(totp_step(30, p), 1);
  EXPECT_EQ(totp_step(-1, p), -1);  // floor, not truncation toward zero
}

// RFC 4226 Appendix D: HOTP values for counters 0..9, 6 digits, SHA1.
TEST(Hotp, Rfc4226AppendixD) {
  const char* kExpected[] = {"755224", "287082", "359152", "969429", "338314",
                             "254676", "287922", "162583", "399871", "520489"};
  const TotpParams p;
  for (std::uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(hotp_code(kSeed20, counter, p), kExpected[counter]) << counter;
  }
}

TEST(Hotp, SevenDigitsIsTheLowSevenOfTheTruncatedValue) {
  // RFC 4226 Appendix D gives the truncated decimal for counter 0: 1284755224.
  EXPECT_EQ(hotp_code(kSeed20, 0, params(TotpAlg::kSha1, 7)), "4755224");
  EXPECT_EQ(hotp_code(kSeed20, 0, params(TotpAlg::kSha1, 8)), "84755224");
}

TEST(Totp, InvalidParamsYieldNoCode) {
  EXPECT_EQ(hotp_code(kSeed20, 0, params(TotpAlg::kSha1, 5)), "");
  EXPECT_EQ(hotp_code(kSeed20, 0, params(TotpAlg::kSha1, 9)), "");
  TotpParams p;
  p.period = 0;
  EXPECT_FALSE(totp_params_valid(p));
  EXPECT_EQ(totp_code(kSeed20, 59, p), "");
  EXPECT_EQ(totp_step(59, p), 0);
  p = TotpParams{};
  p.window = -1;
  EXPECT_FALSE(totp_params_valid(p));
  EXPECT_TRUE(totp_params_valid(TotpParams{}));
}

TEST(Totp, AlgNames) {
  EXPECT_EQ(to_string(TotpAlg::kSha1), "SHA1");
  EXPECT_EQ(to_string(TotpAlg::kSha256), "SHA256");
  EXPECT_EQ(to_string(TotpAlg::kSha512), "SHA512");
  EXPECT_EQ(totp_alg_from_string("sha256"), TotpAlg::kSha256);
  EXPECT_EQ(totp_alg_from_string("Sha512"), TotpAlg::kSha512);
  EXPECT_EQ(totp_alg_from_string("SHA1"), TotpAlg::kSha1);
  EXPECT_EQ(totp_alg_from_string("MD5"), std::nullopt);
  EXPECT_EQ(totp_alg_from_string(""), std::nullopt);
  EXPECT_EQ(totp_alg_from_string("SHA-1"), std::nullopt);
}

TEST(Totp, NewSecretSizesMatchTheHash) {
  EXPECT_EQ(totp_new_secret(params(TotpAlg::kSha1)).size(), 20u);
  EXPECT_EQ(totp_new_secret(params(TotpAlg::kSha256)).size(), 32u);
  EXPECT_EQ(totp_new_secret(params(TotpAlg::kSha512)).size(), 64u);
  EXPECT_NE(totp_new_secret(TotpParams{}), totp_new_secret(TotpParams{}));
}

// --- verification ----------------------------------------------------------

constexpr core::UnixTime kNow = 1111111111;  // step 37037037, 1 s into the step

TEST(TotpVerify, AcceptsTheCurrentStep) {
  const TotpParams p;
  const std::string code = totp_code(kSeed20, kNow, p);
  EXPECT_EQ(totp_verify(kSeed20, code, kNow, -1, p), totp_step(kNow, p));
}

TEST(TotpVerify, WindowEdges) {
  const TotpParams p;  // window 1
  const std::int64_t step = totp_step(kNow, p);
  const core::UnixTime step_start = step * p.period;
  // Codes from one step either side are accepted and report their own step.
  EXPECT_EQ(totp_verify(kSeed20, totp_code(kSeed20, step_start - 1, p), kNow, -1, p), step - 1);
  EXPECT_EQ(totp_verify(kSeed20, totp_code(kSeed20, step_start + 30, p), kNow, -1, p), step + 1);
  // Two steps away: refused.
  EXPECT_EQ(totp_verify(kSeed20, totp_code(kSeed20, step_start - 31, p), kNow, -1, p),
            std::nullopt);
  EXPECT_EQ(totp_verify(kSeed20, totp_code(kSeed20, step_start + 60, p), kNow, -1, p),
            std::nullopt);
}

TEST(TotpVerify, WindowZeroOnlyAcceptsNow) {
  const TotpParams p = params(TotpAlg::kSha1, 6, 0);
  EXPECT_TRUE(totp_verify(kSeed20, totp_code(kSeed20, kNow, p), kNow, -1, p));
  EXPECT_FALSE(totp_verify(kSeed20, totp_code(kSeed20, kNow - 30, p), kNow, -1, p));
  EXPECT_FALSE(totp_verify(kSeed20, totp_code(kSeed20, kNow + 30, p), kNow, -1, p));
}

TEST(TotpVerify, ReplayRefused) {
  const TotpParams p;
  const std::int64_t step = totp_step(kNow, p);
  const std::string code = totp_code(kSeed20, kNow, p);
  // Fresh: accepted. Same step again: refused. Any later used step: refused.
  ASSERT_EQ(totp_verify(kSeed20, code, kNow, step - 1, p), step);
  EXPECT_EQ(totp_verify(kSeed20, code, kNow, step, p), std::nullopt);
  EXPECT_EQ(totp_verify(kSeed20, code, kNow, step + 1, p), std::nullopt);
  // An older code inside the window is refused once a newer one was used.
  const std::string previous = totp_code(kSeed20, kNow - 30, p);
  EXPECT_EQ(totp_verify(kSeed20, previous, kNow, step, p), std::nullopt);
}

TEST(TotpVerify, WrongCodeRefused) {
  const TotpParams p;
  const std::string code = totp_code(kSeed20, kNow, p);
  std::string wrong = code;
  wrong[5] = wrong[5] == '9' ? '0' : static_cast<char>(wrong[5] + 1);
  // Make sure the mutated code is not valid in a neighbouring step by chance.
  ASSERT_NE(wrong, totp_code(kSeed20, kNow - 30, p));
  ASSERT_NE(wrong, totp_code(kSeed20, kNow + 30, p));
  EXPECT_EQ(totp_verify(kSeed20, wrong, kNow, -1, p), std::nullopt);
  // Right code, other secret.
  EXPECT_EQ(totp_verify("another secret value", code, kNow, -1, p), std::nullopt);
}

TEST(TotpVerify, MalformedInputRefused) {
  const TotpParams p;
  const std::string code = totp_code(kSeed20, kNow, p);
  EXPECT_FALSE(totp_verify(kSeed20, "", kNow, -1, p));
  EXPECT_FALSE(totp_verify(kSeed20, code.substr(0, 5), kNow, -1, p));  // too short
  EXPECT_FALSE(totp_verify(kSeed20, code + "0", kNow, -1, p));         // too long
  EXPECT_FALSE(totp_verify(kSeed20, "0" + code, kNow, -1, p));         // too long
  EXPECT_FALSE(totp_verify(kSeed20, code.substr(0, 5) + "a", kNow, -1, p));
  EXPECT_FALSE(totp_verify(kSeed20, code.substr(0, 3) + "-" + code.substr(3), kNow, -1, p));
  EXPECT_FALSE(totp_verify(kSeed20, code + "\n", kNow, -1, p));
  EXPECT_FALSE(totp_verify(kSeed20, "\t" + code, kNow, -1, p));
  EXPECT_FALSE(totp_verify(kSeed20, "+" + code.substr(1), kNow, -1, p));
  // Unicode digits (here FULLWIDTH DIGIT ZERO) are not ASCII digits.
  EXPECT_FALSE(totp_verify(kSeed20, code.substr(0, 5) + "\xEF\xBC\x90", kNow, -1, p));
  std::string with_nul = code;
  with_nul.insert(3, 1, '\0');
  EXPECT_FALSE(totp_verify(kSeed20, with_nul, kNow, -1, p));
}

TEST(TotpVerify, SpacesTolerated) {
  const TotpParams p;
  const std::string code = totp_code(kSeed20, kNow, p);
  const std::int64_t step = totp_step(kNow, p);
  EXPECT_EQ(totp_verify(kSeed20, code.substr(0, 3) + " " + code.substr(3), kNow, -1, p), step);
  EXPECT_EQ(totp_verify(kSeed20, "  " + code + " ", kNow, -1, p), step);
  std::string spaced;  // " d d d d d d "
  for (const char c : code) spaced += std::string(" ") + c;
  EXPECT_EQ(totp_verify(kSeed20, spaced + " ", kNow, -1, p), step);
  EXPECT_FALSE(totp_verify(kSeed20, "      ", kNow, -1, p));
}

TEST(TotpVerify, EightDigitSha512) {
  const TotpParams p = params(TotpAlg::kSha512, 8);
  // RFC 6238 Appendix B row 2000000000 for SHA512.
  EXPECT_EQ(totp_verify(kSeed64, "38618901", 2000000000, -1, p), totp_step(2000000000, p));
  EXPECT_EQ(totp_verify(kSeed64, "3861 8901", 2000000000 + 30, -1, p), totp_step(2000000000, p));
  EXPECT_FALSE(
      totp_verify(kSeed64, "386189", 2000000000, -1, p));  // 6 digits for an 8-digit factor
}

TEST(TotpVerify, InvalidParamsNeverMatch) {
  TotpParams p;
  const std::string code = totp_code(kSeed20, kNow, p);
  p.window = 1000;
  EXPECT_FALSE(totp_verify(kSeed20, code, kNow, -1, p));
  p = TotpParams{};
  p.period = 0;
  EXPECT_FALSE(totp_verify(kSeed20, code, kNow, -1, p));
}

TEST(TotpVerify, NoNegativeStepsNearTheEpoch) {
  const TotpParams p;
  // At t=5 the window reaches step -1, which does not exist; step 0 works.
  EXPECT_EQ(totp_verify(kSeed20, hotp_code(kSeed20, 0, p), 5, -1, p), 0);
  EXPECT_EQ(totp_verify(kSeed20, hotp_code(kSeed20, 0, p), 5, 0, p), std::nullopt);
}

// --- base32 ----------------------------------------------------------------

// RFC 4648 §10 test vectors (our encoder omits the '=' padding).
TEST(Base32, Rfc4648Vectors) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""},
      {"f", "MY======"},
      {"fo", "MZXQ===="},
      {"foo", "MZXW6==="},
      {"foob", "MZXW6YQ="},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI======"},
  };
  for (const auto& [plain, padded] : kVectors) {
    std::string unpadded = padded;
    unpadded.erase(unpadded.find_last_not_of('=') + 1);
    if (unpadded == "=") unpadded.clear();
    EXPECT_EQ(base32_encode(plain), unpadded) << plain;
    EXPECT_EQ(base32_decode(padded), plain) << padded;
    EXPECT_EQ(base32_decode(unpadded), plain) << unpadded;
  }
}

TEST(Base32, DecodeIsLooseAboutCaseSpacesAndPadding) {
  EXPECT_EQ(base32_decode("mzxw6ytboi"), "foobar");
  EXPECT_EQ(base32_decode("MZXW 6YTB OI"), "foobar");
  EXPECT_EQ(base32_decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"), kSeed20);
}

TEST(Base32, DecodeRejectsBadInput) {
  EXPECT_EQ(base32_decode("MZXW1"), std::nullopt);  // '1' is not base32
  EXPECT_EQ(base32_decode("MZXW0"), std::nullopt);  // nor '0'
  EXPECT_EQ(base32_decode("MZXW8"), std::nullopt);
  EXPECT_EQ(base32_decode("MZ-XW"), std::nullopt);
  EXPECT_EQ(base32_decode("M"), std::nullopt);       // 1 symbol: impossible length
  EXPECT_EQ(base32_decode("MZX"), std::nullopt);     // 3 symbols: impossible length
  EXPECT_EQ(base32_decode("MZXW6Y"), std::nullopt);  // 6 symbols: impossible length
  EXPECT_EQ(base32_decode("MY"), "f");
  EXPECT_EQ(base32_decode("MY======"), "f");
  // "MZ" carries 'f' plus two non-zero leftover bits: not canonical.
  EXPECT_EQ(base32_decode("MZ"), std::nullopt);
  EXPECT_EQ(base32_decode("MZXR"), std::nullopt);  // "fo" is MZXQ
}

TEST(Base32, RoundTripsRandomSecrets) {
  for (int i = 0; i < 200; ++i) {
    const std::string secret = totp_new_secret(params(TotpAlg::kSha1)).substr(0, i % 21);
    EXPECT_EQ(base32_decode(base32_encode(secret)), secret);
  }
}

// --- otpauth URI -----------------------------------------------------------

TEST(OtpauthUri, ExactString) {
  EXPECT_EQ(otpauth_uri("Example Co", "alice@example.com", kSeed20, TotpParams{}),
            "otpauth://totp/Example%20Co:alice%40example.com"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co"
            "&algorithm=SHA1&digits=6&period=30");
}

TEST(OtpauthUri, EncodesReservedCharactersAndParams) {
  TotpParams p = params(TotpAlg::kSha256, 8);
  p.period = 60;
  EXPECT_EQ(otpauth_uri("A:B&C", "bob smith/ü", "foobar", p),
            "otpauth://totp/A%3AB%26C:bob%20smith%2F%C3%BC"
            "?secret=MZXW6YTBOI&issuer=A%3AB%26C&algorithm=SHA256&digits=8&period=60");
  EXPECT_EQ(otpauth_uri("", "bob", "foobar", TotpParams{}),
            "otpauth://totp/bob?secret=MZXW6YTBOI&algorithm=SHA1&digits=6&period=30");
  // Unreserved characters stay as they are.
  EXPECT_EQ(
      otpauth_uri("a-b.c_d~e", "x", "", TotpParams{}),
      "otpauth://totp/a-b.c_d~e:x?secret=&issuer=a-b.c_d~e&algorithm=SHA1&digits=6&period=30");
}

// --- oathtool as an outside judge -------------------------------------------

bool oathtool_available() { return std::system("command -v oathtool >/dev/null 2>&1") == 0; }

std::string run(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return "<popen failed>";
  std::string out;
  char buf[128];
  while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) out += buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string utc(core::UnixTime t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string uri_param(const std::string& uri, const std::string& name) {
  const std::regex re("[?&]" + name + "=([^&]*)");
  std::smatch m;
  return std::regex_search(uri, m, re) ? m[1].str() : std::string();
}

TEST(Oathtool, AgreesWithTheUriSecret) {
  if (!oathtool_available()) GTEST_SKIP() << "oathtool not on PATH";
  struct Case {
    TotpAlg alg;
    int digits;
    const char* oath_mode;
  };
  const Case kCases[] = {
      {TotpAlg::kSha1, 6, "--totp"},
      {TotpAlg::kSha256, 8, "--totp=sha256"},
      {TotpAlg::kSha512, 7, "--totp=sha512"},
  };
  const core::UnixTime kTimes[] = {59, 1111111109, 1700000000, 1767225599, 2000000000};
  int compared = 0;
  for (const auto& c : kCases) {
    const TotpParams p = params(c.alg, c.digits);
    const std::string secret = totp_new_secret(p);
    const std::string uri = otpauth_uri("stepup", "alice", secret, p);
    const std::string b32 = uri_param(uri, "secret");
    ASSERT_EQ(base32_decode(b32), secret);
    ASSERT_EQ(uri_param(uri, "digits"), std::to_string(c.digits));
    for (const core::UnixTime t : kTimes) {
      const std::string cmd = std::string("oathtool ") + c.oath_mode + " -d " +
                              std::to_string(c.digits) + " -b " + b32 + " --now \"" + utc(t) +
                              "\" 2>&1";
      EXPECT_EQ(run(cmd), totp_code(secret, t, p)) << cmd;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 15);
}

// --- QR --------------------------------------------------------------------

TEST(QrSvg, IsAnSvgWithModulesAndATitle) {
  const std::string uri = otpauth_uri("Example Co", "alice@example.com", kSeed20, TotpParams{});
  const std::string svg = qr_svg(uri);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("<path"), std::string::npos);
  EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_NE(svg.find("shape-rendering=\"crispEdges\""), std::string::npos);
  EXPECT_NE(svg.find("<title"), std::string::npos);
  EXPECT_NE(svg.find("QR code for your authenticator app"), std::string::npos);
  EXPECT_NE(svg.find("#ffffff"), std::string::npos);
  EXPECT_NE(svg.find("#000000"), std::string::npos);
}

TEST(QrSvg, ViewBoxHasTheQuietZoneAndIsAValidQrSize) {
  const std::string svg = qr_svg("hello");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("viewBox=\"0 0 (\\d+) (\\d+)\"")));
  const int size = std::stoi(m[1].str());
  EXPECT_EQ(size, std::stoi(m[2].str()));
  const int modules = size - 8;                 // 4 modules of quiet zone on each side
  EXPECT_EQ((modules - 17) % 4, 0) << modules;  // QR versions are 21, 25, ... modules wide
  EXPECT_EQ(modules, 21);                       // "hello" fits in version 1
  // The finder pattern's top-left corner sits just inside the quiet zone.
  EXPECT_NE(svg.find("M4 4h7v1h-7z"), std::string::npos);
}

TEST(QrSvg, DeterministicAndInputSensitive) {
  const std::string a = qr_svg("otpauth://totp/x?secret=MZXW6YTBOI");
  EXPECT_EQ(a, qr_svg("otpauth://totp/x?secret=MZXW6YTBOI"));
  EXPECT_NE(a, qr_svg("otpauth://totp/y?secret=MZXW6YTBOI"));
}

TEST(QrSvg, TooLongTextGivesEmpty) { EXPECT_EQ(qr_svg(std::string(8000, 'x')), ""); }

}  // namespace
}  // namespace stepup::factors
