// config::find_warnings and its containment helpers: unprovable methods in
// reached_by, unreachable levels, and rules hidden behind an earlier broader
// rule. Containment must never claim a rule is hidden when a request could
// still reach it (no false positives); missing a hidden rule is allowed.
#include "config/config_warnings.h"

#include <gtest/gtest.h>

#include <string>

namespace stepup::config {
namespace {

using Kind = ConfigWarning::Kind;

core::RuleSpec rule(std::string path, std::vector<std::string> methods = {},
                    std::vector<std::string> hosts = {}) {
  core::RuleSpec r;
  r.path = std::move(path);
  r.methods = std::move(methods);
  r.hosts = std::move(hosts);
  return r;
}

struct GlobRow {
  const char* outer;
  const char* inner;
  bool covers;
};

class GlobCovers : public ::testing::TestWithParam<GlobRow> {};

TEST_P(GlobCovers, Table) {
  const auto& p = GetParam();
  EXPECT_EQ(glob_covers(p.outer, p.inner), p.covers) << p.outer << " vs " << p.inner;
  // Sanity: whenever containment is claimed, sample paths of inner match outer.
  if (p.covers) {
    for (const char* sample :
         {"/a", "/a/b", "/a/b/c", "/admin/x", "/admin/x/y", "/public/p/secret"}) {
      if (core::glob_match(p.inner, sample)) {
        EXPECT_TRUE(core::glob_match(p.outer, sample)) << p.outer << " must match " << sample;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, GlobCovers,
    ::testing::Values(GlobRow{"/**", "/anything/at/all", true}, GlobRow{"/**", "/**", true},
                      GlobRow{"/**", "/", true}, GlobRow{"/admin/**", "/admin/x", true},
                      GlobRow{"/admin/**", "/admin/**", true},
                      GlobRow{"/admin/**", "/admin/*/y/**", true},
                      GlobRow{"/admin/**", "/admin", true},  // ** matches no segment too
                      GlobRow{"/admin/*", "/admin/x", true}, GlobRow{"/admin/*", "/admin/x*", true},
                      GlobRow{"/a/*/c", "/a/b/c", true}, GlobRow{"/**/c", "/a/**/c", true},
                      GlobRow{"/a/b", "/a/b", true},
                      // Not covered (or not provably):
                      GlobRow{"/admin/*", "/admin/**", false},  // ** spans depths
                      GlobRow{"/admin/*", "/admin/x/y", false},
                      GlobRow{"/admin/*", "/admin/", false},  // empty segment: not claimed
                      GlobRow{"/admin/x", "/admin/*", false},
                      GlobRow{"/admin/x*", "/admin/*", false},
                      GlobRow{"/admin/**", "/adminx", false}, GlobRow{"/a/**/c", "/a/**", false},
                      GlobRow{"/a/b", "/a/B", false}, GlobRow{"/a", "/a/b", false},
                      GlobRow{"/a/b", "/a", false}));

TEST(RuleCovers, Methods) {
  EXPECT_TRUE(rule_covers(rule("/**"), rule("/x", {"POST"})));
  EXPECT_TRUE(rule_covers(rule("/**", {"GET", "POST"}), rule("/x", {"post"})));
  EXPECT_FALSE(rule_covers(rule("/**", {"GET"}), rule("/x")));  // later: any method
  EXPECT_FALSE(rule_covers(rule("/**", {"GET"}), rule("/x", {"GET", "DELETE"})));
  // GET rules also match HEAD requests; not the other way round.
  EXPECT_TRUE(rule_covers(rule("/**", {"GET"}), rule("/x", {"HEAD"})));
  EXPECT_TRUE(rule_covers(rule("/**", {"GET"}), rule("/x", {"GET", "HEAD"})));
  EXPECT_FALSE(rule_covers(rule("/**", {"HEAD"}), rule("/x", {"GET"})));
}

TEST(RuleCovers, Hosts) {
  EXPECT_TRUE(rule_covers(rule("/**"), rule("/x", {}, {"a.example.com"})));
  EXPECT_FALSE(rule_covers(rule("/**", {}, {"a.example.com"}), rule("/x")));
  EXPECT_TRUE(rule_covers(rule("/**", {}, {"A.example.com"}), rule("/x", {}, {"a.example.com"})));
  EXPECT_TRUE(rule_covers(rule("/**", {}, {"*.example.com"}), rule("/x", {}, {"a.example.com"})));
  EXPECT_TRUE(
      rule_covers(rule("/**", {}, {"*.example.com"}), rule("/x", {}, {"*.api.example.com"})));
  EXPECT_FALSE(rule_covers(rule("/**", {}, {"*.example.com"}), rule("/x", {}, {"example.com"})));
  EXPECT_FALSE(rule_covers(rule("/**", {}, {"*.example.com"}), rule("/x", {}, {"aexample.com"})));
  EXPECT_FALSE(rule_covers(rule("/**", {}, {"a.example.com"}), rule("/x", {}, {"*.example.com"})));
  EXPECT_FALSE(rule_covers(rule("/**", {}, {"a.example.com"}),
                           rule("/x", {}, {"a.example.com", "b.example.com"})));
}

Config load(const std::string& levels, const std::string& rules) {
  return parse_config(
      "levels:\n" + levels + "base_level: aal1\nrules:\n" + rules + "default: { deny: true }\n",
      "test.yaml");
}

const char* kLevels =
    "  aal1: { reached_by: [[pwd]] }\n"
    "  aal2: { reached_by: [[pwd, otp], [pwd, hwk], [swk, user], [pwd, rc]], elevation: 15m }\n";

std::vector<ConfigWarning> of_kind(const std::vector<ConfigWarning>& ws, Kind k) {
  std::vector<ConfigWarning> out;
  for (const auto& w : ws) {
    if (w.kind == k) out.push_back(w);
  }
  return out;
}

TEST(FindWarnings, CleanConfigHasNone) {
  const auto ws = find_warnings(load(kLevels,
                                     "  - { methods: [POST], path: \"/pay/**\", level: aal2 }\n"
                                     "  - { path: \"/public/**\", public: true }\n"
                                     "  - { path: \"/**\", level: aal1 }\n"));
  for (const auto& w : ws) ADD_FAILURE() << w.message;
}

TEST(FindWarnings, BuiltInDefaultsHaveNone) {
  const auto ws = find_warnings(parse_config("", "x.yaml"));
  for (const auto& w : ws) ADD_FAILURE() << w.message;
}

TEST(FindWarnings, UnprovableMethodNamesLevelAndMethod) {
  const auto ws = find_warnings(
      load("  aal1: { reached_by: [[pwd]] }\n"
           "  aal2: { reached_by: [[pwd, otp], [pwd, sms], [sms, kba]], elevation: 15m }\n"
           "  aal3: { reached_by: [[pwd, totp]], elevation: 5m }\n",
           "  - { path: \"/**\", level: aal1 }\n"));
  const auto methods = of_kind(ws, Kind::kUnprovableMethod);
  ASSERT_EQ(methods.size(), 3u);
  EXPECT_NE(methods[0].message.find("level aal2: method \"sms\""), std::string::npos);
  EXPECT_NE(methods[1].message.find("level aal2: method \"kba\""), std::string::npos);
  EXPECT_NE(methods[2].message.find("level aal3: method \"totp\""), std::string::npos);
  const auto levels = of_kind(ws, Kind::kUnreachableLevel);
  ASSERT_EQ(levels.size(), 1u);  // aal2 still has [pwd, otp]
  EXPECT_NE(levels[0].message.find("level aal3 can never be reached"), std::string::npos);
  EXPECT_NE(levels[0].message.find("totp"), std::string::npos);
}

TEST(FindWarnings, HiddenRules) {
  const auto ws =
      find_warnings(load(kLevels,
                         "  - { path: \"/admin/**\", level: aal2 }\n"
                         "  - { methods: [GET], path: \"/admin/report\", level: aal1 }\n"
                         "  - { methods: [GET], path: \"/shop/*\", level: aal1 }\n"
                         "  - { methods: [HEAD], path: \"/shop/cart\", public: true }\n"
                         "  - { methods: [POST], path: \"/shop/cart\", level: aal2 }\n"
                         "  - { path: \"/**\", level: aal1 }\n"
                         "  - { path: \"/never\", deny: true }\n"));
  const auto hidden = of_kind(ws, Kind::kShadowedRule);
  ASSERT_EQ(hidden.size(), 3u);
  EXPECT_EQ(hidden[0].message.rfind("rule 2 (GET,HEAD /admin/report) can never match: rule 1 (", 0),
            0u)
      << hidden[0].message;
  EXPECT_EQ(hidden[1].message.rfind("rule 4 (HEAD /shop/cart) can never match: rule 3 (", 0), 0u)
      << hidden[1].message;
  EXPECT_EQ(hidden[2].message.rfind("rule 7 (/never) can never match: rule 6 (", 0), 0u)
      << hidden[2].message;
}

}  // namespace
}  // namespace stepup::config
