#include "config/config_warnings.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace stepup::config {

namespace {

// Keep in step with service/factor_check.h (kMethodTotp, kMethodRecovery),
// factors::webauthn::methods_for and the password sign-in in service/signin.cc;
// tests/service/config_warnings_sync_test.cc checks it.
constexpr std::array<std::string_view, 6> kProvable = {"pwd", "otp", "rc", "hwk", "swk", "user"};

bool provable(std::string_view m) {
  return std::find(kProvable.begin(), kProvable.end(), m) != kProvable.end();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> segments(std::string_view glob) {
  if (!glob.empty() && glob.front() == '/') glob.remove_prefix(1);
  std::vector<std::string_view> out;
  if (glob.empty()) return out;
  for (;;) {
    const auto slash = glob.find('/');
    out.push_back(glob.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    glob.remove_prefix(slash + 1);
  }
}

bool segment_covers(std::string_view outer, std::string_view inner) {
  if (outer == inner) return true;
  return outer == "*" && !inner.empty() && inner != "**";
}

bool covers(std::span<const std::string_view> outer, std::span<const std::string_view> inner) {
  if (outer.empty()) return inner.empty();
  if (outer.front() == "**") {
    // `**` absorbs any prefix of inner (inner's own `**` included); the rest
    // of outer must cover what remains.
    for (size_t k = 0; k <= inner.size(); ++k) {
      if (covers(outer.subspan(1), inner.subspan(k))) return true;
    }
    return false;
  }
  if (inner.empty() || inner.front() == "**") return false;
  return segment_covers(outer.front(), inner.front()) && covers(outer.subspan(1), inner.subspan(1));
}

bool method_covered(const std::vector<std::string>& earlier, std::string_view m) {
  for (const auto& e : earlier) {
    if (iequals(e, m)) return true;
    if (iequals(e, "GET") && iequals(m, "HEAD")) return true;
  }
  return false;
}

// Host pattern `outer` matches every host `inner` matches.
bool host_covers(std::string_view outer, std::string_view inner) {
  const std::string o = lower(outer), i = lower(inner);
  if (o == i) return true;
  if (!o.starts_with("*.")) return false;
  const std::string_view suffix = std::string_view(o).substr(1);  // ".example.com"
  // A literal host with at least one label in front of the suffix, or a
  // wildcard over a sub-domain of it.
  std::string_view rest = i;
  if (rest.starts_with("*.")) rest.remove_prefix(1);
  return rest.size() > suffix.size() && rest.ends_with(suffix) &&
         (i.starts_with("*.") || rest.front() != '.');
}

std::string describe(const core::Rule& r) {
  std::string s = "rule " + std::to_string(r.index + 1) + " (";
  if (!r.spec.methods.empty()) {
    for (size_t k = 0; k < r.spec.methods.size(); ++k) s += (k ? "," : "") + r.spec.methods[k];
    s += " ";
  }
  if (!r.spec.hosts.empty()) {
    for (size_t k = 0; k < r.spec.hosts.size(); ++k) s += (k ? "," : "") + r.spec.hosts[k];
  }
  s += r.spec.path + ")";
  return s;
}

}  // namespace

std::span<const std::string_view> provable_methods() { return kProvable; }

bool glob_covers(std::string_view outer, std::string_view inner) {
  if (outer == inner) return true;
  const auto o = segments(outer);
  const auto i = segments(inner);
  return covers(o, i);
}

bool rule_covers(const core::RuleSpec& earlier, const core::RuleSpec& later) {
  if (!earlier.methods.empty()) {
    if (later.methods.empty()) return false;
    for (const auto& m : later.methods) {
      if (!method_covered(earlier.methods, m)) return false;
    }
  }
  if (!earlier.hosts.empty()) {
    if (later.hosts.empty()) return false;
    for (const auto& h : later.hosts) {
      const bool any = std::any_of(earlier.hosts.begin(), earlier.hosts.end(),
                                   [&](const std::string& e) { return host_covers(e, h); });
      if (!any) return false;
    }
  }
  return glob_covers(earlier.path, later.path);
}

std::vector<ConfigWarning> find_warnings(const Config& cfg) {
  std::vector<ConfigWarning> out;
  for (const auto& level : cfg.levels.levels()) {
    std::vector<std::string> named;
    size_t dead_sets = 0;
    for (const auto& set : level.reached_by) {
      bool dead = false;
      for (const auto& m : set) {
        if (provable(m)) continue;
        dead = true;
        if (std::find(named.begin(), named.end(), m) != named.end()) continue;
        named.push_back(m);
        out.push_back({ConfigWarning::Kind::kUnprovableMethod,
                       "level " + level.name + ": method \"" + m +
                           "\" in reached_by is proven by no factor (stepup proves pwd, otp, rc, "
                           "hwk, swk, user); a method set with it can never be completed"});
      }
      if (dead) ++dead_sets;
    }
    if (!level.reached_by.empty() && dead_sets == level.reached_by.size()) {
      std::string methods;
      for (const auto& m : named) methods += (methods.empty() ? "" : ", ") + m;
      out.push_back({ConfigWarning::Kind::kUnreachableLevel,
                     "level " + level.name +
                         " can never be reached: every method set in "
                         "reached_by needs a method no factor proves (" +
                         methods + ")"});
    }
  }
  const auto& rules = cfg.policy.rules();
  for (size_t j = 0; j < rules.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      if (!rule_covers(rules[i].spec, rules[j].spec)) continue;
      out.push_back({ConfigWarning::Kind::kShadowedRule,
                     describe(rules[j]) + " can never match: " + describe(rules[i]) +
                         " comes first and covers every request it covers"});
      break;
    }
  }
  return out;
}

}  // namespace stepup::config
