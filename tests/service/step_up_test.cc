// StepUp and FactorCheck: what a challenge offers, its binding to one
// session, single use and expiry, return_to validation, TOTP replay, the
// lockout schedule (count before check, doubling delay, no reset by a new
// challenge, reset by a success) and recovery codes. TOTP codes come from
// factors::totp_code at the fake time; one is cross-checked with oathtool.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstdio>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "service/service_env.h"

namespace stepup::service {
namespace {

using testenv::kClient;
using testenv::kT0;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class StepUpTest : public testenv::ServiceEnv {
 protected:
  void SetUp() override {
    ServiceEnv::SetUp();
    // Long sessions so the lockout schedule (up to an hour) does not idle them out.
    start({{"sessions", "{ idle_timeout: 12h, absolute_timeout: 24h }"}});
  }
};

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST_F(StepUpTest, TotpCodeMatchesOathtool) {
  auto u = add_user("alice");
  auto t = rt().enrollment().add_confirmed_totp(u, "phone");
  ASSERT_TRUE(t.has_value());
  EXPECT_THAT(t->otpauth_uri, HasSubstr("otpauth://totp/"));
  EXPECT_THAT(t->otpauth_uri, HasSubstr("secret=" + t->secret_base32));
  auto raw = factors::base32_decode(t->secret_base32);
  ASSERT_TRUE(raw.has_value());
  for (core::Seconds offset : {0, 30, 3600}) {
    const core::UnixTime at = kT0 + offset;
    std::time_t tt = at;
    char when[64];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&tt));
    const std::string judge =
        run("oathtool --totp -b " + t->secret_base32 + " --now '" + when + "' 2>/dev/null");
    ASSERT_EQ(judge.size(), 6u) << "oathtool missing or failed: '" << judge << "'";
    EXPECT_EQ(factors::totp_code(*raw, at, totp_params()), judge) << when;
  }
  // And the service accepts the oathtool code.
  auto s = sign_in(u);
  auto c = start_challenge(s.cookie_value);
  ASSERT_TRUE(c.has_value());
  const std::string judge = run("oathtool --totp -b " + t->secret_base32 +
                                " --now '2023-11-14 22:13:20 UTC' 2>/dev/null");
  auto r = verify_totp(s.cookie_value, c->challenge.id, judge);
  ASSERT_TRUE(r.has_value()) << testenv::code_name(r.error());
}

TEST_F(StepUpTest, OfferListsOnlyConfirmedFactorsOfTheLevel) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  // While alice holds no second factor, enrollment needs no step-up.
  auto pending = rt().enrollment().add_totp(who(s.cookie_value), "unconfirmed", kClient);
  ASSERT_TRUE(pending.has_value());
  auto rc = rt().enrollment().new_recovery_codes(who(s.cookie_value), kClient);
  ASSERT_TRUE(rc.has_value()) << testenv::code_name(rc.error());
  auto [fid, secret] = enroll_totp(u);

  auto aal2 = rt().step_up().offer(u.id, *rt().config().levels.find("aal2"));
  ASSERT_TRUE(aal2.has_value());
  ASSERT_EQ(aal2->size(), 2u);
  EXPECT_EQ((*aal2)[0].type, "totp");  // TOTP before the recovery fallback
  EXPECT_EQ((*aal2)[0].factor_id, fid);
  EXPECT_EQ((*aal2)[0].name, "phone");
  EXPECT_EQ((*aal2)[1].type, "recovery_code");
  EXPECT_EQ((*aal2)[1].factor_id, rc->factor_id);
  EXPECT_EQ((*aal2)[1].remaining, 10);
  // aal3 needs [pwd, hwk, user]; aal1 only pwd (proven at sign-in).
  for (const char* level : {"aal1", "aal3"}) {
    auto none = rt().step_up().offer(u.id, *rt().config().levels.find(level));
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty()) << level;
  }

  auto c = start_challenge(s.cookie_value, "aal2");
  ASSERT_TRUE(c.has_value()) << testenv::code_name(c.error());
  EXPECT_EQ(c->acr, "aal2");
  ASSERT_EQ(c->methods.size(), 2u);
  EXPECT_EQ(c->challenge.session_public_id, s.session.public_id);
  EXPECT_EQ(c->challenge.target_level, "aal2");
  EXPECT_EQ(c->challenge.expires_at, now() + 300);
  EXPECT_EQ(c->challenge.reason, "This action needs aal2");
  auto stored = rt().store().find_challenge(c->challenge.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->methods_json, c->challenge.methods_json);

  auto top = start_challenge(s.cookie_value, "aal3");
  ASSERT_FALSE(top.has_value());
  EXPECT_EQ(top.error().code, ErrorCode::kNoFactor);
  EXPECT_EQ(http_status(top.error().code), 403);
}

TEST_F(StepUpTest, AcrValuesFirstKnownLevelWins) {
  auto u = add_user("alice");
  enroll_totp(u);
  auto s = sign_in(u);
  auto c = start_challenge(s.cookie_value, "urn:unknown aal2 aal3");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->acr, "aal2");
  for (const char* bad : {"", "urn:unknown", "   "}) {
    auto r = start_challenge(s.cookie_value, bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidRequest) << bad;
  }
  StepUpRequest req;
  req.acr_values = "aal2";
  req.max_age = -1;
  auto neg = rt().step_up().start(who(s.cookie_value), req, kClient);
  ASSERT_FALSE(neg.has_value());
  EXPECT_EQ(neg.error().code, ErrorCode::kInvalidRequest);
}

TEST_F(StepUpTest, NoFactorMeansNoChallenge) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto c = start_challenge(s.cookie_value, "aal2");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kNoFactor);
  // An unconfirmed enrollment is not a factor yet.
  ASSERT_TRUE(rt().enrollment().add_totp(who(s.cookie_value), "", kClient).has_value());
  c = start_challenge(s.cookie_value, "aal2");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kNoFactor);
}

TEST_F(StepUpTest, SuccessRotatesTheSessionAndRaisesTheLevel) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  clock().advance(42);
  auto c = start_challenge(s.cookie_value, "aal2", "/account?tab=security");
  ASSERT_TRUE(c.has_value());
  auto r = verify_totp(s.cookie_value, c->challenge.id, code_now(secret));
  ASSERT_TRUE(r.has_value()) << testenv::code_name(r.error());
  EXPECT_EQ(r->return_to, "/account?tab=security");
  EXPECT_NE(r->cookie_value, s.cookie_value);
  EXPECT_FALSE(rt().sessions().from_cookie(s.cookie_value).has_value());
  auto a = rt().sessions().from_cookie(r->cookie_value);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->acr, "aal2");
  EXPECT_THAT(a->amr, UnorderedElementsAre("pwd", "otp"));
  EXPECT_EQ(a->auth_time, kT0 + 42);
  EXPECT_EQ(a->session.public_id, s.session.public_id);
  auto view = rt().sessions().view(a->session);
  ASSERT_TRUE(view.elevated_until.has_value());
  EXPECT_EQ(*view.elevated_until, kT0 + 42 + 15 * 60);
  EXPECT_FALSE(r->tokens.refresh_token.empty());
  EXPECT_EQ(claims_of(r->tokens.access_token).acr, "aal2");
  auto stored = rt().store().find_challenge(c->challenge.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->used_at, kT0 + 42);
}

TEST_F(StepUpTest, ChallengeIsBoundToItsSession) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto a = sign_in(u);
  auto b = sign_in(u);
  auto c = start_challenge(a.cookie_value);
  ASSERT_TRUE(c.has_value());
  const std::string code = code_now(secret);
  auto stolen = verify_totp(b.cookie_value, c->challenge.id, code);
  ASSERT_FALSE(stolen.has_value());
  EXPECT_EQ(stolen.error().code, ErrorCode::kNotFound);
  auto missing = verify_totp(a.cookie_value, "no-such-challenge", code);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  // Neither attempt spent the code, the challenge or a failure.
  auto f = rt().store().find_factor(fid);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->failures, 0);
  auto ok = verify_totp(a.cookie_value, c->challenge.id, code);
  ASSERT_TRUE(ok.has_value()) << testenv::code_name(ok.error());
  // b is still a plain session.
  EXPECT_EQ(who(b.cookie_value).acr, "aal1");
}

TEST_F(StepUpTest, ChallengeIsSingleUse) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto c = start_challenge(s.cookie_value);
  ASSERT_TRUE(c.has_value());
  auto first = verify_totp(s.cookie_value, c->challenge.id, code_now(secret));
  ASSERT_TRUE(first.has_value());
  clock().advance(30);  // a new, unspent code
  auto second = verify_totp(first->cookie_value, c->challenge.id, code_now(secret));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kChallengeInvalid);
  EXPECT_EQ(http_status(second.error().code), 400);
}

struct ExpiryCase {
  core::Seconds after;
  bool ok;
};

class ChallengeExpiryTest : public testenv::ServiceEnv,
                            public ::testing::WithParamInterface<ExpiryCase> {};

TEST_P(ChallengeExpiryTest, ExpiresAfterChallengeTtl) {
  start({{"step_up", "{ challenge_ttl: 2m }"}});
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto c = start_challenge(s.cookie_value);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->challenge.expires_at, kT0 + 120);
  clock().advance(GetParam().after);
  auto r = verify_totp(s.cookie_value, c->challenge.id, code_now(secret));
  EXPECT_EQ(r.has_value(), GetParam().ok);
  if (!r) {
    EXPECT_EQ(r.error().code, ErrorCode::kChallengeInvalid);
    // An expired challenge is not a wrong code.
    auto f = rt().store().find_factor(fid);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->failures, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Ttl, ChallengeExpiryTest,
                         ::testing::Values(ExpiryCase{119, true}, ExpiryCase{120, false},
                                           ExpiryCase{121, false}, ExpiryCase{1000, false}));

struct ReturnToCase {
  const char* return_to;
  bool ok;
};

TEST_F(StepUpTest, ReturnToMustBeSafe) {
  auto u = add_user("alice");
  enroll_totp(u);
  auto s = sign_in(u);
  const std::vector<ReturnToCase> cases = {
      {"/account", true},
      {"/a/b?c=d#e", true},
      {"https://auth.example.com/after", true},  // public_url's origin
      {"//evil.example", false},
      {"/\\evil.example", false},
      {"https://evil.example/", false},
      {"https://auth.example.com@evil.example/", false},
      {"javascript:alert(1)", false},
      {"data:text/html,hi", false},
      {"/%2F%2Fevil.example", false},
      {"%2F%2Fevil.example", false},
      {"/%5Cevil.example", false},
      {"/ok\r\nSet-Cookie: x=y", false},
  };
  for (const auto& c : cases) {
    auto r = start_challenge(s.cookie_value, "aal2", c.return_to);
    EXPECT_EQ(r.has_value(), c.ok) << c.return_to;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidRequest) << c.return_to;
    }
  }
}

TEST_F(StepUpTest, TotpCodeWorksOnlyOnce) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  const std::string code = code_now(secret);
  auto c1 = start_challenge(s.cookie_value);
  ASSERT_TRUE(c1.has_value());
  auto r1 = verify_totp(s.cookie_value, c1->challenge.id, code);
  ASSERT_TRUE(r1.has_value());
  // Same code, new challenge, same 30-second step: a replay.
  auto c2 = start_challenge(r1->cookie_value);
  ASSERT_TRUE(c2.has_value());
  auto replay = verify_totp(r1->cookie_value, c2->challenge.id, code);
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code, ErrorCode::kCodeReused);
  // An earlier step (still inside the window) is spent too.
  const std::string earlier = factors::totp_code(secret, now() - 30, totp_params());
  auto old = verify_totp(r1->cookie_value, c2->challenge.id, earlier);
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code, ErrorCode::kCodeReused);
  // The next step's code works on the same (unspent) challenge.
  clock().advance(30);
  auto next = verify_totp(r1->cookie_value, c2->challenge.id, code_now(secret));
  ASSERT_TRUE(next.has_value()) << testenv::code_name(next.error());
}

// Lockout with max_failures 5, base_delay 1m, max_delay 1h. Each attempt on
// a fresh challenge: asking for a new challenge never resets the count.
TEST_F(StepUpTest, LockoutScheduleDoublesUpToMaxDelay) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto attempt = [&](const std::string& code) {
    auto c = start_challenge(s.cookie_value);
    EXPECT_TRUE(c.has_value());
    return verify_totp(s.cookie_value, c ? c->challenge.id : "", code);
  };
  for (int i = 1; i <= 5; ++i) {
    auto r = attempt(wrong_code(secret));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidCode) << "attempt " << i;
  }
  // The 6th is refused before the code is looked at: even the right one.
  auto locked = attempt(code_now(secret));
  ASSERT_FALSE(locked.has_value());
  EXPECT_EQ(locked.error().code, ErrorCode::kFactorLocked);
  EXPECT_EQ(locked.error().retry_after, 60);
  EXPECT_EQ(http_status(locked.error().code), 429);
  clock().advance(20);
  locked = attempt(wrong_code(secret));
  ASSERT_FALSE(locked.has_value());
  EXPECT_EQ(locked.error().code, ErrorCode::kFactorLocked);
  EXPECT_EQ(locked.error().retry_after, 40);
  auto f = rt().store().find_factor(fid);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->failures, 5);  // refused attempts while locked are not counted
  EXPECT_EQ(f->locked_until, kT0 + 60);

  // After each lock ends, one more failure doubles the delay, capped at 1h.
  core::Seconds delay = 60;
  for (core::Seconds expected : {120, 240, 480, 960, 1920, 3600, 3600}) {
    clock().advance(delay);
    auto r = attempt(wrong_code(secret));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidCode);
    auto next = attempt(code_now(secret));
    ASSERT_FALSE(next.has_value());
    EXPECT_EQ(next.error().code, ErrorCode::kFactorLocked);
    EXPECT_EQ(next.error().retry_after, expected);
    delay = expected;
  }
  // When the lock ends, the right code works and clears the count.
  clock().advance(delay);
  auto ok = attempt(code_now(secret));
  ASSERT_TRUE(ok.has_value()) << testenv::code_name(ok.error());
  f = rt().store().find_factor(fid);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->failures, 0);
}

// Issue 11 (lockout race): 20 wrong codes sent at once. Each attempt is
// reserved (count and lock decided in one store transaction) before its code
// is checked, so exactly max_failures (5) are checked and the other 15 are
// refused as locked, and the lock is the first one of the schedule (60 s)
// every time: not whichever of 20 racing lock writes landed last. Same for
// recovery codes, which share the lockout. Repeated to show it is
// deterministic.
TEST_F(StepUpTest, ParallelWrongCodesCheckAtMostMaxFailures) {
  constexpr int kParallel = 20;
  for (const std::string method : {"totp", "recovery_code"}) {
    for (int round = 0; round < 3; ++round) {
      SCOPED_TRACE(method + " round " + std::to_string(round));
      auto u = add_user(method + std::to_string(round));
      auto s = sign_in(u);
      std::string fid;
      std::string code;
      if (method == "totp") {
        auto [id, secret] = enroll_totp(u);
        fid = id;
        code = wrong_code(secret);
      } else {
        auto rc = rt().enrollment().new_recovery_codes(who(s.cookie_value), kClient);
        ASSERT_TRUE(rc.has_value());
        auto all = rt().store().list_factors(u.id);
        ASSERT_TRUE(all.has_value());
        for (const auto& f : *all) {
          if (f.type == "recovery_codes") fid = f.id;
        }
        code = "0000-0000-0000";
      }
      auto c = start_challenge(s.cookie_value);
      ASSERT_TRUE(c.has_value()) << testenv::code_name(c.error());
      const Authenticated caller = who(s.cookie_value);
      std::atomic<int> checked{0}, locked{0}, other{0};
      std::barrier go(kParallel);
      std::vector<std::thread> threads;
      for (int i = 0; i < kParallel; ++i) {
        threads.emplace_back([&] {
          go.arrive_and_wait();
          auto r =
              rt().step_up().verify(caller, c->challenge.id, testenv::proof(method, code), kClient);
          if (r) {
            ++other;
          } else if (r.error().code == ErrorCode::kInvalidCode) {
            ++checked;
          } else if (r.error().code == ErrorCode::kFactorLocked) {
            ++locked;
          } else {
            ++other;
          }
        });
      }
      for (auto& t : threads) t.join();
      EXPECT_EQ(checked.load(), 5);
      EXPECT_EQ(locked.load(), kParallel - 5);
      EXPECT_EQ(other.load(), 0);
      auto f = rt().store().find_factor(fid);
      ASSERT_TRUE(f.has_value());
      EXPECT_EQ(f->failures, 5);
      EXPECT_EQ(f->locked_until, now() + 60);  // the first lock, whatever the interleaving
      // The audit trail agrees: five codes were looked at.
      auto events = rt().store().list_audit_filtered(u.username, 1000);
      ASSERT_TRUE(events.has_value());
      int failed = 0, lock_events = 0;
      for (const auto& e : *events) {
        failed += e.event == "step_up.failed";
        lock_events += e.event == "factor.locked";
      }
      EXPECT_EQ(failed, 5);
      EXPECT_EQ(lock_events, 1);
    }
  }
}

TEST_F(StepUpTest, NewChallengeDoesNotResetFailures) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto c1 = start_challenge(s.cookie_value);
  ASSERT_TRUE(c1.has_value());
  for (int i = 0; i < 3; ++i) {
    auto r = verify_totp(s.cookie_value, c1->challenge.id, wrong_code(secret));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidCode);
  }
  auto c2 = start_challenge(s.cookie_value);
  ASSERT_TRUE(c2.has_value());
  for (int i = 0; i < 2; ++i) {
    auto r = verify_totp(s.cookie_value, c2->challenge.id, wrong_code(secret));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidCode);
  }
  auto r = verify_totp(s.cookie_value, c2->challenge.id, code_now(secret));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFactorLocked);
  EXPECT_EQ(r.error().retry_after, 60);
}

TEST_F(StepUpTest, SuccessResetsFailures) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto c = start_challenge(s.cookie_value);
  ASSERT_TRUE(c.has_value());
  for (int i = 0; i < 4; ++i) {
    ASSERT_FALSE(verify_totp(s.cookie_value, c->challenge.id, wrong_code(secret)).has_value());
  }
  auto ok = verify_totp(s.cookie_value, c->challenge.id, code_now(secret));
  ASSERT_TRUE(ok.has_value()) << testenv::code_name(ok.error());
  auto f = rt().store().find_factor(fid);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->failures, 0);

  clock().advance(30);
  auto c2 = start_challenge(ok->cookie_value);
  ASSERT_TRUE(c2.has_value());
  for (int i = 1; i <= 5; ++i) {
    auto r = verify_totp(ok->cookie_value, c2->challenge.id, wrong_code(secret));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidCode) << "failure " << i << " after success";
  }
  auto locked = verify_totp(ok->cookie_value, c2->challenge.id, code_now(secret));
  ASSERT_FALSE(locked.has_value());
  EXPECT_EQ(locked.error().code, ErrorCode::kFactorLocked);
}

TEST_F(StepUpTest, RecoveryCodesAreSingleUseAndCounted) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto rc = rt().enrollment().new_recovery_codes(who(s.cookie_value), kClient);
  ASSERT_TRUE(rc.has_value());
  ASSERT_EQ(rc->codes.size(), 10u);

  auto c = start_challenge(s.cookie_value);
  ASSERT_TRUE(c.has_value()) << testenv::code_name(c.error());
  ASSERT_EQ(c->methods.size(), 1u);
  EXPECT_EQ(c->methods[0].type, "recovery_code");
  EXPECT_EQ(c->methods[0].remaining, 10);
  // Only recovery codes are offered: a TOTP proof is not accepted here.
  auto wrong_method = rt().step_up().verify(who(s.cookie_value), c->challenge.id,
                                            testenv::proof("totp", "123456"), kClient);
  ASSERT_FALSE(wrong_method.has_value());
  EXPECT_EQ(wrong_method.error().code, ErrorCode::kInvalidRequest);

  auto r = rt().step_up().verify(who(s.cookie_value), c->challenge.id,
                                 testenv::proof("recovery_code", rc->codes[0]), kClient);
  ASSERT_TRUE(r.has_value()) << testenv::code_name(r.error());
  EXPECT_EQ(r->recovery_codes_remaining, 9);
  auto a = who(r->cookie_value);
  EXPECT_EQ(a.acr, "aal2");
  EXPECT_THAT(a.amr, UnorderedElementsAre("pwd", "rc"));

  auto c2 = start_challenge(r->cookie_value);
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(c2->methods[0].remaining, 9);
  auto again = rt().step_up().verify(who(r->cookie_value), c2->challenge.id,
                                     testenv::proof("recovery_code", rc->codes[0]), kClient);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidCode);
  auto next = rt().step_up().verify(who(r->cookie_value), c2->challenge.id,
                                    testenv::proof("recovery_code", rc->codes[1]), kClient);
  ASSERT_TRUE(next.has_value()) << testenv::code_name(next.error());
  EXPECT_EQ(next->recovery_codes_remaining, 8);
  auto left = rt().step_up().offer(u.id, *rt().config().levels.find("aal2"));
  ASSERT_TRUE(left.has_value());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].remaining, 8);
}

TEST_F(StepUpTest, ExhaustedRecoveryCodesAreNoLongerOffered) {
  start({{"factors", "{ recovery_codes: { count: 5, reaches: aal2 } }"},
         {"sessions", "{ idle_timeout: 12h, absolute_timeout: 24h }"}});
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto rc = rt().enrollment().new_recovery_codes(who(s.cookie_value), kClient);
  ASSERT_TRUE(rc.has_value());
  ASSERT_EQ(rc->codes.size(), 5u);
  std::string cookie = s.cookie_value;
  for (int i = 0; i < 5; ++i) {
    auto c = start_challenge(cookie);
    ASSERT_TRUE(c.has_value()) << i;
    auto r = rt().step_up().verify(who(cookie), c->challenge.id,
                                   testenv::proof("recovery_code", rc->codes[i]), kClient);
    ASSERT_TRUE(r.has_value()) << testenv::code_name(r.error());
    EXPECT_EQ(r->recovery_codes_remaining, 4 - i);
    cookie = r->cookie_value;
  }
  auto none = start_challenge(cookie);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNoFactor);
}

}  // namespace
}  // namespace stepup::service
