// Recovery codes: a set of one-time codes shown once and stored only as
// hashes. Each code has 80 random bits, written as 16 characters of a
// readable alphabet in four groups ("7kq3-m9xd-2hpt-wc4n"): no 0/o, 1/l/i.
// Input is normalised (case, spaces, dashes) before hashing so users can type
// it loosely. Pure apart from randomness; thread-safe.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepup::factors {

std::vector<std::string> generate_recovery_codes(int count);
// Lower-case, strip spaces and dashes; nullopt when the result is not 16
// characters of the alphabet.
std::optional<std::string> normalize_recovery_code(std::string_view input);
// SHA-256 hex of the normalised code (80-bit random codes do not need a slow
// hash; guessing is rate-limited and locked out).
std::string recovery_code_hash(std::string_view normalized);

}  // namespace stepup::factors
