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
  // How far a proof time (Attainment::reached_at) may lie ahead of `now`
  // (clocks of other nodes, tokens.clock_skew); later ones are not fresh.
  Seconds clock_skew = 0;
};

// Whether a level reached at `reached_at` satisfies `max_age` at `now`: no
// earlier than now - max_age, and no later than now + clock_skew. A proof
// time from the future would pass every max_age for as long as it stays in
// the future, so beyond the skew it is not fresh (fail closed).
bool fresh_enough(UnixTime reached_at, UnixTime now, Seconds max_age, Seconds clock_skew);

struct Decision {
  Verdict verdict = Verdict::kDeny;
  const Rule* rule = nullptr;      // the rule that decided
  LevelIndex required_level = 0;   // for kStepUp
  std::optional<Seconds> max_age;  // for kStepUp (the rule's freshness)
  std::string_view reason;         // the rule's reason, or a built-in text
};

// Allowed when some held level >= rule level was reached no earlier than
// now - max_age (when the rule sets max_age; and no later than now +
// principal->clock_skew, see fresh_enough) and is still held at now.
Decision decide(const Rule& rule, const Principal* principal, UnixTime now);

}  // namespace stepup::core
