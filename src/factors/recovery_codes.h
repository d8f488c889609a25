// Recovery codes: a set of one-time codes shown once and stored only as
// hashes. Each code has 80 random bits, written as 16 characters of a
// readable 32-symbol alphabet in four groups ("7kq3-m9xd-2hpt-wc4n"):
// digits 0 and 2-9 plus lower-case letters without i, l, o. There is no 1, i,
// l or o; the letter o is read as the digit 0 on input, so the only
// look-alike pair left cannot be mistyped. Input is normalised (case, spaces,
// dashes, o->0) before hashing so users can type it loosely. Pure apart from
// randomness; thread-safe.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stepup::factors {

// The 32 symbols (5 bits each) codes are written in.
inline constexpr std::string_view kRecoveryCodeAlphabet = "023456789abcdefghjkmnpqrstuvwxyz";

std::vector<std::string> generate_recovery_codes(int count);
// Lower-case, strip spaces and dashes, read 'o' as '0'; nullopt when the
// result is not 16 characters of the alphabet. The result has no dashes.
std::optional<std::string> normalize_recovery_code(std::string_view input);
// SHA-256 hex of the normalised code (80-bit random codes do not need a slow
// hash; guessing is rate-limited and locked out).
std::string recovery_code_hash(std::string_view normalized);

}  // namespace stepup::factors
