#include "crypto/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace stepup::crypto {
namespace {

struct Vector {
  std::string plain;
  std::string base64;     // RFC 4648 §10, with padding
  std::string base64url;  // same vector, url alphabet, padding stripped (RFC 7515 §2)
  std::string hex;        // RFC 4648 §10 BASE16, lower-cased
};

// RFC 4648 §10 test vectors.
const Vector kRfc4648[] = {
    {"", "", "", ""},
    {"f", "Zg==", "Zg", "66"},
    {"fo", "Zm8=", "Zm8", "666f"},
    {"foo", "Zm9v", "Zm9v", "666f6f"},
    {"foob", "Zm9vYg==", "Zm9vYg", "666f6f62"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy", "666f6f626172"},
};

TEST(Encoding, Rfc4648Base64) {
  for (const auto& v : kRfc4648) EXPECT_EQ(base64_encode(v.plain), v.base64) << v.plain;
}

TEST(Encoding, Rfc4648Base64Url) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(base64url_encode(v.plain), v.base64url) << v.plain;
    EXPECT_EQ(base64url_decode(v.base64url), v.plain) << v.base64url;
  }
}

TEST(Encoding, Rfc4648Base16) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(hex_encode(v.plain), v.hex);
    EXPECT_EQ(hex_decode(v.hex), v.plain);
  }
  EXPECT_EQ(hex_decode("666F6F626172"), "foobar");  // upper case as printed in the RFC
}

TEST(Encoding, UrlAlphabetDiffersFromStandard) {
  // 0xfb 0xff encodes to "+/8=" in base64 and "-_8" in base64url.
  const std::string bytes("\xfb\xff", 2);
  EXPECT_EQ(base64_encode(bytes), "+/8=");
  EXPECT_EQ(base64url_encode(bytes), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), bytes);
  EXPECT_EQ(base64url_decode("+/8"), std::nullopt);
}

TEST(Encoding, Base64UrlRejectsPaddingAndJunk) {
  EXPECT_EQ(base64url_decode("Zg=="), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm8="), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9v "), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm 9v"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9v\n"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9v."), std::nullopt);
  EXPECT_EQ(base64url_decode(std::string("Zm\0v", 4)), std::nullopt);
  EXPECT_EQ(base64url_decode("\xc3\xa9"), std::nullopt);
}

TEST(Encoding, Base64UrlRejectsImpossibleLength) {
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9vY"), std::nullopt);
}

TEST(Encoding, Base64UrlRejectsNonCanonicalTrailingBits) {
  // "Zg" is the only encoding of "f"; "Zh".."Zv" carry nonzero unused bits.
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zh"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zv"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm9"), std::nullopt);
}

TEST(Encoding, Base64UrlRoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); len += 7) {
    const std::string s = all.substr(0, len);
    const std::string enc = base64url_encode(s);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(enc), s);
  }
}

TEST(Encoding, HexRejectsBadInput) {
  EXPECT_EQ(hex_decode("abc"), std::nullopt);
  EXPECT_EQ(hex_decode("zz"), std::nullopt);
  EXPECT_EQ(hex_decode("0g"), std::nullopt);
  EXPECT_EQ(hex_encode(std::string("\x00\xff", 2)), "00ff");
}

}  // namespace
}  // namespace stepup::crypto
