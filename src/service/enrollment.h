// Enrollment: adding, confirming and removing factors, and regenerating
// recovery codes. Once a user holds any second factor, every change needs a
// fresh elevation at the level of the strongest factor they hold
// (step_up.enrollment_max_age); otherwise kStepUpRequired tells the caller
// which level and max_age to step up to. A change can revoke the user's other
// sessions (config, default on). Thread-safe.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/factor_check.h"
#include "service/sessions.h"
#include "store/store.h"

namespace stepup::service {

struct TotpEnrollment {
  std::string factor_id;
  std::string secret_base32;
  std::string otpauth_uri;
  std::string qr_svg;
};

struct RecoveryCodes {
  std::string factor_id;
  std::vector<std::string> codes;
};

class Enrollment {
 public:
  Enrollment(const config::Config& cfg, store::Store& store, const Clock& clock, Sessions& sessions,
             FactorCheck& check, Audit& audit);

  // Ok when the caller may change factors now.
  Result<void> require_fresh(const Authenticated& who);

  Result<TotpEnrollment> add_totp(const Authenticated& who, std::string name,
                                  const ClientInfo& client);
  Result<void> confirm_totp(const Authenticated& who, std::string_view factor_id,
                            std::string_view code, const ClientInfo& client);
  Result<RecoveryCodes> new_recovery_codes(const Authenticated& who, const ClientInfo& client);
  Result<void> remove(const Authenticated& who, std::string_view factor_id,
                      const ClientInfo& client);

  // Audit + (by config) revoke the user's other sessions after a factor change.
  void after_change(const Authenticated& who, std::string_view event, std::string details,
                    const ClientInfo& client);

  // For the CLI: an operator enrolls a confirmed TOTP factor directly.
  Result<TotpEnrollment> add_confirmed_totp(const store::User& user, std::string name);

 private:
  Result<TotpEnrollment> create_totp(std::int64_t user_id, const std::string& account,
                                     std::string name, bool confirmed);
  const config::Config& cfg_;
  store::Store& store_;
  const Clock& clock_;
  Sessions& sessions_;
  FactorCheck& check_;
  Audit& audit_;
};

// The highest level the user's confirmed factors (plus the base level's
// methods) can reach; nullopt when they hold no second factor.
std::optional<core::LevelIndex> strongest_level(const config::Config& cfg,
                                                const std::vector<store::Factor>& factors);

}  // namespace stepup::service
