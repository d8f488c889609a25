// Enforcement: the per-request decision for gateways and apps.
//
// Matches the request to a rule (compiled once), and only when the rule needs
// a level resolves the credential (Bearer token first, then session cookie),
// then calls core::decide with `now`. A credential that cannot be checked
// because the store is down yields an error, never an allow (fail closed).
// Thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/decision.h"
#include "core/policy.h"
#include "service/sessions.h"

namespace stepup::service {

struct Credential {
  std::string_view bearer;  // Authorization: Bearer value, or empty
  std::string_view cookie;  // session cookie value, or empty
};

struct Verdict {
  core::Decision decision;
  std::optional<Authenticated> who;  // set when a credential checked out
  std::string login_reason;          // why there is no valid session (for kLogin)
};

class Enforcement {
 public:
  Enforcement(const config::Config& cfg, Sessions& sessions, const Clock& clock);

  Result<Verdict> decide(const core::RequestFacts& req, const Credential& cred);
  // Resolves a credential alone (no rule): for the API endpoints.
  Result<Authenticated> authenticate(const Credential& cred);

 private:
  // cfg_.policy.match(req), remembered per thread for recently seen requests.
  const core::Rule& match(const core::RequestFacts& req) const;

  const std::uint64_t id_;  // names this instance in the per-thread memo
  const config::Config& cfg_;
  Sessions& sessions_;
  const Clock& clock_;
};

}  // namespace stepup::service
