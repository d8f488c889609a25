// FactorCheck: proves a second factor (TOTP code, recovery code, WebAuthn
// assertion) for a user, with the lockout rules: an attempt is reserved
// BEFORE the code is checked, counting it and, at `lockout.max_failures`
// consecutive failures, locking the factor in the same store transaction
// (Store::reserve_factor_attempt), so parallel guesses can neither outrun the
// count nor the lock: at most max_failures codes are checked per lock window.
// The lock doubles with each further failure; a success resets the count and
// the lock. Counts live in the store and survive restarts. Single use: a TOTP
// step and a recovery code are spent by a compare-and-set in the store.
// Thread-safe.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "factors/secret_box.h"
#include "factors/totp.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/error.h"
#include "store/store.h"

namespace stepup::service {

// Method names (RFC 8176) and the factor types that prove them.
inline constexpr std::string_view kMethodTotp = "otp";
inline constexpr std::string_view kMethodRecovery = "rc";
inline constexpr std::string_view kFactorTotp = "totp";
inline constexpr std::string_view kFactorRecovery = "recovery_codes";
inline constexpr std::string_view kFactorWebAuthn = "webauthn";

std::string_view method_of_factor_type(std::string_view type);  // "" if none

struct FactorProof {
  std::string method;  // "otp" | "rc" | "hwk" | "swk"
  std::string factor_id;
  int recovery_codes_remaining = -1;
  std::vector<std::string> extra_methods;  // e.g. "user" after WebAuthn user verification
  std::int64_t user_id = 0;
};

// A WebAuthn assertion as the browser returns it (raw bytes, decoded).
struct WebAuthnAssertion {
  std::string credential_id;
  std::string client_data_json;
  std::string authenticator_data;
  std::string signature;
  std::string user_handle;
};

class FactorCheck {
 public:
  FactorCheck(const config::Config& cfg, store::Store& store, const Clock& clock,
              const factors::SecretBox& box, Audit& audit);

  // TOTP: `factor_id` empty = any of the user's confirmed TOTP factors.
  // `allow_unconfirmed` is for the enrollment confirmation step.
  Result<FactorProof> totp(std::int64_t user_id, std::string_view factor_id, std::string_view code,
                           const AuditContext& ctx, bool allow_unconfirmed = false);
  Result<FactorProof> recovery_code(std::int64_t user_id, std::string_view code,
                                    const AuditContext& ctx);

  // WebAuthn: the credential must belong to `user_id` (0 = anyone: passkey
  // sign-in). `expected_challenge` is the raw challenge the server issued.
  Result<FactorProof> webauthn(std::int64_t user_id, const WebAuthnAssertion& a,
                               std::string_view expected_challenge, bool require_uv,
                               const AuditContext& ctx);
  // The store id of the factor holding a credential id (unique across users).
  static std::string webauthn_factor_id(std::string_view credential_id);

  // Sealing of TOTP secrets with their parameters, for enrollment.
  std::string seal_totp(std::string_view factor_id, std::string_view secret,
                        const factors::TotpParams& p) const;
  std::optional<std::pair<std::string, factors::TotpParams>> open_totp(
      const store::Factor& f) const;
  factors::TotpParams configured_totp() const;

 private:
  // Reserves the attempt (counted, lock decided); kFactorLocked when locked.
  Result<store::FactorAttempt> begin(const store::Factor& f);
  // Records a failed attempt after begin() in the audit log (and the lock
  // its reservation set, if it was the last of the window).
  void failed(const store::FactorAttempt& attempt, const AuditContext& ctx, std::string_view why);
  store::LockoutPolicy lockout() const;

  const config::Config& cfg_;
  store::Store& store_;
  const Clock& clock_;
  const factors::SecretBox& box_;
  Audit& audit_;
};

}  // namespace stepup::service
