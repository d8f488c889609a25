// Enrollment: factor changes need a fresh elevation once a second factor is
// held (kStepUpRequired names the level and max_age), the TOTP enrollment and
// confirmation flow, removal, and revocation of the user's other sessions on
// a change (config default) while the current one survives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "service/service_env.h"

namespace stepup::service {
namespace {

using testenv::kClient;
using testenv::kT0;
using ::testing::HasSubstr;

class EnrollmentTest : public testenv::ServiceEnv {};

TEST_F(EnrollmentTest, NoSecondFactorNeedsNoStepUp) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  EXPECT_TRUE(rt().enrollment().require_fresh(who(s.cookie_value)).has_value());
  // A pending (unconfirmed) TOTP is not a second factor yet.
  ASSERT_TRUE(rt().enrollment().add_totp(who(s.cookie_value), "", kClient).has_value());
  EXPECT_TRUE(rt().enrollment().require_fresh(who(s.cookie_value)).has_value());
}

TEST_F(EnrollmentTest, SecondFactorRequiresFreshStepUp) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto r = rt().enrollment().require_fresh(who(s.cookie_value));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kStepUpRequired);
  EXPECT_EQ(r.error().acr, "aal2");
  ASSERT_TRUE(r.error().max_age.has_value());
  EXPECT_EQ(*r.error().max_age, 300);
  EXPECT_EQ(http_status(r.error().code), 401);
  // Every change is behind the same gate.
  auto add = rt().enrollment().add_totp(who(s.cookie_value), "", kClient);
  ASSERT_FALSE(add.has_value());
  EXPECT_EQ(add.error().code, ErrorCode::kStepUpRequired);
  auto codes = rt().enrollment().new_recovery_codes(who(s.cookie_value), kClient);
  ASSERT_FALSE(codes.has_value());
  EXPECT_EQ(codes.error().code, ErrorCode::kStepUpRequired);
  auto rm = rt().enrollment().remove(who(s.cookie_value), fid, kClient);
  ASSERT_FALSE(rm.has_value());
  EXPECT_EQ(rm.error().code, ErrorCode::kStepUpRequired);
  ASSERT_TRUE(rt().store().find_factor(fid).has_value());

  // Step up at t: fresh until t + enrollment_max_age, to the second.
  clock().advance(10);
  const core::UnixTime t = now();
  auto up = step_up_totp(s.cookie_value, secret);
  EXPECT_TRUE(rt().enrollment().require_fresh(who(up.cookie_value)).has_value());
  clock().set(t + 300);
  EXPECT_TRUE(rt().enrollment().require_fresh(who(up.cookie_value)).has_value());
  clock().set(t + 301);
  auto stale = rt().enrollment().require_fresh(who(up.cookie_value));
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kStepUpRequired);
  EXPECT_EQ(stale.error().acr, "aal2");
  // The elevation (15m) is still held: it is freshness that is missing.
  EXPECT_EQ(who(up.cookie_value).acr, "aal2");
}

TEST_F(EnrollmentTest, FreshBearerTokenAlsoPasses) {
  auto u = add_user("alice");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto up = step_up_totp(s.cookie_value, secret);
  auto b = rt().sessions().from_bearer(up.tokens.access_token);
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(rt().enrollment().require_fresh(*b).has_value());
  auto plain = rt().sessions().from_bearer(s.tokens.access_token);
  ASSERT_TRUE(plain.has_value());
  auto r = rt().enrollment().require_fresh(*plain);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kStepUpRequired);
}

TEST_F(EnrollmentTest, TotpEnrollAndConfirm) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto t = rt().enrollment().add_totp(who(s.cookie_value), "Work phone", kClient);
  ASSERT_TRUE(t.has_value());
  EXPECT_THAT(t->otpauth_uri, HasSubstr("otpauth://totp/"));
  EXPECT_THAT(t->qr_svg, HasSubstr("<svg"));
  auto f = rt().store().find_factor(t->factor_id);
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->confirmed);
  EXPECT_EQ(f->secret.find(t->secret_base32), std::string::npos);  // sealed at rest
  auto secret = factors::base32_decode(t->secret_base32).value_or("");

  auto bad = rt().enrollment().confirm_totp(who(s.cookie_value), t->factor_id, wrong_code(secret),
                                            kClient);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidCode);
  auto other =
      rt().enrollment().confirm_totp(who(s.cookie_value), "nope", code_now(secret), kClient);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(rt().enrollment()
                  .confirm_totp(who(s.cookie_value), t->factor_id, code_now(secret), kClient)
                  .has_value());
  f = rt().store().find_factor(t->factor_id);
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->confirmed);
  EXPECT_EQ(f->failures, 0);
  EXPECT_EQ(f->name, "Work phone");
  // Now a second factor is held: the next change needs a step-up.
  auto again =
      rt().enrollment().confirm_totp(who(s.cookie_value), t->factor_id, code_now(secret), kClient);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kStepUpRequired);
  // The confirmation spent the current code.
  auto c = start_challenge(s.cookie_value);
  ASSERT_TRUE(c.has_value());
  auto replay = verify_totp(s.cookie_value, c->challenge.id, code_now(secret));
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code, ErrorCode::kCodeReused);
}

TEST_F(EnrollmentTest, RemoveNeedsStepUpOnlyForConfirmedFactors) {
  auto u = add_user("alice");
  auto mallory = add_user("mallory");
  auto [fid, secret] = enroll_totp(u);
  auto s = sign_in(u);
  auto m = sign_in(mallory);
  // Someone else's factor looks missing.
  auto theirs = rt().enrollment().remove(who(m.cookie_value), fid, kClient);
  ASSERT_FALSE(theirs.has_value());
  EXPECT_EQ(theirs.error().code, ErrorCode::kNotFound);

  auto up = step_up_totp(s.cookie_value, secret);
  auto pending = rt().enrollment().add_totp(who(up.cookie_value), "spare", kClient);
  ASSERT_TRUE(pending.has_value());
  // Stale now, but an unconfirmed enrollment can still be dropped.
  clock().advance(301);
  ASSERT_TRUE(
      rt().enrollment().remove(who(up.cookie_value), pending->factor_id, kClient).has_value());
  EXPECT_FALSE(rt().store().find_factor(pending->factor_id).has_value());
  auto rm = rt().enrollment().remove(who(up.cookie_value), fid, kClient);
  ASSERT_FALSE(rm.has_value());
  EXPECT_EQ(rm.error().code, ErrorCode::kStepUpRequired);
}

TEST_F(EnrollmentTest, StrongestLevel) {
  start();
  const auto& cfg = rt().config();
  store::Factor totp{"a", 1, "totp", "", "", true};
  store::Factor pending{"b", 1, "totp", "", "", false};
  store::Factor rc{"c", 1, "recovery_codes", "", "", true};
  store::Factor unknown{"d", 1, "carrier_pigeon", "", "", true};
  EXPECT_FALSE(strongest_level(cfg, {}).has_value());
  EXPECT_FALSE(strongest_level(cfg, {pending}).has_value());
  EXPECT_FALSE(strongest_level(cfg, {unknown}).has_value());
  EXPECT_EQ(strongest_level(cfg, {totp}), cfg.levels.find("aal2"));
  EXPECT_EQ(strongest_level(cfg, {rc}), cfg.levels.find("aal2"));
  EXPECT_EQ(strongest_level(cfg, {pending, rc, totp}), cfg.levels.find("aal2"));
}

struct RevokeCase {
  const char* flag;
  bool others_revoked;
};

class FactorChangeRevocationTest : public testenv::ServiceEnv,
                                   public ::testing::WithParamInterface<RevokeCase> {};

TEST_P(FactorChangeRevocationTest, OtherSessionsOfTheUserOnly) {
  start({{"step_up",
          std::string("{ revoke_other_sessions_on_factor_change: ") + GetParam().flag + " }"}});
  auto u = add_user("alice");
  auto bob = add_user("bob");
  auto [fid, secret] = enroll_totp(u);
  auto current = sign_in(u);
  auto other = sign_in(u);
  auto bobs = sign_in(bob);
  // Warm the caches of the session that is about to be revoked.
  ASSERT_TRUE(rt().sessions().from_cookie(other.cookie_value).has_value());
  ASSERT_TRUE(rt().sessions().from_bearer(other.tokens.access_token).has_value());

  auto up = step_up_totp(current.cookie_value, secret);
  auto codes = rt().enrollment().new_recovery_codes(who(up.cookie_value), kClient);
  ASSERT_TRUE(codes.has_value()) << testenv::code_name(codes.error());

  const bool gone = GetParam().others_revoked;
  EXPECT_EQ(rt().sessions().from_cookie(other.cookie_value).has_value(), !gone);
  EXPECT_EQ(rt().sessions().from_bearer(other.tokens.access_token).has_value(), !gone);
  auto refreshed = rt().sessions().refresh(other.tokens.refresh_token, kClient);
  EXPECT_EQ(refreshed.has_value(), !gone);
  if (gone) {
    EXPECT_EQ(refreshed.error().code, ErrorCode::kInvalidRefreshToken);
  }
  // The session that made the change, and other users, are untouched.
  EXPECT_TRUE(rt().sessions().from_cookie(up.cookie_value).has_value());
  EXPECT_TRUE(rt().sessions().refresh(up.tokens.refresh_token, kClient).has_value());
  EXPECT_TRUE(rt().sessions().from_cookie(bobs.cookie_value).has_value());
  auto live = rt().sessions().live_sessions_of(u.id);
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(live->size(), gone ? 1u : 2u);
}

INSTANTIATE_TEST_SUITE_P(Config, FactorChangeRevocationTest,
                         ::testing::Values(RevokeCase{"true", true}, RevokeCase{"false", false}));

}  // namespace
}  // namespace stepup::service
