// Bounded state in the SQLite store: expired challenges are deleted a few at
// a time on insert and in bounded batches by purge_*; a session keeps at most
// N challenges (the oldest is evicted and no longer found); passkey sign-in
// challenges, which anyone can create, have a global bound. The 100,000-insert
// cases count the rows in the database file itself (a separate sqlite3
// connection), not time. The file lives on /dev/shm when there is one: the
// point is the row count, and fsync on a shared disk would only make the test
// slow.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/store.h"

namespace stepup::store {
namespace {

namespace fs = std::filesystem;

constexpr core::UnixTime kNow = 1'700'000'000;
constexpr core::Seconds kTtl = 300;

// Rows of `table` as the file says, through a connection of our own.
std::int64_t rows_in_file(const std::string& path, const char* table) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 5000);
  const std::string sql = std::string("SELECT count(*) FROM ") + table;
  sqlite3_stmt* st = nullptr;
  std::int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

class SqliteBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::error_code ec;
    fs::path base =
        fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string tmpl = (base / "stepup-bounds-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "stepup.db").string();
    auto s = open_sqlite(path_, 30);
    ASSERT_TRUE(s.has_value()) << to_string(s.error());
    store_ = std::move(*s);
    auto u = store_->create_user("alice", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", kNow);
    ASSERT_TRUE(u.has_value());
    user_ = *u;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Session add_session(const std::string& n) {
    Session s;
    s.id_hash = std::string(60, 'a') + n;
    s.public_id = "pub-" + n;
    s.user_id = user_.id;
    s.subject = "alice";
    s.methods = {{"pwd", kNow}};
    s.created_at = kNow;
    s.last_seen_at = kNow;
    s.expires_at = kNow + 3600;
    s.idle_expires_at = kNow + 900;
    EXPECT_TRUE(store_->create_session(s).has_value());
    return s;
  }

  static Challenge challenge(const std::string& id, const Session& s, core::UnixTime now) {
    Challenge c;
    c.id = id;
    c.session_public_id = s.public_id;
    c.user_id = s.user_id;
    c.target_level = "aal2";
    c.methods_json = R"(["totp"])";
    c.created_at = now;
    c.expires_at = now + kTtl;
    return c;
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  User user_;
};

TEST_F(SqliteBoundsTest, SessionBoundEvictsTheOldest) {
  const Session s = add_session("1");
  const Session other = add_session("2");
  ASSERT_TRUE(store_->add_challenge(challenge("other", other, kNow), 5).has_value());
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(
        store_->add_challenge(challenge("c" + std::to_string(i), s, kNow + i), 5).has_value());
  }
  // c0 and c1 were evicted: gone, so they can never be verified.
  EXPECT_EQ(store_->find_challenge("c0").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->find_challenge("c1").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->consume_challenge("c1", kNow + 10).error(), StoreError::kNotFound);
  for (int i = 2; i < 7; ++i) EXPECT_TRUE(store_->find_challenge("c" + std::to_string(i)));
  // The other session's challenge is not this session's to evict.
  EXPECT_TRUE(store_->find_challenge("other").has_value());
  EXPECT_EQ(rows_in_file(path_, "challenges"), 6);
}

TEST_F(SqliteBoundsTest, UsedAndExpiredChallengesAreEvictedBeforeOpenOnes) {
  const Session s = add_session("1");
  ASSERT_TRUE(store_->add_challenge(challenge("open-old", s, kNow), 3).has_value());
  ASSERT_TRUE(store_->add_challenge(challenge("used", s, kNow + 1), 3).has_value());
  ASSERT_TRUE(store_->consume_challenge("used", kNow + 2).has_value());
  Challenge expired = challenge("expired", s, kNow + 2);
  expired.expires_at = kNow + 3;
  ASSERT_TRUE(store_->add_challenge(expired, 3).has_value());
  // At kNow + 10, two of three must go to make room for two more: the used
  // and the expired one, not the oldest open one.
  ASSERT_TRUE(store_->add_challenge(challenge("n1", s, kNow + 10), 3).has_value());
  ASSERT_TRUE(store_->add_challenge(challenge("n2", s, kNow + 10), 3).has_value());
  EXPECT_TRUE(store_->find_challenge("open-old").has_value());
  EXPECT_EQ(store_->find_challenge("used").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->find_challenge("expired").error(), StoreError::kNotFound);
  // Now all three are open: the oldest open one goes next.
  ASSERT_TRUE(store_->add_challenge(challenge("n3", s, kNow + 11), 3).has_value());
  EXPECT_EQ(store_->find_challenge("open-old").error(), StoreError::kNotFound);
  EXPECT_EQ(rows_in_file(path_, "challenges"), 3);
}

TEST_F(SqliteBoundsTest, InsertDeletesAFewLongExpiredRows) {
  const Session s = add_session("1");
  // 20 challenges of other sessions that expired long ago.
  for (int i = 0; i < 20; ++i) {
    const Session o = add_session("o" + std::to_string(i));
    ASSERT_TRUE(store_->add_challenge(challenge("old" + std::to_string(i), o, kNow)).has_value());
  }
  ASSERT_EQ(rows_in_file(path_, "challenges"), 20);
  // Expired, but within the grace: they stay (a late answer reads "expired").
  ASSERT_TRUE(store_->add_challenge(challenge("recent", s, kNow + kTtl + 1)).has_value());
  EXPECT_EQ(rows_in_file(path_, "challenges"), 21);
  // Past the grace: each insert deletes kPurgeOnInsert of them, oldest first.
  const core::UnixTime later = kNow + kTtl + kExpiredChallengeGrace + 1;
  ASSERT_TRUE(store_->add_challenge(challenge("new", s, later)).has_value());
  EXPECT_EQ(rows_in_file(path_, "challenges"), 21 - kPurgeOnInsert + 1);
  ASSERT_TRUE(store_->add_challenge(challenge("new2", s, later)).has_value());
  ASSERT_TRUE(store_->add_challenge(challenge("new3", s, later)).has_value());
  // 20 old ones gone after three inserts; "recent" (expired at kNow + 2 x kTtl) stays.
  EXPECT_EQ(rows_in_file(path_, "challenges"), 4);
  EXPECT_TRUE(store_->find_challenge("recent").has_value());
}

TEST_F(SqliteBoundsTest, PurgeIsBoundedPerCall) {
  const Session s = add_session("1");
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(store_->add_challenge(challenge("c" + std::to_string(i), s, kNow)).has_value());
    ASSERT_TRUE(
        store_->add_login_challenge("l" + std::to_string(i), "x", kNow, kNow + kTtl).has_value());
  }
  const core::UnixTime cutoff = kNow + kTtl + 1;
  EXPECT_EQ(*store_->purge_challenges(cutoff, 12), 12);
  EXPECT_EQ(*store_->purge_login_challenges(cutoff, 12), 12);
  EXPECT_EQ(rows_in_file(path_, "challenges"), 18);
  EXPECT_EQ(rows_in_file(path_, "login_challenges"), 18);
  EXPECT_EQ(*store_->purge_challenges(cutoff, 100), 18);
  EXPECT_EQ(*store_->purge_login_challenges(cutoff, 100), 18);
  EXPECT_EQ(*store_->count_challenges(), 0);
  EXPECT_EQ(*store_->count_login_challenges(), 0);
}

TEST_F(SqliteBoundsTest, LoginChallengesHaveAGlobalBound) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(store_
                    ->add_login_challenge("l" + std::to_string(i), "ch" + std::to_string(i), kNow,
                                          kNow + kTtl, 10)
                    .has_value());
  }
  EXPECT_EQ(rows_in_file(path_, "login_challenges"), 10);
  // The oldest were evicted: they no longer verify.
  EXPECT_EQ(store_->consume_login_challenge("l0", kNow + 1).error(), StoreError::kNotFound);
  EXPECT_EQ(store_->consume_login_challenge("l14", kNow + 1).error(), StoreError::kNotFound);
  auto newest = store_->consume_login_challenge("l24", kNow + 1);
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(*newest, "ch24");
  EXPECT_TRUE(store_->consume_login_challenge("l15", kNow + 1).has_value());
}

// 100,000 step-up challenges from 4 sessions over simulated time: the table
// never holds more than 4 x 5 rows.
TEST_F(SqliteBoundsTest, HundredThousandChallengesStayBounded) {
  constexpr int kSessions = 4;
  constexpr int kBound = 5;
  std::vector<Session> sessions;
  for (int i = 0; i < kSessions; ++i) sessions.push_back(add_session(std::to_string(i)));
  std::int64_t max_rows = 0;
  for (int i = 0; i < 100'000; ++i) {
    const auto& s = sessions[static_cast<size_t>(i % kSessions)];
    ASSERT_TRUE(
        store_->add_challenge(challenge("c" + std::to_string(i), s, kNow + i / 100), kBound))
        << i;
    if (i % 10'000 == 9'999) max_rows = std::max(max_rows, rows_in_file(path_, "challenges"));
  }
  EXPECT_LE(max_rows, kSessions * kBound);
  EXPECT_EQ(rows_in_file(path_, "challenges"), kSessions * kBound);
}

// 100,000 passkey sign-in challenges (no session: anyone can ask) with a
// bound of 1,000: at no checkpoint does the file hold more.
TEST_F(SqliteBoundsTest, HundredThousandLoginChallengesStayBounded) {
  constexpr int kBound = 1000;
  std::int64_t max_rows = 0;
  for (int i = 0; i < 100'000; ++i) {
    const core::UnixTime now = kNow + i / 100;
    ASSERT_TRUE(store_->add_login_challenge("l" + std::to_string(i), "x", now, now + kTtl, kBound))
        << i;
    if (i % 5'000 == 4'999) max_rows = std::max(max_rows, rows_in_file(path_, "login_challenges"));
  }
  EXPECT_LE(max_rows, kBound);
  EXPECT_EQ(rows_in_file(path_, "login_challenges"), kBound);
}

}  // namespace
}  // namespace stepup::store
