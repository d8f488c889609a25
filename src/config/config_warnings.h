// Config warnings: problems in a config that loads but will not do what its
// author meant. `stepup config check` prints them (stderr); they never stop
// `stepup serve`.
//
// find_warnings() is pure: a function of the loaded Config, no I/O. It finds
//  - methods in a level's reached_by that no factor can prove (a method set
//    with one of them can never be completed), and levels every set of which
//    needs such a method (the level cannot be reached at all);
//  - rules that can never match because an earlier rule covers every request
//    they cover (first match wins). The containment test is conservative: a
//    warning means the later rule is certainly dead; some dead rules are not
//    reported (e.g. globs whose containment needs more than segment-by-segment
//    reasoning).
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/policy.h"

namespace stepup::config {

struct ConfigWarning {
  enum class Kind {
    kUnprovableMethod,  // a reached_by set names a method no factor yields
    kUnreachableLevel,  // every reached_by set of a level has such a method
    kShadowedRule,      // an earlier rule covers every request of this one
  };
  Kind kind;
  std::string message;  // one line, names the level or both rules
};

// RFC 8176 method names stepup's factors can prove, from the code that records
// them: password sign-in -> pwd; TOTP -> otp; recovery code -> rc; WebAuthn ->
// hwk (device-bound credential) or swk (backup-eligible, i.e. synced passkey),
// plus user when the authenticator verified the user (UV flag).
std::span<const std::string_view> provable_methods();

std::vector<ConfigWarning> find_warnings(const Config& cfg);

// True when every request `later` matches is also matched by `earlier`
// (methods, hosts and path glob). Conservative: false when unsure. A rule for
// GET also covers HEAD (the policy matches HEAD requests against GET rules).
bool rule_covers(const core::RuleSpec& earlier, const core::RuleSpec& later);

// Glob containment for rule paths: true only when every path `inner` matches
// is matched by `outer`. `**` in `outer` covers any run of segments, a `*`
// segment covers one non-empty segment that is not `**`, anything else covers
// only an equal segment.
bool glob_covers(std::string_view outer, std::string_view inner);

}  // namespace stepup::config
