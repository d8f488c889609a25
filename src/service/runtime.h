// Runtime: everything a running stepup needs, built once from a Config and
// torn down in reverse order. Used by `stepup serve` (with the HTTP layer on
// top) and by CLI commands that need services (with no pool threads busy).
// Members are thread-safe as documented in their own headers.
#pragma once
#include <memory>

#include "config/config.h"
#include "factors/password.h"
#include "factors/secret_box.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/enforcement.h"
#include "service/enrollment.h"
#include "service/factor_check.h"
#include "service/keyring.h"
#include "service/passkeys.h"
#include "service/rate_limit.h"
#include "service/sessions.h"
#include "service/signin.h"
#include "service/step_up.h"
#include "store/store.h"

namespace stepup::service {

class Runtime {
 public:
  // Opens the store (migrating it), loads or creates signing keys, starts the
  // password pool. Throws std::runtime_error with a plain message on failure.
  explicit Runtime(config::Config cfg, std::unique_ptr<Clock> clock = nullptr);
  ~Runtime();

  const config::Config& config() const { return cfg_; }
  store::Store& store() { return *store_; }
  const Clock& clock() const { return *clock_; }
  Audit& audit() { return *audit_; }
  Sessions& sessions() { return *sessions_; }
  SignIn& signin() { return *signin_; }
  Enforcement& enforcement() { return *enforcement_; }
  factors::PasswordPool& password_pool() { return *pool_; }
  // Workers for API requests that touch the store (not the decision path).
  factors::PasswordPool& api_pool() { return *api_pool_; }
  FactorCheck& factor_check() { return *check_; }
  StepUp& step_up() { return *step_up_; }
  Enrollment& enrollment() { return *enrollment_; }
  Passkeys& passkeys() { return *passkeys_; }
  const factors::SecretBox& secret_box() const { return *box_; }
  RateLimiter& login_limiter() { return *login_limiter_; }
  RateLimiter& verify_limiter() { return *verify_limiter_; }

 private:
  config::Config cfg_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Audit> audit_;
  std::unique_ptr<factors::SecretBox> box_;
  std::shared_ptr<const KeyRing> keys_;
  std::unique_ptr<Sessions> sessions_;
  std::unique_ptr<factors::PasswordPool> pool_;
  std::unique_ptr<factors::PasswordPool> api_pool_;
  std::unique_ptr<SignIn> signin_;
  std::unique_ptr<Enforcement> enforcement_;
  std::unique_ptr<FactorCheck> check_;
  std::unique_ptr<StepUp> step_up_;
  std::unique_ptr<Enrollment> enrollment_;
  std::unique_ptr<Passkeys> passkeys_;
  std::unique_ptr<RateLimiter> login_limiter_;
  std::unique_ptr<RateLimiter> verify_limiter_;
};

// Opens only the store of a config (for CLI commands that need nothing else).
std::unique_ptr<store::Store> open_store(const config::Config& cfg);
// The secrets box of a config (creates the key file when missing).
factors::SecretBox open_secret_box(const config::Config& cfg);

}  // namespace stepup::service
