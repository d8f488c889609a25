#include "crypto/random.h"

#include <sodium.h>

#include <cstdlib>

#include "crypto/encoding.h"

namespace stepup::crypto {
namespace {

// sodium_init() must run before the first randombytes call. A function-local
// static gives thread-safe once-only initialisation. Failing to reach the OS
// CSPRNG leaves nothing safe to do, so abort rather than hand out weak bytes.
void ensure_sodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) std::abort();
}

}  // namespace

std::string random_bytes(std::size_t n) {
  ensure_sodium();
  std::string out(n, '\0');
  if (n > 0) randombytes_buf(out.data(), n);
  return out;
}

std::string random_token(std::size_t n) { return base64url_encode(random_bytes(n)); }

std::uint32_t random_uniform(std::uint32_t bound) {
  ensure_sodium();
  // libsodium rejects-and-retries internally, so there is no modulo bias.
  // bound 0 or 1 yields 0.
  return randombytes_uniform(bound);
}

}  // namespace stepup::crypto
