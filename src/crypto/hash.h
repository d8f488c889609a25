// Digests, MACs and constant-time comparison.
#pragma once
#include <string>
#include <string_view>

namespace stepup::crypto {

std::string sha256(std::string_view data);                             // 32 raw bytes
std::string sha256_hex(std::string_view data);                         // 64 hex chars
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
// Constant time for equal lengths; different lengths return false (length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace stepup::crypto
