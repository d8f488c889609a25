// KeyRing: the signing keys of this deployment, kept in the store so every
// node signs with and publishes the same set.
//
// load() reads the keys once (generating the first key on first start), parses
// them into OpenSSL objects once, and builds the JWKS document. The newest
// unretired key signs; every key still inside its publication window verifies.
// Immutable after load(): safe to share between threads. `stepup keys rotate`
// adds a key; running servers pick it up on restart (docs/operations.md).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/time.h"
#include "crypto/jws.h"
#include "factors/secret_box.h"
#include "service/error.h"
#include "store/store.h"

namespace stepup::service {

class KeyRing {
 public:
  // Loads keys; when none is active, generates one with `alg` and stores it.
  // Private keys are sealed with `box` in the store (a stolen database file
  // alone cannot mint tokens); plain PEM rows from older versions still load.
  static Result<std::shared_ptr<const KeyRing>> load(store::Store& store, crypto::Alg alg,
                                                     core::UnixTime now,
                                                     const factors::SecretBox& box);

  // Adds a new signing key and retires the current ones: they keep being
  // published until now + publish_for, so tokens they signed stay verifiable.
  // Returns the new kid.
  static Result<std::string> rotate(store::Store& store, crypto::Alg alg, core::UnixTime now,
                                    core::Seconds publish_for, const factors::SecretBox& box);

  const crypto::SigningKey& signer() const { return *signer_; }
  const crypto::KeySet& verifier() const { return keyset_; }
  const std::string& jwks_json() const { return jwks_json_; }

 private:
  std::unique_ptr<crypto::SigningKey> signer_;
  crypto::KeySet keyset_;
  std::string jwks_json_;
};

}  // namespace stepup::service
