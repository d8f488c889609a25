// StepUp: the challenge / verify flow that raises a session's level.
//
// start() creates a challenge bound to the caller's session: single use,
// short-lived, offering only the caller's confirmed factors whose method can
// reach the target level, carrying the reason and an optional transaction
// (PSD2 dynamic linking) and a return_to that has passed the open-redirect
// check. verify() proves one method, records it in the session with its time
// (so max_age is measured per method set), rotates the session id, and
// issues a new token pair. Thread-safe.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/error.h"
#include "service/factor_check.h"
#include "service/sessions.h"
#include "store/store.h"

namespace stepup::service {

struct StepUpRequest {
  std::string acr_values;  // space-separated; first known level wins
  std::optional<core::Seconds> max_age;
  std::string return_to;         // "" none
  std::string reason;            // "" -> a built-in sentence
  std::string transaction_json;  // "" or a JSON object
};

struct OfferedMethod {
  std::string type;  // "totp" | "recovery_code"
  std::string factor_id;
  std::string name;
  int remaining = -1;  // recovery codes left
};

struct StartedChallenge {
  store::Challenge challenge;
  std::string acr;
  std::vector<OfferedMethod> methods;
  std::string webauthn_options_json;  // PublicKeyCredentialRequestOptions (base64url fields) or ""
};

struct StepUpProof {
  std::string method;  // "totp" | "recovery_code" | "webauthn"
  std::string code;
  std::string factor_id;                       // optional
  std::optional<WebAuthnAssertion> assertion;  // for "webauthn"
};

struct StepUpResult {
  std::string cookie_value;  // new session id
  store::Session session;    // with the new proof
  IssuedTokens tokens;
  std::string return_to;
  int recovery_codes_remaining = -1;
};

class StepUp {
 public:
  StepUp(const config::Config& cfg, store::Store& store, const Clock& clock, Sessions& sessions,
         FactorCheck& check, Audit& audit);

  Result<StartedChallenge> start(const Authenticated& who, const StepUpRequest& req,
                                 const ClientInfo& client);
  Result<StepUpResult> verify(const Authenticated& who, std::string_view challenge_id,
                              const StepUpProof& proof, const ClientInfo& client);

  // Methods of the user's confirmed factors that appear in some set of
  // `level` (the base methods, e.g. pwd, are not offered: they are proven at
  // sign-in).
  Result<std::vector<OfferedMethod>> offer(std::int64_t user_id, core::LevelIndex level);

 private:
  const config::Config& cfg_;
  store::Store& store_;
  const Clock& clock_;
  Sessions& sessions_;
  FactorCheck& check_;
  Audit& audit_;
  std::vector<std::string> allowed_origins_;
};

}  // namespace stepup::service
