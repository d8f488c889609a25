// Shared helpers for crypto tests: signature bit-flipping (in the spirit of
// jwt_verify_lib's test_common.h) and token surgery. Header-only, test-only.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/encoding.h"

namespace stepup::crypto::test {

// Splits a compact JWS into its three dot-separated parts (no validation).
inline std::vector<std::string> split_compact(std::string_view token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = token.find('.', start);
    parts.emplace_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Calls `visit` once per single-bit corruption of the signature: decodes the
// third part, flips bit `bit` of byte `i`, re-encodes canonically, and hands
// over the full token. Returns how many variants were produced (8 * bytes),
// so a caller can assert that the loop really ran.
inline std::size_t for_each_signature_bit_flip(
    std::string_view token, const std::function<void(const std::string&)>& visit) {
  const auto parts = split_compact(token);
  if (parts.size() != 3) return 0;
  const auto sig = base64url_decode(parts[2]);
  if (!sig) return 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < sig->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = *sig;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      visit(parts[0] + "." + parts[1] + "." + base64url_encode(flipped));
      ++count;
    }
  }
  return count;
}

// Re-assembles a token with a replaced (already encoded) part.
inline std::string with_part(std::string_view token, std::size_t index, std::string_view part) {
  auto parts = split_compact(token);
  parts.at(index) = std::string(part);
  return parts[0] + "." + parts[1] + "." + parts[2];
}

}  // namespace stepup::crypto::test
