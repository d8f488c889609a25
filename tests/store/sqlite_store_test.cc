// Integration tests for the SQLite store: a real database file in a fresh
// temporary directory per test.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/audit_hash.h"
#include "store/sqlite_schema.h"
#include "store/store.h"

namespace stepup::store {
namespace {

namespace fs = std::filesystem;

constexpr core::UnixTime kNow = 1'700'000'000;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "stepup-store-XXXXXX").string();
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
    auto s = open_sqlite(path_, 5);
    ASSERT_TRUE(s.has_value()) << to_string(s.error());
    store_ = std::move(*s);
  }

  // Runs SQL on a separate raw connection (outside the store), for setup
  // that the Store interface deliberately cannot do.
  int raw_exec(const std::string& sql) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open(path_.c_str(), &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return rc;
  }

  User make_user(const std::string& name) {
    auto u = store_->create_user(name, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", kNow);
    EXPECT_TRUE(u.has_value());
    return u.value_or(User{});
  }

  static Session make_session(std::int64_t user_id, const std::string& n, core::UnixTime at) {
    Session s;
    s.id_hash = std::string(60, 'a') + n;
    s.public_id = "pub-" + n;
    s.user_id = user_id;
    s.subject = "alice";
    s.methods = {{"pwd", at}, {"otp", at + 5}};
    s.created_at = at;
    s.last_seen_at = at;
    s.expires_at = at + 3600;
    s.idle_expires_at = at + 900;
    s.ip = "198.51.100.7";
    s.user_agent = "Mozilla/5.0";
    return s;
  }

  static RefreshToken make_refresh(const std::string& hash, const std::string& session_pub) {
    RefreshToken t;
    t.token_hash = hash;
    t.session_public_id = session_pub;
    t.family = "fam-" + session_pub;
    t.created_at = kNow;
    t.expires_at = kNow + 86400;
    return t;
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

void expect_same_session(const Session& a, const Session& b) {
  EXPECT_EQ(a.id_hash, b.id_hash);
  EXPECT_EQ(a.public_id, b.public_id);
  EXPECT_EQ(a.user_id, b.user_id);
  EXPECT_EQ(a.subject, b.subject);
  ASSERT_EQ(a.methods.size(), b.methods.size());
  for (size_t i = 0; i < a.methods.size(); ++i) {
    EXPECT_EQ(a.methods[i].method, b.methods[i].method);
    EXPECT_EQ(a.methods[i].at, b.methods[i].at);
  }
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.last_seen_at, b.last_seen_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.idle_expires_at, b.idle_expires_at);
  EXPECT_EQ(a.revoked_at, b.revoked_at);
  EXPECT_EQ(a.ip, b.ip);
  EXPECT_EQ(a.user_agent, b.user_agent);
}

// ---------------------------------------------------------------- errors

TEST(StoreErrorTest, Names) {
  EXPECT_STREQ(to_string(StoreError::kNotFound), "not_found");
  EXPECT_STREQ(to_string(StoreError::kConflict), "conflict");
  EXPECT_STREQ(to_string(StoreError::kBusy), "busy");
  EXPECT_STREQ(to_string(StoreError::kCorrupt), "corrupt");
  EXPECT_STREQ(to_string(StoreError::kIo), "io");
}

// ---------------------------------------------------------------- users

TEST_F(SqliteStoreTest, CreateAndFindUser) {
  auto u = store_->create_user("alice", "hash-1", kNow);
  ASSERT_TRUE(u.has_value());
  EXPECT_GT(u->id, 0);
  EXPECT_EQ(u->username, "alice");
  EXPECT_EQ(u->password_hash, "hash-1");
  EXPECT_EQ(u->created_at, kNow);
  EXPECT_FALSE(u->disabled);

  auto by_name = store_->find_user("alice");
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->id, u->id);
  EXPECT_EQ(by_name->password_hash, "hash-1");
  EXPECT_EQ(by_name->created_at, kNow);

  auto by_id = store_->find_user_by_id(u->id);
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->username, "alice");
}

TEST_F(SqliteStoreTest, UsernameConflict) {
  ASSERT_TRUE(store_->create_user("alice", "h", kNow).has_value());
  auto again = store_->create_user("alice", "other", kNow + 1);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error(), StoreError::kConflict);
  // The failed insert left nothing behind and did not touch the original.
  auto users = store_->list_users();
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].password_hash, "h");
}

TEST_F(SqliteStoreTest, MissingUsers) {
  auto a = store_->find_user("nobody");
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error(), StoreError::kNotFound);
  auto b = store_->find_user_by_id(42);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error(), StoreError::kNotFound);
  auto c = store_->set_password_hash(42, "x");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error(), StoreError::kNotFound);
}

TEST_F(SqliteStoreTest, ListUsersAndSetPasswordHash) {
  const User a = make_user("alice");
  const User b = make_user("bob");
  ASSERT_TRUE(store_->set_password_hash(b.id, "new-hash").has_value());
  auto users = store_->list_users();
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].id, a.id);
  EXPECT_EQ((*users)[1].id, b.id);
  EXPECT_EQ((*users)[1].password_hash, "new-hash");
  EXPECT_NE((*users)[0].password_hash, "new-hash");
}

TEST_F(SqliteStoreTest, UsernamesAreStoredExactly) {
  // Unicode and case are kept byte for byte; normalisation is the caller's job.
  ASSERT_TRUE(store_->create_user("Zoë", "h", kNow).has_value());
  ASSERT_TRUE(store_->create_user("zoë", "h", kNow).has_value());
  EXPECT_EQ(store_->find_user("Zoë")->username, "Zoë");
}

// ---------------------------------------------------------------- factors

TEST_F(SqliteStoreTest, FactorLifecycle) {
  const User u = make_user("alice");
  Factor f;
  f.id = "fac-1";
  f.user_id = u.id;
  f.type = "totp";
  f.name = "phone";
  f.secret = std::string("\x00\x01\xff secret\x00", 11);  // raw bytes, NULs included
  f.created_at = kNow;
  ASSERT_TRUE(store_->add_factor(f).has_value());

  Factor g = f;
  g.id = "fac-2";
  g.type = "recovery_codes";
  g.name = "codes";
  g.secret = "";
  g.created_at = kNow + 10;
  ASSERT_TRUE(store_->add_factor(g).has_value());

  auto found = store_->find_factor("fac-1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->secret, f.secret);
  EXPECT_EQ(found->secret.size(), 11u);
  EXPECT_EQ(found->type, "totp");
  EXPECT_FALSE(found->confirmed);

  auto list = store_->list_factors(u.id);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "fac-1");
  EXPECT_EQ((*list)[1].id, "fac-2");
  EXPECT_EQ((*list)[1].secret, "");

  Factor upd = *found;
  upd.name = "work phone";
  upd.secret = "re-encrypted";
  upd.confirmed = true;
  upd.last_used_at = kNow + 30;
  upd.counter = 56666666;
  upd.failures = 3;
  upd.locked_until = kNow + 300;
  upd.type = "webauthn";  // identity column: must not change
  upd.user_id = 9999;     // identity column: must not change
  ASSERT_TRUE(store_->update_factor(upd).has_value());
  auto after = store_->find_factor("fac-1");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->name, "work phone");
  EXPECT_EQ(after->secret, "re-encrypted");
  EXPECT_TRUE(after->confirmed);
  EXPECT_EQ(after->last_used_at, kNow + 30);
  EXPECT_EQ(after->counter, 56666666);
  EXPECT_EQ(after->failures, 3);
  EXPECT_EQ(after->locked_until, kNow + 300);
  EXPECT_EQ(after->type, "totp");
  EXPECT_EQ(after->user_id, u.id);
  EXPECT_EQ(after->created_at, kNow);

  ASSERT_TRUE(store_->delete_factor("fac-1").has_value());
  auto gone = store_->find_factor("fac-1");
  ASSERT_FALSE(gone.has_value());
  EXPECT_EQ(gone.error(), StoreError::kNotFound);
  EXPECT_EQ(store_->list_factors(u.id)->size(), 1u);
}

TEST_F(SqliteStoreTest, FactorErrors) {
  const User u = make_user("alice");
  Factor f;
  f.id = "fac-1";
  f.user_id = u.id;
  f.type = "totp";
  f.created_at = kNow;
  ASSERT_TRUE(store_->add_factor(f).has_value());
  EXPECT_EQ(store_->add_factor(f).error(), StoreError::kConflict);

  Factor orphan = f;
  orphan.id = "fac-2";
  orphan.user_id = u.id + 100;
  EXPECT_EQ(store_->add_factor(orphan).error(), StoreError::kNotFound);

  Factor missing = f;
  missing.id = "nope";
  EXPECT_EQ(store_->update_factor(missing).error(), StoreError::kNotFound);
  EXPECT_EQ(store_->delete_factor("nope").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->find_factor("nope").error(), StoreError::kNotFound);
  EXPECT_TRUE(store_->list_factors(u.id + 100)->empty());
}

// ---------------------------------------------------------------- sessions

TEST_F(SqliteStoreTest, SessionCreateAndFind) {
  const User u = make_user("alice");
  const Session s = make_session(u.id, "1", kNow);
  ASSERT_TRUE(store_->create_session(s).has_value());

  auto by_hash = store_->find_session(s.id_hash);
  ASSERT_TRUE(by_hash.has_value());
  expect_same_session(*by_hash, s);
  auto by_pub = store_->find_session_by_public_id(s.public_id);
  ASSERT_TRUE(by_pub.has_value());
  expect_same_session(*by_pub, s);

  EXPECT_EQ(store_->find_session("unknown").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->find_session_by_public_id("unknown").error(), StoreError::kNotFound);
}

TEST_F(SqliteStoreTest, SessionWithNoMethodsRoundTrips) {
  const User u = make_user("alice");
  Session s = make_session(u.id, "1", kNow);
  s.methods.clear();
  s.user_agent = "quote\" backslash\\ newline\n ünïcode";
  ASSERT_TRUE(store_->create_session(s).has_value());
  expect_same_session(*store_->find_session(s.id_hash), s);
}

TEST_F(SqliteStoreTest, SessionConflictsAndMissingUser) {
  const User u = make_user("alice");
  const Session s = make_session(u.id, "1", kNow);
  ASSERT_TRUE(store_->create_session(s).has_value());

  Session same_pub = make_session(u.id, "2", kNow);
  same_pub.public_id = s.public_id;
  EXPECT_EQ(store_->create_session(same_pub).error(), StoreError::kConflict);

  Session same_hash = make_session(u.id, "3", kNow);
  same_hash.id_hash = s.id_hash;
  EXPECT_EQ(store_->create_session(same_hash).error(), StoreError::kConflict);

  const Session orphan = make_session(u.id + 100, "4", kNow);
  EXPECT_EQ(store_->create_session(orphan).error(), StoreError::kNotFound);
}

TEST_F(SqliteStoreTest, ListSessionsNewestFirstIncludingRevoked) {
  const User a = make_user("alice");
  const User b = make_user("bob");
  ASSERT_TRUE(store_->create_session(make_session(a.id, "1", kNow)).has_value());
  ASSERT_TRUE(store_->create_session(make_session(b.id, "2", kNow + 10)).has_value());
  ASSERT_TRUE(store_->create_session(make_session(a.id, "3", kNow + 20)).has_value());
  ASSERT_TRUE(store_->revoke_session("pub-1", kNow + 30).has_value());

  auto all = store_->list_sessions(std::nullopt);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].public_id, "pub-3");
  EXPECT_EQ((*all)[1].public_id, "pub-2");
  EXPECT_EQ((*all)[2].public_id, "pub-1");
  EXPECT_EQ((*all)[2].revoked_at, kNow + 30);

  auto alice = store_->list_sessions(a.id);
  ASSERT_TRUE(alice.has_value());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].public_id, "pub-3");
  EXPECT_EQ((*alice)[1].public_id, "pub-1");

  EXPECT_TRUE(store_->list_sessions(b.id + 100)->empty());
}

TEST_F(SqliteStoreTest, UpdateSessionKeepsIdHashAndRevocation) {
  const User u = make_user("alice");
  Session s = make_session(u.id, "1", kNow);
  ASSERT_TRUE(store_->create_session(s).has_value());

  Session upd = s;
  upd.methods.push_back({"hwk", kNow + 100});
  upd.last_seen_at = kNow + 100;
  upd.expires_at = kNow + 7200;
  upd.idle_expires_at = kNow + 1000;
  upd.ip = "203.0.113.9";
  upd.user_agent = "other";
  upd.id_hash = "stale-or-forged";
  ASSERT_TRUE(store_->update_session(upd).has_value());
  auto got = store_->find_session(s.id_hash);
  ASSERT_TRUE(got.has_value()) << "update_session must not change id_hash";
  upd.id_hash = s.id_hash;
  expect_same_session(*got, upd);

  // A writer holding a copy from before the logout cannot un-revoke.
  ASSERT_TRUE(store_->revoke_session(s.public_id, kNow + 200).has_value());
  Session stale = upd;
  stale.revoked_at = 0;
  stale.last_seen_at = kNow + 250;
  ASSERT_TRUE(store_->update_session(stale).has_value());
  got = store_->find_session(s.id_hash);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->revoked_at, kNow + 200);
  EXPECT_EQ(got->last_seen_at, kNow + 250);

  Session missing = make_session(u.id, "9", kNow);
  EXPECT_EQ(store_->update_session(missing).error(), StoreError::kNotFound);
}

TEST_F(SqliteStoreTest, RotateSessionIdKillsOldHash) {
  const User u = make_user("alice");
  const Session s = make_session(u.id, "1", kNow);
  ASSERT_TRUE(store_->create_session(s).has_value());
  const std::string fresh(64, 'f');
  ASSERT_TRUE(store_->rotate_session_id(s.public_id, fresh).has_value());

  EXPECT_EQ(store_->find_session(s.id_hash).error(), StoreError::kNotFound);
  auto now_found = store_->find_session(fresh);
  ASSERT_TRUE(now_found.has_value());
  EXPECT_EQ(now_found->public_id, s.public_id);
  EXPECT_EQ(now_found->methods.size(), s.methods.size());

  EXPECT_EQ(store_->rotate_session_id("pub-missing", std::string(64, 'e')).error(),
            StoreError::kNotFound);

  // A new id colliding with another live session's id is refused.
  const Session other = make_session(u.id, "2", kNow);
  ASSERT_TRUE(store_->create_session(other).has_value());
  EXPECT_EQ(store_->rotate_session_id(s.public_id, other.id_hash).error(), StoreError::kConflict);
  EXPECT_TRUE(store_->find_session(fresh).has_value());

  // A revoked session is not rotated back into use.
  ASSERT_TRUE(store_->revoke_session(s.public_id, kNow + 1).has_value());
  EXPECT_EQ(store_->rotate_session_id(s.public_id, std::string(64, 'd')).error(),
            StoreError::kNotFound);
  EXPECT_TRUE(store_->find_session(fresh).has_value());
}

TEST_F(SqliteStoreTest, RevokeAndTouchSession) {
  const User u = make_user("alice");
  const Session s = make_session(u.id, "1", kNow);
  ASSERT_TRUE(store_->create_session(s).has_value());

  ASSERT_TRUE(store_->touch_session(s.public_id, kNow + 60, kNow + 960).has_value());
  auto got = store_->find_session(s.id_hash);
  EXPECT_EQ(got->last_seen_at, kNow + 60);
  EXPECT_EQ(got->idle_expires_at, kNow + 960);
  EXPECT_EQ(got->revoked_at, 0);

  ASSERT_TRUE(store_->revoke_session(s.public_id, kNow + 100).has_value());
  EXPECT_EQ(store_->find_session(s.id_hash)->revoked_at, kNow + 100);
  // Twice is fine and keeps the first time.
  ASSERT_TRUE(store_->revoke_session(s.public_id, kNow + 200).has_value());
  EXPECT_EQ(store_->find_session(s.id_hash)->revoked_at, kNow + 100);

  EXPECT_EQ(store_->revoke_session("pub-missing", kNow).error(), StoreError::kNotFound);
  EXPECT_EQ(store_->touch_session("pub-missing", kNow, kNow).error(), StoreError::kNotFound);
}

// ---------------------------------------------------------------- refresh tokens

TEST_F(SqliteStoreTest, RefreshTokenAddFind) {
  const User u = make_user("alice");
  ASSERT_TRUE(store_->create_session(make_session(u.id, "1", kNow)).has_value());
  const RefreshToken t = make_refresh("rt-1", "pub-1");
  ASSERT_TRUE(store_->add_refresh_token(t).has_value());
  auto got = store_->find_refresh_token("rt-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->session_public_id, "pub-1");
  EXPECT_EQ(got->family, "fam-pub-1");
  EXPECT_EQ(got->created_at, kNow);
  EXPECT_EQ(got->expires_at, kNow + 86400);
  EXPECT_EQ(got->rotated_at, 0);
  EXPECT_EQ(got->replaced_by, "");

  EXPECT_EQ(store_->add_refresh_token(t).error(), StoreError::kConflict);
  EXPECT_EQ(store_->find_refresh_token("nope").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->add_refresh_token(make_refresh("rt-x", "pub-missing")).error(),
            StoreError::kNotFound);
}

TEST_F(SqliteStoreTest, RefreshRotationTwiceIsConflict) {
  const User u = make_user("alice");
  ASSERT_TRUE(store_->create_session(make_session(u.id, "1", kNow)).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("rt-1", "pub-1")).has_value());

  ASSERT_TRUE(
      store_->rotate_refresh_token("rt-1", make_refresh("rt-2", "pub-1"), kNow + 5).has_value());
  auto old = store_->find_refresh_token("rt-1");
  EXPECT_EQ(old->rotated_at, kNow + 5);
  EXPECT_EQ(old->replaced_by, "rt-2");
  EXPECT_EQ(store_->find_refresh_token("rt-2")->rotated_at, 0);

  // Replay of rt-1: refused, and the would-be successor was not inserted.
  auto replay = store_->rotate_refresh_token("rt-1", make_refresh("rt-3", "pub-1"), kNow + 6);
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error(), StoreError::kConflict);
  EXPECT_EQ(store_->find_refresh_token("rt-3").error(), StoreError::kNotFound);
  EXPECT_EQ(store_->find_refresh_token("rt-1")->replaced_by, "rt-2");

  // The chain continues from the current token.
  ASSERT_TRUE(
      store_->rotate_refresh_token("rt-2", make_refresh("rt-3", "pub-1"), kNow + 7).has_value());

  EXPECT_EQ(store_->rotate_refresh_token("nope", make_refresh("rt-9", "pub-1"), kNow).error(),
            StoreError::kNotFound);
  EXPECT_EQ(store_->find_refresh_token("rt-9").error(), StoreError::kNotFound);
}

TEST_F(SqliteStoreTest, RefreshRotationRollsBackWhenSuccessorInsertFails) {
  const User u = make_user("alice");
  ASSERT_TRUE(store_->create_session(make_session(u.id, "1", kNow)).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("rt-1", "pub-1")).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("rt-taken", "pub-1")).has_value());
  // The successor's hash collides: the whole rotation must roll back.
  EXPECT_EQ(store_->rotate_refresh_token("rt-1", make_refresh("rt-taken", "pub-1"), kNow).error(),
            StoreError::kConflict);
  auto old = store_->find_refresh_token("rt-1");
  EXPECT_EQ(old->rotated_at, 0);
  EXPECT_EQ(old->replaced_by, "");
}

TEST_F(SqliteStoreTest, RevokeRefreshFamily) {
  const User u = make_user("alice");
  ASSERT_TRUE(store_->create_session(make_session(u.id, "1", kNow)).has_value());
  ASSERT_TRUE(store_->create_session(make_session(u.id, "2", kNow)).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("a-1", "pub-1")).has_value());
  ASSERT_TRUE(
      store_->rotate_refresh_token("a-1", make_refresh("a-2", "pub-1"), kNow + 1).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("b-1", "pub-2")).has_value());

  ASSERT_TRUE(store_->revoke_refresh_family("pub-1").has_value());
  EXPECT_EQ(store_->find_refresh_token("a-1")->rotated_at, kNow + 1);  // history kept
  EXPECT_EQ(store_->find_refresh_token("a-2")->rotated_at, kRefreshTokenRevoked);
  EXPECT_NE(kRefreshTokenRevoked, 0);
  EXPECT_LT(kRefreshTokenRevoked, 0);  // never mistaken for an exchange time
  EXPECT_EQ(store_->rotate_refresh_token("a-2", make_refresh("a-3", "pub-1"), kNow + 2).error(),
            StoreError::kConflict);
  EXPECT_EQ(store_->find_refresh_token("a-3").error(), StoreError::kNotFound);

  // Another session's family is untouched.
  EXPECT_EQ(store_->find_refresh_token("b-1")->rotated_at, 0);
  EXPECT_TRUE(
      store_->rotate_refresh_token("b-1", make_refresh("b-2", "pub-2"), kNow + 3).has_value());

  // Idempotent; unknown session is kNotFound.
  EXPECT_TRUE(store_->revoke_refresh_family("pub-1").has_value());
  EXPECT_EQ(store_->revoke_refresh_family("pub-missing").error(), StoreError::kNotFound);
}

// ---------------------------------------------------------------- signing keys

TEST_F(SqliteStoreTest, SigningKeys) {
  SigningKey k1{"kid-1", "ES256", "-----BEGIN PRIVATE KEY-----\n1\n", R"({"kty":"EC"})", kNow,
                0,       0};
  SigningKey k2{
      "kid-2", "EdDSA", "-----BEGIN PRIVATE KEY-----\n2\n", R"({"kty":"OKP"})", kNow + 100, 0, 0};
  ASSERT_TRUE(store_->add_signing_key(k1).has_value());
  ASSERT_TRUE(store_->add_signing_key(k2).has_value());
  EXPECT_EQ(store_->add_signing_key(k1).error(), StoreError::kConflict);

  auto keys = store_->list_signing_keys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].kid, "kid-2");
  EXPECT_EQ((*keys)[0].algorithm, "EdDSA");
  EXPECT_EQ((*keys)[1].kid, "kid-1");
  EXPECT_EQ((*keys)[1].private_pem, k1.private_pem);
  EXPECT_EQ((*keys)[1].public_jwk, k1.public_jwk);

  ASSERT_TRUE(store_->retire_signing_key("kid-1", kNow + 200, kNow + 900).has_value());
  keys = store_->list_signing_keys();
  EXPECT_EQ((*keys)[1].retired_at, kNow + 200);
  EXPECT_EQ((*keys)[1].publish_until, kNow + 900);
  EXPECT_EQ((*keys)[0].retired_at, 0);
  EXPECT_EQ(store_->retire_signing_key("kid-missing", kNow, kNow).error(), StoreError::kNotFound);
}

// ---------------------------------------------------------------- audit

AuditEvent audit_event(int i) {
  AuditEvent e;
  e.at = kNow + i;
  e.event = i % 2 ? "login.succeeded" : "stepup.verified";
  e.subject = "alice";
  e.session = "pub-" + std::to_string(i);
  e.ip = "192.0.2.1";
  e.user_agent = "ua";
  e.details = R"({"i":)" + std::to_string(i) + "}";
  return e;
}

TEST_F(SqliteStoreTest, AuditChainLinks) {
  std::vector<AuditEvent> appended;
  for (int i = 0; i < 5; ++i) {
    auto e = store_->append_audit(audit_event(i));
    ASSERT_TRUE(e.has_value());
    appended.push_back(*e);
  }
  EXPECT_EQ(appended[0].seq, 1);
  EXPECT_EQ(appended[0].prev_hash, kAuditGenesisHash);

  auto rows = store_->list_audit(0, 100);
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), 5u);
  std::string prev(kAuditGenesisHash);
  for (size_t i = 0; i < rows->size(); ++i) {
    const AuditEvent& r = (*rows)[i];
    EXPECT_EQ(r.seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(r.prev_hash, prev) << "row " << r.seq;
    EXPECT_EQ(r.hash, audit_row_hash(r, r.prev_hash)) << "row " << r.seq;
    EXPECT_EQ(r.hash.size(), 64u);
    EXPECT_EQ(r.hash, appended[i].hash);
    EXPECT_EQ(r.event, appended[i].event);
    EXPECT_EQ(r.details, appended[i].details);
    EXPECT_EQ(r.at, kNow + static_cast<core::UnixTime>(i));
    prev = r.hash;
  }
}

TEST_F(SqliteStoreTest, AuditIgnoresCallerSuppliedChainFields) {
  AuditEvent e = audit_event(1);
  e.seq = 77;
  e.prev_hash = "forged";
  e.hash = "forged";
  auto got = store_->append_audit(e);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->seq, 1);
  EXPECT_EQ(got->prev_hash, kAuditGenesisHash);
  EXPECT_EQ(got->hash, audit_row_hash(*got, kAuditGenesisHash));
}

TEST_F(SqliteStoreTest, ListAuditPaging) {
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(store_->append_audit(audit_event(i)).has_value());
  auto page = store_->list_audit(2, 3);
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[2].seq, 5);
  EXPECT_EQ(store_->list_audit(5, 100)->size(), 2u);
  EXPECT_TRUE(store_->list_audit(7, 100)->empty());
  EXPECT_TRUE(store_->list_audit(0, 0)->empty());
}

TEST_F(SqliteStoreTest, AuditRowsAreAppendOnlyInTheFile) {
  ASSERT_TRUE(store_->append_audit(audit_event(1)).has_value());
  EXPECT_NE(raw_exec("UPDATE audit_events SET subject = 'mallory'"), SQLITE_OK);
  EXPECT_NE(raw_exec("DELETE FROM audit_events"), SQLITE_OK);
  EXPECT_EQ(store_->list_audit(0, 10)->at(0).subject, "alice");
}

TEST_F(SqliteStoreTest, AuditChainContinuesAcrossReopen) {
  ASSERT_TRUE(store_->append_audit(audit_event(1)).has_value());
  const std::string first_hash = store_->list_audit(0, 1)->at(0).hash;
  reopen();
  auto second = store_->append_audit(audit_event(2));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->seq, 2);
  EXPECT_EQ(second->prev_hash, first_hash);
}

// ---------------------------------------------------------------- file, schema, durability

TEST_F(SqliteStoreTest, ReopenKeepsEverythingAndMigrationIsIdempotent) {
  const User u = make_user("alice");
  const Session s = make_session(u.id, "1", kNow);
  ASSERT_TRUE(store_->create_session(s).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("rt-1", "pub-1")).has_value());
  Factor f;
  f.id = "fac-1";
  f.user_id = u.id;
  f.type = "totp";
  f.created_at = kNow;
  ASSERT_TRUE(store_->add_factor(f).has_value());
  ASSERT_TRUE(store_->add_signing_key({"kid-1", "ES256", "pem", "{}", kNow, 0, 0}).has_value());
  ASSERT_TRUE(store_->append_audit(audit_event(1)).has_value());

  reopen();
  reopen();  // a second open must not re-run migrations (CREATE TABLE would fail)

  EXPECT_EQ(store_->find_user("alice")->id, u.id);
  expect_same_session(*store_->find_session(s.id_hash), s);
  EXPECT_TRUE(store_->find_refresh_token("rt-1").has_value());
  EXPECT_TRUE(store_->find_factor("fac-1").has_value());
  EXPECT_EQ(store_->list_signing_keys()->size(), 1u);
  EXPECT_EQ(store_->list_audit(0, 10)->size(), 1u);

  // The file is at the version the code knows, in WAL mode.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), sqlite::schema_version());
  sqlite3_finalize(st);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefused) {
  store_.reset();
  ASSERT_EQ(raw_exec("PRAGMA user_version = " + std::to_string(sqlite::schema_version() + 1)),
            SQLITE_OK);
  auto s = open_sqlite(path_, 1);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error(), StoreError::kCorrupt);
}

TEST_F(SqliteStoreTest, NotADatabaseIsCorrupt) {
  const std::string junk = (dir_ / "junk.db").string();
  {
    std::ofstream out(junk, std::ios::binary);
    out << std::string(8192, 'x');
  }
  auto s = open_sqlite(junk, 1);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error(), StoreError::kCorrupt);
}

TEST_F(SqliteStoreTest, UnopenablePathIsIo) {
  auto s = open_sqlite((dir_ / "no-such-dir" / "x.db").string(), 1);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error(), StoreError::kIo);
}

TEST_F(SqliteStoreTest, LockedDatabaseIsBusy) {
  store_.reset();
  auto opened = open_sqlite(path_, 0);  // no waiting
  ASSERT_TRUE(opened.has_value());
  auto& st = *opened;
  // Another process/connection holds the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto u = st->create_user("alice", "h", kNow);
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error(), StoreError::kBusy);
  // Readers are not blocked by a writer in WAL mode.
  EXPECT_TRUE(st->ping().has_value());
  EXPECT_EQ(st->find_user("alice").error(), StoreError::kNotFound);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE(st->create_user("alice", "h", kNow).has_value());
}

TEST_F(SqliteStoreTest, Ping) { EXPECT_TRUE(store_->ping().has_value()); }

TEST(SqliteStoreMemoryTest, InMemoryDatabaseWorks) {
  auto s = open_sqlite(":memory:", 1);
  ASSERT_TRUE(s.has_value());
  auto u = (*s)->create_user("alice", "h", kNow);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ((*s)->find_user("alice")->id, u->id);
  EXPECT_TRUE((*s)->ping().has_value());
}

TEST_F(SqliteStoreTest, ConcurrentWritersLoseNothing) {
  const User u = make_user("alice");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string n = std::to_string(t) + "-" + std::to_string(i);
        if (!store_->create_session(make_session(u.id, n, kNow + i)).has_value()) ++failures;
      }
    });
  }
  // A reader running alongside sees consistent rows, never an error.
  std::thread reader([&] {
    while (!done.load()) {
      auto s = store_->find_session_by_public_id("pub-0-0");
      if (!s.has_value() && s.error() != StoreError::kNotFound) ++failures;
      ++reads;
    }
  });
  for (auto& th : threads) th.join();
  done = true;
  reader.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  auto all = store_->list_sessions(u.id);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> ids;
  for (const auto& s : *all) ids.insert(s.public_id);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(SqliteStoreTest, ConcurrentAuditAppendsFormOneChain) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store_->append_audit(audit_event(t * 1000 + i)).has_value()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = store_->list_audit(0, 1000);
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), static_cast<size_t>(kThreads * kPerThread));
  std::string prev(kAuditGenesisHash);
  for (const auto& r : *rows) {
    ASSERT_EQ(r.prev_hash, prev) << "fork at seq " << r.seq;
    ASSERT_EQ(r.hash, audit_row_hash(r, prev));
    prev = r.hash;
  }
}

// ---------------------------------------------------------------- group commit

TEST_F(SqliteStoreTest, ConcurrentWritesShareCommitsAndAllLand) {
  const User u = make_user("alice");
  const auto before = store_->write_stats();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string n = "g" + std::to_string(t) + "-" + std::to_string(i);
        if (!store_->create_session(make_session(u.id, n, kNow + i)).has_value()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const auto after = store_->write_stats();
  EXPECT_EQ(after.writes - before.writes, static_cast<std::uint64_t>(kThreads * kPerThread));
  // 16 writers waiting on the disk: commits are shared (one per write
  // without group commit).
  EXPECT_LT(after.commits - before.commits, after.writes - before.writes);
  EXPECT_GT(after.commits - before.commits, 0u);
  // Every acknowledged write is visible after a reopen (it was committed).
  reopen();
  auto all = store_->list_sessions(u.id);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_F(SqliteStoreTest, AFailingWriteInASharedCommitIsRolledBackAlone) {
  const User u = make_user("alice");
  ASSERT_TRUE(store_->create_session(make_session(u.id, "1", kNow)).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("taken", "pub-1")).has_value());
  constexpr int kPairs = 200;
  for (int i = 0; i < kPairs; ++i) {
    ASSERT_TRUE(store_->add_refresh_token(make_refresh("good-" + std::to_string(i), "pub-1")));
    ASSERT_TRUE(store_->add_refresh_token(make_refresh("bad-" + std::to_string(i), "pub-1")));
  }
  // Good rotations and rotations whose successor collides (the UPDATE runs,
  // then the INSERT fails) interleave, so they land in the same commits.
  std::atomic<int> good_ok{0}, bad_conflict{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kPairs; i += 8) {
        const std::string n = std::to_string(i);
        auto g =
            store_->rotate_refresh_token("good-" + n, make_refresh("next-" + n, "pub-1"), kNow);
        g ? ++good_ok : ++other;
        auto b = store_->rotate_refresh_token("bad-" + n, make_refresh("taken", "pub-1"), kNow);
        (!b && b.error() == StoreError::kConflict) ? ++bad_conflict : ++other;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good_ok.load(), kPairs);
  EXPECT_EQ(bad_conflict.load(), kPairs);
  EXPECT_EQ(other.load(), 0);
  for (int i = 0; i < kPairs; ++i) {
    const std::string n = std::to_string(i);
    auto bad = store_->find_refresh_token("bad-" + n);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->rotated_at, 0) << "a failed rotation left its UPDATE behind: bad-" << n;
    auto good = store_->find_refresh_token("good-" + n);
    ASSERT_TRUE(good.has_value());
    EXPECT_EQ(good->replaced_by, "next-" + n);
    EXPECT_TRUE(store_->find_refresh_token("next-" + n).has_value());
  }
}

TEST_F(SqliteStoreTest, TouchSessionsInOneTransaction) {
  const User u = make_user("alice");
  ASSERT_TRUE(store_->create_session(make_session(u.id, "1", kNow)).has_value());
  ASSERT_TRUE(store_->create_session(make_session(u.id, "2", kNow)).has_value());
  const auto before = store_->write_stats();
  ASSERT_TRUE(store_
                  ->touch_sessions({{"pub-1", kNow + 60, kNow + 960},
                                    {"pub-2", kNow + 120, kNow + 1020},
                                    {"pub-gone", kNow + 60, kNow + 960}})
                  .has_value());
  EXPECT_EQ(store_->write_stats().commits - before.commits, 1u);
  EXPECT_EQ(store_->find_session_by_public_id("pub-1")->idle_expires_at, kNow + 960);
  EXPECT_EQ(store_->find_session_by_public_id("pub-2")->last_seen_at, kNow + 120);
  // An older touch arriving late never moves the deadline back.
  ASSERT_TRUE(store_->touch_sessions({{"pub-2", kNow + 60, kNow + 960}}).has_value());
  EXPECT_EQ(store_->find_session_by_public_id("pub-2")->idle_expires_at, kNow + 1020);
  EXPECT_TRUE(store_->touch_sessions({}).has_value());
}

TEST_F(SqliteStoreTest, RefreshRotationCanRecordSessionActivity) {
  const User u = make_user("alice");
  ASSERT_TRUE(store_->create_session(make_session(u.id, "1", kNow)).has_value());
  ASSERT_TRUE(store_->add_refresh_token(make_refresh("rt-1", "pub-1")).has_value());
  const auto before = store_->write_stats();
  ASSERT_TRUE(
      store_->rotate_refresh_token("rt-1", make_refresh("rt-2", "pub-1"), kNow + 300, kNow + 1200));
  EXPECT_EQ(store_->write_stats().commits - before.commits, 1u);
  auto s = store_->find_session_by_public_id("pub-1");
  EXPECT_EQ(s->last_seen_at, kNow + 300);
  EXPECT_EQ(s->idle_expires_at, kNow + 1200);
  // Without it, the session row is left alone.
  ASSERT_TRUE(store_->rotate_refresh_token("rt-2", make_refresh("rt-3", "pub-1"), kNow + 400));
  EXPECT_EQ(store_->find_session_by_public_id("pub-1")->last_seen_at, kNow + 300);
}

TEST_F(SqliteStoreTest, AcknowledgedWriteSurvivesSigkill) {
  store_.reset();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: write, tell the parent the call returned, then wait to be killed.
    close(ready[0]);
    auto st = open_sqlite(path_, 5);
    char ok = 'n';
    if (st.has_value()) {
      auto u = (*st)->create_user("durable", "h", kNow);
      auto a = (*st)->append_audit(audit_event(1));
      if (u.has_value() && a.has_value()) ok = 'y';
    }
    if (write(ready[1], &ok, 1) != 1) _exit(2);
    for (;;) pause();
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  ASSERT_EQ(kill(pid, SIGKILL), 0);  // no destructors, no checkpoint, no close
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(ready[0]);
  ASSERT_EQ(ok, 'y');
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  reopen();
  auto u = store_->find_user("durable");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->username, "durable");
  auto rows = store_->list_audit(0, 10);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->at(0).hash, audit_row_hash(rows->at(0), kAuditGenesisHash));
}

}  // namespace
}  // namespace stepup::store
