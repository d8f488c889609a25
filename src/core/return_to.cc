#include "core/return_to.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace stepup::core {

namespace {

constexpr std::size_t kMaxReturnTo = 2048;

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One round of percent-decoding; nullopt on a malformed escape.
std::optional<std::string> decode_once(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hexval(s[i + 1]);
      int lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool has_forbidden_bytes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f || c == '\\';
  });
}

// Checks one (possibly already decoded) form of the target.
bool relative_ok(std::string_view s) {
  if (s.empty() || s[0] != '/') return false;
  if (s.size() >= 2 && (s[1] == '/' || s[1] == '\\')) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

std::string url_origin(std::string_view url) {
  const auto p = url.find("://");
  if (p == std::string_view::npos) return {};
  return std::string(url.substr(0, url.find_first_of("/?#", p + 3)));
}

bool is_safe_return_to(std::string_view target, const std::vector<std::string>& allowed_origins) {
  if (target.empty() || target.size() > kMaxReturnTo) return false;
  // Every decoding layer must be harmless: a browser or a proxy may decode
  // once or twice before following the URL.
  std::string layer(target);
  for (int round = 0; round < 3; ++round) {
    if (has_forbidden_bytes(layer)) return false;
    if (layer.find('%') == std::string::npos) break;
    auto next = decode_once(layer);
    if (!next) return false;
    if (layer[0] == '/' && !relative_ok(*next)) return false;
    layer = std::move(*next);
  }
  if (target[0] == '/') return relative_ok(target) && relative_ok(layer);

  // Absolute: scheme://authority[/...], no userinfo, origin allowed; the
  // decoded form must name the same origin (no "%40" or "%2F" tricks).
  const auto origin = [](std::string_view url) -> std::optional<std::string> {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return std::nullopt;
    const std::string scheme = lower(url.substr(0, scheme_end));
    if (scheme != "https" && scheme != "http") return std::nullopt;
    const auto rest = url.substr(scheme_end + 3);
    const auto authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    return scheme + "://" + lower(authority);
  };
  const auto raw = origin(target);
  const auto decoded = origin(layer);
  if (!raw || !decoded || *raw != *decoded) return false;
  return std::any_of(allowed_origins.begin(), allowed_origins.end(),
                     [&](const std::string& o) { return lower(o) == *raw; });
}

}  // namespace stepup::core
