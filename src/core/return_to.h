// return_to validation: where a user may be sent back after a step-up.
//
// Accepted: a relative path that starts with a single "/" (not "//" or "/\"),
// or an absolute http(s) URL whose origin is in the allowed list. Refused:
// anything with control characters, backslashes, userinfo ("@" in the
// authority), other schemes (javascript:, data:, ...), and encoded variants
// that decode to any of those ("%2F%2Fevil", "%5C", double encoding). Pure and
// thread-safe.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace stepup::core {

// The value to use (normalised: unchanged input) or "" when refused.
// scheme://authority of an absolute URL, as written ("" when not absolute).
std::string url_origin(std::string_view url);

bool is_safe_return_to(std::string_view target, const std::vector<std::string>& allowed_origins);

}  // namespace stepup::core
