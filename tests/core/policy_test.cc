// Policy: glob and host matching, rule compilation, first-match-wins.
#include "core/policy.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "core/alloc_counter.h"

namespace stepup::core {
namespace {

struct GlobRow {
  const char* pattern;
  const char* path;
  bool match;
};

class GlobTable : public ::testing::TestWithParam<GlobRow> {};

TEST_P(GlobTable, Matches) {
  const GlobRow& row = GetParam();
  ASSERT_TRUE(glob_problem(row.pattern).empty()) << row.pattern;
  EXPECT_EQ(glob_match(row.pattern, row.path), row.match)
      << "pattern " << row.pattern << " path " << row.path;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, GlobTable,
    ::testing::Values(
        // `**` as a whole segment: zero or more segments.
        GlobRow{"/admin/**", "/admin", true}, GlobRow{"/admin/**", "/admin/", true},
        GlobRow{"/admin/**", "/admin/x", true}, GlobRow{"/admin/**", "/admin/x/y", true},
        GlobRow{"/admin/**", "/administrator", false}, GlobRow{"/admin/**", "/adm", false},
        GlobRow{"/admin/**", "/", false}, GlobRow{"/admin/**", "/x/admin", false},
        GlobRow{"/admin/**", "/Admin/x", false},  // paths are case-sensitive
        GlobRow{"/**", "/", true}, GlobRow{"/**", "", true}, GlobRow{"/**", "/a/b/c", true},
        GlobRow{"/**", "//", true},
        // `**` in the middle and several of them.
        GlobRow{"/a/**/b", "/a/b", true}, GlobRow{"/a/**/b", "/a/x/b", true},
        GlobRow{"/a/**/b", "/a/x/y/b", true}, GlobRow{"/a/**/b", "/a/x/y/c", false},
        GlobRow{"/a/**/b", "/a/b/c", false}, GlobRow{"/**/x/**", "/x", true},
        GlobRow{"/**/x/**", "/p/q/x/r", true}, GlobRow{"/**/x/**", "/p/q/y/r", false},
        GlobRow{"/**/b/**/c", "/b/b/b/c", true}, GlobRow{"/**/b/**/c", "/b/c/c/d", false},
        // `*` stays within one segment.
        GlobRow{"/users/*", "/users/42", true}, GlobRow{"/users/*", "/users/42/x", false},
        GlobRow{"/users/*", "/users", false}, GlobRow{"/users/*", "/users/", true},
        GlobRow{"/users/*/edit", "/users/7/edit", true},
        GlobRow{"/users/*/edit", "/users/7/8/edit", false},
        GlobRow{"/files/*.pdf", "/files/a.pdf", true},
        GlobRow{"/files/*.pdf", "/files/a.pdf.exe", false},
        GlobRow{"/files/*.pdf", "/files/.pdf", true}, GlobRow{"/f/a*b*c", "/f/aXbYc", true},
        GlobRow{"/f/a*b*c", "/f/abcbc", true}, GlobRow{"/f/a*b*c", "/f/acb", false},
        GlobRow{"/*", "/anything", true}, GlobRow{"/*", "/a/b", false},
        // Literal patterns.
        GlobRow{"/", "/", true}, GlobRow{"/", "/a", false}, GlobRow{"/exact", "/exact", true},
        GlobRow{"/exact", "/exact/", false}, GlobRow{"/exact/", "/exact", false},
        GlobRow{"/a/b", "/a//b", false},
        // Paths are matched as given: no decoding, no dot-segment removal.
        GlobRow{"/admin/**", "/%61dmin/x", false},
        GlobRow{"/public/**", "/public/../admin", true}));

struct BadGlobRow {
  const char* pattern;
  const char* why_contains;
};

class BadGlobTable : public ::testing::TestWithParam<BadGlobRow> {};

TEST_P(BadGlobTable, Rejected) {
  std::string_view why = glob_problem(GetParam().pattern);
  EXPECT_NE(why.find(GetParam().why_contains), std::string_view::npos)
      << GetParam().pattern << " -> " << why;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, BadGlobTable,
    ::testing::Values(BadGlobRow{"", "empty"}, BadGlobRow{"admin/**", "start with /"},
                      BadGlobRow{"*/x", "start with /"}, BadGlobRow{"/a**b", "whole path segment"},
                      BadGlobRow{"/a/**b", "whole path segment"},
                      BadGlobRow{"/a/b**", "whole path segment"},
                      BadGlobRow{"/***", "whole path segment"}, BadGlobRow{"/x?y=1", "? or #"},
                      BadGlobRow{"/x#frag", "? or #"}, BadGlobRow{"/a b", "spaces"}));

struct HostRow {
  const char* pattern;
  const char* host;
  bool match;
};

class HostTable : public ::testing::TestWithParam<HostRow> {};

TEST_P(HostTable, Matches) {
  const HostRow& row = GetParam();
  ASSERT_TRUE(host_pattern_problem(row.pattern).empty()) << row.pattern;
  EXPECT_EQ(host_match(row.pattern, row.host), row.match)
      << "pattern " << row.pattern << " host " << row.host;
}

INSTANTIATE_TEST_SUITE_P(Rows, HostTable,
                         ::testing::Values(HostRow{"example.com", "example.com", true},
                                           HostRow{"example.com", "EXAMPLE.com", true},
                                           HostRow{"example.com", "example.com:8443", true},
                                           HostRow{"example.com", "example.com.", true},
                                           HostRow{"example.com", "www.example.com", false},
                                           HostRow{"example.com", "example.org", false},
                                           HostRow{"example.com", "", false},
                                           HostRow{"*.example.com", "app.example.com", true},
                                           HostRow{"*.example.com", "a.b.example.com", true},
                                           HostRow{"*.example.com", "App.Example.COM:443", true},
                                           HostRow{"*.example.com", "example.com", false},
                                           HostRow{"*.example.com", ".example.com", false},
                                           HostRow{"*.example.com", "evilexample.com", false},
                                           HostRow{"*.example.com", "example.com.evil.org", false},
                                           HostRow{"[::1]", "[::1]:8080", true},
                                           HostRow{"[::1]", "[::2]", false}));

TEST(HostPattern, Rejected) {
  EXPECT_FALSE(host_pattern_problem("").empty());
  EXPECT_FALSE(host_pattern_problem("*.").empty());
  EXPECT_FALSE(host_pattern_problem("a.*.com").empty());
  EXPECT_FALSE(host_pattern_problem("*example.com").empty());
  EXPECT_FALSE(host_pattern_problem("example.com:8080").empty());
  EXPECT_FALSE(host_pattern_problem("exa mple.com").empty());
}

LevelTable levels() {
  return LevelTable({Level{"aal1", "aal1", {{"pwd"}}, std::nullopt},
                     Level{"aal2", "aal2", {{"pwd", "otp"}}, 900}});
}

RuleSpec require(std::string path, std::string level, std::vector<std::string> methods = {},
                 std::vector<std::string> hosts = {}) {
  RuleSpec r;
  r.path = std::move(path);
  r.level = std::move(level);
  r.methods = std::move(methods);
  r.hosts = std::move(hosts);
  return r;
}

RuleSpec with_effect(std::string path, RuleEffect effect) {
  RuleSpec r;
  r.path = std::move(path);
  r.effect = effect;
  return r;
}

Policy sample_policy() {
  std::vector<RuleSpec> rules = {
      require("/payments/**", "aal2", {"post", "Put"}),
      require("/admin/**", "aal2"),
      with_effect("/public/**", RuleEffect::kPublic),
      with_effect("/blocked/**", RuleEffect::kDeny),
      require("/**", "aal1", {}, {"*.example.com"}),
  };
  return Policy(levels(), std::move(rules), with_effect("/**", RuleEffect::kDeny));
}

struct MatchRow {
  const char* method;
  const char* host;
  const char* path;
  int rule_index;  // -1: default rule
};

class MatchTable : public ::testing::TestWithParam<MatchRow> {};

TEST_P(MatchTable, FirstMatchWins) {
  static const Policy policy = sample_policy();
  const MatchRow& row = GetParam();
  const Rule& rule = policy.match({row.method, row.host, row.path});
  EXPECT_EQ(rule.index, row.rule_index) << row.method << " " << row.host << row.path;
}

INSTANTIATE_TEST_SUITE_P(Rows, MatchTable,
                         ::testing::Values(MatchRow{"POST", "", "/payments/1", 0},
                                           MatchRow{"post", "", "/payments", 0},
                                           MatchRow{"PUT", "", "/payments/1", 0},
                                           // GET on payments falls through to later rules.
                                           MatchRow{"GET", "app.example.com", "/payments/1", 4},
                                           MatchRow{"GET", "", "/payments/1", -1},
                                           MatchRow{"GET", "", "/admin", 1},
                                           MatchRow{"DELETE", "x", "/admin/u/1", 1},
                                           MatchRow{"GET", "", "/public/logo.png", 2},
                                           MatchRow{"GET", "", "/blocked/x", 3},
                                           MatchRow{"GET", "app.example.com:8443", "/home", 4},
                                           MatchRow{"GET", "example.com", "/home", -1},
                                           MatchRow{"GET", "other.org", "/home", -1}));

TEST(Policy, CompilesToUpperCaseMethodsAndLowerCaseHosts) {
  Policy p(levels(), {require("/x", "aal1", {"get", "Post"}, {"*.Example.COM"})},
           with_effect("/**", RuleEffect::kDeny));
  ASSERT_EQ(p.rules().size(), 1u);
  // GET covers HEAD: upstreams answer HEAD with the GET handler.
  EXPECT_EQ(p.rules()[0].spec.methods, (std::vector<std::string>{"GET", "POST", "HEAD"}));
  EXPECT_EQ(p.rules()[0].spec.hosts, (std::vector<std::string>{"*.example.com"}));
  EXPECT_EQ(p.rules()[0].index, 0);
  EXPECT_EQ(p.default_rule().index, -1);
}

TEST(Policy, LevelResolvedToIndex) {
  Policy p(levels(), {require("/a", "aal2"), require("/b", "aal1")}, require("/**", "aal1"));
  EXPECT_EQ(p.rules()[0].level, 1);
  EXPECT_EQ(p.rules()[1].level, 0);
  EXPECT_EQ(p.default_rule().level, 0);
  EXPECT_EQ(p.default_rule().spec.effect, RuleEffect::kRequire);
}

TEST(Policy, EmptyPolicyDeniesEverything) {
  Policy p;
  const Rule& r = p.match({"GET", "", "/"});
  EXPECT_EQ(r.spec.effect, RuleEffect::kDeny);
  EXPECT_EQ(r.index, -1);
}

TEST(Policy, RejectsBadRules) {
  auto build = [](RuleSpec spec) {
    Policy(levels(), {std::move(spec)}, with_effect("/**", RuleEffect::kDeny));
  };
  auto message = [&](RuleSpec spec) -> std::string {
    try {
      build(std::move(spec));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no exception)";
  };
  EXPECT_EQ(message(require("/x", "aal9")), "rule 1: level \"aal9\": is not a configured level");
  EXPECT_EQ(message(require("/x", "")), "rule 1: level: a rule that requires a level must name it");
  EXPECT_EQ(message(require("/a**b", "aal1")),
            "rule 1: path \"/a**b\": ** must be a whole path segment (like /a/**/b)");
  EXPECT_EQ(message(require("admin", "aal1")),
            "rule 1: path \"admin\": path glob must start with /");
  EXPECT_NE(message(require("/x", "aal1", {"GE T"})).find("not an HTTP method"), std::string::npos);
  EXPECT_NE(message(require("/x", "aal1", {}, {"a.*.com"})).find("host \"a.*.com\""),
            std::string::npos);
  RuleSpec negative = require("/x", "aal1");
  negative.max_age = -1;
  EXPECT_NE(message(negative).find("max_age"), std::string::npos);
  // The default rule is checked too.
  try {
    Policy(levels(), {}, require("/**", "nope"));
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "default rule: level \"nope\": is not a configured level");
  }
}

TEST(Policy, PublicAndDenyNeedNoLevel) {
  EXPECT_NO_THROW(Policy(levels(), {with_effect("/p/**", RuleEffect::kPublic)},
                         with_effect("/**", RuleEffect::kDeny)));
}

TEST(Policy, MatchDoesNotAllocate) {
  const Policy policy = sample_policy();
  const std::string long_path = "/some/long/path/that/does/not/fit/in/any/small/buffer/at/all";
  stepup::testing::AllocationScope scope;
  int found = 0;
  found += policy.match({"POST", "", "/payments/1"}).index;
  found += policy.match({"GET", "a.b.example.com:443", long_path}).index;
  found += policy.match({"GET", "nowhere", long_path}).index;
  found += glob_match("/**/x/**/y", long_path) ? 1 : 0;
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(found, 0 + 4 - 1);
}

// ---- upstream path semantics ---------------------------------------------

RuleSpec aged(RuleSpec r, Seconds max_age) {
  r.max_age = max_age;
  return r;
}

Policy bank_policy(PathSemantics sem) {
  std::vector<RuleSpec> rules = {
      with_effect("/public/**", RuleEffect::kPublic),
      require("/transfer", "aal2"),
      require("/Admin/**", "aal2"),
      with_effect("/blocked", RuleEffect::kDeny),
      require("/**", "aal1"),
  };
  return Policy(levels(), std::move(rules), with_effect("/**", RuleEffect::kDeny), sem);
}

struct SemRow {
  PathCase path_case;
  TrailingSlash slash;
  const char* method;
  const char* path;
  int rule_index;
};

class SemanticsTable : public ::testing::TestWithParam<SemRow> {};

TEST_P(SemanticsTable, NeverWeakerThanTheUpstream) {
  const SemRow& row = GetParam();
  const Policy policy = bank_policy({row.path_case, row.slash});
  EXPECT_EQ(policy.match({row.method, "", row.path}).index, row.rule_index)
      << row.method << " " << row.path;
}

constexpr auto kS = PathCase::kSensitive;
constexpr auto kI = PathCase::kInsensitive;
constexpr auto kU = PathCase::kUnknown;
constexpr auto kSig = TrailingSlash::kSignificant;
constexpr auto kIgn = TrailingSlash::kIgnored;
constexpr auto kUnk = TrailingSlash::kUnknown;

INSTANTIATE_TEST_SUITE_P(
    Rows, SemanticsTable,
    ::testing::Values(
        // A case-sensitive upstream serves /admin/x and /ADMIN/x as other
        // resources than /Admin/x: only the exact case is the admin area.
        SemRow{kS, kSig, "GET", "/Admin/x", 2}, SemRow{kS, kSig, "GET", "/ADMIN/x", 4},
        // ...and /PUBLIC/x is not the public area there.
        SemRow{kS, kSig, "GET", "/PUBLIC/x", 4}, SemRow{kS, kSig, "GET", "/public/x", 0},
        // A case-insensitive upstream (express) serves /ADMIN/x as /Admin/x.
        SemRow{kI, kSig, "GET", "/ADMIN/x", 2}, SemRow{kI, kSig, "GET", "/admin/x", 2},
        SemRow{kI, kSig, "GET", "/TRANSFER", 1}, SemRow{kI, kSig, "GET", "/PUBLIC/x", 0},
        // Unknown: the stricter of both readings. The admin area in any case;
        // a public rule only where both readings agree it is public.
        SemRow{kU, kSig, "GET", "/ADMIN/x", 2}, SemRow{kU, kSig, "GET", "/Admin/x", 2},
        SemRow{kU, kSig, "GET", "/public/x", 0}, SemRow{kU, kSig, "GET", "/PUBLIC/x", 4},
        SemRow{kU, kSig, "GET", "/Blocked", 3},
        // Trailing slash: express serves /transfer/ as /transfer.
        SemRow{kS, kSig, "GET", "/transfer/", 4}, SemRow{kS, kIgn, "GET", "/transfer/", 1},
        SemRow{kU, kUnk, "GET", "/transfer/", 1}, SemRow{kU, kUnk, "GET", "/TRANSFER/", 1},
        SemRow{kS, kUnk, "GET", "/blocked/", 3}, SemRow{kI, kIgn, "GET", "/BLOCKED/", 3},
        SemRow{kS, kIgn, "GET", "/", 4},
        // HEAD is covered by a GET rule; the catch-all covers any method.
        SemRow{kU, kUnk, "HEAD", "/transfer", 1}));

TEST(PolicySemantics, HeadFollowsGetRules) {
  Policy p(levels(), {require("/report", "aal2", {"GET"}), require("/**", "aal1")},
           with_effect("/**", RuleEffect::kDeny));
  EXPECT_EQ(p.match({"HEAD", "", "/report"}).index, 0);
  EXPECT_EQ(p.match({"POST", "", "/report"}).index, 1);
  // A rule naming only HEAD does not grow GET.
  Policy h(levels(), {require("/x", "aal2", {"HEAD"})}, with_effect("/**", RuleEffect::kDeny));
  EXPECT_EQ(h.match({"GET", "", "/x"}).index, -1);
}

TEST(PolicySemantics, IncomparableReadingsAskForBoth) {
  // /ops/** wants aal1 proven in the last minute; everything else aal2 at
  // any age. Under an unknown upstream, /Ops/x is /ops/x (folded) or another
  // resource (exact): it must ask for both, aal2 and a max_age of 60.
  auto rules = [] {
    return std::vector<RuleSpec>{aged(require("/ops/**", "aal1"), 60), require("/**", "aal2")};
  };
  Policy p(levels(), rules(), with_effect("/**", RuleEffect::kDeny), {kU, kSig});
  const Rule& r = p.match({"GET", "", "/Ops/x"});
  EXPECT_EQ(r.spec.effect, RuleEffect::kRequire);
  EXPECT_EQ(r.level, 1);
  ASSERT_TRUE(r.spec.max_age);
  EXPECT_EQ(*r.spec.max_age, 60);
  // Each reading alone gives its own rule.
  Policy s(levels(), rules(), with_effect("/**", RuleEffect::kDeny), {kS, kSig});
  EXPECT_EQ(s.match({"GET", "", "/Ops/x"}).index, 1);
  EXPECT_EQ(s.match({"GET", "", "/ops/x"}).index, 0);
  Policy i(levels(), rules(), with_effect("/**", RuleEffect::kDeny), {kI, kSig});
  EXPECT_EQ(i.match({"GET", "", "/Ops/x"}).index, 0);
}

TEST(PolicySemantics, DotSegmentsAreJudgedLiterallyToo) {
  // express routes "/admin/.." as /admin/:page (page ".."); Python's
  // normpath serves "/transfer/." as /transfer. Both readings count.
  for (PathSemantics sem : {PathSemantics{kS, kSig}, PathSemantics{kI, kIgn}, PathSemantics{}}) {
    const Policy p = bank_policy(sem);
    // Resolved "/" falls to the catch-all (4); literally it is under /Admin/**
    // when case folds, and "/transfer/." resolves to /transfer/ whose cut
    // reading is the transfer rule.
    EXPECT_EQ(p.match({"GET", "", "/transfer/", "/transfer/."}).index, 1);
    EXPECT_EQ(p.match({"GET", "", "/Admin/", "/Admin/x/.."}).index, 2);
    EXPECT_EQ(p.match({"GET", "", "/blocked/", "/blocked/x/.."}).index, 3);
    // A public path with a dot segment: public only if both readings agree.
    EXPECT_EQ(p.match({"GET", "", "/public/a", "/public/x/../a"}).index, 0);
    EXPECT_EQ(p.match({"GET", "", "/x", "/public/../x"}).index, 4);
  }
}

TEST(Policy, GlobsMustBeCanonical) {
  for (const char* bad : {"/%61dmin/**", "/caf%c3%a9", "/x/../secret", "/a//b", "/a/./b",
                          "/odata/%24batch", "/a;b", "/caf\xc3\xa9"}) {
    EXPECT_FALSE(glob_problem(bad).empty()) << bad;
  }
  for (const char* good : {"/", "/**", "/admin/**", "/a/*/b", "/caf%C3%A9/**", "/odata/$batch",
                           "/files/*.pdf", "/x/"}) {
    EXPECT_TRUE(glob_problem(good).empty()) << good << ": " << glob_problem(good);
  }
}

TEST(Policy, KnowsWhetherRulesNameHosts) {
  EXPECT_TRUE(sample_policy().has_host_rules());
  EXPECT_FALSE(bank_policy({}).has_host_rules());
}

TEST(PolicySemantics, UnknownMatchDoesNotAllocate) {
  const Policy policy = bank_policy({kU, kUnk});
  stepup::testing::AllocationScope scope;
  int found = 0;
  found += policy.match({"GET", "", "/ADMIN/x/"}).index;
  found += policy.match({"GET", "", "/transfer/"}).index;
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(found, 3);
}

}  // namespace
}  // namespace stepup::core
