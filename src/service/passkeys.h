// Passkeys: WebAuthn registration (a factor of type "webauthn") and
// usernameless sign-in with discoverable credentials.
//
// Registration needs the same fresh elevation as any factor change; its
// challenge is bound to the session, single use and short-lived, and the
// options exclude credentials the user already has. Sign-in challenges belong
// to no one yet (login_challenges); the credential found names the user.
// Which level a passkey reaches is config: the proof records "hwk" (or "swk"
// for a synced passkey) plus "user" when the authenticator verified the user.
// Thread-safe.
#pragma once
#include <string>

#include "config/config.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/enrollment.h"
#include "service/factor_check.h"
#include "service/sessions.h"
#include "store/store.h"

namespace stepup::service {

struct RegistrationOptions {
  std::string challenge_id;
  std::string public_key_json;  // PublicKeyCredentialCreationOptions, base64url binary fields
};

struct NewCredential {
  std::string factor_id;
  std::string name;
  std::vector<std::string> methods;  // what using it proves
};

struct LoginOptions {
  std::string challenge_id;
  std::string public_key_json;  // PublicKeyCredentialRequestOptions
};

class Passkeys {
 public:
  Passkeys(const config::Config& cfg, store::Store& store, const Clock& clock, Sessions& sessions,
           FactorCheck& check, Enrollment& enrollment, Audit& audit);

  Result<RegistrationOptions> registration_options(const Authenticated& who);
  Result<NewCredential> register_credential(const Authenticated& who, std::string_view challenge_id,
                                            std::string name, std::string client_data_json,
                                            std::string attestation_object,
                                            const ClientInfo& client);

  Result<LoginOptions> login_options();
  Result<NewSession> login(std::string_view challenge_id, const WebAuthnAssertion& a,
                           const ClientInfo& client);

 private:
  const config::Config& cfg_;
  store::Store& store_;
  const Clock& clock_;
  Sessions& sessions_;
  FactorCheck& check_;
  Enrollment& enrollment_;
  Audit& audit_;
};

}  // namespace stepup::service
