#include "service/error.h"

namespace stepup::service {

std::string_view error_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::kInvalidRequest:
      return "invalid_request";
    case ErrorCode::kInvalidCredentials:
      return "invalid_credentials";
    case ErrorCode::kInvalidToken:
      return "invalid_token";
    case ErrorCode::kInvalidRefreshToken:
      return "invalid_refresh_token";
    case ErrorCode::kRefreshTokenReused:
      return "refresh_token_reused";
    case ErrorCode::kInvalidClient:
      return "invalid_client";
    case ErrorCode::kStepUpRequired:
      return "insufficient_user_authentication";
    case ErrorCode::kInvalidCode:
      return "invalid_code";
    case ErrorCode::kCodeReused:
      return "code_already_used";
    case ErrorCode::kChallengeInvalid:
      return "invalid_challenge";
    case ErrorCode::kNoFactor:
      return "no_factor_enrolled";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kFactorLocked:
      return "factor_locked";
    case ErrorCode::kForbidden:
      return "access_denied";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kOverloaded:
      return "overloaded";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal_error";
  }
  return "internal_error";
}

int http_status(ErrorCode c) {
  switch (c) {
    case ErrorCode::kInvalidRequest:
      return 400;
    case ErrorCode::kInvalidCredentials:
    case ErrorCode::kInvalidToken:
    case ErrorCode::kInvalidRefreshToken:
    case ErrorCode::kRefreshTokenReused:
    case ErrorCode::kInvalidClient:
    case ErrorCode::kStepUpRequired:
    case ErrorCode::kInvalidCode:
    case ErrorCode::kCodeReused:
      return 401;
    case ErrorCode::kChallengeInvalid:
      return 400;
    case ErrorCode::kNoFactor:
      return 403;
    case ErrorCode::kRateLimited:
    case ErrorCode::kFactorLocked:
      return 429;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kOverloaded:
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

}  // namespace stepup::service
