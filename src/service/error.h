// ServiceError: what a use case can answer besides success. The http layer
// maps each to a status and the contract's error JSON; the CLI to an exit code.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "core/time.h"

namespace stepup::service {

enum class ErrorCode {
  kInvalidRequest,       // 400 invalid_request
  kInvalidCredentials,   // 401 invalid_credentials (never says which part)
  kInvalidToken,         // 401 invalid_token: no valid session or access token
  kInvalidRefreshToken,  // 401 invalid_refresh_token
  kRefreshTokenReused,   // 401 refresh_token_reused (session revoked)
  kInvalidClient,        // 401 invalid_client (introspection)
  kStepUpRequired,       // 401 insufficient_user_authentication (+ acr, max_age)
  kInvalidCode,          // 401 invalid_code: the factor did not verify
  kCodeReused,           // 401 code_already_used: a valid code already spent
  kChallengeInvalid,     // 400 invalid_challenge: used, expired
  kNoFactor,             // 403 no_factor_enrolled: nothing can reach the level
  kRateLimited,          // 429 rate_limited (+ retry_after)
  kFactorLocked,         // 429 factor_locked (+ retry_after)
  kForbidden,            // 403 access_denied
  kNotFound,             // 404 not_found
  kConflict,             // 409 conflict
  kOverloaded,           // 503 overloaded (hash pool full)
  kUnavailable,          // 503 unavailable (store down)
  kInternal,             // 500 internal_error
};

struct Error {
  ErrorCode code;
  std::string description;
  std::string acr;                       // kStepUpRequired: the level needed
  std::optional<core::Seconds> max_age;  // kStepUpRequired: freshness needed
  core::Seconds retry_after = 0;         // kRateLimited, kFactorLocked
};

std::string_view error_name(ErrorCode c);  // snake_case code for the error JSON
int http_status(ErrorCode c);

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode c, std::string description) {
  return tl::unexpected<Error>(Error{c, std::move(description), {}, {}, 0});
}

}  // namespace stepup::service
