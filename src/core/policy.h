// Policy: an ordered table of rules compiled once from config. The first rule
// whose matcher fits the request wins; when none fits, the explicit default
// applies. A compiled Policy is immutable and safe to share between threads.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/level.h"
#include "core/time.h"

namespace stepup::core {

// What a request looks like to the policy.
// What a request looks like to the policy. The path must be canonical (see
// core/canonical.h): rules are matched against what the upstream serves.
struct RequestFacts {
  std::string_view method;  // "GET", "POST", ... (upper case)
  std::string_view host;    // may be empty; port is ignored when matching
  std::string_view path;    // canonical path only, no query string
  // The path with its dot segments kept as plain segments, when it had any
  // (canonical_path's `literal`); empty otherwise. Some upstreams (express)
  // route "/admin/.." without resolving it, so rules are matched against
  // both, and the stricter rule applies.
  std::string_view literal_path = {};
};

// How the upstream reads paths. Matching must never be weaker than the
// upstream: with kUnknown the path is matched under both readings and the
// stricter rule applies (deny > a higher level or fresher proof > public).
enum class PathCase {
  kSensitive,    // /Admin and /admin are different resources (nginx static, Go, Caddy)
  kInsensitive,  // /ADMIN is /admin (express default, ASP.NET, IIS, Windows file systems)
  kUnknown,      // both readings; the stricter rule wins (default)
};
enum class TrailingSlash {
  kSignificant,  // /admin/ and /admin are different resources
  kIgnored,      // /admin/ is /admin (express default, many routers)
  kUnknown,      // both readings; the stricter rule wins (default)
};
struct PathSemantics {
  PathCase path_case = PathCase::kUnknown;
  TrailingSlash trailing_slash = TrailingSlash::kUnknown;
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
  // spec.path compiled per reading: [folded to lower case][trailing slash cut].
  std::string glob[2][2];
};

class Policy {
 public:
  // An empty policy denies everything (fail closed).
  Policy() {
    default_.index = -1;
    default_.spec.effect = RuleEffect::kDeny;
    deny_.index = -1;
    deny_.spec.effect = RuleEffect::kDeny;
  }
  // Throws std::invalid_argument with a plain message on a bad rule (unknown
  // level, bad glob). Config loading turns that into file:line errors.
  // A rule for GET also covers HEAD (upstreams serve HEAD with the GET
  // handler) unless it names HEAD itself.
  Policy(const LevelTable& levels, std::vector<RuleSpec> rules, RuleSpec default_rule,
         PathSemantics semantics = {});

  // First matching rule, or the default rule, under each reading the path
  // semantics allow; the stricter of those. When two readings pick rules of
  // which neither is stricter (a higher level but a longer max_age), the
  // answer is a rule asking for both, compiled at construction. Never null;
  // never allocates.
  const Rule& match(const RequestFacts& req) const;
  const PathSemantics& semantics() const { return semantics_; }

  const std::vector<Rule>& rules() const { return rules_; }
  // Some rule names hosts: a request without a host cannot be judged.
  bool has_host_rules() const { return has_host_rules_; }
  const Rule& default_rule() const { return default_; }

 private:
  const Rule& match_reading(const RequestFacts& req, bool fold, bool cut) const;
  const Rule* joint(const Rule& a, const Rule& b) const;

  std::vector<Rule> rules_;
  Rule default_;
  Rule deny_;  // answer of last resort (never expected): refuse
  PathSemantics semantics_;
  bool has_host_rules_ = false;
  bool globs_have_upper_ = false;     // some glob differs from its folded reading
  bool globs_end_with_slash_ = false;  // some glob differs from its cut reading
  // Rules asking for both of two incomparable rules, keyed by their indexes.
  std::vector<std::pair<std::uint64_t, Rule>> joints_;  // sorted by key
};

// Glob match used by rules: `*` matches within one path segment, `**` matches
// any number of segments (including none). Exposed for tests. The pattern must
// be valid (see glob_problem); a leading '/' on the path is optional. Never
// allocates.
// With `fold`, path bytes are compared in ASCII lower case (the pattern must
// then be lower case already).
bool glob_match(std::string_view pattern, std::string_view path, bool fold = false);

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
