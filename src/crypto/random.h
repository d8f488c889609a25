// Randomness: the OS CSPRNG through libsodium (randombytes_buf). Thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace stepup::crypto {

std::string random_bytes(std::size_t n);
// n random bytes as base64url (e.g. 32 -> 43 chars): session ids, refresh tokens.
std::string random_token(std::size_t n = 32);
// Uniform integer in [0, bound).
std::uint32_t random_uniform(std::uint32_t bound);

}  // namespace stepup::crypto
