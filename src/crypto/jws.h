// JWS compact serialization (RFC 7515) with ES256 (RFC 7518 §3.4, raw r||s)
// and EdDSA/Ed25519 (RFC 8037), written over OpenSSL 3 EVP.
//
// Every key is pinned to one algorithm: a token whose header `alg` differs
// from its key's is rejected, so `none` and HS256-with-a-public-key cannot
// pass. Keys are parsed once (building OpenSSL key objects is slow) and are
// immutable afterwards: sign/verify are safe from many threads at once.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace stepup::crypto {

enum class Alg { kES256, kEdDSA };
std::string_view to_string(Alg a);  // "ES256" | "EdDSA"
std::optional<Alg> alg_from_string(std::string_view s);

// One precise reason per failure.
enum class JwsError {
  kMalformed,       // not three base64url parts, or bad base64url
  kBadHeader,       // header is not a JSON object / missing alg
  kAlgNotAllowed,   // alg is none, HS*, or anything we do not sign with
  kMissingKid,      // header has no kid
  kUnknownKid,      // kid not in the key set
  kAlgKidMismatch,  // header alg differs from the key's pinned alg
  kBadSignature,    // signature does not verify (or has the wrong length)
  kBadPayload,      // payload is not a JSON object
  kTooLarge,        // token longer than the limit
};
std::string_view to_string(JwsError e);

// RFC 7638 thumbprint (base64url SHA-256 of the canonical members) of an EC
// P-256 or OKP Ed25519 JWK; this is the kid stepup gives its own keys.
tl::expected<std::string, std::string> jwk_thumbprint(std::string_view jwk_json);

class SigningKey {
 public:
  // Generates a fresh key pair; kid is derived from the RFC 7638 thumbprint.
  static SigningKey generate(Alg alg);
  // PKCS#8 PEM private key; the alg must match the key type. An empty kid
  // means "derive it from the RFC 7638 thumbprint", as generate() does.
  static tl::expected<SigningKey, std::string> from_pem(std::string_view pem, Alg alg,
                                                        std::string kid);
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

  Alg alg() const;
  const std::string& kid() const;
  std::string private_pem() const;
  std::string public_jwk_json()
      const;  // {"kty":..,"crv":..,"x":..,("y":..),"kid":..,"alg":..,"use":"sig"}

  // Returns the compact JWS of `payload_json` with header {"alg","typ","kid"}.
  std::string sign_compact(std::string_view payload_json, std::string_view typ = "at+jwt") const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A set of public keys by kid, each pinned to its alg. Built from JWK JSON.
class KeySet {
 public:
  KeySet();
  ~KeySet();
  KeySet(KeySet&&) noexcept;
  KeySet& operator=(KeySet&&) noexcept;

  // Adds one public JWK (object text). Error text says what is wrong. Only EC
  // P-256 (ES256) and OKP Ed25519 (EdDSA) keys; "use", if present, must be
  // "sig"; private members are refused; a missing kid becomes the thumbprint.
  tl::expected<void, std::string> add_jwk(std::string_view jwk_json);
  // Adds every key of a JWKS document {"keys":[...]}; all or nothing.
  tl::expected<void, std::string> add_jwks(std::string_view jwks_json);
  std::size_t size() const;

  struct Verified {
    std::string header_json;
    std::string payload_json;
    std::string kid;
    Alg alg;
  };
  // Checks structure, alg, kid and signature; does not look at claims.
  tl::expected<Verified, JwsError> verify(std::string_view compact,
                                          std::size_t max_len = 8192) const;

  // The signature step of verify() alone: `signature` is the decoded JOSE
  // signature (64 bytes for both algs) over `signing_input`. For callers that
  // already split a token, and for checking published vectors whose header
  // carries no kid. Errors: kUnknownKid, kAlgKidMismatch, kBadSignature.
  tl::expected<void, JwsError> verify_signature(std::string_view kid, Alg alg,
                                                std::string_view signing_input,
                                                std::string_view signature) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepup::crypto
