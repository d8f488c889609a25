// stepup/token.h — embeddable access-token verifier.
//
// Verifies a stepup access token (JWS compact, ES256 or EdDSA) against a JWKS
// document, then checks iss, aud, exp, nbf, iat and auth_time (with clock
// skew; an auth_time in the future beyond the skew is refused, since it would
// pass every max_age) and that the stepup claims are present and well typed.
// Pure: bytes and `now` in, claims or one precise error out; no clock reads,
// no network. A TokenVerifier is immutable after creation and safe to use
// from many threads.
//
// This header includes no OpenSSL, SQLite or Beast types.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace stepup {

struct AccessClaims {
  std::string iss;
  std::string aud;
  std::string sub;
  std::string sid;  // public session id
  std::string jti;
  std::string acr;  // level reached
  std::vector<std::string> amr;
  std::int64_t iat = 0;
  std::int64_t exp = 0;        // never past elevated_until for an elevated token
  std::int64_t auth_time = 0;  // when `acr` was (last) reached
};

enum class TokenError {
  kMalformed,       // not a compact JWS / bad base64url / not JSON
  kTooLarge,        // longer than the verifier accepts
  kAlgNotAllowed,   // none, HS*, or an algorithm this verifier does not accept
  kMissingKid,      // header has no kid
  kUnknownKid,      // kid not in the JWKS
  kAlgKidMismatch,  // the key for kid is pinned to another alg
  kBadSignature,    // signature check failed
  kExpired,         // exp <= now - skew
  kNotYetValid,     // nbf, iat or auth_time in the future beyond skew
  kWrongIssuer,     // iss differs
  kWrongAudience,   // aud (string or array) does not contain ours
  kMissingClaim,    // a required claim is absent or of the wrong type
};
const char* to_string(TokenError e);

class TokenVerifier {
 public:
  // jwks_json: {"keys":[...]}. Fails with a message when no usable key is found.
  static tl::expected<TokenVerifier, std::string> create(std::string_view jwks_json,
                                                         std::string issuer, std::string audience,
                                                         std::int64_t clock_skew_seconds = 30);
  ~TokenVerifier();
  TokenVerifier(TokenVerifier&&) noexcept;
  TokenVerifier& operator=(TokenVerifier&&) noexcept;

  tl::expected<AccessClaims, TokenError> verify(std::string_view token, std::int64_t now) const;

 private:
  struct Impl;
  explicit TokenVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepup
