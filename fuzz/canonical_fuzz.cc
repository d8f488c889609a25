// libFuzzer target: core::canonical_path / canonical_host / canonical_method,
// the canonical request every enforcement point matches rules against.
//
// Invariants (beyond "no crash"): an accepted path starts with '/', is a fixed
// point (canonical(canonical(p)) == canonical(p)), holds no empty, "." or ".."
// segment, and once fully percent-decoded holds no backslash, NUL or other
// control byte and no slash that was encoded; an accepted host is a fixed
// point too. Input: the first line is the host, the rest the target.
#include <cstddef>
#include <cstdint>
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/canonical.h"

namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.find('\n');
  const std::string_view host = nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  const std::string_view target = nl == std::string_view::npos ? in : in.substr(nl + 1);

  if (auto h = stepup::core::canonical_host(host)) {
    auto again = stepup::core::canonical_host(*h);
    check(again && *again == *h);
  }
  (void)stepup::core::canonical_method(host);

  auto p = stepup::core::canonical_path(target, host);
  if (!p) return 0;
  const std::string& c = *p;
  check(!c.empty() && c.front() == '/');
  check(c.find("//") == std::string::npos);
  check(c.find("/./") == std::string::npos && c.find("/../") == std::string::npos);
  check(!c.ends_with("/.") && !c.ends_with("/.."));
  auto again = stepup::core::canonical_path(c, "");
  check(again && *again == c);
  for (std::size_t i = 0; i < c.size(); ++i) {
    unsigned char b = static_cast<unsigned char>(c[i]);
    if (c[i] == '%') {
      // An escape: well-formed, never of a byte the canonical form decodes
      // or refuses; an encoded space (%20) stays encoded.
      check(i + 2 < c.size() && hexval(c[i + 1]) >= 0 && hexval(c[i + 2]) >= 0);
      b = static_cast<unsigned char>(hexval(c[i + 1]) * 16 + hexval(c[i + 2]));
      check(b != '/' && b != '\\' && b != ';' && b >= 0x20 && b != 0x7f);
      check(!std::isalnum(b) && b != '-' && b != '.' && b != '_' && b != '~' && b != ':' &&
            b != '@' && b != '$' && b != '!' && b != '&' && b != '*' && b != '=');
      i += 2;
      continue;
    }
    check(b != '\\' && b != ';' && b > 0x20 && b < 0x7f);
  }
  // Not a network-path reference, and a literal reading only with dot segments.
  check(c.size() < 2 || c[1] != '/');
  return 0;
}
