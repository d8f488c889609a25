// WebAuthn relying-party settings and the stored form of a credential.
//
// rp_config() derives the RP id and allowed origins from config (default: the
// host and origin of server.public_url). A credential is stored as a factor of
// type "webauthn" whose id is derived from the credential id (so a credential
// can never belong to two users) and whose `secret` column holds public data:
// {"cred_id","alg","cose","be","aaguid","fmt","attestation"} (base64url/hex);
// the factor's counter is the signCount. Pure; thread-safe.
#pragma once
#include <optional>
#include <string>

#include "config/config.h"
#include "factors/webauthn.h"
#include "store/store.h"

namespace stepup::service {

factors::webauthn::RpConfig rp_config(const config::Config& cfg);

struct WebAuthnRecord {
  std::string credential_id;  // raw
  factors::webauthn::StoredCredential cred;
  std::string aaguid_hex;
  std::string fmt;
  bool uv = false;  // user verified at registration
};
std::string webauthn_record_json(const factors::webauthn::Credential& c);
std::optional<WebAuthnRecord> parse_webauthn_record(const store::Factor& f);

// True when every method set of `level` that uses a WebAuthn method also
// needs "user" (user verification), e.g. aal3 = [pwd, hwk, user].
bool level_needs_uv(const core::Level& level);
// True when some method set of `level` uses hwk or swk.
bool level_uses_webauthn(const core::Level& level);

}  // namespace stepup::service
