#include "service/keyring.h"

#include <algorithm>

namespace stepup::service {

namespace {
store::SigningKey to_record(const crypto::SigningKey& k, core::UnixTime now,
                            const factors::SecretBox& box) {
  store::SigningKey r;
  r.kid = k.kid();
  r.algorithm = std::string(crypto::to_string(k.alg()));
  r.private_pem = box.seal(k.private_pem(), "signing-key:" + k.kid());
  r.public_jwk = k.public_jwk_json();
  r.created_at = now;
  return r;
}
}  // namespace

Result<std::shared_ptr<const KeyRing>> KeyRing::load(store::Store& store, crypto::Alg alg,
                                                     core::UnixTime now,
                                                     const factors::SecretBox& box) {
  auto keys = store.list_signing_keys();
  if (!keys) return fail(ErrorCode::kUnavailable, "cannot read signing keys from the store");

  auto active = std::find_if(keys->rbegin(), keys->rend(), [&](const store::SigningKey& k) {
    return k.retired_at == 0 && k.algorithm == crypto::to_string(alg);
  });
  if (active == keys->rend()) {
    // First start (or the configured algorithm changed): make a key, retire
    // the others with a publication window so their tokens stay verifiable.
    auto fresh = crypto::SigningKey::generate(alg);
    for (const auto& k : *keys) {
      if (k.retired_at == 0) {
        (void)store.retire_signing_key(k.kid, now, now + 24 * 3600);
      }
    }
    if (!store.add_signing_key(to_record(fresh, now, box))) {
      return fail(ErrorCode::kUnavailable, "cannot store the new signing key");
    }
    keys = store.list_signing_keys();
    if (!keys) return fail(ErrorCode::kUnavailable, "cannot read signing keys from the store");
    active = std::find_if(keys->rbegin(), keys->rend(), [&](const store::SigningKey& k) {
      return k.retired_at == 0 && k.algorithm == crypto::to_string(alg);
    });
    if (active == keys->rend()) return fail(ErrorCode::kInternal, "signing key vanished");
  }

  auto ring = std::make_shared<KeyRing>();
  std::string pem = active->private_pem;
  if (pem.rfind("-----BEGIN", 0) != 0) {
    auto opened = box.open(pem, "signing-key:" + active->kid);
    if (!opened) {
      return fail(ErrorCode::kInternal,
                  "cannot decrypt signing key " + active->kid +
                      " (wrong or missing secrets.key_file / old_key_files?)");
    }
    pem = std::move(*opened);
  }
  auto signer = crypto::SigningKey::from_pem(pem, alg, active->kid);
  if (!signer) return fail(ErrorCode::kInternal, "stored signing key unusable: " + signer.error());
  ring->signer_ = std::make_unique<crypto::SigningKey>(std::move(*signer));

  std::string jwks = "{\"keys\":[";
  bool first = true;
  for (const auto& k : *keys) {
    if (k.publish_until != 0 && k.publish_until <= now) continue;
    if (!ring->keyset_.add_jwk(k.public_jwk)) continue;
    if (!first) jwks += ',';
    jwks += k.public_jwk;
    first = false;
  }
  jwks += "]}";
  ring->jwks_json_ = std::move(jwks);
  return std::shared_ptr<const KeyRing>(std::move(ring));
}

Result<std::string> KeyRing::rotate(store::Store& store, crypto::Alg alg, core::UnixTime now,
                                    core::Seconds publish_for, const factors::SecretBox& box) {
  auto keys = store.list_signing_keys();
  if (!keys) return fail(ErrorCode::kUnavailable, "cannot read signing keys from the store");
  auto fresh = crypto::SigningKey::generate(alg);
  if (!store.add_signing_key(to_record(fresh, now, box))) {
    return fail(ErrorCode::kUnavailable, "cannot store the new signing key");
  }
  for (const auto& k : *keys) {
    if (k.retired_at == 0) {
      if (!store.retire_signing_key(k.kid, now, now + publish_for)) {
        return fail(ErrorCode::kUnavailable, "cannot retire key " + k.kid);
      }
    }
  }
  return fresh.kid();
}

}  // namespace stepup::service
