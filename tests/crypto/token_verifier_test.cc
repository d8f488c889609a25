#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "crypto/encoding.h"
#include "crypto/jws.h"
#include "stepup/token.h"
#include "test_common.h"

namespace stepup {
namespace {

namespace json = boost::json;
using crypto::Alg;
using crypto::SigningKey;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kSkew = 30;
constexpr char kIssuer[] = "https://auth.example.com";
constexpr char kAudience[] = "https://app.example.com";

json::object good_claims() {
  return json::object{
      {"iss", kIssuer},
      {"aud", kAudience},
      {"sub", "user-42"},
      {"sid", "sess-1"},
      {"jti", "tok-1"},
      {"acr", "aal2"},
      {"amr", json::array{"pwd", "otp"}},
      {"iat", kNow - 10},
      {"exp", kNow + 300},
      {"auth_time", kNow - 20},
  };
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string jwks =
        R"({"keys":[)" + es_.public_jwk_json() + "," + ed_.public_jwk_json() + "]}";
    auto v = TokenVerifier::create(jwks, kIssuer, kAudience, kSkew);
    ASSERT_TRUE(v.has_value()) << v.error();
    verifier_ = std::make_unique<TokenVerifier>(std::move(*v));
  }

  std::string sign(const json::object& claims, Alg alg = Alg::kES256) const {
    return (alg == Alg::kES256 ? es_ : ed_).sign_compact(json::serialize(claims));
  }

  TokenError error_of(const json::object& claims, std::int64_t now = kNow) const {
    auto r = verifier_->verify(sign(claims), now);
    EXPECT_FALSE(r.has_value());
    return r.has_value() ? TokenError::kMalformed : r.error();
  }

  SigningKey es_ = SigningKey::generate(Alg::kES256);
  SigningKey ed_ = SigningKey::generate(Alg::kEdDSA);
  std::unique_ptr<TokenVerifier> verifier_;
};

TEST_F(TokenVerifierTest, GoodTokenYieldsAllClaims) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA}) {
    auto r = verifier_->verify(sign(good_claims(), alg), kNow);
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(r->iss, kIssuer);
    EXPECT_EQ(r->aud, kAudience);
    EXPECT_EQ(r->sub, "user-42");
    EXPECT_EQ(r->sid, "sess-1");
    EXPECT_EQ(r->jti, "tok-1");
    EXPECT_EQ(r->acr, "aal2");
    EXPECT_EQ(r->amr, (std::vector<std::string>{"pwd", "otp"}));
    EXPECT_EQ(r->iat, kNow - 10);
    EXPECT_EQ(r->exp, kNow + 300);
    EXPECT_EQ(r->auth_time, kNow - 20);
  }
}

TEST_F(TokenVerifierTest, ExpiryHonoursSkewAtTheBoundary) {
  auto c = good_claims();
  c["exp"] = kNow - kSkew;  // exp <= now - skew: expired
  EXPECT_EQ(error_of(c), TokenError::kExpired);
  c["exp"] = kNow - kSkew + 1;
  EXPECT_TRUE(verifier_->verify(sign(c), kNow).has_value());
  EXPECT_EQ(error_of(good_claims(), kNow + 300 + kSkew), TokenError::kExpired);
}

TEST_F(TokenVerifierTest, NotBeforeInTheFuture) {
  auto c = good_claims();
  c["nbf"] = kNow + kSkew + 1;
  EXPECT_EQ(error_of(c), TokenError::kNotYetValid);
  c["nbf"] = kNow + kSkew;
  EXPECT_TRUE(verifier_->verify(sign(c), kNow).has_value());
  c["nbf"] = "soon";
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
}

TEST_F(TokenVerifierTest, IssuedInTheFuture) {
  auto c = good_claims();
  c["iat"] = kNow + kSkew + 1;
  EXPECT_EQ(error_of(c), TokenError::kNotYetValid);
  c["iat"] = kNow + kSkew;
  EXPECT_TRUE(verifier_->verify(sign(c), kNow).has_value());
}

// An auth_time in the future would pass every max_age for as long as it
// stays in the future: refused beyond the clock skew, like iat and nbf.
TEST_F(TokenVerifierTest, AuthTimeInTheFuture) {
  auto c = good_claims();
  c["iat"] = kNow;
  c["auth_time"] = kNow + kSkew + 1;
  EXPECT_EQ(error_of(c), TokenError::kNotYetValid);
  c["auth_time"] = kNow + 10 * 365 * 24 * 3600;
  EXPECT_EQ(error_of(c), TokenError::kNotYetValid);
  c["auth_time"] = kNow + kSkew;  // within the skew: another node's clock
  EXPECT_TRUE(verifier_->verify(sign(c), kNow).has_value());
}

TEST_F(TokenVerifierTest, WrongIssuer) {
  auto c = good_claims();
  c["iss"] = "https://evil.example.com";
  EXPECT_EQ(error_of(c), TokenError::kWrongIssuer);
  c["iss"] = std::string(kIssuer) + "/";
  EXPECT_EQ(error_of(c), TokenError::kWrongIssuer);
  c["iss"] = 1;
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
}

TEST_F(TokenVerifierTest, WrongAudience) {
  auto c = good_claims();
  c["aud"] = "https://other.example.com";
  EXPECT_EQ(error_of(c), TokenError::kWrongAudience);
  c["aud"] = json::array{"https://other.example.com", "x"};
  EXPECT_EQ(error_of(c), TokenError::kWrongAudience);
  c["aud"] = json::array{};
  EXPECT_EQ(error_of(c), TokenError::kWrongAudience);
  c["aud"] = 5;
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
  c.erase("aud");
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
}

TEST_F(TokenVerifierTest, AudienceArrayContainingOurs) {
  auto c = good_claims();
  c["aud"] = json::array{"https://other.example.com", kAudience};
  auto r = verifier_->verify(sign(c), kNow);
  ASSERT_TRUE(r.has_value()) << to_string(r.error());
  EXPECT_EQ(r->aud, kAudience);
  c["aud"] = json::array{kAudience, 7};  // a non-string member makes the claim ill-typed
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
}

TEST_F(TokenVerifierTest, MissingOrIllTypedClaims) {
  for (const char* name : {"sub", "sid", "jti", "acr", "amr", "iat", "exp", "auth_time", "iss"}) {
    auto c = good_claims();
    c.erase(name);
    EXPECT_EQ(error_of(c), TokenError::kMissingClaim) << name;
  }
  for (const char* name : {"sub", "sid", "jti", "acr"}) {
    auto c = good_claims();
    c[name] = 1;
    EXPECT_EQ(error_of(c), TokenError::kMissingClaim) << name;
  }
}

TEST_F(TokenVerifierTest, AmrMustBeArrayOfStrings) {
  auto c = good_claims();
  c["amr"] = "pwd";
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
  c["amr"] = json::array{"pwd", 1};
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
  c["amr"] = json::object{{"pwd", true}};
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
}

TEST_F(TokenVerifierTest, TimeClaimsMustBeIntegers) {
  for (const char* name : {"iat", "exp", "auth_time", "nbf"}) {
    auto c = good_claims();
    c[name] = static_cast<double>(kNow);  // a JSON number with a fraction part
    EXPECT_EQ(error_of(c), TokenError::kMissingClaim) << name;
    c[name] = std::to_string(kNow);
    EXPECT_EQ(error_of(c), TokenError::kMissingClaim) << name;
  }
  auto c = good_claims();
  c["exp"] = std::uint64_t{1} << 63;  // beyond int64
  EXPECT_EQ(error_of(c), TokenError::kMissingClaim);
}

TEST_F(TokenVerifierTest, JwsErrorsAreMapped) {
  const std::string good = sign(good_claims());
  EXPECT_TRUE(verifier_->verify(good, kNow).has_value());
  const auto parts = crypto::test::split_compact(good);
  std::string flipped;
  crypto::test::for_each_signature_bit_flip(good, [&](const std::string& t) {
    if (flipped.empty()) flipped = t;
  });
  EXPECT_EQ(verifier_->verify(flipped, kNow).error(), TokenError::kBadSignature);
  EXPECT_EQ(verifier_->verify("a.b", kNow).error(), TokenError::kMalformed);
  EXPECT_EQ(verifier_->verify(std::string(10000, 'a'), kNow).error(), TokenError::kTooLarge);
  const auto header = [](const std::string& h) { return crypto::base64url_encode(h); };
  EXPECT_EQ(
      verifier_
          ->verify(header(R"({"alg":"none","kid":")" + es_.kid() + R"("})") + "." + parts[1] + ".",
                   kNow)
          .error(),
      TokenError::kAlgNotAllowed);
  EXPECT_EQ(verifier_->verify(crypto::test::with_part(good, 0, header(R"({"alg":"ES256"})")), kNow)
                .error(),
            TokenError::kMissingKid);
  EXPECT_EQ(
      verifier_
          ->verify(crypto::test::with_part(good, 0, header(R"({"alg":"ES256","kid":"x"})")), kNow)
          .error(),
      TokenError::kUnknownKid);
  EXPECT_EQ(verifier_
                ->verify(crypto::test::with_part(
                             good, 0, header(R"({"alg":"EdDSA","kid":")" + es_.kid() + R"("})")),
                         kNow)
                .error(),
            TokenError::kAlgKidMismatch);
  EXPECT_EQ(verifier_->verify(crypto::test::with_part(good, 0, header("[]")), kNow).error(),
            TokenError::kMalformed);
  EXPECT_EQ(verifier_->verify(es_.sign_compact("[]"), kNow).error(), TokenError::kMalformed);
}

TEST_F(TokenVerifierTest, TokenFromUnknownSignerIsRejected) {
  const SigningKey stranger = SigningKey::generate(Alg::kES256);
  EXPECT_EQ(verifier_->verify(stranger.sign_compact(json::serialize(good_claims())), kNow).error(),
            TokenError::kUnknownKid);
}

TEST(TokenVerifierCreate, RejectsUnusableInput) {
  const SigningKey k = SigningKey::generate(Alg::kES256);
  const std::string jwks = R"({"keys":[)" + k.public_jwk_json() + "]}";
  EXPECT_FALSE(TokenVerifier::create("nope", kIssuer, kAudience).has_value());
  EXPECT_FALSE(TokenVerifier::create(R"({"keys":[]})", kIssuer, kAudience).has_value());
  EXPECT_FALSE(
      TokenVerifier::create(R"({"keys":[{"kty":"RSA"}]})", kIssuer, kAudience).has_value());
  EXPECT_FALSE(TokenVerifier::create(jwks, "", kAudience).has_value());
  EXPECT_FALSE(TokenVerifier::create(jwks, kIssuer, "").has_value());
  auto ok = TokenVerifier::create(jwks, kIssuer, kAudience);
  ASSERT_TRUE(ok.has_value());
  TokenVerifier moved = std::move(*ok);
  EXPECT_TRUE(moved.verify(k.sign_compact(json::serialize(good_claims())), kNow).has_value());
}

TEST(TokenVerifierCreate, NegativeSkewIsTreatedAsZero) {
  const SigningKey k = SigningKey::generate(Alg::kEdDSA);
  auto v =
      TokenVerifier::create(R"({"keys":[)" + k.public_jwk_json() + "]}", kIssuer, kAudience, -100);
  ASSERT_TRUE(v.has_value());
  auto c = good_claims();
  c["exp"] = kNow + 1;
  EXPECT_TRUE(v->verify(k.sign_compact(json::serialize(c)), kNow).has_value());
  c["exp"] = kNow;
  EXPECT_EQ(v->verify(k.sign_compact(json::serialize(c)), kNow).error(), TokenError::kExpired);
}

TEST(TokenErrorNames, EveryValueHasAName) {
  for (int i = 0; i <= static_cast<int>(TokenError::kMissingClaim); ++i) {
    const std::string name = to_string(static_cast<TokenError>(i));
    EXPECT_FALSE(name.empty());
    EXPECT_NE(name, "?");
  }
  EXPECT_STREQ(to_string(TokenError::kAlgKidMismatch), "alg_kid_mismatch");
}

}  // namespace
}  // namespace stepup
