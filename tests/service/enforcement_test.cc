// Enforcement: the per-request decision with a cookie or a bearer token,
// table-driven over the rules of testenv::default_sections(); freshness
// (max_age) to the second after a step-up; elevation lapse at exactly
// reached_at + elevation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "service/service_env.h"

namespace stepup::service {
namespace {

using core::Verdict;
using testenv::kClient;
using testenv::kT0;

enum class Cred { kNone, kGarbageBearer, kCookieAal1, kBearerAal1, kCookieAal2, kBearerAal2 };

const char* cred_name(Cred c) {
  switch (c) {
    case Cred::kNone:
      return "none";
    case Cred::kGarbageBearer:
      return "garbage_bearer";
    case Cred::kCookieAal1:
      return "cookie_aal1";
    case Cred::kBearerAal1:
      return "bearer_aal1";
    case Cred::kCookieAal2:
      return "cookie_aal2";
    case Cred::kBearerAal2:
      return "bearer_aal2";
  }
  return "?";
}

class EnforcementTest : public testenv::ServiceEnv {
 protected:
  // alice: one plain session, one stepped up to aal2 (at kT0).
  void make_sessions() {
    auto u = add_user("alice");
    secret_ = enroll_totp(u).second;
    plain_ = sign_in(u);
    auto s = sign_in(u);
    up_ = step_up_totp(s.cookie_value, secret_);
  }

  Credential cred(Cred c) {
    switch (c) {
      case Cred::kNone:
        return {};
      case Cred::kGarbageBearer:
        return Credential{"not.a.jwt", ""};
      case Cred::kCookieAal1:
        return Credential{"", plain_.cookie_value};
      case Cred::kBearerAal1:
        return Credential{plain_.tokens.access_token, ""};
      case Cred::kCookieAal2:
        return Credential{"", up_.cookie_value};
      case Cred::kBearerAal2:
        return Credential{up_.tokens.access_token, ""};
    }
    return {};
  }

  Verdict verdict(std::string_view method, std::string_view path, Cred c) {
    auto v =
        rt().enforcement().decide(core::RequestFacts{method, "app.example.com", path}, cred(c));
    EXPECT_TRUE(v.has_value());
    return v ? v->decision.verdict : Verdict::kDeny;
  }

  std::string secret_;
  NewSession plain_;
  StepUpResult up_;
};

struct DecideCase {
  const char* path;
  Cred cred;
  Verdict expected;
  std::optional<core::Seconds> max_age;  // for kStepUp
  const char* required_acr;              // for kStepUp
};

TEST_F(EnforcementTest, DecisionTable) {
  make_sessions();
  const std::vector<DecideCase> cases = {
      // public: anyone
      {"/public/x", Cred::kNone, Verdict::kAllow, {}, ""},
      {"/public/x", Cred::kGarbageBearer, Verdict::kAllow, {}, ""},
      {"/public/x", Cred::kCookieAal1, Verdict::kAllow, {}, ""},
      // deny: everyone, however strong
      {"/blocked/x", Cred::kNone, Verdict::kDeny, {}, ""},
      {"/blocked/x", Cred::kCookieAal2, Verdict::kDeny, {}, ""},
      {"/blocked/x", Cred::kBearerAal2, Verdict::kDeny, {}, ""},
      // no rule matches: the default (deny)
      {"/elsewhere", Cred::kCookieAal2, Verdict::kDeny, {}, ""},
      // aal1
      {"/app/x", Cred::kNone, Verdict::kLogin, {}, ""},
      {"/app/x", Cred::kGarbageBearer, Verdict::kLogin, {}, ""},
      {"/app/x", Cred::kCookieAal1, Verdict::kAllow, {}, ""},
      {"/app/x", Cred::kBearerAal1, Verdict::kAllow, {}, ""},
      {"/app/x", Cred::kCookieAal2, Verdict::kAllow, {}, ""},
      {"/app/x", Cred::kBearerAal2, Verdict::kAllow, {}, ""},
      // aal2, no freshness
      {"/pay/x", Cred::kNone, Verdict::kLogin, {}, ""},
      {"/pay/x", Cred::kCookieAal1, Verdict::kStepUp, {}, "aal2"},
      {"/pay/x", Cred::kBearerAal1, Verdict::kStepUp, {}, "aal2"},
      {"/pay/x", Cred::kCookieAal2, Verdict::kAllow, {}, ""},
      {"/pay/x", Cred::kBearerAal2, Verdict::kAllow, {}, ""},
      // aal2 within 5 minutes
      {"/admin/x", Cred::kCookieAal1, Verdict::kStepUp, 300, "aal2"},
      {"/admin/x", Cred::kBearerAal1, Verdict::kStepUp, 300, "aal2"},
      {"/admin/x", Cred::kCookieAal2, Verdict::kAllow, {}, ""},
      {"/admin/x", Cred::kBearerAal2, Verdict::kAllow, {}, ""},
      // aal3: TOTP cannot reach it
      {"/top/x", Cred::kCookieAal2, Verdict::kStepUp, {}, "aal3"},
      {"/top/x", Cred::kBearerAal2, Verdict::kStepUp, {}, "aal3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.path) + " with " + cred_name(c.cred));
    auto v = rt().enforcement().decide(core::RequestFacts{"GET", "app.example.com", c.path},
                                       cred(c.cred));
    ASSERT_TRUE(v.has_value()) << testenv::code_name(v.error());
    EXPECT_EQ(core::to_string(v->decision.verdict), core::to_string(c.expected));
    if (c.expected == Verdict::kStepUp) {
      EXPECT_EQ(rt().config().levels.at(v->decision.required_level).acr, c.required_acr);
      EXPECT_EQ(v->decision.max_age, c.max_age);
      ASSERT_TRUE(v->who.has_value());
      EXPECT_EQ(v->who->session.subject, "alice");
    }
    if (c.expected == Verdict::kAllow && c.cred != Cred::kNone && c.cred != Cred::kGarbageBearer &&
        std::string(c.path) != "/public/x") {
      ASSERT_TRUE(v->who.has_value());
      EXPECT_EQ(v->who->session.subject, "alice");
      const bool bearer = c.cred == Cred::kBearerAal1 || c.cred == Cred::kBearerAal2;
      EXPECT_EQ(v->who->via, bearer ? Authenticated::Via::kBearer : Authenticated::Via::kCookie);
    }
    if (c.expected == Verdict::kLogin) {
      EXPECT_FALSE(v->who.has_value());
      EXPECT_FALSE(v->login_reason.empty());
    }
    if (c.expected == Verdict::kDeny && std::string(c.path) == "/blocked/x") {
      EXPECT_EQ(v->decision.reason, "This area is closed");
    }
  }
}

TEST_F(EnforcementTest, RevokedSessionMeansLogin) {
  make_sessions();
  ASSERT_EQ(verdict("GET", "/app/x", Cred::kCookieAal2), Verdict::kAllow);
  ASSERT_EQ(verdict("GET", "/app/x", Cred::kBearerAal2), Verdict::kAllow);
  ASSERT_TRUE(rt().sessions().revoke(up_.session, "logout", kClient).has_value());
  EXPECT_EQ(verdict("GET", "/app/x", Cred::kCookieAal2), Verdict::kLogin);
  EXPECT_EQ(verdict("GET", "/app/x", Cred::kBearerAal2), Verdict::kLogin);
  EXPECT_EQ(verdict("GET", "/app/x", Cred::kCookieAal1), Verdict::kAllow);
}

TEST_F(EnforcementTest, AuthenticateWithoutCredentialIsInvalidToken) {
  make_sessions();
  auto a = rt().enforcement().authenticate(Credential{});
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, ErrorCode::kInvalidToken);
  auto b = rt().enforcement().authenticate(cred(Cred::kBearerAal2));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->acr, "aal2");
}

// After a step-up at t, a rule with max_age 300 passes at t+300 and asks for
// a fresh step-up at t+301, with a cookie and with the token the step-up gave.
TEST_F(EnforcementTest, FreshnessToTheSecond) {
  make_sessions();
  const core::UnixTime t = kT0;
  for (Cred c : {Cred::kCookieAal2, Cred::kBearerAal2}) {
    SCOPED_TRACE(cred_name(c));
    clock().set(t + 300);
    EXPECT_EQ(verdict("GET", "/admin/x", c), Verdict::kAllow);
    clock().set(t + 301);
    auto v = rt().enforcement().decide(core::RequestFacts{"GET", "", "/admin/x"}, cred(c));
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->decision.verdict, Verdict::kStepUp);
    EXPECT_EQ(v->decision.max_age, 300);
    EXPECT_EQ(v->decision.reason, "This resource needs a more recent authentication");
    // The level itself is still held: the non-fresh aal2 rule passes.
    EXPECT_EQ(verdict("GET", "/pay/x", c), Verdict::kAllow);
  }
}

// Freshness counts from the step-up, not from sign-in: a session signed in
// long ago that stepped up just now passes the max_age rule.
TEST_F(EnforcementTest, FreshnessCountsFromTheStepUpNotSignIn) {
  auto u = add_user("alice");
  auto secret = enroll_totp(u).second;
  auto s = sign_in(u);
  clock().set(kT0 + 25 * 60);
  ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());  // not idle
  auto up = step_up_totp(s.cookie_value, secret);
  clock().advance(299);
  auto v = rt().enforcement().decide(core::RequestFacts{"GET", "", "/admin/x"},
                                     Credential{"", up.cookie_value});
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->decision.verdict, Verdict::kAllow);
}

// aal2 elevation 2m, access_ttl 10m: the level lapses at exactly
// reached_at + 120 for the cookie and for the bearer token (exp capped).
TEST_F(EnforcementTest, ElevationLapsesAtExactlyReachedAtPlusElevation) {
  start({{"levels",
          "{ aal1: { reached_by: [[pwd]] }, aal2: { reached_by: [[pwd, otp]], elevation: 2m } }"},
         {"rules", R"([ { path: "/pay/**", level: aal2 }, { path: "/app/**", level: aal1 } ])"}});
  make_sessions();
  const core::UnixTime t = kT0;
  struct Step {
    core::Seconds at;
    Verdict pay;
  };
  // The elevated bearer token's exp is capped at the lapse, so past it the
  // token is expired (invalid_token: refresh, then step up); the cookie
  // session falls back to aal1 and gets the step-up challenge.
  for (Cred c : {Cred::kCookieAal2, Cred::kBearerAal2}) {
    const Verdict after = c == Cred::kBearerAal2 ? Verdict::kLogin : Verdict::kStepUp;
    for (Step st : {Step{0, Verdict::kAllow}, Step{119, Verdict::kAllow}, Step{120, after},
                    Step{121, after}}) {
      SCOPED_TRACE(std::string(cred_name(c)) + " at +" + std::to_string(st.at));
      clock().set(t + st.at);
      EXPECT_EQ(core::to_string(verdict("GET", "/pay/x", c)), core::to_string(st.pay));
    }
  }
  // The cookie still holds the base level after the lapse.
  clock().set(t + 120);
  EXPECT_EQ(verdict("GET", "/app/x", Cred::kCookieAal2), Verdict::kAllow);
}

// An access token past its exp is no valid credential: the answer is "log in
// again / refresh" (invalid_token), never "step up to the base level". The
// verifier's clock_skew (30s) is for other machines' clocks, not a license to
// report an expired aal1 token as insufficient.
TEST_F(EnforcementTest, ExpiredBearerIsLoginNotStepUp) {
  make_sessions();
  clock().set(kT0 + 599);
  ASSERT_EQ(verdict("GET", "/app/x", Cred::kBearerAal1), Verdict::kAllow);
  clock().set(kT0 + 600 + 31);  // beyond exp + skew: the verifier refuses
  EXPECT_EQ(core::to_string(verdict("GET", "/app/x", Cred::kBearerAal1)),
            core::to_string(Verdict::kLogin));
  clock().set(kT0 + 600 + 1);  // past exp, inside the skew
  const Verdict v = verdict("GET", "/app/x", Cred::kBearerAal1);
  EXPECT_EQ(core::to_string(v), core::to_string(Verdict::kLogin));
}

// Rule matches are remembered per thread: the answer for a request must be
// the policy's own, whatever was asked before, including requests whose parts
// concatenate to the same bytes, and after many distinct requests.
TEST_F(EnforcementTest, RememberedMatchesAreThePolicysOwn) {
  start({{"rules", R"([
      { hosts: ["ab"], path: "/c", deny: true },
      { hosts: ["a"], path: "/b/**", public: true },
      { hosts: ["a"], path: "/c/**", public: true },
      { methods: [GETX], path: "/y", public: true },
      { path: "/pay/**", level: aal2 },
      { path: "/app/**", level: aal1 } ])"}});
  const auto& policy = rt().config().policy;
  std::vector<core::RequestFacts> asks = {
      {"GET", "ab", "/c"},    {"GET", "a", "b/c"},  {"GET", "a", "/b/c"},   {"GETX", "", "/y"},
      {"GET", "X", "/y"},     {"GE", "TX", "/y"},   {"GET", "", "/pay/1"},  {"GET", "", "/app/1"},
      {"POST", "", "/app/1"}, {"GET", "ab", "/c/"}, {"GET", "", "/nowhere"}};
  // Many distinct paths, so slots are reused by other requests in between
  // (RequestFacts holds views: the strings live in `paths`).
  std::vector<std::string> paths;
  paths.reserve(3000);
  for (int i = 0; i < 3000; ++i) paths.push_back("/app/" + std::to_string(i));
  for (const auto& p : paths) asks.push_back({"GET", "", p});
  for (int round = 0; round < 3; ++round) {
    for (const auto& a : asks) {
      SCOPED_TRACE(std::string(a.method) + " " + std::string(a.host) + " " + std::string(a.path));
      auto v = rt().enforcement().decide(a, Credential{});
      ASSERT_TRUE(v.has_value());
      const auto& want = policy.match(a);
      EXPECT_EQ(v->decision.rule, &want) << "rule " << want.index;
    }
  }
}

}  // namespace
}  // namespace stepup::service
