// libFuzzer target: core::is_safe_return_to, the open-redirect guard.
//
// Invariant (beyond "no crash"): an accepted relative target must stay a
// same-origin path however many times a browser or proxy percent-decodes it:
// after 0..3 rounds of decoding it must not start with "//" or "/\". An
// accepted target never holds control characters or backslashes, and an
// accepted absolute target must be on an allowed origin.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/return_to.h"

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lenient decoding, as a browser does it: a malformed escape stays literal.
std::string decode_lenient(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool starts_like_authority(std::string_view s) {
  return s.size() >= 2 && s[0] == '/' && (s[1] == '/' || s[1] == '\\');
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> kAllowed = {"https://app.example.com",
                                                    "http://localhost:8080"};
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  if (!stepup::core::is_safe_return_to(target, kAllowed)) return 0;

  for (char ch : target) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '\\') std::abort();
  }
  if (target.front() == '/') {
    std::string layer(target);
    for (int round = 0; round <= 3; ++round) {
      if (starts_like_authority(layer)) std::abort();
      layer = decode_lenient(layer);
    }
    return 0;
  }
  // Absolute: must name one of the allowed origins, followed by the end of the
  // authority (so "https://app.example.com.evil" is not taken for it).
  bool ok = false;
  for (const auto& origin : kAllowed) {
    if (!starts_with_ci(target, origin)) continue;
    const std::string_view rest = target.substr(origin.size());
    if (rest.empty() || rest.front() == '/' || rest.front() == '?' || rest.front() == '#')
      ok = true;
  }
  if (!ok) std::abort();
  return 0;
}
