// Policy: an ordered table of rules compiled once from config. The first rule
// whose matcher fits the request wins; when none fits, the explicit default
// applies. A compiled Policy is immutable and safe to share between threads.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/level.h"
#include "core/time.h"

namespace stepup::core {

// What a request looks like to the policy.
struct RequestFacts {
  std::string_view method;  // "GET", "POST", ... (upper case)
  std::string_view host;    // may be empty; port is ignored when matching
  std::string_view path;    // path only, no query string
};

enum class RuleEffect {
  kRequire,  // needs `level` (and `max_age` freshness when set)
  kPublic,   // allowed without any session
  kDeny,     // refused for everyone (403)
};

struct RuleSpec {                    // as written in config
  std::vector<std::string> methods;  // empty: any method
  std::vector<std::string> hosts;    // empty: any host; "*.example.com" allowed
  std::string path = "/**";          // glob: `*` one segment part, `**` any depth
  RuleEffect effect = RuleEffect::kRequire;
  std::string level;               // level name, for kRequire
  std::optional<Seconds> max_age;  // freshness of the level
  std::string reason;              // shown to the user / in error_description
};

struct Rule {
  int index = 0;  // position in config, for logs; -1 for the default rule
  RuleSpec spec;
  LevelIndex level = 0;
};

class Policy {
 public:
  // An empty policy denies everything (fail closed).
  Policy() {
    default_.index = -1;
    default_.spec.effect = RuleEffect::kDeny;
  }
  // Throws std::invalid_argument with a plain message on a bad rule (unknown
  // level, bad glob). Config loading turns that into file:line errors.
  Policy(const LevelTable& levels, std::vector<RuleSpec> rules, RuleSpec default_rule);

  // First matching rule, or the default rule. Never null.
  const Rule& match(const RequestFacts& req) const;

  const std::vector<Rule>& rules() const { return rules_; }
  const Rule& default_rule() const { return default_; }

 private:
  std::vector<Rule> rules_;
  Rule default_;
};

// Glob match used by rules: `*` matches within one path segment, `**` matches
// any number of segments (including none). Exposed for tests. The pattern must
// be valid (see glob_problem); a leading '/' on the path is optional. Never
// allocates.
bool glob_match(std::string_view pattern, std::string_view path);

// Why `pattern` is not a valid path glob, or empty when it is. The text has
// static storage. Used by Policy and by config to point at the bad line.
std::string_view glob_problem(std::string_view pattern);

// Why `pattern` is not a valid host pattern ("example.com", "*.example.com"),
// or empty when it is. Static storage.
std::string_view host_pattern_problem(std::string_view pattern);

// Host match: case-insensitive, a `:port` suffix on `host` is ignored, and
// "*.example.com" matches any host ending in ".example.com" (one or more
// labels in front) but not "example.com" itself. Never allocates.
bool host_match(std::string_view pattern, std::string_view host);

}  // namespace stepup::core
