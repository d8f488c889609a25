// decide(): the pure per-request decision. Input: the matched rule, what the
// caller proved (nullptr when there is no valid session or token), and now.
// No I/O, no clock, no allocation on the allow path.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/level.h"
#include "core/policy.h"
#include "core/time.h"

namespace stepup::core {

enum class Verdict {
  kAllow,   // go on
  kStepUp,  // authenticated, but level or freshness short: 401 + RFC 9470 challenge
  kLogin,   // no valid session: 401 invalid_token / redirect to login
  kDeny,    // policy says no: 403
};

std::string_view to_string(Verdict v);

// What the caller holds right now (from a session or a verified access token).
struct Principal {
  std::string_view subject;
  std::string_view session_id;
  std::span<const Attainment> held;  // levels currently held
};

struct Decision {
  Verdict verdict = Verdict::kDeny;
  const Rule* rule = nullptr;      // the rule that decided
  LevelIndex required_level = 0;   // for kStepUp
  std::optional<Seconds> max_age;  // for kStepUp (the rule's freshness)
  std::string_view reason;         // the rule's reason, or a built-in text
};

// Allowed when some held level >= rule level was reached no earlier than
// now - max_age (when the rule sets max_age) and is still held at now.
Decision decide(const Rule& rule, const Principal* principal, UnixTime now);

}  // namespace stepup::core
