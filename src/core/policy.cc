// Policy: compile rules once, then match requests without allocating.
#include "core/policy.h"

#include "core/canonical.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace stepup::core {
namespace {

constexpr std::string_view kDoubleStar = "**";

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// A cursor over '/'-separated segments of a string, without copying. After
// the last segment `pos` is past the end.
struct Segments {
  std::string_view text;
  size_t pos = 0;

  bool done() const { return pos > text.size(); }
  std::string_view current() const {
    size_t end = text.find('/', pos);
    if (end == std::string_view::npos) end = text.size();
    return text.substr(pos, end - pos);
  }
  void next() {
    size_t end = text.find('/', pos);
    pos = (end == std::string_view::npos) ? text.size() + 1 : end + 1;
  }
};

// `*` inside one segment: classic greedy match with a single backtrack point,
// linear in practice and allocation-free.
bool segment_match(std::string_view pat, std::string_view seg, bool fold) {
  size_t p = 0, s = 0;
  size_t star = std::string_view::npos, star_s = 0;
  while (s < seg.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = ++p;
      star_s = s;
    } else if (p < pat.size() && pat[p] == (fold ? ascii_lower(seg[s]) : seg[s])) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

// "host:port" -> "host", "[::1]:443" -> "[::1]", "example.com." -> "example.com".
// A bare IPv6 address (several colons, no brackets) is left alone.
std::string_view strip_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
      host = host.substr(0, colon);
    }
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

[[noreturn]] void fail(int index, std::string_view what, std::string_view detail) {
  std::string msg = index < 0 ? "default rule" : "rule " + std::to_string(index + 1);
  msg += ": ";
  msg += what;
  msg += ": ";
  msg += detail;
  throw std::invalid_argument(msg);
}

bool is_token_char(char c) {
  // RFC 9110 tchar: methods are tokens.
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Rule compile(const LevelTable& levels, RuleSpec spec, int index) {
  Rule rule;
  rule.index = index;
  for (std::string& m : spec.methods) {
    if (m.empty()) fail(index, "method", "must not be empty");
    for (char& c : m) {
      if (!is_token_char(c)) fail(index, "method \"" + m + "\"", "is not an HTTP method name");
      c = ascii_upper(c);
    }
  }
  for (std::string& h : spec.hosts) {
    if (std::string_view why = host_pattern_problem(h); !why.empty()) {
      fail(index, "host \"" + h + "\"", why);
    }
    for (char& c : h) c = ascii_lower(c);
  }
  if (std::string_view why = glob_problem(spec.path); !why.empty()) {
    fail(index, "path \"" + spec.path + "\"", why);
  }
  if (spec.max_age && *spec.max_age < 0) fail(index, "max_age", "must not be negative");
  // Upstreams answer HEAD with the GET handler: a GET rule covers HEAD.
  const auto has = [&](std::string_view m) {
    for (const std::string& x : spec.methods) {
      if (x == m) return true;
    }
    return false;
  };
  if (has("GET") && !has("HEAD")) spec.methods.emplace_back("HEAD");
  for (int fold = 0; fold < 2; ++fold) {
    for (int cut = 0; cut < 2; ++cut) {
      std::string g = spec.path;
      if (fold) {
        for (char& c : g) c = ascii_lower(c);
      }
      if (cut && g.size() > 1 && g.back() == '/') g.pop_back();
      rule.glob[fold][cut] = std::move(g);
    }
  }
  if (spec.effect == RuleEffect::kRequire) {
    if (spec.level.empty()) fail(index, "level", "a rule that requires a level must name it");
    std::optional<LevelIndex> level = levels.find(spec.level);
    if (!level) fail(index, "level \"" + spec.level + "\"", "is not a configured level");
    rule.level = *level;
  }
  rule.spec = std::move(spec);
  return rule;
}

bool rule_fits(const Rule& rule, const RequestFacts& req, bool fold, bool cut) {
  const RuleSpec& spec = rule.spec;
  if (!spec.methods.empty()) {
    bool any = false;
    for (const std::string& m : spec.methods) {
      if (iequals(m, req.method)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!spec.hosts.empty()) {
    bool any = false;
    for (const std::string& h : spec.hosts) {
      if (host_match(h, req.host)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return glob_match(rule.glob[fold][cut], req.path, fold);
}

// max_age as a number where absent is "any age".
Seconds age_bound(const Rule& r) {
  return r.spec.max_age ? *r.spec.max_age : std::numeric_limits<Seconds>::max();
}

std::uint64_t pair_key(const Rule& a, const Rule& b) {
  // Index -1 (the default rule) maps to the top of the range.
  const auto ua = static_cast<std::uint32_t>(a.index);
  const auto ub = static_cast<std::uint32_t>(b.index);
  return ua < ub ? (std::uint64_t{ua} << 32) | ub : (std::uint64_t{ub} << 32) | ua;
}

}  // namespace

std::string_view glob_problem(std::string_view pattern) {
  if (pattern.empty()) return "path glob is empty";
  if (pattern.front() != '/') return "path glob must start with /";
  for (char c : pattern) {
    if (c == '?' || c == '#') return "path glob must not contain ? or # (only the path is matched)";
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return "path glob must not contain spaces or control characters";
    }
  }
  for (Segments seg{pattern.substr(1)}; !seg.done(); seg.next()) {
    std::string_view s = seg.current();
    if (s.find(kDoubleStar) != std::string_view::npos && s != kDoubleStar) {
      return "** must be a whole path segment (like /a/**/b)";
    }
  }
  // Rules are matched against canonical paths: a glob that is not one itself
  // (lower-case hex, %61, %24, a dot segment, //, ;, raw non-ASCII) could
  // never match and the request would fall to a later, weaker rule.
  if (auto c = canonical_path(pattern, ""); !c || *c != pattern) {
    return "path glob must be written as a canonical path (no dot segments or repeated "
           "slashes, no ; or backslash, no %XX for letters, digits, - . _ ~ ! $ & ' ( ) * + "
           ", = : @, upper-case hex, non-ASCII percent-encoded)";
  }
  return {};
}

std::string_view host_pattern_problem(std::string_view pattern) {
  if (pattern.empty()) return "host pattern is empty";
  std::string_view rest = pattern;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty()) return "host pattern needs a domain after *.";
  if (rest.front() == '[') {
    if (rest.back() != ']') return "IPv6 host pattern must be written as [address]";
    return {};
  }
  for (char c : rest) {
    if (c == '*') return "* is only allowed as a leading *. label";
    if (c == ':') return "host pattern must not carry a port (ports are ignored)";
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return "host pattern may hold only letters, digits, '-', '_' and '.'";
  }
  return {};
}

bool host_match(std::string_view pattern, std::string_view host) {
  host = strip_port(host);
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && iends_with(host, suffix);
  }
  return iequals(pattern, host);
}

bool glob_match(std::string_view pattern, std::string_view path, bool fold) {
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  // Segment-level wildcard match where `**` plays the role of `*` and every
  // other pattern segment matches exactly one path segment. Remembering only
  // the last `**` is enough (same argument as for character globs), so this
  // stays O(pattern * path) without recursion.
  Segments p{pattern}, s{path};
  std::optional<Segments> star_p, star_s;
  while (!s.done()) {
    if (!p.done() && p.current() == kDoubleStar) {
      p.next();
      star_p = p;
      star_s = s;
    } else if (!p.done() && segment_match(p.current(), s.current(), fold)) {
      p.next();
      s.next();
    } else if (star_p) {
      star_s->next();
      s = *star_s;
      p = *star_p;
    } else {
      return false;
    }
  }
  while (!p.done() && p.current() == kDoubleStar) p.next();
  return p.done();
}

Policy::Policy(const LevelTable& levels, std::vector<RuleSpec> rules, RuleSpec default_rule,
               PathSemantics semantics)
    : semantics_(semantics) {
  deny_.index = -1;
  deny_.spec.effect = RuleEffect::kDeny;
  rules_.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    rules_.push_back(compile(levels, std::move(rules[i]), static_cast<int>(i)));
  }
  default_ = compile(levels, std::move(default_rule), -1);
  const auto note_glob = [&](const std::string& g) {
    for (char c : g) {
      if (c >= 'A' && c <= 'Z') globs_have_upper_ = true;
    }
    if (g.size() > 1 && g.back() == '/') globs_end_with_slash_ = true;
  };
  for (const Rule& r : rules_) note_glob(r.spec.path);
  note_glob(default_.spec.path);
  for (const Rule& r : rules_) {
    if (!r.spec.hosts.empty()) has_host_rules_ = true;
  }
  // Even with known semantics a path with dot segments has two readings, so
  // the joint rules are always compiled.
  // Two readings of one path can pick two rules of which neither is stricter:
  // compile a rule that asks for both (the higher level, the shorter max_age).
  std::vector<const Rule*> all;
  for (const Rule& r : rules_) all.push_back(&r);
  all.push_back(&default_);
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      const Rule& a = *all[i];
      const Rule& b = *all[j];
      if (a.spec.effect != RuleEffect::kRequire || b.spec.effect != RuleEffect::kRequire) continue;
      if (a.level == b.level || (a.level > b.level) == (age_bound(a) <= age_bound(b))) continue;
      Rule both = a.level > b.level ? a : b;
      both.spec.max_age = age_bound(a) < age_bound(b) ? a.spec.max_age : b.spec.max_age;
      joints_.emplace_back(pair_key(a, b), std::move(both));
    }
  }
  std::sort(joints_.begin(), joints_.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
}

const Rule& Policy::match_reading(const RequestFacts& req, bool fold, bool cut) const {
  RequestFacts r = req;
  if (cut && r.path.size() > 1 && r.path.back() == '/') r.path.remove_suffix(1);
  for (const Rule& rule : rules_) {
    if (rule_fits(rule, r, fold, cut)) return rule;
  }
  return default_;
}

const Rule* Policy::joint(const Rule& a, const Rule& b) const {
  const std::uint64_t key = pair_key(a, b);
  auto it = std::lower_bound(joints_.begin(), joints_.end(), key,
                             [](const auto& x, std::uint64_t k) { return x.first < k; });
  return it != joints_.end() && it->first == key ? &it->second : nullptr;
}

const Rule& Policy::match(const RequestFacts& req) const {
  const bool fold_a = semantics_.path_case == PathCase::kInsensitive;
  const bool cut_a = semantics_.trailing_slash == TrailingSlash::kIgnored;
  // A second reading can only differ when the path (or a glob) has upper
  // case letters, or the path (or a glob) ends with '/': skip it otherwise.
  const auto has_upper = [](std::string_view p) {
    for (char c : p) {
      if (c >= 'A' && c <= 'Z') return true;
    }
    return false;
  };
  const bool dotted = !req.literal_path.empty();
  const bool fold_both = semantics_.path_case == PathCase::kUnknown &&
                         (globs_have_upper_ || has_upper(req.path));
  // A path whose trailing slash came from a dot segment ("/transfer/.") is
  // served as "/transfer" by upstreams that normalize like Python's
  // normpath: cut it too, whatever trailing_slash says.
  const bool cut_both =
      (semantics_.trailing_slash == TrailingSlash::kUnknown || dotted) &&
      (globs_end_with_slash_ || (req.path.size() > 1 && req.path.back() == '/'));
  const Rule* found[8];
  int n = 0;
  found[n++] = &match_reading(req, fold_a, cut_a);
  if (fold_both) found[n++] = &match_reading(req, true, cut_a);
  if (cut_both) found[n++] = &match_reading(req, fold_a, true);
  if (fold_both && cut_both) found[n++] = &match_reading(req, true, true);
  if (dotted) {
    // The same readings of the path with its dot segments left in.
    RequestFacts lit = req;
    lit.path = req.literal_path;
    const bool lit_fold = semantics_.path_case == PathCase::kUnknown;
    found[n++] = &match_reading(lit, fold_a, cut_a);
    if (lit_fold) found[n++] = &match_reading(lit, true, cut_a);
    if (semantics_.trailing_slash == TrailingSlash::kUnknown) {
      found[n++] = &match_reading(lit, fold_a, true);
      if (lit_fold) found[n++] = &match_reading(lit, true, true);
    }
  }
  if (n == 1) return *found[0];
  // The stricter answer: a deny, else what every require rule found asks for
  // (the highest level, the shortest max_age), else public.
  const Rule* high = nullptr;   // highest level (then shortest max_age)
  const Rule* fresh = nullptr;  // shortest max_age (then highest level)
  for (int i = 0; i < n; ++i) {
    const Rule& r = *found[i];
    if (r.spec.effect == RuleEffect::kDeny) return r;
    if (r.spec.effect != RuleEffect::kRequire) continue;
    if (!high || r.level > high->level ||
        (r.level == high->level && age_bound(r) < age_bound(*high))) {
      high = &r;
    }
    if (!fresh || age_bound(r) < age_bound(*fresh) ||
        (age_bound(r) == age_bound(*fresh) && r.level > fresh->level)) {
      fresh = &r;
    }
  }
  if (!high) return *found[0];  // public under every reading
  if (age_bound(*high) <= age_bound(*fresh)) return *high;
  const Rule* both = joint(*high, *fresh);
  return both ? *both : deny_;  // every such pair was compiled; fail closed regardless
}

}  // namespace stepup::core
