#include "service/enforcement.h"

namespace stepup::service {

Result<Authenticated> Enforcement::authenticate(const Credential& cred) {
  if (!cred.bearer.empty()) return sessions_.from_bearer(cred.bearer);
  if (!cred.cookie.empty()) return sessions_.from_cookie(cred.cookie);
  return fail(ErrorCode::kInvalidToken, "No session cookie or bearer token");
}

Result<Verdict> Enforcement::decide(const core::RequestFacts& req, const Credential& cred) {
  const core::Rule& rule = cfg_.policy.match(req);
  Verdict v;
  const auto now = clock_.now();
  if (rule.spec.effect != core::RuleEffect::kRequire) {
    // Public and deny rules do not depend on who asks: no credential lookup.
    v.decision = core::decide(rule, nullptr, now);
    return v;
  }
  auto who = authenticate(cred);
  if (!who) {
    if (who.error().code == ErrorCode::kInvalidToken) {
      v.decision = core::decide(rule, nullptr, now);
      v.login_reason = who.error().description;
      return v;
    }
    return tl::unexpected(who.error());  // store trouble: could not decide
  }
  core::Principal p{who->session.subject, who->session.public_id, who->held};
  v.decision = core::decide(rule, &p, now);
  v.who = std::move(*who);
  return v;
}

}  // namespace stepup::service
