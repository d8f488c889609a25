// ServiceError: what a use case can answer besides success. The http layer
// maps each to a status and the contract's error JSON; the CLI to an exit code.
#pragma once
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace stepup::service {

enum class ErrorCode {
  kInvalidRequest,       // 400 invalid_request
  kInvalidCredentials,   // 401 invalid_credentials (never says which part)
  kInvalidToken,         // 401 invalid_token: no valid session or access token
  kInvalidRefreshToken,  // 401 invalid_refresh_token
  kRefreshTokenReused,   // 401 refresh_token_reused (session revoked)
  kInvalidClient,        // 401 invalid_client (introspection)
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
};

std::string_view error_name(ErrorCode c);  // snake_case code for the error JSON
int http_status(ErrorCode c);

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode c, std::string description) {
  return tl::unexpected<Error>(Error{c, std::move(description)});
}

}  // namespace stepup::service
