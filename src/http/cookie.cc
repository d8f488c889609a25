// Cookie parsing and rendering (see cookie.h). Rendering is strict because its
// output goes into a response header; parsing is tolerant because browsers and
// proxies are, but never hands back a value with control characters.
#include "http/cookie.h"

namespace stepup::http {
namespace {

bool is_ctl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool has_ctl(std::string_view s) {
  for (char c : s) {
    if (is_ctl(c)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 7230 tchar (RFC 6265 cookie-name is an RFC 2616 token, same set).
bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= '0' && u <= '9') return true;
  if ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// RFC 6265 §4.1.1 cookie-octet.
bool is_cookie_octet(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x2b) || (u >= 0x2d && u <= 0x3a) ||
         (u >= 0x3c && u <= 0x5b) || (u >= 0x5d && u <= 0x7e);
}

bool is_cookie_value(std::string_view s) {
  for (char c : s) {
    if (!is_cookie_octet(c)) return false;
  }
  return true;
}

bool is_attribute_value(std::string_view s) {
  return !has_ctl(s) && s.find(';') == std::string_view::npos;
}

void append_attributes(std::string& out, const SetCookie& c) {
  if (!c.path.empty()) {
    out += "; Path=";
    out += c.path;
  }
}

void append_flags(std::string& out, const SetCookie& c) {
  if (c.http_only) out += "; HttpOnly";
  if (c.secure) out += "; Secure";
  if (!c.same_site.empty()) {
    out += "; SameSite=";
    out += c.same_site;
  }
}

}  // namespace

std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name) {
  if (name.empty() || has_ctl(name)) return std::nullopt;
  std::string_view rest = cookie_header;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;  // §5.2: a pair without '=' is ignored
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (has_ctl(value)) return std::nullopt;  // first occurrence wins, even when bad
    return value;
  }
  return std::nullopt;
}

bool is_valid(const SetCookie& c) {
  return is_token(c.name) && is_cookie_value(c.value) && is_attribute_value(c.path) &&
         (c.same_site.empty() || c.same_site == "Strict" || c.same_site == "Lax" ||
          c.same_site == "None");
}

std::string render(const SetCookie& c) {
  if (!is_valid(c)) return {};
  std::string out;
  out.reserve(c.name.size() + c.value.size() + c.path.size() + 64);
  out += c.name;
  out += '=';
  out += c.value;
  append_attributes(out, c);
  if (c.max_age) {
    out += "; Max-Age=";
    // RFC 6265 §5.2.2: zero or negative means expire now; render those as 0.
    out += std::to_string(*c.max_age > 0 ? *c.max_age : 0);
  }
  append_flags(out, c);
  return out;
}

std::string render_deletion(const SetCookie& c) {
  SetCookie deletion = c;
  deletion.value.clear();
  if (!is_valid(deletion)) return {};
  std::string out = deletion.name;
  out += '=';
  append_attributes(out, deletion);
  out += "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
  append_flags(out, deletion);
  return out;
}

}  // namespace stepup::http
