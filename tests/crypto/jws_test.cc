#include "crypto/jws.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "test_common.h"

namespace stepup::crypto {
namespace {

using test::for_each_signature_bit_flip;
using test::split_compact;
using test::with_part;

constexpr char kPayload[] = R"({"sub":"alice","acr":"aal2"})";

// ---- published vectors --------------------------------------------------

// RFC 8037 §A.1 (private) / §A.2 (public) Ed25519 key.
constexpr char kRfc8037D[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr char kRfc8037X[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
// RFC 8037 §A.3 thumbprint of that key.
constexpr char kRfc8037Thumbprint[] = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
// RFC 8037 §A.4: JWS of "Example of Ed25519 signing" with header {"alg":"EdDSA"}.
constexpr char kRfc8037Jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// RFC 7515 §A.3: ES256 example key (public part) and JWS (header {"alg":"ES256"}).
constexpr char kRfc7515X[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr char kRfc7515Y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr char kRfc7515Jws[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

std::string rfc8037_public_jwk(std::string_view kid) {
  return std::string(R"({"kty":"OKP","crv":"Ed25519","x":")") + kRfc8037X + R"(","kid":")" +
         std::string(kid) + R"("})";
}

std::string rfc7515_public_jwk(std::string_view kid) {
  return std::string(R"({"kty":"EC","crv":"P-256","x":")") + kRfc7515X + R"(","y":")" + kRfc7515Y +
         R"(","kid":")" + std::string(kid) + R"("})";
}

// Wraps a raw 32-byte Ed25519 seed into PKCS#8 (RFC 8410 §7) PEM.
std::string ed25519_pkcs8_pem(std::string_view seed) {
  const std::string prefix("\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20", 16);
  return "-----BEGIN PRIVATE KEY-----\n" + base64_encode(prefix + std::string(seed)) +
         "\n-----END PRIVATE KEY-----\n";
}

std::string b64(std::string_view s) { return base64url_encode(s); }

// ---- fixtures -------------------------------------------------------------

class JwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(keys_.add_jwk(es_.public_jwk_json()).has_value());
    ASSERT_TRUE(keys_.add_jwk(ed_.public_jwk_json()).has_value());
  }
  const SigningKey& key(Alg alg) const { return alg == Alg::kES256 ? es_ : ed_; }

  SigningKey es_ = SigningKey::generate(Alg::kES256);
  SigningKey ed_ = SigningKey::generate(Alg::kEdDSA);
  KeySet keys_;
};

JwsError error_of(const tl::expected<KeySet::Verified, JwsError>& r) {
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? JwsError::kMalformed : r.error();
}

// ---- names ------------------------------------------------------------------

TEST(JwsNames, AlgRoundTripAndRejects) {
  EXPECT_EQ(to_string(Alg::kES256), "ES256");
  EXPECT_EQ(to_string(Alg::kEdDSA), "EdDSA");
  EXPECT_EQ(alg_from_string("ES256"), Alg::kES256);
  EXPECT_EQ(alg_from_string("EdDSA"), Alg::kEdDSA);
  for (const char* bad :
       {"none", "None", "HS256", "RS256", "ES384", "es256", "EdDSA ", "", "Ed25519"}) {
    EXPECT_EQ(alg_from_string(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(to_string(JwsError::kAlgKidMismatch), "alg_kid_mismatch");
}

// ---- round trips ----------------------------------------------------------

TEST_F(JwsTest, RoundTripBothAlgs) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA}) {
    const std::string token = key(alg).sign_compact(kPayload);
    auto v = keys_.verify(token);
    ASSERT_TRUE(v.has_value()) << to_string(alg) << ": " << to_string(v.error());
    EXPECT_EQ(v->alg, alg);
    EXPECT_EQ(v->kid, key(alg).kid());
    EXPECT_EQ(v->payload_json, kPayload);
    const auto header = boost::json::parse(v->header_json).as_object();
    EXPECT_EQ(header.at("alg").as_string(), to_string(alg));
    EXPECT_EQ(header.at("typ").as_string(), "at+jwt");
    EXPECT_EQ(header.at("kid").as_string(), key(alg).kid());
    EXPECT_EQ(base64url_decode(split_compact(token)[2])->size(), 64u);
  }
}

TEST_F(JwsTest, CustomTypIsEscaped) {
  const std::string token = es_.sign_compact(kPayload, "odd\"typ");
  auto v = keys_.verify(token);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(boost::json::parse(v->header_json).at("typ").as_string(), "odd\"typ");
}

TEST_F(JwsTest, PublicJwkShapeAndThumbprintKid) {
  const auto es = boost::json::parse(es_.public_jwk_json()).as_object();
  EXPECT_EQ(es.at("kty").as_string(), "EC");
  EXPECT_EQ(es.at("crv").as_string(), "P-256");
  EXPECT_EQ(base64url_decode(es.at("x").as_string())->size(), 32u);
  EXPECT_EQ(base64url_decode(es.at("y").as_string())->size(), 32u);
  EXPECT_EQ(es.at("alg").as_string(), "ES256");
  EXPECT_EQ(es.at("use").as_string(), "sig");
  EXPECT_FALSE(es.contains("d"));
  const auto ed = boost::json::parse(ed_.public_jwk_json()).as_object();
  EXPECT_EQ(ed.at("kty").as_string(), "OKP");
  EXPECT_EQ(ed.at("crv").as_string(), "Ed25519");
  EXPECT_EQ(ed.at("alg").as_string(), "EdDSA");
  EXPECT_FALSE(ed.contains("y"));
  EXPECT_FALSE(ed.contains("d"));
  // kid is the RFC 7638 thumbprint: 43 chars of base64url SHA-256.
  for (const SigningKey* k : {&es_, &ed_}) {
    EXPECT_EQ(k->kid().size(), 43u);
    EXPECT_EQ(jwk_thumbprint(k->public_jwk_json()), k->kid());
  }
  EXPECT_NE(es_.kid(), SigningKey::generate(Alg::kES256).kid());
}

TEST_F(JwsTest, PemRoundTripKeepsKeyAndKid) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA}) {
    const std::string pem = key(alg).private_pem();
    EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);  // PKCS#8
    auto derived = SigningKey::from_pem(pem, alg, "");
    ASSERT_TRUE(derived.has_value()) << derived.error();
    EXPECT_EQ(derived->kid(), key(alg).kid());
    EXPECT_EQ(derived->public_jwk_json(), key(alg).public_jwk_json());
    EXPECT_TRUE(keys_.verify(derived->sign_compact(kPayload)).has_value());
    auto named = SigningKey::from_pem(pem, alg, "k-2024");
    ASSERT_TRUE(named.has_value());
    EXPECT_EQ(named->kid(), "k-2024");
  }
}

TEST_F(JwsTest, FromPemRejectsWrongAlgAndJunk) {
  EXPECT_FALSE(SigningKey::from_pem(es_.private_pem(), Alg::kEdDSA, "x").has_value());
  EXPECT_FALSE(SigningKey::from_pem(ed_.private_pem(), Alg::kES256, "x").has_value());
  EXPECT_FALSE(SigningKey::from_pem("not a pem", Alg::kES256, "x").has_value());
  EXPECT_FALSE(SigningKey::from_pem("", Alg::kEdDSA, "x").has_value());
}

// ---- RFC vectors ---------------------------------------------------------

TEST(JwsRfc8037, ThumbprintA3) {
  EXPECT_EQ(
      jwk_thumbprint(std::string(R"({"kty":"OKP","crv":"Ed25519","x":")") + kRfc8037X + R"("})"),
      kRfc8037Thumbprint);
}

TEST(JwsRfc8037, VerifiesA4Signature) {
  KeySet keys;
  ASSERT_TRUE(keys.add_jwk(rfc8037_public_jwk("rfc8037")).has_value());
  const auto parts = split_compact(kRfc8037Jws);
  const std::string input = parts[0] + "." + parts[1];
  const auto sig = base64url_decode(parts[2]);
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(keys.verify_signature("rfc8037", Alg::kEdDSA, input, *sig).has_value());
  // Same bytes, one signing-input byte changed: must fail.
  std::string altered = input;
  altered.back() = altered.back() == 'c' ? 'd' : 'c';
  EXPECT_EQ(keys.verify_signature("rfc8037", Alg::kEdDSA, altered, *sig).error(),
            JwsError::kBadSignature);
  EXPECT_EQ(keys.verify_signature("rfc8037", Alg::kES256, input, *sig).error(),
            JwsError::kAlgKidMismatch);
  EXPECT_EQ(keys.verify_signature("other", Alg::kEdDSA, input, *sig).error(),
            JwsError::kUnknownKid);
  // The A.4 header carries no kid, and verify() insists on one.
  EXPECT_EQ(error_of(keys.verify(kRfc8037Jws)), JwsError::kMissingKid);
}

TEST(JwsRfc8037, PrivateKeyA1DerivesPublicA2AndSignsVerifiably) {
  const auto seed = base64url_decode(kRfc8037D);
  ASSERT_TRUE(seed.has_value());
  auto key = SigningKey::from_pem(ed25519_pkcs8_pem(*seed), Alg::kEdDSA, "");
  ASSERT_TRUE(key.has_value()) << key.error();
  EXPECT_EQ(key->kid(), kRfc8037Thumbprint);
  const auto jwk = boost::json::parse(key->public_jwk_json()).as_object();
  EXPECT_EQ(jwk.at("x").as_string(), kRfc8037X);
  KeySet keys;
  ASSERT_TRUE(keys.add_jwk(rfc8037_public_jwk(kRfc8037Thumbprint)).has_value());
  auto v = keys.verify(key->sign_compact(kPayload));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kid, kRfc8037Thumbprint);
}

TEST(JwsRfc7515, VerifiesA3Es256Signature) {
  KeySet keys;
  ASSERT_TRUE(keys.add_jwk(rfc7515_public_jwk("rfc7515-a3")).has_value());
  const auto parts = split_compact(kRfc7515Jws);
  const std::string input = parts[0] + "." + parts[1];
  const auto sig = base64url_decode(parts[2]);
  ASSERT_TRUE(sig.has_value());
  ASSERT_EQ(sig->size(), 64u);
  EXPECT_TRUE(keys.verify_signature("rfc7515-a3", Alg::kES256, input, *sig).has_value());
  std::string altered = input;
  altered[input.size() - 5] ^= 0x01;
  EXPECT_EQ(keys.verify_signature("rfc7515-a3", Alg::kES256, altered, *sig).error(),
            JwsError::kBadSignature);
  EXPECT_EQ(error_of(keys.verify(kRfc7515Jws)), JwsError::kMissingKid);
  // Every single-bit change of the published signature is rejected too.
  std::size_t n = for_each_signature_bit_flip(kRfc7515Jws, [&](const std::string& t) {
    const auto s = base64url_decode(split_compact(t)[2]);
    EXPECT_EQ(keys.verify_signature("rfc7515-a3", Alg::kES256, input, *s).error(),
              JwsError::kBadSignature);
  });
  EXPECT_EQ(n, 64u * 8u);
}

// ---- signature tampering ---------------------------------------------------

TEST_F(JwsTest, EveryBitFlipOfTheSignatureIsRejected) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA}) {
    const std::string token = key(alg).sign_compact(kPayload);
    ASSERT_TRUE(keys_.verify(token).has_value());
    const std::size_t n = for_each_signature_bit_flip(token, [&](const std::string& t) {
      EXPECT_EQ(error_of(keys_.verify(t)), JwsError::kBadSignature) << to_string(alg);
    });
    EXPECT_EQ(n, 64u * 8u);
  }
}

TEST_F(JwsTest, WrongSignatureLengthsAndDegenerateValues) {
  const std::string token = es_.sign_compact(kPayload);
  const std::string sig = *base64url_decode(split_compact(token)[2]);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 2, b64(sig.substr(0, 63))))),
            JwsError::kBadSignature);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 2, b64(sig + '\0')))), JwsError::kBadSignature);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 2, ""))), JwsError::kBadSignature);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 2, b64(std::string(64, '\0'))))),
            JwsError::kBadSignature);
  // r = n (the P-256 group order), s from the real signature: out of range.
  const std::string n =
      *hex_decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 2, b64(n + sig.substr(32))))),
            JwsError::kBadSignature);
  // A DER signature (what OpenSSL emits natively) is not a JOSE signature.
  EXPECT_EQ(
      error_of(keys_.verify(with_part(
          token, 2, b64("\x30\x44\x02\x20" + sig.substr(0, 32) + "\x02\x20" + sig.substr(32))))),
      JwsError::kBadSignature);
}

TEST_F(JwsTest, EditedPayloadIsRejected) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA}) {
    const std::string token = key(alg).sign_compact(R"({"sub":"alice","acr":"aal1"})");
    const std::string forged = with_part(token, 1, b64(R"({"sub":"alice","acr":"aal3"})"));
    EXPECT_EQ(error_of(keys_.verify(forged)), JwsError::kBadSignature);
  }
}

TEST_F(JwsTest, SignatureFromOtherKeyOfSameAlgIsRejected) {
  const SigningKey other = SigningKey::generate(Alg::kES256);
  const std::string theirs = other.sign_compact(kPayload);
  // Put our kid in their header: the signature cannot match our key.
  const std::string header = R"({"alg":"ES256","typ":"at+jwt","kid":")" + es_.kid() + R"("})";
  const std::string forged = with_part(theirs, 0, b64(header));
  EXPECT_EQ(error_of(keys_.verify(forged)), JwsError::kBadSignature);
  EXPECT_EQ(error_of(keys_.verify(theirs)), JwsError::kUnknownKid);
}

// ---- algorithm confusion -------------------------------------------------

TEST_F(JwsTest, AlgNoneWithEmptySignatureIsRejected) {
  for (const char* alg : {"none", "None", "NONE", "none "}) {
    const std::string header =
        std::string(R"({"alg":")") + alg + R"(","kid":")" + es_.kid() + R"("})";
    const std::string token = b64(header) + "." + b64(kPayload) + ".";
    EXPECT_EQ(error_of(keys_.verify(token)), JwsError::kAlgNotAllowed) << alg;
  }
}

TEST_F(JwsTest, DuplicateAlgMemberUsesTheLastOne) {
  // RFC 7515 §4: a parser that does not reject duplicate members must use the
  // lexically last one; a smuggled trailing "none" must not pass.
  const std::string header = R"({"alg":"ES256","kid":")" + es_.kid() + R"(","alg":"none"})";
  const std::string token = with_part(es_.sign_compact(kPayload), 0, b64(header));
  EXPECT_EQ(error_of(keys_.verify(token)), JwsError::kAlgNotAllowed);
}

TEST_F(JwsTest, Hs256KeyedWithPublicKeyTextIsRejected) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA}) {
    const std::string header =
        R"({"alg":"HS256","typ":"at+jwt","kid":")" + key(alg).kid() + R"("})";
    const std::string input = b64(header) + "." + b64(kPayload);
    const auto jwk = boost::json::parse(key(alg).public_jwk_json()).as_object();
    const std::string x_raw = *base64url_decode(jwk.at("x").as_string());
    for (const std::string& secret :
         {key(alg).public_jwk_json(), x_raw, std::string(jwk.at("x").as_string())}) {
      const std::string token = input + "." + b64(hmac_sha256(secret, input));
      EXPECT_EQ(error_of(keys_.verify(token)), JwsError::kAlgNotAllowed);
    }
  }
}

TEST_F(JwsTest, OtherAlgorithmsAreRejected) {
  for (const char* alg :
       {"HS384", "RS256", "PS256", "ES384", "ES512", "ES256K", "Ed25519", "es256"}) {
    const std::string header =
        std::string(R"({"alg":")") + alg + R"(","kid":")" + es_.kid() + R"("})";
    const std::string token = with_part(es_.sign_compact(kPayload), 0, b64(header));
    EXPECT_EQ(error_of(keys_.verify(token)), JwsError::kAlgNotAllowed) << alg;
  }
}

TEST_F(JwsTest, KidOfEs256KeyWithHeaderAlgEdDSAIsMismatch) {
  // Signed by the Ed25519 key but pointing at the ES256 key's kid.
  const std::string header = R"({"alg":"EdDSA","typ":"at+jwt","kid":")" + es_.kid() + R"("})";
  const std::string token = with_part(ed_.sign_compact(kPayload), 0, b64(header));
  EXPECT_EQ(error_of(keys_.verify(token)), JwsError::kAlgKidMismatch);
  const std::string header2 = R"({"alg":"ES256","typ":"at+jwt","kid":")" + ed_.kid() + R"("})";
  EXPECT_EQ(error_of(keys_.verify(with_part(es_.sign_compact(kPayload), 0, b64(header2)))),
            JwsError::kAlgKidMismatch);
}

// ---- header problems -----------------------------------------------------

TEST_F(JwsTest, UnknownAndMissingKid) {
  const std::string token = es_.sign_compact(kPayload);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 0, b64(R"({"alg":"ES256","kid":"nope"})")))),
            JwsError::kUnknownKid);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 0, b64(R"({"alg":"ES256"})")))),
            JwsError::kMissingKid);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 0, b64(R"({"alg":"ES256","kid":7})")))),
            JwsError::kMissingKid);
  EXPECT_EQ(error_of(KeySet().verify(token)), JwsError::kUnknownKid);
}

TEST_F(JwsTest, BadHeaders) {
  const std::string token = es_.sign_compact(kPayload);
  const std::string kid = es_.kid();
  for (const std::string& h :
       {std::string("[]"), std::string("\"ES256\""), std::string("{}"), std::string("{"),
        std::string(R"({"alg":1,"kid":")") + kid + "\"}",
        std::string(R"({"alg":null,"kid":")") + kid + "\"}",
        std::string(R"({"alg":"ES256","kid":")") + kid + "\"} trailing",
        std::string(R"({"alg":"ES256","kid":")") + kid + R"(","crit":["exp"]})",
        std::string(R"({"alg":"ES256",/*c*/"kid":")") + kid + "\"}", std::string("")}) {
    EXPECT_EQ(error_of(keys_.verify(with_part(token, 0, b64(h)))), JwsError::kBadHeader) << h;
  }
}

// ---- structure -----------------------------------------------------------

TEST_F(JwsTest, EveryTruncationFails) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA}) {
    const std::string token = key(alg).sign_compact(kPayload);
    for (std::size_t len = 0; len < token.size(); ++len) {
      EXPECT_FALSE(keys_.verify(token.substr(0, len)).has_value()) << len;
    }
  }
  const std::string token = es_.sign_compact(kPayload);
  const auto parts = split_compact(token);
  EXPECT_EQ(error_of(keys_.verify(parts[0] + "." + parts[1])), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify(token.substr(0, token.size() - 1))), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify(token.substr(0, token.size() - 2))), JwsError::kBadSignature);
}

TEST_F(JwsTest, JunkInThreeParts) {
  EXPECT_EQ(error_of(keys_.verify("a.b.c")), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify("..")), JwsError::kBadHeader);
  EXPECT_EQ(error_of(keys_.verify("abcd.efgh.ijkl")), JwsError::kBadHeader);
  EXPECT_EQ(error_of(keys_.verify("e30=.e30.e30")), JwsError::kMalformed);  // padding
  EXPECT_EQ(error_of(keys_.verify("")), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify("nodots")), JwsError::kMalformed);
  const std::string token = es_.sign_compact(kPayload);
  EXPECT_EQ(error_of(keys_.verify(token + ".")), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify(token + ".e30")), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify(" " + token)), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify(token + "\n")), JwsError::kMalformed);
  EXPECT_EQ(error_of(keys_.verify(with_part(token, 2, "!!!!"))), JwsError::kMalformed);
}

TEST_F(JwsTest, OversizedTokenIsRejectedBeforeParsing) {
  const std::string token = es_.sign_compact(kPayload);
  EXPECT_TRUE(keys_.verify(token, token.size()).has_value());
  EXPECT_EQ(error_of(keys_.verify(token, token.size() - 1)), JwsError::kTooLarge);
  EXPECT_EQ(error_of(keys_.verify(std::string(9000, 'A'))), JwsError::kTooLarge);
  const std::string big = es_.sign_compact(R"({"pad":")" + std::string(9000, 'x') + "\"}");
  EXPECT_EQ(error_of(keys_.verify(big)), JwsError::kTooLarge);
  EXPECT_TRUE(keys_.verify(big, 1 << 16).has_value());
}

TEST_F(JwsTest, SignedPayloadMustBeAJsonObject) {
  for (const char* payload : {"[1,2]", "\"str\"", "42", "not json", "", "{\"a\":1} x"}) {
    EXPECT_EQ(error_of(keys_.verify(es_.sign_compact(payload))), JwsError::kBadPayload) << payload;
  }
  // Invalid UTF-8 inside a string is not JSON.
  EXPECT_EQ(error_of(keys_.verify(es_.sign_compact("{\"a\":\"\xff\"}"))), JwsError::kBadPayload);
}

// ---- key set -------------------------------------------------------------

TEST(KeySet, RejectsUnsupportedOrBrokenJwks) {
  KeySet keys;
  const std::string x = kRfc7515X;
  const std::string y = kRfc7515Y;
  const std::string ec = R"({"kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + y + "\"";
  const std::vector<std::string> bad = {
      "not json",
      "[]",
      R"({"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"})",
      R"({"kty":"oct","k":"c2VjcmV0","kid":"h"})",
      R"({"crv":"P-256","x":")" + x + R"(","y":")" + y + "\"}",
      R"({"kty":"EC","crv":"P-384","x":")" + x + R"(","y":")" + y + "\"}",
      R"({"kty":"EC","crv":"P-256","x":")" + x + "\"}",
      R"({"kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + y + "A\"}",
      R"({"kty":"EC","crv":"P-256","x":")" + x.substr(0, 42) + R"(","y":")" + y + "\"}",
      R"({"kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + y + "==\"}",
      ec + R"(,"alg":"EdDSA"})",
      ec + R"(,"alg":"HS256"})",
      ec + R"(,"alg":"none"})",
      ec + R"(,"alg":7})",
      ec + R"(,"use":"enc"})",
      ec + R"(,"kid":""})",
      ec + R"(,"kid":5})",
      ec + R"(,"d":"jpsQnnGQmL-YBIffH1136cLyG3Yqm5wkZ-Ys4gIZd0o"})",
      R"({"kty":"OKP","crv":"X25519","x":")" + std::string(kRfc8037X) + "\"}",
      R"({"kty":"OKP","crv":"Ed448","x":")" + std::string(kRfc8037X) + "\"}",
      R"({"kty":"OKP","crv":"Ed25519","x":")" + std::string(kRfc8037X) + R"(","alg":"ES256"})",
      R"({"kty":"OKP","crv":"Ed25519","x":")" + std::string(kRfc8037X).substr(0, 40) + "\"}",
  };
  for (const auto& jwk : bad) {
    auto r = keys.add_jwk(jwk);
    EXPECT_FALSE(r.has_value()) << jwk;
    if (!r) {
      EXPECT_FALSE(r.error().empty());
    }
  }
  EXPECT_EQ(keys.size(), 0u);
  EXPECT_TRUE(keys.add_jwk(ec + R"(,"alg":"ES256","use":"sig","kid":"ok"})").has_value());
  EXPECT_EQ(keys.size(), 1u);
}

TEST(KeySet, RejectsPointNotOnCurve) {
  // Flip one bit of y in the RFC 7515 key: (x, y') is not on P-256.
  std::string y = *base64url_decode(kRfc7515Y);
  y[31] ^= 0x01;
  KeySet keys;
  auto r = keys.add_jwk(R"({"kty":"EC","crv":"P-256","x":")" + std::string(kRfc7515X) +
                        R"(","y":")" + b64(y) + R"(","kid":"bad"})");
  EXPECT_FALSE(r.has_value());
  // The all-zero "point" is not on the curve either.
  const std::string zero = b64(std::string(32, '\0'));
  EXPECT_FALSE(keys.add_jwk(R"({"kty":"EC","crv":"P-256","x":")" + zero + R"(","y":")" + zero +
                            R"(","kid":"z"})")
                   .has_value());
  EXPECT_EQ(keys.size(), 0u);
}

TEST(KeySet, KidDefaultsToThumbprintAndDuplicatesAreRefused) {
  KeySet keys;
  ASSERT_TRUE(
      keys.add_jwk(std::string(R"({"kty":"OKP","crv":"Ed25519","x":")") + kRfc8037X + R"("})")
          .has_value());
  const auto parts = split_compact(kRfc8037Jws);
  EXPECT_TRUE(keys.verify_signature(kRfc8037Thumbprint, Alg::kEdDSA, parts[0] + "." + parts[1],
                                    *base64url_decode(parts[2]))
                  .has_value());
  EXPECT_FALSE(keys.add_jwk(rfc8037_public_jwk(kRfc8037Thumbprint)).has_value());
  EXPECT_EQ(keys.size(), 1u);
}

TEST(KeySet, AddJwksIsAllOrNothing) {
  const SigningKey a = SigningKey::generate(Alg::kES256);
  const SigningKey b = SigningKey::generate(Alg::kEdDSA);
  KeySet keys;
  EXPECT_FALSE(
      keys.add_jwks(R"({"keys":[)" + a.public_jwk_json() + R"(,{"kty":"RSA"}]})").has_value());
  EXPECT_EQ(keys.size(), 0u);
  EXPECT_FALSE(
      keys.add_jwks(R"({"keys":[)" + a.public_jwk_json() + "," + a.public_jwk_json() + "]}")
          .has_value());
  EXPECT_EQ(keys.size(), 0u);
  EXPECT_FALSE(keys.add_jwks(R"({"keys":{}})").has_value());
  EXPECT_FALSE(keys.add_jwks(R"({"keys":[1]})").has_value());
  EXPECT_FALSE(keys.add_jwks("[]").has_value());
  ASSERT_TRUE(keys.add_jwks(R"({"keys":[)" + a.public_jwk_json() + "," + b.public_jwk_json() + "]}")
                  .has_value());
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.verify(a.sign_compact(kPayload)).has_value());
  EXPECT_TRUE(keys.verify(b.sign_compact(kPayload)).has_value());
  KeySet moved = std::move(keys);
  EXPECT_EQ(moved.size(), 2u);
  EXPECT_TRUE(moved.verify(a.sign_compact(kPayload)).has_value());
}

TEST_F(JwsTest, VerifyIsSafeFromManyThreads) {
  const std::string good_es = es_.sign_compact(kPayload);
  const std::string good_ed = ed_.sign_compact(kPayload);
  const std::string bad = with_part(good_es, 1, b64(R"({"sub":"mallory"})"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!keys_.verify(good_es).has_value()) ++wrong;
        if (!keys_.verify(good_ed).has_value()) ++wrong;
        if (keys_.verify(bad).has_value()) ++wrong;
        if (!keys_.verify(es_.sign_compact(kPayload)).has_value()) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace stepup::crypto
