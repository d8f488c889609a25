// Cookies: reading one value out of a Cookie request header and rendering
// Set-Cookie header values. Pure string functions, no Beast types, no I/O.
//
// Parsing follows RFC 6265 §5.2/§5.4 loosely: pairs split on ';', optional
// spaces/tabs around names and values, a value in double quotes is unquoted,
// pairs without '=' are ignored, names compare case-sensitively, and the first
// occurrence of a name wins (browsers send the most specific path first).
// Anything containing control characters is rejected.
//
// Thread-safety: all functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stepup::http {

// The value of cookie `name` in a Cookie header ("a=b; c=d"), or nullopt when it
// is absent, or when the first occurrence (or `name`) contains a control
// character. The view points into `cookie_header`.
std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name);

// One Set-Cookie header value.
struct SetCookie {
  std::string name;                     // an RFC 6265 token, e.g. "stepup_session"
  std::string value;                    // cookie-octets only (no space, '"', ',', ';', '\\')
  std::string path = "/";               // empty: no Path attribute
  std::optional<std::int64_t> max_age;  // seconds; nullopt: a session cookie
  bool http_only = true;
  bool secure = false;
  std::string same_site = "Lax";  // "Strict", "Lax", "None" or empty (no attribute)
};

// True when render() can render `cookie`: valid name and value, a path without
// control characters or ';', and a known same_site.
bool is_valid(const SetCookie& cookie);

// "name=value; Path=/; Max-Age=N; HttpOnly; Secure; SameSite=Lax".
// Returns an empty string when !is_valid(cookie), so that a bad value can never
// smuggle attributes or header lines into a response.
std::string render(const SetCookie& cookie);

// A Set-Cookie value that deletes `cookie` in the browser: same name, path and
// attributes, empty value, "Max-Age=0" (plus an Expires in the past for old
// clients). The value and max_age of `cookie` are ignored. Empty when invalid.
std::string render_deletion(const SetCookie& cookie);

}  // namespace stepup::http
