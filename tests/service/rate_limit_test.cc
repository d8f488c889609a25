// RateLimiter (per-key token buckets) and KeyRing (signing keys kept in the
// store, rotation with a publication window). The limiter takes milliseconds
// from the caller, so time is just a number here.
#include "service/rate_limit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "service/keyring.h"
#include "service/service_env.h"

namespace stepup::service {
namespace {

using testenv::kT0;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::int64_t kMs = 1'700'000'000'000;

TEST(RateLimiterTest, BurstThenRefusalWithTheRightWait) {
  RateLimiter rl(0.5, 3);  // one token every 2 s, bucket of 3
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rl.take("192.0.2.1", kMs), 0) << i;
  EXPECT_EQ(rl.take("192.0.2.1", kMs), 2);
  // A refusal spends nothing: still 2 s to wait.
  EXPECT_EQ(rl.take("192.0.2.1", kMs), 2);
  // Half a token after 1 s: one more second to go.
  EXPECT_EQ(rl.take("192.0.2.1", kMs + 1000), 1);
  EXPECT_EQ(rl.take("192.0.2.1", kMs + 1999), 1);
  EXPECT_EQ(rl.take("192.0.2.1", kMs + 2000), 0);
  EXPECT_EQ(rl.take("192.0.2.1", kMs + 2000), 2);
}

struct RefillCase {
  double per_second;
  int burst;
  std::int64_t wait_ms;  // after draining the bucket
  int allowed;           // takes allowed then
};

class RefillTest : public ::testing::TestWithParam<RefillCase> {};

TEST_P(RefillTest, RefillsAtTheRateUpToTheBurst) {
  const auto& p = GetParam();
  RateLimiter rl(p.per_second, p.burst);
  for (int i = 0; i < p.burst; ++i) ASSERT_EQ(rl.take("k", kMs), 0);
  ASSERT_GT(rl.take("k", kMs), 0);
  int allowed = 0;
  while (rl.take("k", kMs + p.wait_ms) == 0) {
    ++allowed;
    ASSERT_LE(allowed, p.burst + 1);
  }
  EXPECT_EQ(allowed, p.allowed);
}

INSTANTIATE_TEST_SUITE_P(Rates, RefillTest,
                         ::testing::Values(RefillCase{1, 10, 999, 0}, RefillCase{1, 10, 1000, 1},
                                           RefillCase{1, 10, 4500, 4},
                                           RefillCase{1, 10, 60'000, 10},  // capped at burst
                                           RefillCase{2, 10, 1000, 2}, RefillCase{0.25, 2, 3999, 0},
                                           RefillCase{0.25, 2, 4000, 1}));

TEST(RateLimiterTest, KeysAreIndependent) {
  RateLimiter rl(1, 2);
  EXPECT_EQ(rl.take("a", kMs), 0);
  EXPECT_EQ(rl.take("a", kMs), 0);
  EXPECT_EQ(rl.take("a", kMs), 1);
  for (int k = 0; k < 100; ++k) {  // spread over every shard
    const std::string key = "10.0.0." + std::to_string(k);
    EXPECT_EQ(rl.take(key, kMs), 0) << key;
  }
  EXPECT_EQ(rl.take("a", kMs), 1);
}

TEST(RateLimiterTest, ZeroRateDisables) {
  RateLimiter rl(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rl.take("k", kMs), 0);
}

TEST(RateLimiterTest, SweepDoesNotForgetADrainedBucket) {
  RateLimiter rl(0.01, 2);  // 100 s per token
  EXPECT_EQ(rl.take("k", kMs), 0);
  EXPECT_EQ(rl.take("k", kMs), 0);
  // Past the sweep interval (60 s) but not refilled: still limited.
  EXPECT_GT(rl.take("k", kMs + 61'000), 0);
  EXPECT_EQ(rl.take("k", kMs + 100'000), 0);
}

class KeyRingTest : public testenv::ServiceEnv {};

TEST_F(KeyRingTest, KeysPersistAndRotateWithAPublicationWindow) {
  const std::string first = rt().sessions().keys().signer().kid();
  auto again = KeyRing::load(rt().store(), crypto::Alg::kES256, now(), rt().secret_box());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)->signer().kid(), first);  // loaded, not regenerated

  auto kid = KeyRing::rotate(rt().store(), crypto::Alg::kES256, now(), 600, rt().secret_box());
  ASSERT_TRUE(kid.has_value());
  EXPECT_NE(*kid, first);
  auto ring = KeyRing::load(rt().store(), crypto::Alg::kES256, now(), rt().secret_box());
  ASSERT_TRUE(ring.has_value());
  EXPECT_EQ((*ring)->signer().kid(), *kid);
  EXPECT_THAT((*ring)->jwks_json(), HasSubstr(first));
  EXPECT_THAT((*ring)->jwks_json(), HasSubstr(*kid));
  // A token signed before the rotation still verifies against the new set.
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto verifier = TokenVerifier::create((*ring)->jwks_json(), rt().config().tokens.issuer,
                                        rt().config().tokens.audience);
  ASSERT_TRUE(verifier.has_value());
  EXPECT_TRUE(verifier->verify(s.tokens.access_token, now()).has_value());

  auto later = KeyRing::load(rt().store(), crypto::Alg::kES256, kT0 + 600, rt().secret_box());
  ASSERT_TRUE(later.has_value());
  EXPECT_THAT((*later)->jwks_json(), Not(HasSubstr(first)));
  EXPECT_THAT((*later)->jwks_json(), HasSubstr(*kid));
}

}  // namespace
}  // namespace stepup::service
