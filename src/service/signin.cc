#include "service/signin.h"

#include <spdlog/spdlog.h>

namespace stepup::service {

SignIn::SignIn(const config::Config& cfg, store::Store& store, const Clock& clock,
               Sessions& sessions, Audit& audit, factors::PasswordPool& pool)
    : cfg_(cfg), store_(store), clock_(clock), sessions_(sessions), audit_(audit), pool_(pool) {
  // Compute the dummy hash now, not during the first sign-in.
  (void)factors::dummy_hash(params());
}

factors::PasswordParams SignIn::params() const {
  factors::PasswordParams p;
  p.min_length = cfg_.passwords.min_length;
  p.max_length = cfg_.passwords.max_length;
  p.memory_kib = cfg_.passwords.argon2_memory_kib;
  p.iterations = cfg_.passwords.argon2_iterations;
  return p;
}

Result<NewSession> SignIn::with_password_sync(const std::string& username,
                                              const std::string& password,
                                              const ClientInfo& client) {
  const auto wrong = [] {
    return fail(ErrorCode::kInvalidCredentials, "The username or password is incorrect.");
  };
  auto user = store_.find_user(username);
  if (!user && user.error() != store::StoreError::kNotFound) {
    return fail(ErrorCode::kUnavailable, "The user store is unavailable");
  }
  const bool known = user.has_value() && !user->disabled;
  // Same Argon2id work whether or not the user exists.
  const std::string& hash = known ? user->password_hash : factors::dummy_hash(params());
  const bool ok = factors::verify_password(password, hash) && known;
  const auto now = clock_.now();
  if (!ok) {
    audit_.record(now, "login.failed", AuditContext{username, "", client.ip, client.user_agent},
                  known ? R"({"reason":"password"})" : R"({"reason":"unknown_user"})");
    return wrong();
  }
  auto s = sessions_.create(*user, {core::MethodProof{"pwd", now}}, client);
  if (!s) return s;
  audit_.record(now, "login.succeeded",
                AuditContext{user->username, s->session.public_id, client.ip, client.user_agent},
                R"({"method":"pwd"})");
  return s;
}

void SignIn::with_password(std::string username, std::string password, ClientInfo client,
                           Done done) {
  auto shared_done = std::make_shared<Done>(std::move(done));
  const bool queued =
      pool_.submit([this, username = std::move(username), password = std::move(password),
                    client = std::move(client), shared_done]() mutable {
        (*shared_done)(with_password_sync(username, password, client));
      });
  if (!queued) {
    (*shared_done)(fail(ErrorCode::kOverloaded, "Too many sign-ins at once; try again shortly"));
  }
}

Result<store::User> create_user(store::Store& store, const config::Config& cfg,
                                const std::string& username, const std::string& password,
                                core::UnixTime now) {
  if (username.empty() || username.size() > 128) {
    return fail(ErrorCode::kInvalidRequest, "A username has 1 to 128 characters");
  }
  for (unsigned char c : username) {
    if (c < 0x20 || c == 0x7f) {
      return fail(ErrorCode::kInvalidRequest, "A username cannot contain control characters");
    }
  }
  factors::PasswordParams p;
  p.min_length = cfg.passwords.min_length;
  p.max_length = cfg.passwords.max_length;
  p.memory_kib = cfg.passwords.argon2_memory_kib;
  p.iterations = cfg.passwords.argon2_iterations;
  auto rules = factors::check_password_rules(password, username, p);
  if (!rules) return fail(ErrorCode::kInvalidRequest, factors::describe(rules.error(), p));
  auto user = store.create_user(username, factors::hash_password(password, p), now);
  if (!user) {
    if (user.error() == store::StoreError::kConflict) {
      return fail(ErrorCode::kConflict, "A user named '" + username + "' already exists");
    }
    return fail(ErrorCode::kUnavailable, "cannot store the user");
  }
  return std::move(*user);
}

}  // namespace stepup::service
