// FactorCheck: proves a second factor (TOTP code, recovery code) for a user,
// with the lockout rules: an attempt is counted BEFORE the code is checked
// (so parallel guesses cannot outrun the count), a success resets the count,
// `lockout.max_failures` consecutive failures lock the factor for a delay
// that doubles with each further failure. Counts live in the store and
// survive restarts. Single use: a TOTP step and a recovery code are spent by
// a compare-and-set in the store. Thread-safe.
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
  // Counts the attempt; kFactorLocked error when locked.
  Result<store::Factor> begin(const store::Factor& f, const AuditContext& ctx);
  // Records a failure after begin(): may lock the factor.
  void failed(const store::Factor& after_begin, const AuditContext& ctx, std::string_view why);

  const config::Config& cfg_;
  store::Store& store_;
  const Clock& clock_;
  const factors::SecretBox& box_;
  Audit& audit_;
};

}  // namespace stepup::service
