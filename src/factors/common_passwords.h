// Built-in list of very common passwords (NIST SP 800-63B §3.1.1.2 "values
// known to be commonly-used"), used by check_password_rules().
//
// Entries are lower-case ASCII, already in NFKC form, sorted. Callers pass the
// NFKC-normalised, lower-cased candidate. The list is a constant table:
// everything here is thread-safe.
#pragma once
#include <span>
#include <string_view>

namespace stepup::factors {

// True when `lowercase_nfkc` is exactly one of the built-in entries.
bool is_common_password(std::string_view lowercase_nfkc);

// The whole table, sorted ascending (for tests and tooling).
std::span<const std::string_view> common_passwords();

}  // namespace stepup::factors
