// libFuzzer target: JWS compact parsing and verification on arbitrary bytes,
// through both the internal crypto::KeySet::verify and the public
// stepup::TokenVerifier::verify, against a fixed key set (fuzz_keys.h).
//
// Besides "no crash, no sanitizer report" it checks two invariants:
//  - the public verifier never accepts what KeySet refuses;
//  - an accepted token verified by KeySet names a kid that is in the set, with
//    the alg that kid is pinned to.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crypto/jws.h"
#include "fuzz_keys.h"
#include "stepup/token.h"

namespace {

struct Fixture {
  stepup::crypto::KeySet keys;
  stepup::TokenVerifier verifier;
};

Fixture make_fixture() {
  stepup::crypto::KeySet keys;
  if (!keys.add_jwks(stepup::fuzz::kJwks)) std::abort();
  auto verifier = stepup::TokenVerifier::create(stepup::fuzz::kJwks, stepup::fuzz::kIssuer,
                                                stepup::fuzz::kAudience, 30);
  if (!verifier) std::abort();
  return Fixture{std::move(keys), std::move(*verifier)};
}

// Built once: OpenSSL key objects are slow to make, and the fuzzer wants speed.
const Fixture& fixture() {
  static const Fixture f = make_fixture();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const Fixture& f = fixture();

  auto low = f.keys.verify(token);
  if (low) {
    const bool es = low->kid == "fuzz-es256" && low->alg == stepup::crypto::Alg::kES256;
    const bool ed = low->kid == "fuzz-ed25519" && low->alg == stepup::crypto::Alg::kEdDSA;
    if (!es && !ed) std::abort();
  }
  // A few clocks: the seed tokens' lifetime, long before, long after.
  for (long long now : {stepup::fuzz::kNow, 0LL, stepup::fuzz::kNow + 100000}) {
    auto claims = f.verifier.verify(token, now);
    if (claims && !low) std::abort();
    if (claims && (claims->iss != stepup::fuzz::kIssuer || claims->exp <= now - 30)) std::abort();
  }
  return 0;
}
