// SignIn: password sign-in. The Argon2id check runs on the PasswordPool so
// I/O threads never block; the answer comes back through a callback, called
// exactly once, on a pool worker (or inline when the pool is full).
//
// Unknown users are checked against a dummy hash so both failures cost the
// same time and give the same answer.
#pragma once
#include <functional>
#include <string>

#include "config/config.h"
#include "factors/password.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/sessions.h"
#include "store/store.h"

namespace stepup::service {

class SignIn {
 public:
  SignIn(const config::Config& cfg, store::Store& store, const Clock& clock, Sessions& sessions,
         Audit& audit, factors::PasswordPool& pool);

  using Done = std::function<void(Result<NewSession>)>;
  void with_password(std::string username, std::string password, ClientInfo client, Done done);

  // Synchronous variant for the CLI and tests.
  Result<NewSession> with_password_sync(const std::string& username, const std::string& password,
                                        const ClientInfo& client);

  factors::PasswordParams params() const;

 private:
  const config::Config& cfg_;
  store::Store& store_;
  const Clock& clock_;
  Sessions& sessions_;
  Audit& audit_;
  factors::PasswordPool& pool_;
};

// Creates a user after checking the password rules (CLI, demo). Errors say
// which rule failed.
Result<store::User> create_user(store::Store& store, const config::Config& cfg,
                                const std::string& username, const std::string& password,
                                core::UnixTime now);

}  // namespace stepup::service
