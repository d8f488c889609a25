// Implements include/stepup/token.h on top of crypto::KeySet. Lives in
// stepup_crypto so the public header can stay free of OpenSSL and Boost.
#include <algorithm>
#include <boost/json.hpp>
#include <limits>
#include <optional>
#include <utility>

#include "crypto/jws.h"
#include "stepup/token.h"

namespace stepup {
namespace json = boost::json;

namespace {

TokenError from_jws(crypto::JwsError e) {
  switch (e) {
    case crypto::JwsError::kMalformed:
    case crypto::JwsError::kBadHeader:
    case crypto::JwsError::kBadPayload:
      return TokenError::kMalformed;
    case crypto::JwsError::kAlgNotAllowed:
      return TokenError::kAlgNotAllowed;
    case crypto::JwsError::kMissingKid:
      return TokenError::kMissingKid;
    case crypto::JwsError::kUnknownKid:
      return TokenError::kUnknownKid;
    case crypto::JwsError::kAlgKidMismatch:
      return TokenError::kAlgKidMismatch;
    case crypto::JwsError::kBadSignature:
      return TokenError::kBadSignature;
    case crypto::JwsError::kTooLarge:
      return TokenError::kTooLarge;
  }
  return TokenError::kMalformed;
}

// Integers only: a time claim written as 1.7e9 or 1700000000.5 is a token we
// did not mint, so it is refused rather than rounded.
std::optional<std::int64_t> int_member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() &&
      v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return std::nullopt;
}

const json::string* string_member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr ? v->if_string() : nullptr;
}

}  // namespace

const char* to_string(TokenError e) {
  switch (e) {
    case TokenError::kMalformed:
      return "malformed";
    case TokenError::kTooLarge:
      return "too_large";
    case TokenError::kAlgNotAllowed:
      return "alg_not_allowed";
    case TokenError::kMissingKid:
      return "missing_kid";
    case TokenError::kUnknownKid:
      return "unknown_kid";
    case TokenError::kAlgKidMismatch:
      return "alg_kid_mismatch";
    case TokenError::kBadSignature:
      return "bad_signature";
    case TokenError::kExpired:
      return "expired";
    case TokenError::kNotYetValid:
      return "not_yet_valid";
    case TokenError::kWrongIssuer:
      return "wrong_issuer";
    case TokenError::kWrongAudience:
      return "wrong_audience";
    case TokenError::kMissingClaim:
      return "missing_claim";
  }
  return "?";
}

struct TokenVerifier::Impl {
  crypto::KeySet keys;
  std::string issuer;
  std::string audience;
  std::int64_t skew = 0;
};

TokenVerifier::TokenVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenVerifier::~TokenVerifier() = default;
TokenVerifier::TokenVerifier(TokenVerifier&&) noexcept = default;
TokenVerifier& TokenVerifier::operator=(TokenVerifier&&) noexcept = default;

tl::expected<TokenVerifier, std::string> TokenVerifier::create(std::string_view jwks_json,
                                                               std::string issuer,
                                                               std::string audience,
                                                               std::int64_t clock_skew_seconds) {
  if (issuer.empty()) return tl::make_unexpected(std::string("issuer must not be empty"));
  if (audience.empty()) return tl::make_unexpected(std::string("audience must not be empty"));
  auto impl = std::make_unique<Impl>();
  if (auto added = impl->keys.add_jwks(jwks_json); !added) {
    return tl::make_unexpected(added.error());
  }
  if (impl->keys.size() == 0) return tl::make_unexpected(std::string("JWKS holds no keys"));
  impl->issuer = std::move(issuer);
  impl->audience = std::move(audience);
  // A negative skew would make fresh tokens look expired; clamp it. The upper
  // clamp keeps `now +/- skew` far from overflow.
  impl->skew = std::clamp<std::int64_t>(clock_skew_seconds, 0, 24 * 3600);
  return TokenVerifier(std::move(impl));
}

tl::expected<AccessClaims, TokenError> TokenVerifier::verify(std::string_view token,
                                                             std::int64_t now) const {
  auto verified = impl_->keys.verify(token);
  if (!verified) return tl::make_unexpected(from_jws(verified.error()));

  // KeySet already proved the payload is a JSON object; this parse cannot
  // fail, but stay defensive rather than assume.
  json::error_code ec;
  const json::value pv = json::parse(verified->payload_json, ec);
  if (ec || !pv.is_object()) return tl::make_unexpected(TokenError::kMalformed);
  const json::object& p = pv.get_object();

  AccessClaims c;

  const json::string* iss = string_member(p, "iss");
  if (iss == nullptr) return tl::make_unexpected(TokenError::kMissingClaim);
  if (*iss != impl_->issuer) return tl::make_unexpected(TokenError::kWrongIssuer);
  c.iss = std::string(*iss);

  const json::value* aud = p.if_contains("aud");
  if (aud == nullptr) return tl::make_unexpected(TokenError::kMissingClaim);
  bool aud_ok = false;
  if (const json::string* s = aud->if_string()) {
    aud_ok = *s == impl_->audience;
  } else if (const json::array* a = aud->if_array()) {
    for (const json::value& item : *a) {
      const json::string* s = item.if_string();
      if (s == nullptr) return tl::make_unexpected(TokenError::kMissingClaim);
      if (*s == impl_->audience) aud_ok = true;
    }
  } else {
    return tl::make_unexpected(TokenError::kMissingClaim);
  }
  if (!aud_ok) return tl::make_unexpected(TokenError::kWrongAudience);
  c.aud = impl_->audience;

  const auto exp = int_member(p, "exp");
  const auto iat = int_member(p, "iat");
  if (!exp || !iat) return tl::make_unexpected(TokenError::kMissingClaim);
  if (*exp <= now - impl_->skew) return tl::make_unexpected(TokenError::kExpired);
  if (p.contains("nbf")) {
    const auto nbf = int_member(p, "nbf");
    if (!nbf) return tl::make_unexpected(TokenError::kMissingClaim);
    if (*nbf > now + impl_->skew) return tl::make_unexpected(TokenError::kNotYetValid);
  }
  if (*iat > now + impl_->skew) return tl::make_unexpected(TokenError::kNotYetValid);
  c.exp = *exp;
  c.iat = *iat;

  const auto auth_time = int_member(p, "auth_time");
  if (!auth_time) return tl::make_unexpected(TokenError::kMissingClaim);
  // A future auth_time would pass every max_age for as long as it stays in
  // the future: refused beyond the skew, like a future iat.
  if (*auth_time > now + impl_->skew) return tl::make_unexpected(TokenError::kNotYetValid);
  c.auth_time = *auth_time;

  struct Required {
    std::string_view name;
    std::string AccessClaims::*field;
  };
  static constexpr Required kStrings[] = {
      {"sub", &AccessClaims::sub},
      {"sid", &AccessClaims::sid},
      {"jti", &AccessClaims::jti},
      {"acr", &AccessClaims::acr},
  };
  for (const auto& r : kStrings) {
    const json::string* s = string_member(p, r.name);
    if (s == nullptr) return tl::make_unexpected(TokenError::kMissingClaim);
    c.*(r.field) = std::string(*s);
  }

  const json::value* amr = p.if_contains("amr");
  if (amr == nullptr || !amr->is_array()) return tl::make_unexpected(TokenError::kMissingClaim);
  c.amr.reserve(amr->get_array().size());
  for (const json::value& m : amr->get_array()) {
    const json::string* s = m.if_string();
    if (s == nullptr) return tl::make_unexpected(TokenError::kMissingClaim);
    c.amr.emplace_back(*s);
  }
  return c;
}

}  // namespace stepup
