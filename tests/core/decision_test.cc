// decide(): table-driven verdicts over levels, elevation and freshness.
#include "core/decision.h"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>
#include <vector>

#include "core/alloc_counter.h"

namespace stepup::core {
namespace {

constexpr UnixTime kSignIn = 1'700'000'000;  // password sign-in
constexpr Seconds kElevation = 15 * 60;

LevelTable ladder() {
  return LevelTable({
      Level{"aal1", "aal1", {{"pwd"}}, std::nullopt},
      Level{"aal2", "aal2", {{"pwd", "otp"}, {"pwd", "hwk"}}, kElevation},
      Level{"aal3", "aal3", {{"pwd", "hwk", "user"}}, 5 * 60},
  });
}

RuleSpec require(std::string level, std::optional<Seconds> max_age = std::nullopt,
                 std::string reason = "") {
  RuleSpec r;
  r.level = std::move(level);
  r.max_age = max_age;
  r.reason = std::move(reason);
  return r;
}

RuleSpec effect(RuleEffect e, std::string reason = "") {
  RuleSpec r;
  r.effect = e;
  r.reason = std::move(reason);
  return r;
}

// One rule per row, compiled through a real Policy so levels resolve as in
// production; the rule is the policy's default so match() is not involved.
struct Row {
  const char* name;
  RuleSpec rule;
  bool signed_in;
  std::vector<MethodProof> proofs;
  UnixTime now;
  Verdict verdict;
  const char* reason;  // nullptr: don't check
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

class DecisionTable : public ::testing::TestWithParam<Row> {};

TEST_P(DecisionTable, Verdict) {
  const Row& row = GetParam();
  const LevelTable table = ladder();
  const Policy policy(table, {}, row.rule);
  const Rule& rule = policy.default_rule();
  const std::vector<Attainment> held = table.attainments(row.proofs, row.now);
  const Principal principal{"alice", "sid-1", held};
  const Decision d = decide(rule, row.signed_in ? &principal : nullptr, row.now);
  EXPECT_EQ(to_string(d.verdict), to_string(row.verdict)) << row.name;
  EXPECT_EQ(d.rule, &rule);
  if (row.reason) {
    EXPECT_EQ(d.reason, row.reason) << row.name;
  }
  if (d.verdict == Verdict::kStepUp) {
    EXPECT_EQ(d.required_level, rule.level);
    EXPECT_EQ(d.max_age, rule.spec.max_age);
  }
}

const std::vector<MethodProof> kPwd = {{"pwd", kSignIn}};
// Password at sign-in, OTP one hour later: aal2 reached at kSignIn + 3600.
const std::vector<MethodProof> kPwdOtp = {{"pwd", kSignIn}, {"otp", kSignIn + 3600}};
const std::vector<MethodProof> kAal3 = {
    {"pwd", kSignIn}, {"hwk", kSignIn + 100}, {"user", kSignIn + 100}};
constexpr UnixTime kStepped = kSignIn + 3600;

INSTANTIATE_TEST_SUITE_P(
    Rows, DecisionTable,
    ::testing::Values(
        // Effects that ignore the principal.
        Row{"deny without session",
            effect(RuleEffect::kDeny),
            false,
            {},
            kSignIn,
            Verdict::kDeny,
            "This resource is not available"},
        Row{"deny with aal3", effect(RuleEffect::kDeny, "Closed for maintenance"), true, kAal3,
            kSignIn + 101, Verdict::kDeny, "Closed for maintenance"},
        Row{"public without session",
            effect(RuleEffect::kPublic),
            false,
            {},
            kSignIn,
            Verdict::kAllow,
            ""},
        Row{"public with session", effect(RuleEffect::kPublic), true, kPwd, kSignIn,
            Verdict::kAllow, ""},
        // No principal.
        Row{"require without session",
            require("aal1"),
            false,
            {},
            kSignIn,
            Verdict::kLogin,
            "This resource needs you to sign in"},
        Row{"require aal2 without session",
            require("aal2", 300, "Pay"),
            false,
            {},
            kSignIn,
            Verdict::kLogin,
            "Pay"},
        // Level comparisons.
        Row{"aal1 with pwd", require("aal1"), true, kPwd, kSignIn + 86400, Verdict::kAllow,
            nullptr},
        Row{"signed in but nothing held",
            require("aal1"),
            true,
            {},
            kSignIn,
            Verdict::kStepUp,
            "This resource needs a higher assurance level"},
        Row{"aal2 with pwd only", require("aal2"), true, kPwd, kSignIn + 10, Verdict::kStepUp,
            "This resource needs a higher assurance level"},
        Row{"aal2 with pwd only, rule reason",
            require("aal2", 300, "Payments need a second factor"), true, kPwd, kSignIn + 10,
            Verdict::kStepUp, "Payments need a second factor"},
        Row{"aal2 with otp", require("aal2"), true, kPwdOtp, kStepped + 1, Verdict::kAllow,
            nullptr},
        Row{"higher level satisfies lower rule", require("aal1"), true, kAal3, kSignIn + 200,
            Verdict::kAllow, nullptr},
        Row{"aal3 satisfies aal2", require("aal2", 300), true, kAal3, kSignIn + 200,
            Verdict::kAllow, nullptr},
        Row{"aal2 does not satisfy aal3", require("aal3"), true, kPwdOtp, kStepped + 1,
            Verdict::kStepUp, nullptr},
        // Elevation: held while now < reached_at + E, not at equality.
        Row{"elevation one second before lapse", require("aal2"), true, kPwdOtp,
            kStepped + kElevation - 1, Verdict::kAllow, nullptr},
        Row{"elevation lapses at exactly until", require("aal2"), true, kPwdOtp,
            kStepped + kElevation, Verdict::kStepUp,
            "This resource needs a higher assurance level"},
        Row{"base level still held after elevation lapsed", require("aal1", 7200), true, kPwdOtp,
            kStepped + kElevation, Verdict::kAllow, nullptr},
        // Freshness from when the set was completed (the OTP), not sign-in.
        Row{"fresh from the step-up, not sign-in", require("aal2", 300), true, kPwdOtp,
            kStepped + 300, Verdict::kAllow, nullptr},
        Row{"max_age boundary: one second too old", require("aal2", 300), true, kPwdOtp,
            kStepped + 301, Verdict::kStepUp, "This resource needs a more recent authentication"},
        // aal1 itself was reached at sign-in (stale), but the fresh aal2 covers it.
        Row{"fresh higher level satisfies a stale lower one", require("aal1", 300), true, kPwdOtp,
            kStepped + 100, Verdict::kAllow, nullptr},
        Row{"aal1 freshness with pwd only, boundary passes", require("aal1", 300), true, kPwd,
            kSignIn + 300, Verdict::kAllow, nullptr},
        Row{"aal1 freshness with pwd only, one second over", require("aal1", 300), true, kPwd,
            kSignIn + 301, Verdict::kStepUp, "This resource needs a more recent authentication"},
        Row{"max_age 0 passes only in the same second", require("aal1", 0), true, kPwd, kSignIn,
            Verdict::kAllow, nullptr},
        Row{"max_age 0 one second later", require("aal1", 0), true, kPwd, kSignIn + 1,
            Verdict::kStepUp, nullptr},
        Row{"stale rule reason wins over built-in", require("aal1", 60, "Re-enter your password"),
            true, kPwd, kSignIn + 61, Verdict::kStepUp, "Re-enter your password"}),
    [](const ::testing::TestParamInfo<Row>& info) { return "row" + std::to_string(info.index); });

TEST(Decide, HandBuiltAttainmentsUntilIsExclusive) {
  // Principals built from a token (not from proofs) go straight to decide().
  const Policy policy(ladder(), {}, require("aal2"));
  const Attainment held[] = {{1, 1000, 2000}};
  const Principal p{"bob", "sid", held};
  EXPECT_EQ(decide(policy.default_rule(), &p, 1999).verdict, Verdict::kAllow);
  EXPECT_EQ(decide(policy.default_rule(), &p, 2000).verdict, Verdict::kStepUp);
}

// Issue 11: a level "reached" in the future (a forged or skewed auth_time,
// a method time from a node whose clock runs ahead) would satisfy every
// max_age for as long as it stays in the future. It is not fresh: step up.
// Without max_age freshness is not asked, and the level is still held.
TEST(Decide, FutureReachedAtIsNotFresh) {
  const Policy fresh_rule(ladder(), {}, require("aal2", 300));
  const Policy any_age(ladder(), {}, require("aal2"));
  const UnixTime now = 1'700'000'000;
  for (UnixTime ahead : {UnixTime{1}, UnixTime{3600}, UnixTime{10} * 365 * 86400}) {
    const Attainment held[] = {{1, now + ahead, kNever}};
    const Principal p{"bob", "sid", held};
    const Decision d = decide(fresh_rule.default_rule(), &p, now);
    EXPECT_EQ(d.verdict, Verdict::kStepUp) << "reached " << ahead << " s ahead";
    EXPECT_EQ(d.max_age, 300);
    EXPECT_EQ(decide(any_age.default_rule(), &p, now).verdict, Verdict::kAllow);
  }
  const Attainment now_held[] = {{1, now, kNever}};
  const Principal p{"bob", "sid", now_held};
  EXPECT_EQ(decide(fresh_rule.default_rule(), &p, now).verdict, Verdict::kAllow);
}

// Other nodes' clocks: a proof time up to the principal's clock_skew ahead
// is fresh; one second more is not. fresh_enough is the same rule.
TEST(Decide, ProofTimesWithinTheClockSkewAreFresh) {
  const Policy policy(ladder(), {}, require("aal2", 300));
  const UnixTime now = 1'700'000'000;
  const Attainment within[] = {{1, now + 30, kNever}};
  const Attainment beyond[] = {{1, now + 31, kNever}};
  const Principal ok{"bob", "sid", within, 30};
  const Principal late{"bob", "sid", beyond, 30};
  EXPECT_EQ(decide(policy.default_rule(), &ok, now).verdict, Verdict::kAllow);
  EXPECT_EQ(decide(policy.default_rule(), &late, now).verdict, Verdict::kStepUp);

  EXPECT_TRUE(fresh_enough(now - 300, now, 300, 30));
  EXPECT_FALSE(fresh_enough(now - 301, now, 300, 30));
  EXPECT_TRUE(fresh_enough(now + 30, now, 300, 30));
  EXPECT_FALSE(fresh_enough(now + 31, now, 300, 30));
  EXPECT_FALSE(fresh_enough(now + 1, now, 300, 0));
  EXPECT_FALSE(fresh_enough(now + 1, now, 300, -5));  // a negative skew counts as 0
  // No wrap-around at the ends of time.
  constexpr UnixTime kMax = std::numeric_limits<UnixTime>::max();
  constexpr UnixTime kMin = std::numeric_limits<UnixTime>::min();
  EXPECT_TRUE(fresh_enough(kMax, kMax, 300, 30));
  EXPECT_TRUE(fresh_enough(kMax - 5, kMax - 10, 300, std::numeric_limits<Seconds>::max()));
  EXPECT_FALSE(fresh_enough(kMin, kMin + 10, 5, 30));
  EXPECT_TRUE(fresh_enough(kMin, kMin, 300, 30));
}

TEST(Decide, StepUpCarriesRequiredLevelAndMaxAge) {
  const Policy policy(ladder(), {}, require("aal3", 120));
  const Attainment held[] = {{0, 1000, kNever}};
  const Principal p{"bob", "sid", held};
  const Decision d = decide(policy.default_rule(), &p, 1500);
  EXPECT_EQ(d.verdict, Verdict::kStepUp);
  EXPECT_EQ(d.required_level, 2);
  EXPECT_EQ(d.max_age, 120);
}

TEST(Decide, ReasonOutlivesTheCall) {
  const Policy policy(ladder(), {}, require("aal2", 300, "Payments need a second factor"));
  const Decision d = decide(policy.default_rule(), nullptr, 0);
  EXPECT_EQ(d.reason.data(), policy.default_rule().spec.reason.data());
}

TEST(Decide, ToString) {
  EXPECT_EQ(to_string(Verdict::kAllow), "allow");
  EXPECT_EQ(to_string(Verdict::kStepUp), "step_up");
  EXPECT_EQ(to_string(Verdict::kLogin), "login");
  EXPECT_EQ(to_string(Verdict::kDeny), "deny");
}

TEST(Decide, AllowAndStepUpPathsDoNotAllocate) {
  const Policy policy(ladder(), {}, require("aal2", 300, "Pay"));
  const Attainment held[] = {{0, 1000, kNever}, {1, 2000, 2900}};
  const Principal p{"carol", "sid", held};
  stepup::testing::AllocationScope scope;
  Decision allow = decide(policy.default_rule(), &p, 2100);
  Decision stale = decide(policy.default_rule(), &p, 2400);
  Decision login = decide(policy.default_rule(), nullptr, 2400);
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(allow.verdict, Verdict::kAllow);
  EXPECT_EQ(stale.verdict, Verdict::kStepUp);
  EXPECT_EQ(login.verdict, Verdict::kLogin);
}

}  // namespace
}  // namespace stepup::core
