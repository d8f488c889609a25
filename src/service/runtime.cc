#include "service/runtime.h"

#include <stdexcept>

namespace stepup::service {

namespace {
constexpr int kApiWorkers = 64;
}  // namespace

std::unique_ptr<store::Store> open_store(const config::Config& cfg) {
  if (cfg.storage.driver != "sqlite") {
    throw std::runtime_error("storage driver '" + cfg.storage.driver + "' is not supported");
  }
  auto s = store::open_sqlite(cfg.storage.path, cfg.storage.busy_timeout);
  if (!s) {
    throw std::runtime_error("cannot open the SQLite store at " + cfg.storage.path + ": " +
                             store::to_string(s.error()));
  }
  return std::move(*s);
}

factors::SecretBox open_secret_box(const config::Config& cfg) {
  auto box = factors::SecretBox::from_files(cfg.secrets.key_file, cfg.secrets.old_key_files,
                                            /*create_if_missing=*/true);
  if (!box) throw std::runtime_error("secrets key file: " + box.error());
  return std::move(*box);
}

Runtime::Runtime(config::Config cfg, std::unique_ptr<Clock> clock)
    : cfg_(std::move(cfg)), clock_(clock ? std::move(clock) : std::make_unique<SystemClock>()) {
  store_ = open_store(cfg_);
  audit_ = std::make_unique<Audit>(*store_);
  auto alg = crypto::alg_from_string(cfg_.tokens.algorithm);
  if (!alg) throw std::runtime_error("unsupported token algorithm " + cfg_.tokens.algorithm);
  auto box = factors::SecretBox::from_files(cfg_.secrets.key_file, cfg_.secrets.old_key_files,
                                            /*create_if_missing=*/true);
  if (!box) throw std::runtime_error("secrets key file: " + box.error());
  box_ = std::make_unique<factors::SecretBox>(std::move(*box));
  auto keys = KeyRing::load(*store_, *alg, clock_->now(), *box_);
  if (!keys) throw std::runtime_error(keys.error().description);
  keys_ = *keys;
  sessions_ = std::make_unique<Sessions>(cfg_, *store_, *clock_, keys_, *audit_);
  // Hashing runs as a background (SCHED_IDLE) task: sign-ins use the CPU
  // that request handling leaves free, and never delay a decision.
  pool_ = std::make_unique<factors::PasswordPool>(
      cfg_.passwords.hash_workers, cfg_.passwords.hash_queue, /*background=*/true, "stepup-hash");
  // API workers mostly wait for a durable commit, and the store puts the
  // writes of every waiting worker into one commit (group commit): enough
  // workers to fill a commit, few enough to stay cheap (stacks are lazily
  // committed memory).
  api_pool_ = std::make_unique<factors::PasswordPool>(kApiWorkers, 4096, false, "stepup-api");
  signin_ = std::make_unique<SignIn>(cfg_, *store_, *clock_, *sessions_, *audit_, *pool_);
  enforcement_ = std::make_unique<Enforcement>(cfg_, *sessions_, *clock_);
  check_ = std::make_unique<FactorCheck>(cfg_, *store_, *clock_, *box_, *audit_);
  step_up_ = std::make_unique<StepUp>(cfg_, *store_, *clock_, *sessions_, *check_, *audit_);
  enrollment_ = std::make_unique<Enrollment>(cfg_, *store_, *clock_, *sessions_, *check_, *audit_);
  passkeys_ = std::make_unique<Passkeys>(cfg_, *store_, *clock_, *sessions_, *check_, *enrollment_,
                                         *audit_);
  login_limiter_ = std::make_unique<RateLimiter>(cfg_.rate_limits.login.per_second,
                                                 cfg_.rate_limits.login.burst);
  verify_limiter_ = std::make_unique<RateLimiter>(cfg_.rate_limits.verify.per_second,
                                                  cfg_.rate_limits.verify.burst);
}

Runtime::~Runtime() {
  // The pools may still run requests that use the services: stop them first.
  api_pool_.reset();
  pool_.reset();
}

}  // namespace stepup::service
