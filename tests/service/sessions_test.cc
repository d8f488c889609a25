// Sessions and tokens: cookie and bearer resolution, access-token claims and
// their exp cap, elevation lapse, idle and absolute timeouts, revocation and
// id rotation (taking effect at once despite the per-thread caches), refresh
// rotation with reuse detection and its grace window. Real SQLite store,
// FakeClock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "service/service_env.h"

namespace stepup::service {
namespace {

using testenv::kClient;
using testenv::kT0;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class SessionsTest : public testenv::ServiceEnv {};

TEST_F(SessionsTest, CreateThenFromCookieAndBearer) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  ASSERT_FALSE(s.cookie_value.empty());
  EXPECT_EQ(s.session.expires_at, kT0 + 12 * 3600);
  EXPECT_EQ(s.session.idle_expires_at, kT0 + 30 * 60);

  auto a = rt().sessions().from_cookie(s.cookie_value);
  ASSERT_TRUE(a.has_value()) << testenv::code_name(a.error());
  EXPECT_EQ(a->via, Authenticated::Via::kCookie);
  EXPECT_EQ(a->session.subject, "alice");
  EXPECT_EQ(a->session.public_id, s.session.public_id);
  EXPECT_EQ(a->acr, "aal1");
  EXPECT_THAT(a->amr, ElementsAre("pwd"));
  EXPECT_EQ(a->auth_time, kT0);

  auto b = rt().sessions().from_bearer(s.tokens.access_token);
  ASSERT_TRUE(b.has_value()) << testenv::code_name(b.error());
  EXPECT_EQ(b->via, Authenticated::Via::kBearer);
  ASSERT_TRUE(b->claims.has_value());
  EXPECT_EQ(b->claims->sid, s.session.public_id);
  EXPECT_EQ(b->acr, "aal1");

  // The store keeps only the hash: the hash itself is not a cookie.
  EXPECT_FALSE(rt().sessions().from_cookie(s.session.id_hash).has_value());
  for (std::string bad : {std::string(), std::string(200, 'a'), std::string("nope")}) {
    auto r = rt().sessions().from_cookie(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidToken);
  }
  auto garbage = rt().sessions().from_bearer("eyJhbGciOiJub25lIn0.e30.");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidToken);
}

TEST_F(SessionsTest, AccessTokenClaimsAtSignIn) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  EXPECT_EQ(s.tokens.expires_in, 600);
  EXPECT_FALSE(s.tokens.refresh_token.empty());
  auto c = claims_of(s.tokens.access_token);
  EXPECT_EQ(c.iss, "https://auth.example.com");
  EXPECT_EQ(c.aud, "stepup");
  EXPECT_EQ(c.sub, "alice");
  EXPECT_EQ(c.sid, s.session.public_id);
  EXPECT_EQ(c.iat, kT0);
  EXPECT_EQ(c.exp, kT0 + 600);
  EXPECT_EQ(c.acr, "aal1");
  EXPECT_THAT(c.amr, ElementsAre("pwd"));
  EXPECT_EQ(c.auth_time, kT0);
  EXPECT_FALSE(c.jti.empty());
  // Each token has its own jti.
  auto again = rt().sessions().issue(s.session, false);
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(claims_of(again->access_token).jti, c.jti);
  EXPECT_TRUE(again->refresh_token.empty());
}

// exp = min(iat + access_ttl, session expiry, elevated_until of the asserted level).
struct ExpCase {
  const char* name;
  const char* tokens;
  const char* sessions;
  const char* aal2_elevation;
  bool step_up;
  core::Seconds step_up_at;    // offset from kT0
  core::Seconds expected_exp;  // offset from kT0
};

class AccessTokenExpTest : public testenv::ServiceEnv,
                           public ::testing::WithParamInterface<ExpCase> {};

TEST_P(AccessTokenExpTest, ExpIsTheEarliestCap) {
  const auto& p = GetParam();
  std::string levels =
      std::string(
          "{ aal1: { reached_by: [[pwd]] }, aal2: { reached_by: [[pwd, otp]], elevation: ") +
      p.aal2_elevation + " } }";
  start({{"tokens", p.tokens}, {"sessions", p.sessions}, {"levels", levels}, {"rules", "[]"}});
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  std::string token = s.tokens.access_token;
  core::Seconds expires_in = s.tokens.expires_in;
  if (p.step_up) {
    clock().set(kT0 + p.step_up_at);
    auto r = step_up_totp(s.cookie_value, secret);
    token = r.tokens.access_token;
    expires_in = r.tokens.expires_in;
    auto view = rt().sessions().view(r.session);
    ASSERT_TRUE(view.elevated_until.has_value());
    if (p.expected_exp == p.step_up_at + *config::parse_duration(p.aal2_elevation)) {
      EXPECT_EQ(kT0 + p.expected_exp, *view.elevated_until);
    }
  }
  auto c = claims_of(token);
  EXPECT_EQ(c.exp, kT0 + p.expected_exp);
  EXPECT_EQ(expires_in, c.exp - c.iat);
}

INSTANTIATE_TEST_SUITE_P(
    Caps, AccessTokenExpTest,
    ::testing::Values(ExpCase{"ttl", "{ access_ttl: 10m }",
                              "{ idle_timeout: 30m, absolute_timeout: 12h }", "15m", false, 0, 600},
                      ExpCase{"session_expiry", "{ access_ttl: 10m }",
                              "{ idle_timeout: 4m, absolute_timeout: 5m }", "15m", false, 0, 300},
                      ExpCase{"elevation_shorter_than_ttl", "{ access_ttl: 10m }",
                              "{ idle_timeout: 30m, absolute_timeout: 12h }", "2m", true, 100,
                              100 + 120},
                      ExpCase{"ttl_shorter_than_elevation", "{ access_ttl: 10m }",
                              "{ idle_timeout: 30m, absolute_timeout: 12h }", "15m", true, 100,
                              100 + 600},
                      ExpCase{"session_expiry_before_elevation", "{ access_ttl: 10m }",
                              "{ idle_timeout: 5m, absolute_timeout: 5m }", "15m", true, 100, 300}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(SessionsTest, StepUpTokenClaimsAndLapse) {
  start({{"levels",
          "{ aal1: { reached_by: [[pwd]] }, aal2: { reached_by: [[pwd, otp]], elevation: 2m } }"},
         {"rules", "[]"}});
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  clock().set(kT0 + 100);
  auto r = step_up_totp(s.cookie_value, secret);
  const core::UnixTime t = kT0 + 100;
  auto c = claims_of(r.tokens.access_token);
  EXPECT_EQ(c.acr, "aal2");
  EXPECT_THAT(c.amr, UnorderedElementsAre("pwd", "otp"));
  EXPECT_EQ(c.auth_time, t);
  EXPECT_EQ(c.iat, t);
  EXPECT_EQ(c.exp, t + 120);              // elevation (2m) < access_ttl (10m)
  EXPECT_EQ(c.sid, s.session.public_id);  // public id survives rotation

  // Still held one second before the lapse.
  clock().set(t + 119);
  auto a = rt().sessions().from_cookie(r.cookie_value);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->acr, "aal2");
  EXPECT_THAT(a->amr, UnorderedElementsAre("pwd", "otp"));
  EXPECT_EQ(a->auth_time, t);
  auto mid = rt().sessions().issue(a->session, false);
  ASSERT_TRUE(mid.has_value());
  EXPECT_EQ(claims_of(mid->access_token).exp, t + 120);
  EXPECT_EQ(mid->expires_in, 1);

  // At reached_at + elevation the session falls back by itself; amr drops otp.
  clock().set(t + 120);
  a = rt().sessions().from_cookie(r.cookie_value);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->acr, "aal1");
  EXPECT_THAT(a->amr, ElementsAre("pwd"));
  EXPECT_EQ(a->auth_time, kT0);
  auto view = rt().sessions().view(a->session);
  EXPECT_FALSE(view.elevated_until.has_value());
  EXPECT_EQ(view.acr, "aal1");
  auto after = rt().sessions().issue(a->session, false);
  ASSERT_TRUE(after.has_value());
  auto c2 = claims_of(after->access_token);
  EXPECT_EQ(c2.acr, "aal1");
  EXPECT_THAT(c2.amr, ElementsAre("pwd"));
  EXPECT_EQ(c2.auth_time, kT0);
  EXPECT_EQ(c2.exp, t + 120 + 600);
}

// Idle timeout 30m, pushed at most once a minute by a cookie use.
struct IdleCase {
  const char* name;
  core::Seconds use_at;    // a cookie use (offset from sign-in); -1: none
  core::Seconds probe_at;  // then a probe
  bool alive;
};

class IdleTimeoutTest : public testenv::ServiceEnv,
                        public ::testing::WithParamInterface<IdleCase> {};

TEST_P(IdleTimeoutTest, PushedOnlyOncePerMinute) {
  const auto& p = GetParam();
  auto u = add_user("alice");
  auto s = sign_in(u);
  if (p.use_at >= 0) {
    clock().set(kT0 + p.use_at);
    ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());
  }
  clock().set(kT0 + p.probe_at);
  auto a = rt().sessions().from_cookie(s.cookie_value);
  EXPECT_EQ(a.has_value(), p.alive);
  if (!a) {
    EXPECT_EQ(a.error().code, ErrorCode::kInvalidToken);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Timeline, IdleTimeoutTest,
    ::testing::Values(IdleCase{"unused_last_second", -1, 1799, true},
                      IdleCase{"unused_deadline", -1, 1800, false},
                      // A use within the first minute does not move the deadline.
                      IdleCase{"use_at_59_deadline_unchanged", 59, 1800, false},
                      IdleCase{"use_at_59_before_deadline", 59, 1799, true},
                      // A use a minute or more after the last push moves it.
                      IdleCase{"use_at_60_pushes", 60, 1859, true},
                      IdleCase{"use_at_60_new_deadline", 60, 1860, false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(SessionsTest, IdleTouchIsStoredOncePerMinute) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  clock().set(kT0 + 59);
  ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());
  auto row = rt().store().find_session_by_public_id(s.session.public_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->last_seen_at, kT0);
  EXPECT_EQ(row->idle_expires_at, kT0 + 1800);
  clock().set(kT0 + 60);
  ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());
  rt().sessions().flush_touches();  // stored off the decision path
  row = rt().store().find_session_by_public_id(s.session.public_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->last_seen_at, kT0 + 60);
  EXPECT_EQ(row->idle_expires_at, kT0 + 60 + 1800);
}

TEST_F(SessionsTest, IdleTouchCountsOnOtherThreadsBeforeItIsStored) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  clock().set(kT0 + 60);
  ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());  // pushes to 1860
  // Past the stored deadline (1800), before the new one: a thread with an
  // empty cache reads the row, stored or not yet, and must see the push.
  clock().set(kT0 + 1801);
  bool alive = false;
  std::thread([&] { alive = rt().sessions().from_cookie(s.cookie_value).has_value(); }).join();
  EXPECT_TRUE(alive);
  rt().sessions().flush_touches();
  auto row = rt().store().find_session_by_public_id(s.session.public_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->idle_expires_at, kT0 + 1801 + 1800);  // the second use pushed again
}

TEST_F(SessionsTest, AbsoluteTimeoutEndsAnActiveSession) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  // Used every 20 minutes: never idle, but the absolute timeout still ends it.
  for (core::Seconds t = 20 * 60; t < 12 * 3600; t += 20 * 60) {
    clock().set(kT0 + t);
    ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value()) << t;
  }
  clock().set(kT0 + 12 * 3600 - 1);
  auto last = rt().sessions().from_cookie(s.cookie_value);
  ASSERT_TRUE(last.has_value());
  EXPECT_LE(last->session.idle_expires_at, kT0 + 12 * 3600);  // never past the expiry
  auto token = rt().sessions().issue(last->session, false);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(claims_of(token->access_token).exp, kT0 + 12 * 3600);

  clock().set(kT0 + 12 * 3600);
  auto a = rt().sessions().from_cookie(s.cookie_value);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, ErrorCode::kInvalidToken);
  auto live = rt().sessions().live_sessions_of(u.id);
  ASSERT_TRUE(live.has_value());
  EXPECT_TRUE(live->empty());
}

TEST_F(SessionsTest, RevokeTakesEffectAtOnceForCookieAndBearer) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto other = sign_in(u);
  // Warm the per-thread caches.
  ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());
  ASSERT_TRUE(rt().sessions().from_bearer(s.tokens.access_token).has_value());
  ASSERT_TRUE(rt().sessions().revoke(s.session, "session.revoked", kClient).has_value());
  // Same second: the cache must not answer for a revoked session.
  auto c = rt().sessions().from_cookie(s.cookie_value);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidToken);
  auto b = rt().sessions().from_bearer(s.tokens.access_token);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code, ErrorCode::kInvalidToken);
  auto r = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidRefreshToken);
  // Only that session.
  EXPECT_TRUE(rt().sessions().from_cookie(other.cookie_value).has_value());
  auto live = rt().sessions().live_sessions_of(u.id);
  ASSERT_TRUE(live.has_value());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].public_id, other.session.public_id);
}

// A revocation made elsewhere (the CLI, another node) reaches this node's
// caches within Sessions::kCacheTtl.
TEST_F(SessionsTest, RevokeInTheStoreSeenWithinCacheTtl) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());
  ASSERT_TRUE(rt().sessions().from_bearer(s.tokens.access_token).has_value());
  ASSERT_TRUE(rt().store().revoke_session(s.session.public_id, now()).has_value());
  clock().advance(Sessions::kCacheTtl);
  EXPECT_FALSE(rt().sessions().from_cookie(s.cookie_value).has_value());
  EXPECT_FALSE(rt().sessions().from_bearer(s.tokens.access_token).has_value());
}

TEST_F(SessionsTest, RotateIdKillsTheOldCookieAtOnce) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  ASSERT_TRUE(rt().sessions().from_cookie(s.cookie_value).has_value());  // cached
  auto fresh = rt().sessions().rotate_id(s.session);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_NE(*fresh, s.cookie_value);
  auto old = rt().sessions().from_cookie(s.cookie_value);
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code, ErrorCode::kInvalidToken);
  auto now_ok = rt().sessions().from_cookie(*fresh);
  ASSERT_TRUE(now_ok.has_value());
  EXPECT_EQ(now_ok->session.public_id, s.session.public_id);
  // Tokens name the public id, which survives rotation.
  EXPECT_TRUE(rt().sessions().from_bearer(s.tokens.access_token).has_value());
  // A revoked session cannot be rotated back to life.
  ASSERT_TRUE(rt().sessions().revoke(s.session, "session.revoked", kClient).has_value());
  auto again = rt().sessions().rotate_id(s.session);
  if (again) {
    EXPECT_FALSE(rt().sessions().from_cookie(*again).has_value());
  }
}

TEST_F(SessionsTest, RefreshRotatesAndReuseRevokesTheSession) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  clock().advance(10);
  auto r1 = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  ASSERT_TRUE(r1.has_value()) << testenv::code_name(r1.error());
  EXPECT_NE(r1->refresh_token, s.tokens.refresh_token);
  EXPECT_FALSE(r1->refresh_token.empty());
  auto c = claims_of(r1->access_token);
  EXPECT_EQ(c.sid, s.session.public_id);
  EXPECT_EQ(c.iat, kT0 + 10);
  EXPECT_EQ(c.auth_time, kT0);  // refreshing is not re-authenticating

  clock().advance(10);
  auto r2 = rt().sessions().refresh(r1->refresh_token, kClient);
  ASSERT_TRUE(r2.has_value());

  // The first token again: reuse -> the whole session is revoked.
  clock().advance(10);
  auto reused = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  ASSERT_FALSE(reused.has_value());
  EXPECT_EQ(reused.error().code, ErrorCode::kRefreshTokenReused);
  EXPECT_EQ(http_status(reused.error().code), 401);
  EXPECT_FALSE(rt().sessions().from_cookie(s.cookie_value).has_value());
  EXPECT_FALSE(rt().sessions().from_bearer(r2->access_token).has_value());
  auto latest = rt().sessions().refresh(r2->refresh_token, kClient);
  ASSERT_FALSE(latest.has_value());
  EXPECT_EQ(latest.error().code, ErrorCode::kInvalidRefreshToken);
  auto row = rt().store().find_session_by_public_id(s.session.public_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->revoked_at, kT0 + 30);

  auto unknown = rt().sessions().refresh("not-a-token", kClient);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidRefreshToken);
}

// tokens.refresh_reuse_grace: 10s. A rotated token presented again within the
// window is refused without revoking (a lost response, a concurrent tab);
// after it, reuse revokes.
struct GraceCase {
  core::Seconds reuse_after;
  ErrorCode expected;
  bool session_alive;
};

class RefreshGraceTest : public testenv::ServiceEnv,
                         public ::testing::WithParamInterface<GraceCase> {};

TEST_P(RefreshGraceTest, ReuseInsideGraceDoesNotRevoke) {
  start({{"tokens", "{ access_ttl: 10m, refresh_reuse_grace: 10s }"}});
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto r1 = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  ASSERT_TRUE(r1.has_value());
  clock().advance(GetParam().reuse_after);
  auto again = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, GetParam().expected) << again.error().description;
  EXPECT_EQ(rt().sessions().from_cookie(s.cookie_value).has_value(), GetParam().session_alive);
  EXPECT_EQ(rt().sessions().refresh(r1->refresh_token, kClient).has_value(),
            GetParam().session_alive);
}

INSTANTIATE_TEST_SUITE_P(Window, RefreshGraceTest,
                         ::testing::Values(GraceCase{0, ErrorCode::kInvalidRefreshToken, true},
                                           GraceCase{10, ErrorCode::kInvalidRefreshToken, true},
                                           GraceCase{11, ErrorCode::kRefreshTokenReused, false}));

TEST_F(SessionsTest, RefreshAfterSessionExpiryIsInvalid) {
  start({{"sessions", "{ idle_timeout: 1h, absolute_timeout: 2h }"}});
  auto u = add_user("alice");
  auto s = sign_in(u);
  std::string rt_token = s.tokens.refresh_token;
  // Refresh every 50 minutes: keeps working until the absolute timeout.
  for (core::Seconds t = 50 * 60; t < 2 * 3600; t += 50 * 60) {
    clock().set(kT0 + t);
    auto r = rt().sessions().refresh(rt_token, kClient);
    ASSERT_TRUE(r.has_value()) << t;
    EXPECT_LE(claims_of(r->access_token).exp, kT0 + 2 * 3600);
    rt_token = r->refresh_token;
  }
  clock().set(kT0 + 2 * 3600);
  auto r = rt().sessions().refresh(rt_token, kClient);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidRefreshToken);
  // An ended session is not "reuse": the latest token is simply invalid and
  // nothing is revoked.
  auto row = rt().store().find_session_by_public_id(s.session.public_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->revoked_at, 0);
}

// A session that has timed out after inactivity has ended ("a session unused
// this long ends"; live_sessions_of and from_cookie agree). Its refresh token
// must not bring it back.
TEST_F(SessionsTest, RefreshDoesNotReviveAnIdleSession) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  clock().set(kT0 + 31 * 60);
  ASSERT_FALSE(rt().sessions().from_cookie(s.cookie_value).has_value());
  auto live = rt().sessions().live_sessions_of(u.id);
  ASSERT_TRUE(live.has_value());
  ASSERT_TRUE(live->empty());
  auto r = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  clock().advance(Sessions::kCacheTtl);  // past the node-local cache
  const bool revived_cookie = rt().sessions().from_cookie(s.cookie_value).has_value();
  EXPECT_FALSE(revived_cookie);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidRefreshToken);
}

// Issue 11 (ASVS 7.2.4): a refresh token issued before a level change dies
// with the session id it was issued under. Presented after the step-up it
// would otherwise mint an aal2 access token for whoever kept the old token;
// instead it counts as reuse: 401 refresh_token_reused and the session
// (with the step-up's own tokens) is revoked.
TEST_F(SessionsTest, RefreshTokenFromBeforeStepUpCountsAsReuse) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  // A rotation before the step-up: the successor is also pre-step-up.
  clock().advance(5);
  auto pre = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  ASSERT_TRUE(pre.has_value()) << testenv::code_name(pre.error());
  auto up = step_up_totp(s.cookie_value, secret);
  ASSERT_FALSE(up.tokens.refresh_token.empty());
  EXPECT_EQ(claims_of(up.tokens.access_token).acr, "aal2");

  clock().advance(5);
  auto old = rt().sessions().refresh(pre->refresh_token, kClient);
  ASSERT_FALSE(old.has_value()) << "a pre-step-up refresh token minted: "
                                << claims_of(old->access_token).acr;
  EXPECT_EQ(old.error().code, ErrorCode::kRefreshTokenReused);
  EXPECT_EQ(http_status(old.error().code), 401);
  EXPECT_FALSE(rt().sessions().from_cookie(up.cookie_value).has_value());
  auto current = rt().sessions().refresh(up.tokens.refresh_token, kClient);
  ASSERT_FALSE(current.has_value());
  EXPECT_EQ(current.error().code, ErrorCode::kInvalidRefreshToken);
  auto row = rt().store().find_session_by_public_id(s.session.public_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->revoked_at, kT0 + 10);
}

// The step-up's own refresh token keeps working (and the revocation of the
// older ones does not touch other sessions of the user).
TEST_F(SessionsTest, RefreshTokenFromTheStepUpStillRotates) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto other = sign_in(u);
  auto s = sign_in(u);
  auto up = step_up_totp(s.cookie_value, secret);
  clock().advance(5);
  auto r = rt().sessions().refresh(up.tokens.refresh_token, kClient);
  ASSERT_TRUE(r.has_value()) << testenv::code_name(r.error());
  EXPECT_EQ(claims_of(r->access_token).acr, "aal2");
  auto o = rt().sessions().refresh(other.tokens.refresh_token, kClient);
  ASSERT_TRUE(o.has_value()) << testenv::code_name(o.error());
  EXPECT_EQ(claims_of(o->access_token).acr, "aal1");
}

TEST_F(SessionsTest, RefreshAfterElevationLapseIssuesBaseLevel) {
  start({{"levels",
          "{ aal1: { reached_by: [[pwd]] }, aal2: { reached_by: [[pwd, otp]], elevation: 2m } }"},
         {"rules", "[]"}});
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto up = step_up_totp(s.cookie_value, secret);
  clock().advance(60);
  auto r = rt().sessions().refresh(up.tokens.refresh_token, kClient);
  ASSERT_TRUE(r.has_value());
  auto c = claims_of(r->access_token);
  EXPECT_EQ(c.acr, "aal2");
  EXPECT_EQ(c.exp, kT0 + 120);
  clock().advance(60);
  r = rt().sessions().refresh(r->refresh_token, kClient);
  ASSERT_TRUE(r.has_value());
  c = claims_of(r->access_token);
  EXPECT_EQ(c.acr, "aal1");
  EXPECT_THAT(c.amr, ElementsAre("pwd"));
  EXPECT_EQ(c.exp, kT0 + 120 + 600);
}

}  // namespace
}  // namespace stepup::service
