// Policy: compile rules once, then match requests without allocating.
#include "core/policy.h"

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
bool segment_match(std::string_view pat, std::string_view seg) {
  size_t p = 0, s = 0;
  size_t star = std::string_view::npos, star_s = 0;
  while (s < seg.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = ++p;
      star_s = s;
    } else if (p < pat.size() && pat[p] == seg[s]) {
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
  if (spec.effect == RuleEffect::kRequire) {
    if (spec.level.empty()) fail(index, "level", "a rule that requires a level must name it");
    std::optional<LevelIndex> level = levels.find(spec.level);
    if (!level) fail(index, "level \"" + spec.level + "\"", "is not a configured level");
    rule.level = *level;
  }
  rule.spec = std::move(spec);
  return rule;
}

bool rule_fits(const Rule& rule, const RequestFacts& req) {
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
  return glob_match(spec.path, req.path);
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

bool glob_match(std::string_view pattern, std::string_view path) {
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
    } else if (!p.done() && segment_match(p.current(), s.current())) {
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

Policy::Policy(const LevelTable& levels, std::vector<RuleSpec> rules, RuleSpec default_rule) {
  rules_.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    rules_.push_back(compile(levels, std::move(rules[i]), static_cast<int>(i)));
  }
  default_ = compile(levels, std::move(default_rule), -1);
}

const Rule& Policy::match(const RequestFacts& req) const {
  for (const Rule& rule : rules_) {
    if (rule_fits(rule, req)) return rule;
  }
  return default_;
}

}  // namespace stepup::core
