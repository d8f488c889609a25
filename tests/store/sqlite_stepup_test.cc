// Integration tests for the step-up parts of the SQLite store: challenges
// (single use), factor attempts (lockout, compare-and-set), revoking a user's
// other sessions, and the filtered audit tail. A real database file in a
// fresh temporary directory per test. Races run on two Store instances
// opened on the same file, so they exercise SQLite's own locking and not
// only the in-process write mutex.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_schema.h"
#include "store/store.h"

namespace stepup::store {
namespace {

namespace fs = std::filesystem;

constexpr core::UnixTime kNow = 1'700'000'000;
constexpr core::Seconds kBusyTimeout = 30;  // races below contend on purpose
constexpr int kThreads = 8;

class SqliteStepUpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "stepup-store2-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "stepup.db").string();
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void reopen() {
    store_.reset();
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<Store> open() {
    auto s = open_sqlite(path_, kBusyTimeout);
    EXPECT_TRUE(s.has_value()) << to_string(s.error());
    return s.has_value() ? std::move(*s) : nullptr;
  }

  User make_user(const std::string& name) {
    auto u = store_->create_user(name, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", kNow);
    EXPECT_TRUE(u.has_value());
    return u.value_or(User{});
  }

  Session add_session(std::int64_t user_id, const std::string& n) {
    Session s;
    s.id_hash = std::string(60, 'a') + n;
    s.public_id = "pub-" + n;
    s.user_id = user_id;
    s.subject = "alice";
    s.methods = {{"pwd", kNow}};
    s.created_at = kNow;
    s.last_seen_at = kNow;
    s.expires_at = kNow + 3600;
    s.idle_expires_at = kNow + 900;
    EXPECT_TRUE(store_->create_session(s).has_value());
    return s;
  }

  void add_refresh(const std::string& hash, const std::string& session_pub) {
    RefreshToken t;
    t.token_hash = hash;
    t.session_public_id = session_pub;
    t.family = "fam-" + session_pub;
    t.created_at = kNow;
    t.expires_at = kNow + 86400;
    EXPECT_TRUE(store_->add_refresh_token(t).has_value());
  }

  Factor add_factor(std::int64_t user_id, const std::string& id, std::int64_t counter = 0) {
    Factor f;
    f.id = id;
    f.user_id = user_id;
    f.type = "totp";
    f.name = "phone";
    f.secret = "sealed-secret";
    f.confirmed = true;
    f.created_at = kNow;
    f.counter = counter;
    EXPECT_TRUE(store_->add_factor(f).has_value());
    return f;
  }

  static Challenge make_challenge(const std::string& id, const Session& s) {
    Challenge c;
    c.id = id;
    c.session_public_id = s.public_id;
    c.user_id = s.user_id;
    c.target_level = "aal2";
    c.max_age = 300;
    c.methods_json = R"([{"type":"totp","factor_id":"fac-1"}])";
    c.return_to = "/admin/payments?id=7";
    c.reason = "Confirm the payment";
    c.transaction_json = R"({"amount":"12.50","currency":"EUR","payee":"ACME"})";
    c.webauthn_challenge = "dGhpcyBpcyBhIGNoYWxsZW5nZQ";
    c.created_at = kNow;
    c.expires_at = kNow + 300;
    return c;
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

void expect_same_challenge(const Challenge& a, const Challenge& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.session_public_id, b.session_public_id);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.target_level, b.target_level);
  EXPECT_EQ(a.max_age, b.max_age);
  EXPECT_EQ(a.methods_json, b.methods_json);
  EXPECT_EQ(a.return_to, b.return_to);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.transaction_json, b.transaction_json);
  EXPECT_EQ(a.webauthn_challenge, b.webauthn_challenge);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.used_at, b.used_at);
}

// ---------------------------------------------------------------- challenges

TEST_F(SqliteStepUpTest, ChallengeRoundTrip) {
  const User u = make_user("alice");
  const Session s = add_session(u.id, "1");
  const Challenge c = make_challenge("ch-1", s);
  ASSERT_TRUE(store_->add_challenge(c).has_value());
  auto got = store_->find_challenge("ch-1");
  ASSERT_TRUE(got.has_value());
  expect_same_challenge(*got, c);

  // No freshness asked and the optional texts empty: NULL and '' round-trip.
  Challenge bare = make_challenge("ch-2", s);
  bare.max_age.reset();
  bare.return_to = "";
  bare.transaction_json = "";
  bare.webauthn_challenge = "";
  ASSERT_TRUE(store_->add_challenge(bare).has_value());
  got = store_->find_challenge("ch-2");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->max_age.has_value());
  expect_same_challenge(*got, bare);

  // max_age 0 ("fresh right now") is not the same as none.
  Challenge zero = make_challenge("ch-3", s);
  zero.max_age = 0;
  ASSERT_TRUE(store_->add_challenge(zero).has_value());
  got = store_->find_challenge("ch-3");
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->max_age.has_value());
  EXPECT_EQ(*got->max_age, 0);
}

TEST_F(SqliteStepUpTest, ChallengeErrors) {
  const User u = make_user("alice");
  const Session s = add_session(u.id, "1");
  ASSERT_TRUE(store_->add_challenge(make_challenge("ch-1", s)).has_value());
  EXPECT_EQ(store_->add_challenge(make_challenge("ch-1", s)).error(), StoreError::kConflict);

  Session ghost = s;
  ghost.public_id = "pub-missing";
  EXPECT_EQ(store_->add_challenge(make_challenge("ch-2", ghost)).error(), StoreError::kNotFound);
  Challenge orphan = make_challenge("ch-3", s);
  orphan.user_id = u.id + 100;
  EXPECT_EQ(store_->add_challenge(orphan).error(), StoreError::kNotFound);

  EXPECT_EQ(store_->find_challenge("nope").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->consume_challenge("nope", kNow).error(), StoreError::kNotFound);
}

TEST_F(SqliteStepUpTest, ConsumeTwiceIsConflict) {
  const User u = make_user("alice");
  const Session s = add_session(u.id, "1");
  ASSERT_TRUE(store_->add_challenge(make_challenge("ch-1", s)).has_value());
  EXPECT_EQ(store_->find_challenge("ch-1")->used_at, 0);

  ASSERT_TRUE(store_->consume_challenge("ch-1", kNow + 10).has_value());
  EXPECT_EQ(store_->find_challenge("ch-1")->used_at, kNow + 10);

  auto again = store_->consume_challenge("ch-1", kNow + 20);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), StoreError::kConflict);
  EXPECT_EQ(store_->find_challenge("ch-1")->used_at, kNow + 10);  // first use kept

  // A clock at 0 still marks it used (0 would mean "unused").
  ASSERT_TRUE(store_->add_challenge(make_challenge("ch-2", s)).has_value());
  ASSERT_TRUE(store_->consume_challenge("ch-2", 0).has_value());
  EXPECT_NE(store_->find_challenge("ch-2")->used_at, 0);
  EXPECT_EQ(store_->consume_challenge("ch-2", 0).error(), StoreError::kConflict);
}

TEST_F(SqliteStepUpTest, ConsumeRaceExactlyOneWins) {
  const User u = make_user("alice");
  const Session s = add_session(u.id, "1");
  constexpr int kRounds = 10;
  for (int r = 0; r < kRounds; ++r) {
    ASSERT_TRUE(store_->add_challenge(make_challenge("ch-" + std::to_string(r), s)).has_value());
  }
  auto other = open();
  ASSERT_NE(other, nullptr);

  std::vector<std::atomic<int>> wins(kRounds);
  std::atomic<int> conflicts{0};
  std::atomic<int> errors{0};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    Store* st = (t % 2 == 0) ? store_.get() : other.get();
    threads.emplace_back([&, st, t] {
      for (int r = 0; r < kRounds; ++r) {
        start.arrive_and_wait();  // all threads go for the same challenge at once
        auto res = st->consume_challenge("ch-" + std::to_string(r), kNow + t + 1);
        if (res.has_value()) {
          ++wins[r];
        } else if (res.error() == StoreError::kConflict) {
          ++conflicts;
        } else {
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(conflicts.load(), kRounds * (kThreads - 1));
  for (int r = 0; r < kRounds; ++r) {
    EXPECT_EQ(wins[r].load(), 1) << "challenge " << r;
    EXPECT_NE(store_->find_challenge("ch-" + std::to_string(r))->used_at, 0);
  }
}

TEST_F(SqliteStepUpTest, PurgeChallenges) {
  const User u = make_user("alice");
  const Session s = add_session(u.id, "1");
  for (int i = 0; i < 5; ++i) {
    Challenge c = make_challenge("ch-" + std::to_string(i), s);
    c.expires_at = kNow + 100 * i;  // kNow, +100, +200, +300, +400
    ASSERT_TRUE(store_->add_challenge(c).has_value());
  }
  // Expired strictly before the cutoff: 0, 1, 2 go; 3 (== cutoff) stays.
  auto purged = store_->purge_challenges(kNow + 300);
  ASSERT_TRUE(purged.has_value());
  EXPECT_EQ(*purged, 3);
  EXPECT_EQ(store_->find_challenge("ch-0").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->find_challenge("ch-2").error(), StoreError::kNotFound);
  EXPECT_TRUE(store_->find_challenge("ch-3").has_value());
  EXPECT_TRUE(store_->find_challenge("ch-4").has_value());
  EXPECT_EQ(*store_->purge_challenges(kNow + 300), 0);
  EXPECT_EQ(*store_->purge_challenges(kNow + 10'000), 2);
}

// ---------------------------------------------------------------- factor attempts

// lockout: { max_failures: 3, base_delay: 60s, max_delay: 200s } for these tests.
const LockoutPolicy kPolicy{3, 60, 200};
// A policy no test reaches: reservations only count.
const LockoutPolicy kNoLock{1000, 60, 3600};

TEST(LockDelay, DoublesPastTheLimitAndIsCapped) {
  EXPECT_EQ(lock_delay(kPolicy, 0), 0);
  EXPECT_EQ(lock_delay(kPolicy, 2), 0);
  EXPECT_EQ(lock_delay(kPolicy, 3), 60);
  EXPECT_EQ(lock_delay(kPolicy, 4), 120);
  EXPECT_EQ(lock_delay(kPolicy, 5), 200);
  EXPECT_EQ(lock_delay(kPolicy, 1'000'000), 200);
  const LockoutPolicy one{1, 1, 3600};
  EXPECT_EQ(lock_delay(one, 1), 1);
  EXPECT_EQ(lock_delay(one, 13), 3600);
}

TEST_F(SqliteStepUpTest, ReserveFactorAttemptCountsBeforeTheCheck) {
  const User u = make_user("alice");
  add_factor(u.id, "fac-1", 77);
  for (int i = 1; i <= 3; ++i) {
    auto a = store_->reserve_factor_attempt("fac-1", kNow + i, kNoLock);
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->reserved);
    EXPECT_FALSE(a->last_of_window);
    EXPECT_EQ(a->factor.failures, i);
    EXPECT_EQ(a->factor.counter, 77);
    EXPECT_EQ(a->factor.secret, "sealed-secret");
    EXPECT_EQ(a->factor.locked_until, 0);
    EXPECT_EQ(store_->find_factor("fac-1")->failures, i);  // durable, not just returned
  }
  EXPECT_EQ(store_->reserve_factor_attempt("nope", kNow, kPolicy).error(), StoreError::kNotFound);
}

// The reservation that reaches max_failures writes the lock itself; while
// locked nothing is counted; after the lock one more reservation locks again
// for twice as long.
TEST_F(SqliteStepUpTest, ReserveFactorAttemptLocksAtTheLimit) {
  const User u = make_user("alice");
  add_factor(u.id, "fac-1");
  for (int i = 1; i <= 2; ++i) {
    auto a = store_->reserve_factor_attempt("fac-1", kNow, kPolicy);
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->reserved);
    EXPECT_FALSE(a->last_of_window);
  }
  auto third = store_->reserve_factor_attempt("fac-1", kNow, kPolicy);
  ASSERT_TRUE(third.has_value());
  EXPECT_TRUE(third->reserved);  // the third guess is still checked...
  EXPECT_TRUE(third->last_of_window);
  EXPECT_EQ(third->factor.locked_until, kNow + 60);  // ...but the lock is already written
  EXPECT_EQ(store_->find_factor("fac-1")->locked_until, kNow + 60);

  auto locked = store_->reserve_factor_attempt("fac-1", kNow + 59, kPolicy);
  ASSERT_TRUE(locked.has_value());
  EXPECT_FALSE(locked->reserved);
  EXPECT_EQ(locked->factor.locked_until, kNow + 60);
  EXPECT_EQ(locked->factor.failures, 3);
  EXPECT_EQ(store_->find_factor("fac-1")->failures, 3);

  // At locked_until the lock has lapsed: one more guess, and a longer lock.
  auto fourth = store_->reserve_factor_attempt("fac-1", kNow + 60, kPolicy);
  ASSERT_TRUE(fourth.has_value());
  EXPECT_TRUE(fourth->reserved);
  EXPECT_TRUE(fourth->last_of_window);
  EXPECT_EQ(fourth->factor.failures, 4);
  EXPECT_EQ(fourth->factor.locked_until, kNow + 60 + 120);
  EXPECT_FALSE(store_->reserve_factor_attempt("fac-1", kNow + 61, kPolicy)->reserved);
}

// A lock only grows: a reservation writes MAX(stored, new) and a caller
// whose clock is behind a stored lock is refused without touching it.
TEST_F(SqliteStepUpTest, ReserveFactorAttemptNeverShortensALock) {
  const User u = make_user("alice");
  Factor f = add_factor(u.id, "fac-1");
  f.failures = 2;
  f.locked_until = kNow - 1;  // lapsed
  ASSERT_TRUE(store_->update_factor(f).has_value());
  auto a = store_->reserve_factor_attempt("fac-1", kNow, kPolicy);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->factor.locked_until, kNow + 60);
  // Reserved "now" by a caller whose clock is 50 s behind a lock that has
  // not lapsed for it: refused, the stored lock stays.
  auto behind = store_->reserve_factor_attempt("fac-1", kNow - 50, kPolicy);
  ASSERT_TRUE(behind.has_value());
  EXPECT_FALSE(behind->reserved);
  EXPECT_EQ(store_->find_factor("fac-1")->locked_until, kNow + 60);
}

// Many threads on two connections (two "processes" on the file) race for one
// factor: exactly max_failures reservations get through, exactly one of them
// sets the lock, and the lock is the first of the schedule, every time.
TEST_F(SqliteStepUpTest, ReserveFactorAttemptUnderRaceLetsMaxFailuresThrough) {
  auto other = open();
  ASSERT_NE(other, nullptr);
  constexpr int kPerThread = 5;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const User u = make_user("alice" + std::to_string(round));
    const std::string id = "fac-" + std::to_string(round);
    add_factor(u.id, id);
    std::atomic<int> errors{0}, reserved{0}, refused{0}, last{0};
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      Store* st = (t % 2 == 0) ? store_.get() : other.get();
      threads.emplace_back([&, st] {
        start.arrive_and_wait();
        for (int i = 0; i < kPerThread; ++i) {
          auto a = st->reserve_factor_attempt(id, kNow, kPolicy);
          if (!a) {
            ++errors;
          } else if (a->reserved) {
            ++reserved;
            last += a->last_of_window;
          } else {
            ++refused;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(reserved.load(), kPolicy.max_failures);
    EXPECT_EQ(refused.load(), kThreads * kPerThread - kPolicy.max_failures);
    EXPECT_EQ(last.load(), 1);
    auto f = store_->find_factor(id);
    EXPECT_EQ(f->failures, kPolicy.max_failures);
    EXPECT_EQ(f->locked_until, kNow + kPolicy.base_delay);
  }
}

// Without a lock in reach every racing reservation counts once.
TEST_F(SqliteStepUpTest, ReserveFactorAttemptIsAtomicUnderRace) {
  const User u = make_user("alice");
  add_factor(u.id, "fac-1");
  auto other = open();
  ASSERT_NE(other, nullptr);
  constexpr int kPerThread = 25;

  std::atomic<int> errors{0};
  std::vector<std::vector<int>> seen(kThreads);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    Store* st = (t % 2 == 0) ? store_.get() : other.get();
    threads.emplace_back([&, st, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        auto a = st->reserve_factor_attempt("fac-1", kNow, kNoLock);
        if (a.has_value() && a->reserved) {
          seen[t].push_back(a->factor.failures);
        } else {
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(store_->find_factor("fac-1")->failures, kThreads * kPerThread);
  // Each attempt saw its own count: no two read the same value.
  std::set<int> all;
  for (const auto& v : seen) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kPerThread);
}

// The last guess of a window set the lock in its reservation; when that
// guess is right, the success lifts the lock with the count.
TEST_F(SqliteStepUpTest, FactorSucceededLiftsTheLockOfItsOwnReservation) {
  const User u = make_user("alice");
  add_factor(u.id, "fac-1", 7);
  const LockoutPolicy one{1, 60, 60};
  auto a = store_->reserve_factor_attempt("fac-1", kNow, one);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(a->last_of_window);
  ASSERT_TRUE(store_->factor_succeeded("fac-1", kNow, 7, 8, std::nullopt).has_value());
  auto f = store_->find_factor("fac-1");
  EXPECT_EQ(f->failures, 0);
  EXPECT_EQ(f->locked_until, 0);
}

TEST_F(SqliteStepUpTest, FactorSucceededCompareAndSet) {
  const User u = make_user("alice");
  add_factor(u.id, "fac-1", 100);
  ASSERT_TRUE(store_->reserve_factor_attempt("fac-1", kNow, kNoLock).has_value());
  ASSERT_TRUE(store_->reserve_factor_attempt("fac-1", kNow, kNoLock).has_value());

  // Stale expectation: refused, nothing written.
  auto stale = store_->factor_succeeded("fac-1", kNow + 5, 99, 101, std::string("other"));
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error(), StoreError::kConflict);
  auto f = store_->find_factor("fac-1");
  EXPECT_EQ(f->counter, 100);
  EXPECT_EQ(f->failures, 2);
  EXPECT_EQ(f->secret, "sealed-secret");
  EXPECT_EQ(f->last_used_at, 0);

  // Without a new secret the stored one stays.
  ASSERT_TRUE(store_->factor_succeeded("fac-1", kNow + 10, 100, 101, std::nullopt).has_value());
  f = store_->find_factor("fac-1");
  EXPECT_EQ(f->counter, 101);
  EXPECT_EQ(f->failures, 0);
  EXPECT_EQ(f->last_used_at, kNow + 10);
  EXPECT_EQ(f->secret, "sealed-secret");

  // Replaying the same step (expected 100 again) is a conflict.
  EXPECT_EQ(store_->factor_succeeded("fac-1", kNow + 11, 100, 101, std::nullopt).error(),
            StoreError::kConflict);

  // With a new secret (e.g. recovery codes minus the one used), bytes exact.
  const std::string sealed("\x00\x01\xfe codes\x00", 10);
  ASSERT_TRUE(store_->factor_succeeded("fac-1", kNow + 20, 101, 102, sealed).has_value());
  f = store_->find_factor("fac-1");
  EXPECT_EQ(f->counter, 102);
  EXPECT_EQ(f->secret, sealed);
  EXPECT_EQ(f->last_used_at, kNow + 20);

  EXPECT_EQ(store_->factor_succeeded("nope", kNow, 0, 1, std::nullopt).error(),
            StoreError::kNotFound);
}

TEST_F(SqliteStepUpTest, FactorSucceededWinsOnceWhenRaced) {
  const User u = make_user("alice");
  add_factor(u.id, "fac-1", 500);
  auto other = open();
  ASSERT_NE(other, nullptr);

  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> winner{-1};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    Store* st = (t % 2 == 0) ? store_.get() : other.get();
    threads.emplace_back([&, st, t] {
      start.arrive_and_wait();
      // Every thread read counter 500 and accepted a code at its own step.
      auto res =
          st->factor_succeeded("fac-1", kNow + t, 500, 1000 + t, "secret-" + std::to_string(t));
      if (res.has_value()) {
        ++wins;
        winner = t;
      } else if (res.error() == StoreError::kConflict) {
        ++conflicts;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  ASSERT_GE(winner.load(), 0);
  auto f = store_->find_factor("fac-1");
  EXPECT_EQ(f->counter, 1000 + winner.load());
  EXPECT_EQ(f->secret, "secret-" + std::to_string(winner.load()));
}

TEST_F(SqliteStepUpTest, UnlockFactorsOfOneUser) {
  const User a = make_user("alice");
  const User b = make_user("bob");
  add_factor(a.id, "a-1");
  add_factor(a.id, "a-2");
  add_factor(b.id, "b-1");
  const LockoutPolicy lock_at_one{1, 900, 900};
  for (const char* id : {"a-1", "a-2", "b-1"}) {
    ASSERT_TRUE(store_->reserve_factor_attempt(id, kNow, lock_at_one).has_value());
  }
  ASSERT_TRUE(store_->unlock_factors(a.id).has_value());
  for (const char* id : {"a-1", "a-2"}) {
    auto f = store_->find_factor(id);
    EXPECT_EQ(f->failures, 0) << id;
    EXPECT_EQ(f->locked_until, 0) << id;
  }
  auto other = store_->find_factor("b-1");
  EXPECT_EQ(other->failures, 1);
  EXPECT_EQ(other->locked_until, kNow + 900);
  // After unlock an attempt counts again instead of being refused.
  EXPECT_EQ(store_->reserve_factor_attempt("a-1", kNow + 1, kNoLock)->factor.failures, 1);

  EXPECT_EQ(store_->unlock_factors(b.id + 100).error(), StoreError::kNotFound);
  const User c = make_user("carol");
  EXPECT_TRUE(store_->unlock_factors(c.id).has_value());  // no factors is fine
}

TEST_F(SqliteStepUpTest, LockoutSurvivesReopen) {
  const User u = make_user("alice");
  add_factor(u.id, "fac-1");
  const LockoutPolicy policy{5, 600, 3600};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->reserve_factor_attempt("fac-1", kNow, policy).has_value());
  }

  reopen();
  auto f = store_->find_factor("fac-1");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->failures, 5);
  EXPECT_EQ(f->locked_until, kNow + 600);
  auto attempt = store_->reserve_factor_attempt("fac-1", kNow + 10, policy);
  ASSERT_TRUE(attempt.has_value());
  EXPECT_FALSE(attempt->reserved);
  EXPECT_EQ(attempt->factor.locked_until, kNow + 600);
  EXPECT_EQ(attempt->factor.failures, 5);
}

// ---------------------------------------------------------------- sessions

TEST_F(SqliteStepUpTest, RevokeUserSessionsKeepsTheNamedOne) {
  const User a = make_user("alice");
  const User b = make_user("bob");
  add_session(a.id, "1");
  add_session(a.id, "2");
  add_session(a.id, "3");
  add_session(a.id, "4");
  add_session(b.id, "9");
  ASSERT_TRUE(store_->revoke_session("pub-4", kNow + 1).has_value());
  add_refresh("rt-1", "pub-1");
  add_refresh("rt-2", "pub-2");
  add_refresh("rt-3", "pub-3");
  add_refresh("rt-4", "pub-4");
  add_refresh("rt-9", "pub-9");

  auto n = store_->revoke_user_sessions(a.id, "pub-2", kNow + 50);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2);  // pub-1 and pub-3; pub-4 was already revoked
  EXPECT_EQ(store_->find_session_by_public_id("pub-1")->revoked_at, kNow + 50);
  EXPECT_EQ(store_->find_session_by_public_id("pub-3")->revoked_at, kNow + 50);
  EXPECT_EQ(store_->find_session_by_public_id("pub-4")->revoked_at, kNow + 1);
  EXPECT_EQ(store_->find_session_by_public_id("pub-2")->revoked_at, 0);
  EXPECT_EQ(store_->find_session_by_public_id("pub-9")->revoked_at, 0);

  EXPECT_EQ(store_->find_refresh_token("rt-1")->rotated_at, kRefreshTokenRevoked);
  EXPECT_EQ(store_->find_refresh_token("rt-3")->rotated_at, kRefreshTokenRevoked);
  EXPECT_EQ(store_->find_refresh_token("rt-4")->rotated_at, kRefreshTokenRevoked);
  EXPECT_EQ(store_->find_refresh_token("rt-2")->rotated_at, 0);
  EXPECT_EQ(store_->find_refresh_token("rt-9")->rotated_at, 0);

  // Keeping none revokes the last one too; a second call finds nothing live.
  EXPECT_EQ(*store_->revoke_user_sessions(a.id, "", kNow + 60), 1);
  EXPECT_EQ(store_->find_session_by_public_id("pub-2")->revoked_at, kNow + 60);
  EXPECT_EQ(store_->find_refresh_token("rt-2")->rotated_at, kRefreshTokenRevoked);
  EXPECT_EQ(*store_->revoke_user_sessions(a.id, "", kNow + 70), 0);
  EXPECT_EQ(store_->find_session_by_public_id("pub-9")->revoked_at, 0);

  EXPECT_EQ(store_->revoke_user_sessions(b.id + 100, "", kNow).error(), StoreError::kNotFound);
}

// ---------------------------------------------------------------- audit

AuditEvent audit_event(int i, const std::string& subject) {
  AuditEvent e;
  e.at = kNow + i;
  e.event = "stepup.verified";
  e.subject = subject;
  e.details = R"({"i":)" + std::to_string(i) + "}";
  return e;
}

TEST_F(SqliteStepUpTest, AuditFilteredTail) {
  // seq 1..10; alice on odd seqs, bob on even.
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(store_->append_audit(audit_event(i, i % 2 ? "alice" : "bob")).has_value());
  }
  auto alice = store_->list_audit_filtered(std::string("alice"), 3);
  ASSERT_TRUE(alice.has_value());
  ASSERT_EQ(alice->size(), 3u);
  EXPECT_EQ((*alice)[0].seq, 5);
  EXPECT_EQ((*alice)[1].seq, 7);
  EXPECT_EQ((*alice)[2].seq, 9);
  for (const auto& e : *alice) EXPECT_EQ(e.subject, "alice");

  auto all = store_->list_audit_filtered(std::nullopt, 4);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].seq, 7);
  EXPECT_EQ((*all)[3].seq, 10);
  EXPECT_EQ((*all)[3].subject, "bob");
  EXPECT_EQ((*all)[3].hash, store_->list_audit(9, 1)->at(0).hash);

  auto bob_all = store_->list_audit_filtered(std::string("bob"), 100);
  ASSERT_TRUE(bob_all.has_value());
  ASSERT_EQ(bob_all->size(), 5u);
  EXPECT_EQ(bob_all->front().seq, 2);
  EXPECT_EQ(bob_all->back().seq, 10);

  EXPECT_TRUE(store_->list_audit_filtered(std::string("carol"), 10)->empty());
  EXPECT_TRUE(store_->list_audit_filtered(std::string("alice"), 0)->empty());
  EXPECT_TRUE(store_->list_audit_filtered(std::nullopt, -1)->empty());
  // Exact match, not a prefix or case-folded one.
  EXPECT_TRUE(store_->list_audit_filtered(std::string("Alice"), 10)->empty());
  EXPECT_TRUE(store_->list_audit_filtered(std::string("ali"), 10)->empty());
}

// ---------------------------------------------------------------- schema

TEST_F(SqliteStepUpTest, VersionOneDatabaseMigratesWithChallenges) {
  // Build a file as the first release left it: only migration 1 applied,
  // with a pending challenge in the old shape.
  store_.reset();
  fs::remove(path_);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const std::string v1(sqlite::migrations()[0]);
  ASSERT_EQ(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  const char* rows =
      "PRAGMA user_version = 1;"
      "INSERT INTO users(id, username, password_hash, created_at) VALUES(1, 'alice', 'h', 1);"
      "INSERT INTO sessions(public_id, id_hash, user_id, subject, created_at) "
      "VALUES('pub-1', 'hash-1', 1, 'alice', 1);"
      "INSERT INTO challenges(id, session_public_id, user_id, target_level, methods, "
      "created_at, expires_at) VALUES('ch-old', 'pub-1', 1, 'aal2', '[]', 1, 2);";
  ASSERT_EQ(sqlite3_exec(db, rows, nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  reopen();
  auto c = store_->find_challenge("ch-old");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->max_age.has_value());
  EXPECT_EQ(c->webauthn_challenge, "");
  EXPECT_EQ(c->target_level, "aal2");
  EXPECT_EQ(c->expires_at, 2);
  ASSERT_TRUE(store_->consume_challenge("ch-old", kNow).has_value());
  EXPECT_GE(sqlite::schema_version(), 2);
}

}  // namespace
}  // namespace stepup::store
