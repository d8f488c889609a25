// Bounded state through the services: StepUp::start and the WebAuthn
// registration options share the per-session bound
// (step_up.max_open_challenges; the oldest is evicted and then answers "no
// such challenge"), Passkeys::login_options keeps at most
// webauthn.max_login_challenges rows, and the housekeeping pass deletes
// expired challenges in bounded batches. Every assertion counts rows in the
// SQLite file; none measures time. The database lives on /dev/shm when there
// is one (fsync there costs nothing; the row count is the point).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <string>

#include "service/housekeeping.h"
#include "service/service_env.h"

namespace stepup::service {
namespace {

using testenv::kClient;

std::int64_t rows_in_file(const std::string& path, const char* table) {
  sqlite3* db = nullptr;
  std::int64_t n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    const std::string sql = std::string("SELECT count(*) FROM ") + table;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

class BoundsTest : public testenv::ServiceEnv {
 protected:
  void SetUp() override {
    const char* old = getenv("TMPDIR");
    const std::string saved = old ? old : "";
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec)) setenv("TMPDIR", "/dev/shm", 1);
    ServiceEnv::SetUp();
    if (old) {
      setenv("TMPDIR", saved.c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
    start({{"step_up", "{ challenge_ttl: 5m, enrollment_max_age: 5m, max_open_challenges: 5 }"},
           {"webauthn", "{ max_login_challenges: 1000 }"}});
  }
  std::int64_t rows(const char* table) { return rows_in_file(db_path(), table); }
};

TEST_F(BoundsTest, StartingMoreThanTheBoundEvictsTheOldest) {
  const auto u = add_user("alice");
  const auto [factor_id, secret] = enroll_totp(u);
  const auto s = sign_in(u);
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    auto c = start_challenge(s.cookie_value);
    ASSERT_TRUE(c.has_value()) << testenv::code_name(c.error());
    ids.push_back(c->challenge.id);
  }
  EXPECT_EQ(rows("challenges"), 5);
  // The two oldest were evicted: even the right code does not verify them.
  for (int i = 0; i < 2; ++i) {
    auto r = verify_totp(s.cookie_value, ids[static_cast<size_t>(i)], code_now(secret));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << testenv::code_name(r.error());
  }
  auto ok = verify_totp(s.cookie_value, ids.back(), code_now(secret));
  EXPECT_TRUE(ok.has_value()) << testenv::code_name(ok.error());
}

TEST_F(BoundsTest, TwentyThousandStepUpsFromOneSessionStayBounded) {
  const auto u = add_user("alice");
  enroll_totp(u);
  const auto s = sign_in(u);
  const Authenticated a = who(s.cookie_value);
  StepUpRequest req;
  req.acr_values = "aal2";
  std::int64_t max_rows = 0;
  for (int i = 0; i < 20'000; ++i) {
    if (i % 100 == 0) clock().advance(1);
    auto c = rt().step_up().start(a, req, kClient);
    ASSERT_TRUE(c.has_value()) << i << " " << testenv::code_name(c.error());
    if (i % 2'000 == 1'999) max_rows = std::max(max_rows, rows("challenges"));
  }
  EXPECT_LE(max_rows, 5);
}

TEST_F(BoundsTest, HundredThousandPasskeySignInOptionsStayBounded) {
  std::int64_t max_rows = 0;
  std::string first;
  for (int i = 0; i < 100'000; ++i) {
    if (i % 100 == 0) clock().advance(1);
    auto o = rt().passkeys().login_options();
    ASSERT_TRUE(o.has_value()) << i << " " << testenv::code_name(o.error());
    if (i == 0) first = o->challenge_id;
    if (i % 5'000 == 4'999) max_rows = std::max(max_rows, rows("login_challenges"));
  }
  EXPECT_LE(max_rows, 1000);
  EXPECT_EQ(rows("login_challenges"), 1000);
  // The first was evicted long ago: it cannot be used to sign in.
  auto r = rt().passkeys().login(first, WebAuthnAssertion{}, kClient);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << testenv::code_name(r.error());
}

TEST_F(BoundsTest, HousekeepingDeletesExpiredChallengesInBoundedBatches) {
  const auto u = add_user("alice");
  enroll_totp(u);
  std::vector<NewSession> sessions;
  for (int i = 0; i < 40; ++i) {
    sessions.push_back(sign_in(u));
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(start_challenge(sessions.back().cookie_value));
    ASSERT_TRUE(rt().passkeys().login_options());
  }
  ASSERT_EQ(rows("challenges"), 120);
  ASSERT_EQ(rows("login_challenges"), 40);
  // Expired, but within the grace: kept.
  clock().advance(cfg_.step_up.challenge_ttl + 1);
  auto none = purge_expired_challenges(rt().store(), now(), 50, 100);
  EXPECT_EQ(none.challenges, 0);
  EXPECT_EQ(rows("challenges"), 120);
  // Past the grace: one pass of at most 2 batches of 50 deletes 100 rows
  // per table at most; the next pass finishes.
  clock().advance(store::kExpiredChallengeGrace);
  auto first = purge_expired_challenges(rt().store(), now(), 50, 2);
  EXPECT_EQ(first.challenges, 100);
  EXPECT_EQ(first.login_challenges, 40);
  EXPECT_EQ(rows("challenges"), 20);
  // The background thread runs one pass at start.
  { Housekeeping hk(rt().store(), clock()); }
  EXPECT_EQ(rows("challenges"), 0);
  EXPECT_EQ(rows("login_challenges"), 0);
}

}  // namespace
}  // namespace stepup::service
