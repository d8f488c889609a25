// WebAuthn relying-party verification: registration (WebAuthn Level 2 §7.1)
// and assertion (§7.2), plus Level 3's backup flags (BE/BS). Pure: bytes and
// expected values in, a verdict out. No store, no clock, no HTTP.
//
// What the caller keeps doing (see docs/webauthn.md):
//   - makes the challenge (>= 16 random bytes), binds it to the session,
//     expires it, and consumes it once whatever the outcome (replay);
//   - on registration, refuses a credential id already registered (§7.1 step 22,
//     Error::kCredentialAlreadyRegistered is there for it) and stores Credential;
//   - on assertion, looks the credential up by id, checks it belongs to the
//     user being authenticated (and the userHandle for usernameless sign-in;
//     Error::kUnknownCredential), then stores new_sign_count; a
//     kSignCountRegression is to be audited as a possible cloned authenticator.
// Attestation: "none" (empty attStmt) and "packed" (self, or x5c with the leaf
// checked per §8.2.1) are verified; no metadata service, so an x5c chain is
// not traced to a trust anchor. Every other format is kBadAttestation.
//
// Thread-safety: free functions over their arguments; no shared state.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "factors/cbor.h"

namespace stepup::factors::webauthn {

enum class Error {
  kBadClientData,  // clientDataJSON is not a UTF-8 JSON object with string type/challenge/origin
  kWrongType,      // type is not webauthn.create (registration) / webauthn.get (assertion)
  kWeakChallenge,  // the expected challenge is shorter than 16 bytes (caller bug)
  kChallengeMismatch,     // challenge differs from the expected one
  kOriginNotAllowed,      // origin is not in RpConfig::origins
  kCrossOrigin,           // crossOrigin is true (or topOrigin present): embedded in another site
  kBadCbor,               // attestation object / COSE key / extensions are not well-formed CBOR
  kTrailingBytes,         // bytes after the last structure that may end the data
  kBadAttestationObject,  // attestation object is not a map of fmt (text), attStmt (map), authData
                          // (bytes)
  kBadAuthData,           // authenticator data too short, or AT flag not as expected
  kRpIdHashMismatch,      // rpIdHash is not SHA-256(rp_id)
  kUserNotPresent,        // UP flag clear
  kUserNotVerified,       // UV flag clear while RpConfig::require_uv
  kBadBackupFlags,        // BS (backed up) set without BE (backup eligible)
  kBackupEligibilityChanged,  // BE differs from the value stored at registration (L3 §7.2)
  kUnsupportedAlgorithm,      // credential alg is not in RpConfig::algorithms
  kBadCoseKey,                // credential public key malformed or rejected by OpenSSL
  kCredentialIdTooLong,       // credential id longer than 1023 bytes (or empty)
  kBadAttestation,            // unsupported fmt or attestation statement fails its checks
  kBadSignature,              // signature does not verify
  kSignCountRegression,       // counter did not increase while one side is non-zero: possible clone
  kUnknownCredential,         // (caller) credential id not found or owned by another user
  kCredentialAlreadyRegistered,  // (caller) credential id already registered (§7.1 step 22)
};
std::string_view to_string(Error e);

struct RpConfig {
  std::string rp_id;                 // e.g. "example.com"; rpIdHash = SHA-256(rp_id)
  std::vector<std::string> origins;  // exact serialized origins, e.g. "https://example.com"
  std::vector<int> algorithms{-7, -8, -257};  // COSE algs accepted (ES256, EdDSA, RS256)
  bool require_uv = false;                    // UV flag required (§7.1 step 15, §7.2 step 17)
};

// Authenticator data flags (§6.1).
inline constexpr std::uint8_t kFlagUp = 0x01;
inline constexpr std::uint8_t kFlagUv = 0x04;
inline constexpr std::uint8_t kFlagBe = 0x08;
inline constexpr std::uint8_t kFlagBs = 0x10;
inline constexpr std::uint8_t kFlagAt = 0x40;
inline constexpr std::uint8_t kFlagEd = 0x80;

inline constexpr std::size_t kMaxCredentialIdLen = 1023;
inline constexpr std::size_t kMinChallengeLen = 16;

struct AuthData {
  std::string rp_id_hash;  // 32 bytes
  std::uint8_t flags = 0;
  std::uint32_t sign_count = 0;
  bool up() const { return (flags & kFlagUp) != 0; }
  bool uv() const { return (flags & kFlagUv) != 0; }
  bool be() const { return (flags & kFlagBe) != 0; }
  bool bs() const { return (flags & kFlagBs) != 0; }
  bool at() const { return (flags & kFlagAt) != 0; }
  bool ed() const { return (flags & kFlagEd) != 0; }
  // Attested credential data (present iff AT).
  std::string aaguid;                 // 16 bytes
  std::string credential_id;          // 1..1023 bytes
  std::string credential_public_key;  // the COSE_Key bytes exactly as sent
  // Extension outputs: the CBOR map bytes (present iff ED).
  std::string extensions;
};

// §6.1 layout: rpIdHash(32) flags(1) signCount(4, big-endian)
// [aaguid(16) credIdLen(2) credId COSE_Key] [extensions map]. With
// expect_attested the AT flag must be set, without it AT must be clear.
// The COSE key is only checked to be one CBOR item; extensions must be one
// CBOR map. Anything after the last present part is kTrailingBytes.
tl::expected<AuthData, Error> parse_authenticator_data(std::string_view bytes,
                                                       bool expect_attested);

struct AttestationObject {
  std::string fmt;
  cbor::Value att_stmt;   // a map
  std::string auth_data;  // raw authenticator data bytes
};
// The CBOR map {fmt: text, attStmt: map, authData: bytes} (§6.5), one item,
// nothing after it, no other keys. authData is returned unparsed.
tl::expected<AttestationObject, Error> parse_attestation_object(std::string_view bytes);

struct RegistrationInput {
  std::string client_data_json;    // response.clientDataJSON bytes
  std::string attestation_object;  // response.attestationObject bytes
  std::string expected_challenge;  // raw challenge bytes the server issued
};

enum class AttestationType { kNone, kSelf, kBasic };  // kBasic: packed x5c, trust path unchecked
std::string_view to_string(AttestationType t);        // "none" | "self" | "basic"

struct Credential {
  std::string id;               // raw credential id (base64url it for the API)
  int alg = 0;                  // COSE alg
  std::string public_key_cose;  // COSE_Key bytes, as the authenticator sent them
  std::uint32_t sign_count = 0;
  bool uv = false;               // user verified during registration
  bool backup_eligible = false;  // BE: may be synced (passkey); fixed for the credential's life
  bool backed_up = false;        // BS: currently backed up
  std::string aaguid;            // 16 raw bytes (all zero when attestation was anonymised)
  std::string fmt;               // "none" | "packed"
  AttestationType attestation = AttestationType::kNone;
};

tl::expected<Credential, Error> verify_registration(const RpConfig& rp,
                                                    const RegistrationInput& in);

struct AssertionInput {
  std::string credential_id;  // rawId the client reports (already used by the caller to look up)
  std::string client_data_json;
  std::string authenticator_data;
  std::string signature;
  std::string expected_challenge;  // raw bytes
};

struct StoredCredential {
  std::string public_key_cose;
  int alg = 0;
  std::uint32_t sign_count = 0;
  bool backup_eligible = false;
};

struct AssertionResult {
  std::uint32_t new_sign_count = 0;  // store it
  bool uv = false;
  bool backed_up = false;  // BS now (may change over the credential's life)
};

tl::expected<AssertionResult, Error> verify_assertion(const RpConfig& rp,
                                                      const StoredCredential& cred,
                                                      const AssertionInput& in);

// RFC 8176 methods for one verified use: "hwk" for a device-bound key, "swk"
// for a backup-eligible (synced passkey) one, then "user" when UV was done.
std::vector<std::string> methods_for(bool uv, bool backup_eligible);

// AAGUID as the usual 8-4-4-4-12 lower-case hex form ("" unless 16 bytes).
std::string aaguid_string(std::string_view aaguid);

}  // namespace stepup::factors::webauthn
