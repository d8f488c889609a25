// decide(): the per-request verdict. Runs on the hot path of every gateway
// request, so the allow path touches only the caller's spans and the rule.
#include "core/decision.h"

#include <limits>

namespace stepup::core {
namespace {

// Built-in reasons are string literals so Decision::reason can point at them.
constexpr std::string_view kNeedHigherLevel = "This resource needs a higher assurance level";
constexpr std::string_view kNeedFresher = "This resource needs a more recent authentication";
constexpr std::string_view kNeedLogin = "This resource needs you to sign in";
constexpr std::string_view kDenied = "This resource is not available";

std::string_view reason_or(const Rule& rule, std::string_view fallback) {
  return rule.spec.reason.empty() ? fallback : std::string_view(rule.spec.reason);
}

// now - max_age without wrapping below the smallest time.
UnixTime oldest_allowed(UnixTime now, Seconds max_age) {
  UnixTime out;
  if (__builtin_sub_overflow(now, max_age, &out)) return std::numeric_limits<UnixTime>::min();
  return out;
}

// now + skew without wrapping above the largest time.
UnixTime latest_allowed(UnixTime now, Seconds skew) {
  UnixTime out;
  if (__builtin_add_overflow(now, skew < 0 ? 0 : skew, &out)) {
    return std::numeric_limits<UnixTime>::max();
  }
  return out;
}

}  // namespace

bool fresh_enough(UnixTime reached_at, UnixTime now, Seconds max_age, Seconds clock_skew) {
  return reached_at >= oldest_allowed(now, max_age) &&
         reached_at <= latest_allowed(now, clock_skew);
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kAllow:
      return "allow";
    case Verdict::kStepUp:
      return "step_up";
    case Verdict::kLogin:
      return "login";
    case Verdict::kDeny:
      return "deny";
  }
  return "deny";  // unreachable for valid enum values; fail closed
}

Decision decide(const Rule& rule, const Principal* principal, UnixTime now) {
  Decision d;
  d.rule = &rule;
  switch (rule.spec.effect) {
    case RuleEffect::kDeny:
      d.verdict = Verdict::kDeny;
      d.reason = reason_or(rule, kDenied);
      return d;
    case RuleEffect::kPublic:
      d.verdict = Verdict::kAllow;
      d.reason = rule.spec.reason;
      return d;
    case RuleEffect::kRequire:
      break;
  }
  if (principal == nullptr) {
    d.verdict = Verdict::kLogin;
    d.reason = reason_or(rule, kNeedLogin);
    return d;
  }
  // Freshness counts from when the set reaching the level was completed
  // (Attainment::reached_at), not from sign-in: stepping up refreshes it.
  bool high_enough_but_stale = false;
  for (const Attainment& a : principal->held) {
    if (a.level < rule.level || !(a.until > now)) continue;
    if (rule.spec.max_age &&
        !fresh_enough(a.reached_at, now, *rule.spec.max_age, principal->clock_skew)) {
      high_enough_but_stale = true;
      continue;
    }
    d.verdict = Verdict::kAllow;
    d.reason = rule.spec.reason;
    return d;
  }
  d.verdict = Verdict::kStepUp;
  d.required_level = rule.level;
  d.max_age = rule.spec.max_age;
  d.reason = reason_or(rule, high_enough_but_stale ? kNeedFresher : kNeedHigherLevel);
  return d;
}

}  // namespace stepup::core
