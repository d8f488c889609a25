// COSE public keys (RFC 9052/9053 key maps, RFC 8230 RSA) for WebAuthn
// credential public keys, turned into OpenSSL EVP_PKEY objects and pinned to
// one signature algorithm:
//   ES256 (-7)   kty EC2 (2), crv P-256 (1), x and y 32 bytes each
//   EdDSA (-8)   kty OKP (1), crv Ed25519 (6), x 32 bytes
//   RS256 (-257) kty RSA (3), n (2048..8192 bits) and e (odd, > 1, <= 8 bytes)
// The map must carry kty and alg, agree with each other, and hold no private
// parts. ES256 signatures are ASN.1 DER (as WebAuthn sends them, unlike JWS);
// EdDSA is 64 raw bytes; RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
//
// A PublicKey is immutable after construction: verify() is safe from many
// threads. Building one is slow in OpenSSL 3, so parse once and reuse.
// OpenSSL types stay in the .cc.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "factors/cbor.h"

namespace stepup::factors::cose {

inline constexpr int kES256 = -7;
inline constexpr int kEdDSA = -8;
inline constexpr int kRS256 = -257;

// True for the three algorithms above.
bool is_supported_alg(int alg);
std::string_view alg_name(int alg);  // "ES256" | "EdDSA" | "RS256" | "unknown"

enum class KeyError {
  kBadCbor,         // not decodable CBOR, or bytes after the key
  kNotAMap,         // the key is not a CBOR map
  kMissingKty,      // no kty (1), or not an integer
  kMissingAlg,      // no alg (3), or not an integer
  kUnsupportedAlg,  // alg is not ES256, EdDSA or RS256
  kKtyAlgMismatch,  // kty does not fit alg (e.g. OKP with -7)
  kBadCurve,        // crv missing or not the curve of alg
  kBadParameter,    // x/y/n/e missing, wrong type or length, or a private part present
  kInvalidKey,      // OpenSSL refused the key (point not on the curve, RSA too small...)
};
std::string_view to_string(KeyError e);

class PublicKey {
 public:
  // From a decoded COSE_Key map / from its CBOR bytes (exactly one item).
  static tl::expected<PublicKey, KeyError> from_cose(const cbor::Value& key);
  static tl::expected<PublicKey, KeyError> from_cose_bytes(std::string_view bytes);
  // From a DER SubjectPublicKeyInfo (e.g. an attestation certificate's key),
  // pinned to `alg`; the key type must fit alg.
  static tl::expected<PublicKey, KeyError> from_spki_der(std::string_view der, int alg);

  ~PublicKey();
  PublicKey(PublicKey&&) noexcept;
  PublicKey& operator=(PublicKey&&) noexcept;

  int alg() const;
  // DER SubjectPublicKeyInfo of the key.
  std::string spki_der() const;
  // True when `signature` is a valid signature of `data` under this key's
  // pinned alg. Never throws; clears the OpenSSL error queue on failure.
  bool verify(std::string_view data, std::string_view signature) const;

 private:
  struct Impl;
  explicit PublicKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepup::factors::cose
