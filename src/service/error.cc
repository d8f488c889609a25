#include "service/error.h"

namespace stepup::service {

std::string_view error_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::kInvalidRequest: return "invalid_request";
    case ErrorCode::kInvalidCredentials: return "invalid_credentials";
    case ErrorCode::kInvalidToken: return "invalid_token";
    case ErrorCode::kInvalidRefreshToken: return "invalid_refresh_token";
    case ErrorCode::kRefreshTokenReused: return "refresh_token_reused";
    case ErrorCode::kInvalidClient: return "invalid_client";
    case ErrorCode::kForbidden: return "access_denied";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kOverloaded: return "overloaded";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal_error";
  }
  return "internal_error";
}

int http_status(ErrorCode c) {
  switch (c) {
    case ErrorCode::kInvalidRequest: return 400;
    case ErrorCode::kInvalidCredentials:
    case ErrorCode::kInvalidToken:
    case ErrorCode::kInvalidRefreshToken:
    case ErrorCode::kRefreshTokenReused:
    case ErrorCode::kInvalidClient: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kOverloaded:
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

}  // namespace stepup::service
