// SQLite implementation of Store.
//
// Writes go through one connection, each method's writes inside a BEGIN
// IMMEDIATE transaction that has committed (synchronous=FULL: the WAL is
// fsynced) before the method returns; concurrent writers share one such
// transaction (group commit, see write()). Reads use a small pool of separate
// connections: in WAL mode readers never block the writer nor each other,
// and each read is a single statement, so it sees one consistent snapshot
// that includes every write acknowledged before it started.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "store/audit_hash.h"
#include "store/sqlite_db.h"
#include "store/sqlite_schema.h"
#include "store/store.h"

namespace stepup::store {
namespace {

using sqlite::Blob;
using sqlite::Connection;
using sqlite::Query;
using sqlite::Transaction;

constexpr int kReadConnections = 4;

// ---- statement helpers ----

template <class... Args>
Status run(Connection& c, std::string_view sql, const Args&... args) {
  auto q = c.prepare(sql);
  if (!q) return tl::unexpected(q.error());
  q->bind_all(args...);
  return q->run();
}

// For UPDATE/DELETE by key: touching no row means the key does not exist.
template <class... Args>
Status run_one(Connection& c, std::string_view sql, const Args&... args) {
  if (auto s = run(c, sql, args...); !s) return s;
  if (c.changes() == 0) return tl::unexpected(StoreError::kNotFound);
  return {};
}

template <class T, class... Args>
Result<T> query_one(Connection& c, Result<T> (*read_row)(const Query&), std::string_view sql,
                    const Args&... args) {
  auto q = c.prepare(sql);
  if (!q) return tl::unexpected(q.error());
  q->bind_all(args...);
  auto row = q->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return tl::unexpected(StoreError::kNotFound);
  return read_row(*q);
}

template <class T, class... Args>
Result<std::vector<T>> query_all(Connection& c, Result<T> (*read_row)(const Query&),
                                 std::string_view sql, const Args&... args) {
  auto q = c.prepare(sql);
  if (!q) return tl::unexpected(q.error());
  q->bind_all(args...);
  std::vector<T> out;
  for (;;) {
    auto row = q->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    auto value = read_row(*q);
    if (!value) return tl::unexpected(value.error());
    out.push_back(std::move(*value));
  }
}

// ---- session methods as JSON ----

std::string encode_methods(const std::vector<core::MethodProof>& methods) {
  boost::json::array arr;
  arr.reserve(methods.size());
  for (const auto& m : methods) {
    arr.push_back(boost::json::object{{"method", m.method}, {"at", m.at}});
  }
  return boost::json::serialize(arr);
}

Result<std::vector<core::MethodProof>> decode_methods(const std::string& text) {
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec || !value.is_array()) return tl::unexpected(StoreError::kCorrupt);
  std::vector<core::MethodProof> out;
  for (const auto& item : value.as_array()) {
    const auto* obj = item.if_object();
    if (obj == nullptr) return tl::unexpected(StoreError::kCorrupt);
    const auto* method = obj->if_contains("method");
    const auto* at = obj->if_contains("at");
    if (method == nullptr || !method->is_string() || at == nullptr || !at->is_int64()) {
      return tl::unexpected(StoreError::kCorrupt);
    }
    out.push_back({std::string(method->as_string()), at->as_int64()});
  }
  return out;
}

// ---- row readers (column order = the SELECT lists below) ----

constexpr std::string_view kUserCols = "id, username, password_hash, created_at, disabled";
Result<User> read_user(const Query& q) {
  return User{q.int64(0), q.text(1), q.text(2), q.int64(3), q.int64(4) != 0};
}

constexpr std::string_view kFactorCols =
    "id, user_id, type, name, secret, confirmed, created_at, last_used_at, counter, failures, "
    "locked_until";
Result<Factor> read_factor(const Query& q) {
  Factor f;
  f.id = q.text(0);
  f.user_id = q.int64(1);
  f.type = q.text(2);
  f.name = q.text(3);
  f.secret = q.blob(4);
  f.confirmed = q.int64(5) != 0;
  f.created_at = q.int64(6);
  f.last_used_at = q.int64(7);
  f.counter = q.int64(8);
  f.failures = static_cast<int>(q.int64(9));
  f.locked_until = q.int64(10);
  return f;
}

constexpr std::string_view kSessionCols =
    "public_id, id_hash, user_id, subject, methods, created_at, last_seen_at, expires_at, "
    "idle_expires_at, revoked_at, ip, user_agent";
Result<Session> read_session(const Query& q) {
  Session s;
  s.public_id = q.text(0);
  s.id_hash = q.text(1);
  s.user_id = q.int64(2);
  s.subject = q.text(3);
  auto methods = decode_methods(q.text(4));
  if (!methods) {
    std::fprintf(stderr, "stepup store: session %s has unreadable methods JSON\n",
                 s.public_id.c_str());
    return tl::unexpected(methods.error());
  }
  s.methods = std::move(*methods);
  s.created_at = q.int64(5);
  s.last_seen_at = q.int64(6);
  s.expires_at = q.int64(7);
  s.idle_expires_at = q.int64(8);
  s.revoked_at = q.int64(9);
  s.ip = q.text(10);
  s.user_agent = q.text(11);
  return s;
}

constexpr std::string_view kRefreshCols =
    "token_hash, session_public_id, family, created_at, expires_at, rotated_at, replaced_by";
Result<RefreshToken> read_refresh(const Query& q) {
  return RefreshToken{q.text(0),  q.text(1),  q.text(2), q.int64(3),
                      q.int64(4), q.int64(5), q.text(6)};
}

constexpr std::string_view kKeyCols =
    "kid, algorithm, private_pem, public_jwk, created_at, retired_at, publish_until";
Result<SigningKey> read_key(const Query& q) {
  return SigningKey{q.text(0), q.text(1), q.text(2), q.text(3), q.int64(4), q.int64(5), q.int64(6)};
}

constexpr std::string_view kAuditCols =
    "seq, at, event, subject, session, ip, user_agent, details, prev_hash, hash";
Result<AuditEvent> read_audit(const Query& q) {
  return AuditEvent{q.int64(0), q.int64(1), q.text(2), q.text(3), q.text(4),
                    q.text(5),  q.text(6),  q.text(7), q.text(8), q.text(9)};
}

constexpr std::string_view kChallengeCols =
    "id, session_public_id, user_id, target_level, max_age, methods, return_to, reason, "
    "transaction_json, webauthn_challenge, created_at, expires_at, used_at";
Result<Challenge> read_challenge(const Query& q) {
  Challenge c;
  c.id = q.text(0);
  c.session_public_id = q.text(1);
  c.user_id = q.int64(2);
  c.target_level = q.text(3);
  if (!q.is_null(4)) c.max_age = q.int64(4);
  c.methods_json = q.text(5);
  c.return_to = q.text(6);
  c.reason = q.text(7);
  c.transaction_json = q.text(8);
  c.webauthn_challenge = q.text(9);
  c.created_at = q.int64(10);
  c.expires_at = q.int64(11);
  c.used_at = q.int64(12);
  return c;
}

// SQL text is built once per call site (function-local statics) and is also
// the statement cache key.
std::string select_from(std::string_view cols, std::string_view rest) {
  std::string sql = "SELECT ";
  sql += cols;
  sql += ' ';
  sql += rest;
  return sql;
}

// ---- read connection pool ----

class ReadPool {
 public:
  class Lease {
   public:
    Lease(ReadPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_->release(conn_); }
    Connection& conn() { return *conn_; }

   private:
    ReadPool* pool_;
    Connection* conn_;
  };

  void add(Connection conn) {
    all_.push_back(std::make_unique<Connection>(std::move(conn)));
    free_.push_back(all_.back().get());
  }
  bool empty() const { return all_.empty(); }

  Lease acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    Connection* c = free_.back();
    free_.pop_back();
    return Lease(this, c);
  }

 private:
  void release(Connection* c) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(c);
    }
    cv_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> free_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(Connection writer, std::unique_ptr<ReadPool> readers)
      : writer_(std::move(writer)), readers_(std::move(readers)) {}

  // ---- users ----

  Result<User> create_user(std::string_view username, std::string_view password_hash,
                           core::UnixTime now) override {
    return write([&](Connection& c) -> Result<User> {
      auto s = run(c, "INSERT INTO users(username, password_hash, created_at) VALUES(?, ?, ?)",
                   username, password_hash, now);
      if (!s) return tl::unexpected(s.error());
      return User{c.last_insert_rowid(), std::string(username), std::string(password_hash), now,
                  false};
    });
  }

  Result<User> find_user(std::string_view username) override {
    static const std::string sql = select_from(kUserCols, "FROM users WHERE username = ?");
    return read([&](Connection& c) { return query_one(c, read_user, sql, username); });
  }

  Result<User> find_user_by_id(std::int64_t id) override {
    static const std::string sql = select_from(kUserCols, "FROM users WHERE id = ?");
    return read([&](Connection& c) { return query_one(c, read_user, sql, id); });
  }

  Result<std::vector<User>> list_users() override {
    static const std::string sql = select_from(kUserCols, "FROM users ORDER BY id");
    return read([&](Connection& c) { return query_all(c, read_user, sql); });
  }

  Status set_password_hash(std::int64_t user_id, std::string_view hash) override {
    return write([&](Connection& c) {
      return run_one(c, "UPDATE users SET password_hash = ? WHERE id = ?", hash, user_id);
    });
  }

  // ---- factors ----

  Status add_factor(const Factor& f) override {
    return write([&](Connection& c) {
      return run(c,
                 "INSERT INTO factors(id, user_id, type, name, secret, confirmed, created_at, "
                 "last_used_at, counter, failures, locked_until) "
                 "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 f.id, f.user_id, f.type, f.name, Blob{f.secret}, f.confirmed, f.created_at,
                 f.last_used_at, f.counter, f.failures, f.locked_until);
    });
  }

  Result<std::vector<Factor>> list_factors(std::int64_t user_id) override {
    static const std::string sql =
        select_from(kFactorCols, "FROM factors WHERE user_id = ? ORDER BY created_at, rowid");
    return read([&](Connection& c) { return query_all(c, read_factor, sql, user_id); });
  }

  Result<Factor> find_factor(std::string_view id) override {
    static const std::string sql = select_from(kFactorCols, "FROM factors WHERE id = ?");
    return read([&](Connection& c) { return query_one(c, read_factor, sql, id); });
  }

  Status update_factor(const Factor& f) override {
    // id, user_id, type and created_at are identity: never rewritten.
    return write([&](Connection& c) {
      return run_one(c,
                     "UPDATE factors SET name = ?, secret = ?, confirmed = ?, last_used_at = ?, "
                     "counter = ?, failures = ?, locked_until = ? WHERE id = ?",
                     f.name, Blob{f.secret}, f.confirmed, f.last_used_at, f.counter, f.failures,
                     f.locked_until, f.id);
    });
  }

  Status delete_factor(std::string_view id) override {
    return write([&](Connection& c) { return run_one(c, "DELETE FROM factors WHERE id = ?", id); });
  }

  Result<FactorAttempt> reserve_factor_attempt(std::string_view id, core::UnixTime now,
                                               const LockoutPolicy& policy) override {
    static const std::string sql = select_from(kFactorCols, "FROM factors WHERE id = ?");
    // Read, count and lock under one write transaction (BEGIN IMMEDIATE: other
    // processes on the file wait too): attempts racing each see the count and
    // lock of the ones before them, so the attempt that reaches max_failures
    // locks the factor before any later one is reserved. Deciding the lock
    // after the code check instead let every parallel guess through and let
    // the last of many racing lock writes win.
    return write([&](Connection& c) -> Result<FactorAttempt> {
      auto f = query_one(c, read_factor, sql, id);
      if (!f) return tl::unexpected(f.error());
      FactorAttempt a;
      if (f->locked_until > now) {
        a.factor = std::move(*f);
        return a;
      }
      const int failures = f->failures + 1;
      const core::Seconds delay = lock_delay(policy, failures);
      const core::UnixTime lock = delay > 0 ? now + delay : 0;
      auto s = run_one(c,
                       "UPDATE factors SET failures = ?, locked_until = MAX(locked_until, ?) "
                       "WHERE id = ?",
                       failures, lock, id);
      if (!s) return tl::unexpected(s.error());
      f->failures = failures;
      f->locked_until = std::max(f->locked_until, lock);
      a.factor = std::move(*f);
      a.reserved = true;
      a.last_of_window = delay > 0;
      return a;
    });
  }

  Status factor_succeeded(std::string_view id, core::UnixTime now, std::int64_t expected_counter,
                          std::int64_t new_counter,
                          std::optional<std::string> new_secret) override {
    // The counter is the compare-and-set guard: a TOTP step or WebAuthn
    // signCount accepted once must not be accepted again by a request that
    // read the same old counter.
    return write([&](Connection& c) -> Status {
      Status s;
      if (new_secret) {
        s = run(c,
                "UPDATE factors SET failures = 0, locked_until = 0, last_used_at = ?, counter = ?, "
                "secret = ? "
                "WHERE id = ? AND counter = ?",
                now, new_counter, Blob{*new_secret}, id, expected_counter);
      } else {
        s = run(c,
                "UPDATE factors SET failures = 0, locked_until = 0, last_used_at = ?, counter = ? "
                "WHERE id = ? AND counter = ?",
                now, new_counter, id, expected_counter);
      }
      if (!s || c.changes() > 0) return s;
      if (auto e = row_exists(c, "SELECT 1 FROM factors WHERE id = ?", id); !e) return e;
      return tl::unexpected(StoreError::kConflict);
    });
  }

  Status unlock_factors(std::int64_t user_id) override {
    return write([&](Connection& c) -> Status {
      if (auto e = row_exists(c, "SELECT 1 FROM users WHERE id = ?", user_id); !e) return e;
      return run(c, "UPDATE factors SET failures = 0, locked_until = 0 WHERE user_id = ?", user_id);
    });
  }

  // ---- sessions ----

  Status create_session(const Session& s) override {
    const std::string methods = encode_methods(s.methods);
    return write([&](Connection& c) {
      return run(c,
                 "INSERT INTO sessions(public_id, id_hash, user_id, subject, methods, created_at, "
                 "last_seen_at, expires_at, idle_expires_at, revoked_at, ip, user_agent) "
                 "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 s.public_id, s.id_hash, s.user_id, s.subject, methods, s.created_at,
                 s.last_seen_at, s.expires_at, s.idle_expires_at, s.revoked_at, s.ip, s.user_agent);
    });
  }

  Result<Session> find_session(std::string_view id_hash) override {
    static const std::string sql = select_from(kSessionCols, "FROM sessions WHERE id_hash = ?");
    return read([&](Connection& c) { return query_one(c, read_session, sql, id_hash); });
  }

  Result<Session> find_session_by_public_id(std::string_view public_id) override {
    static const std::string sql = select_from(kSessionCols, "FROM sessions WHERE public_id = ?");
    return read([&](Connection& c) { return query_one(c, read_session, sql, public_id); });
  }

  Result<std::vector<Session>> list_sessions(std::optional<std::int64_t> user_id) override {
    static const std::string all_sql =
        select_from(kSessionCols, "FROM sessions ORDER BY created_at DESC, rowid DESC");
    static const std::string user_sql = select_from(
        kSessionCols, "FROM sessions WHERE user_id = ? ORDER BY created_at DESC, rowid DESC");
    return read([&](Connection& c) {
      return user_id ? query_all(c, read_session, user_sql, *user_id)
                     : query_all(c, read_session, all_sql);
    });
  }

  Status update_session(const Session& s) override {
    // id_hash changes only through rotate_session_id, and a revocation is
    // sticky: a caller writing back a copy it read before a concurrent
    // rotation or logout must not resurrect the old id or the session.
    const std::string methods = encode_methods(s.methods);
    return write([&](Connection& c) {
      return run_one(c,
                     "UPDATE sessions SET subject = ?, methods = ?, last_seen_at = ?, "
                     "expires_at = ?, idle_expires_at = ?, "
                     "revoked_at = CASE WHEN revoked_at != 0 THEN revoked_at ELSE ? END, "
                     "ip = ?, user_agent = ? WHERE public_id = ?",
                     s.subject, methods, s.last_seen_at, s.expires_at, s.idle_expires_at,
                     s.revoked_at, s.ip, s.user_agent, s.public_id);
    });
  }

  Status rotate_session_id(std::string_view public_id, std::string_view new_id_hash) override {
    // One UPDATE: there is no instant at which both or neither id works.
    return write([&](Connection& c) -> Status {
      auto s = run_one(c, "UPDATE sessions SET id_hash = ? WHERE public_id = ? AND revoked_at = 0",
                       new_id_hash, public_id);
      if (!s) return s;
      return revoke_current_refresh_tokens(c, public_id);
    });
  }

  Status elevate_session(const Session& s, std::string_view new_id_hash) override {
    const std::string methods = encode_methods(s.methods);
    return write([&](Connection& c) -> Status {
      auto u = run_one(c,
                       "UPDATE sessions SET methods = ?, last_seen_at = ?, idle_expires_at = ?, "
                       "id_hash = ? WHERE public_id = ? AND revoked_at = 0",
                       methods, s.last_seen_at, s.idle_expires_at, new_id_hash, s.public_id);
      if (!u) return u;
      // ASVS 7.2.4: the refresh tokens issued before the level change die with
      // the old id. Kept as revoked rows, so presenting one later is a reuse
      // (Sessions::refresh revokes the session) rather than an unknown token.
      return revoke_current_refresh_tokens(c, s.public_id);
    });
  }

  Status revoke_session(std::string_view public_id, core::UnixTime now) override {
    return write([&](Connection& c) -> Status {
      auto s = run(c, "UPDATE sessions SET revoked_at = ? WHERE public_id = ? AND revoked_at = 0",
                   std::max<core::UnixTime>(now, 1), public_id);
      if (!s || c.changes() > 0) return s;
      // Already revoked is success (logout twice); only a missing row fails.
      return session_exists(c, public_id);
    });
  }

  Status touch_session(std::string_view public_id, core::UnixTime last_seen,
                       core::UnixTime idle_expires_at) override {
    return write([&](Connection& c) {
      return run_one(
          c, "UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE public_id = ?",
          last_seen, idle_expires_at, public_id);
    });
  }

  Status touch_sessions(const std::vector<Touch>& touches) override {
    if (touches.empty()) return {};
    return write([&](Connection& c) -> Status {
      for (const auto& t : touches) {
        auto s = run(c,
                     "UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? "
                     "WHERE public_id = ? AND last_seen_at < ?",
                     t.last_seen, t.idle_expires_at, t.public_id, t.last_seen);
        if (!s) return s;
      }
      return {};
    });
  }

  WriteStats write_stats() const override {
    return {batches_.load(std::memory_order_relaxed),
            batched_jobs_.load(std::memory_order_relaxed)};
  }

  Result<int> revoke_user_sessions(std::int64_t user_id, std::string_view keep_public_id,
                                   core::UnixTime now) override {
    // Tokens first, for every other session of the user (also ones revoked
    // earlier without their family): after this no refresh token but the
    // kept session's can mint a new access token.
    return write([&](Connection& c) -> Result<int> {
      if (auto e = row_exists(c, "SELECT 1 FROM users WHERE id = ?", user_id); !e) {
        return tl::unexpected(e.error());
      }
      auto s = run(c,
                   "UPDATE refresh_tokens SET rotated_at = ? WHERE rotated_at = 0 AND "
                   "session_public_id IN "
                   "(SELECT public_id FROM sessions WHERE user_id = ? AND public_id != ?)",
                   kRefreshTokenRevoked, user_id, keep_public_id);
      if (!s) return tl::unexpected(s.error());
      s = run(c,
              "UPDATE sessions SET revoked_at = ? "
              "WHERE user_id = ? AND revoked_at = 0 AND public_id != ?",
              std::max<core::UnixTime>(now, 1), user_id, keep_public_id);
      if (!s) return tl::unexpected(s.error());
      return static_cast<int>(c.changes());
    });
  }

  // ---- refresh tokens ----

  Status add_refresh_token(const RefreshToken& t) override {
    return write([&](Connection& c) { return insert_refresh(c, t); });
  }

  Result<RefreshToken> find_refresh_token(std::string_view token_hash) override {
    static const std::string sql =
        select_from(kRefreshCols, "FROM refresh_tokens WHERE token_hash = ?");
    return read([&](Connection& c) { return query_one(c, read_refresh, sql, token_hash); });
  }

  Status rotate_refresh_token(std::string_view old_hash, const RefreshToken& next,
                              core::UnixTime now, core::UnixTime session_idle_expires_at) override {
    return write([&](Connection& c) -> Status {
      {
        auto q = c.prepare("SELECT rotated_at FROM refresh_tokens WHERE token_hash = ?");
        if (!q) return tl::unexpected(q.error());
        q->bind(1, old_hash);
        auto row = q->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) return tl::unexpected(StoreError::kNotFound);
        if (q->int64(0) != 0) return tl::unexpected(StoreError::kConflict);
      }
      // rotated_at is at least 1 so a caller passing now == 0 cannot make the
      // old token look current again.
      auto s = run_one(c,
                       "UPDATE refresh_tokens SET rotated_at = ?, replaced_by = ? "
                       "WHERE token_hash = ? AND rotated_at = 0",
                       std::max<core::UnixTime>(now, 1), next.token_hash, old_hash);
      if (!s) return s;
      if (s = insert_refresh(c, next); !s) return s;
      if (session_idle_expires_at == 0) return s;
      return run(c,
                 "UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?), idle_expires_at = ? "
                 "WHERE public_id = ?",
                 now, session_idle_expires_at, next.session_public_id);
    });
  }

  Status revoke_refresh_family(std::string_view session_public_id) override {
    return write([&](Connection& c) -> Status {
      if (auto s = session_exists(c, session_public_id); !s) return s;
      return revoke_current_refresh_tokens(c, session_public_id);
    });
  }

  // ---- challenges ----

  Status add_challenge(const Challenge& ch, int max_per_session) override {
    return write([&](Connection& c) -> Status {
      // Both deletes walk an index (challenges_by_expiry, challenges_by_session)
      // and touch a bounded number of rows.
      if (auto s = run(c,
                       "DELETE FROM challenges WHERE rowid IN (SELECT rowid FROM challenges "
                       "WHERE expires_at < ? ORDER BY expires_at LIMIT ?)",
                       ch.created_at - kExpiredChallengeGrace, kPurgeOnInsert);
          !s) {
        return s;
      }
      if (max_per_session > 0) {
        // Keep the newest max_per_session - 1 open ones; the new row makes
        // max_per_session. Rowids grow with insertion order.
        if (auto s = run(c,
                         "DELETE FROM challenges WHERE rowid IN (SELECT rowid FROM challenges "
                         "WHERE session_public_id = ? "
                         "ORDER BY (used_at = 0 AND expires_at > ?) DESC, rowid DESC "
                         "LIMIT -1 OFFSET ?)",
                         ch.session_public_id, ch.created_at, max_per_session - 1);
            !s) {
          return s;
        }
      }
      return run(c,
                 "INSERT INTO challenges(id, session_public_id, user_id, target_level, max_age, "
                 "methods, return_to, reason, transaction_json, webauthn_challenge, created_at, "
                 "expires_at, used_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 ch.id, ch.session_public_id, ch.user_id, ch.target_level, ch.max_age,
                 ch.methods_json, ch.return_to, ch.reason, ch.transaction_json,
                 ch.webauthn_challenge, ch.created_at, ch.expires_at, ch.used_at);
    });
  }

  Result<Challenge> find_challenge(std::string_view id) override {
    static const std::string sql = select_from(kChallengeCols, "FROM challenges WHERE id = ?");
    return read([&](Connection& c) { return query_one(c, read_challenge, sql, id); });
  }

  Status consume_challenge(std::string_view id, core::UnixTime now) override {
    // The guard is in the UPDATE itself, so of any number of racing
    // verifications exactly one sees a changed row. used_at is at least 1:
    // 0 would read as "unused".
    return write([&](Connection& c) -> Status {
      auto s = run(c, "UPDATE challenges SET used_at = ? WHERE id = ? AND used_at = 0",
                   std::max<core::UnixTime>(now, 1), id);
      if (!s || c.changes() > 0) return s;
      if (auto e = row_exists(c, "SELECT 1 FROM challenges WHERE id = ?", id); !e) return e;
      return tl::unexpected(StoreError::kConflict);
    });
  }

  Result<int> purge_challenges(core::UnixTime cutoff, int limit) override {
    return purge("challenges", cutoff, limit);
  }

  Result<std::int64_t> count_challenges() override { return count_rows("challenges"); }

  Status add_login_challenge(std::string_view id, std::string_view webauthn_challenge,
                             core::UnixTime now, core::UnixTime expires_at,
                             int max_total) override {
    return write([&](Connection& c) -> Status {
      if (auto s = run(c,
                       "DELETE FROM login_challenges WHERE rowid IN (SELECT rowid FROM "
                       "login_challenges WHERE expires_at < ? ORDER BY expires_at LIMIT ?)",
                       now - kExpiredChallengeGrace, kPurgeOnInsert);
          !s) {
        return s;
      }
      if (auto s = run(c,
                       "INSERT INTO login_challenges(id, webauthn_challenge, created_at, "
                       "expires_at) VALUES(?, ?, ?, ?)",
                       id, webauthn_challenge, now, expires_at);
          !s) {
        return s;
      }
      if (max_total <= 0) return {};
      // Rowids grow with insertion order, so every row more than max_total
      // rowids older than the new one is beyond the bound: a range delete on
      // the rowid, however full the table is. At most max_total rows remain.
      return run(c, "DELETE FROM login_challenges WHERE rowid <= ?",
                 c.last_insert_rowid() - max_total);
    });
  }

  Result<int> purge_login_challenges(core::UnixTime cutoff, int limit) override {
    return purge("login_challenges", cutoff, limit);
  }

  Result<std::int64_t> count_login_challenges() override { return count_rows("login_challenges"); }

  Result<std::string> consume_login_challenge(std::string_view id, core::UnixTime now) override {
    return write([&](Connection& c) -> Result<std::string> {
      auto s = run(c,
                   "UPDATE login_challenges SET used_at = ? WHERE id = ? AND used_at = 0 AND "
                   "expires_at > ?",
                   std::max<core::UnixTime>(now, 1), id, now);
      if (!s) return tl::unexpected(s.error());
      if (c.changes() == 0) {
        if (auto e = row_exists(c, "SELECT 1 FROM login_challenges WHERE id = ?", id); !e) {
          return tl::unexpected(e.error());
        }
        return tl::unexpected(StoreError::kConflict);
      }
      auto q = c.prepare("SELECT webauthn_challenge FROM login_challenges WHERE id = ?");
      if (!q) return tl::unexpected(q.error());
      q->bind_all(id);
      auto row = q->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return tl::unexpected(StoreError::kNotFound);
      return q->text(0);
    });
  }

  // ---- signing keys ----

  Status add_signing_key(const SigningKey& k) override {
    return write([&](Connection& c) {
      return run(c,
                 "INSERT INTO signing_keys(kid, algorithm, private_pem, public_jwk, created_at, "
                 "retired_at, publish_until) VALUES(?, ?, ?, ?, ?, ?, ?)",
                 k.kid, k.algorithm, k.private_pem, k.public_jwk, k.created_at, k.retired_at,
                 k.publish_until);
    });
  }

  Result<std::vector<SigningKey>> list_signing_keys() override {
    static const std::string sql =
        select_from(kKeyCols, "FROM signing_keys ORDER BY created_at DESC, rowid DESC");
    return read([&](Connection& c) { return query_all(c, read_key, sql); });
  }

  Status retire_signing_key(std::string_view kid, core::UnixTime retired_at,
                            core::UnixTime publish_until) override {
    return write([&](Connection& c) {
      return run_one(c, "UPDATE signing_keys SET retired_at = ?, publish_until = ? WHERE kid = ?",
                     retired_at, publish_until, kid);
    });
  }

  // ---- audit ----

  Result<AuditEvent> append_audit(const AuditEvent& e) override {
    return write([&](Connection& c) -> Result<AuditEvent> {
      AuditEvent row = e;
      row.seq = 1;
      row.prev_hash = std::string(kAuditGenesisHash);
      {
        // Under BEGIN IMMEDIATE no other writer can append between this read
        // and our insert, so the chain cannot fork.
        auto q = c.prepare("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
        if (!q) return tl::unexpected(q.error());
        auto found = q->step();
        if (!found) return tl::unexpected(found.error());
        if (*found) {
          row.seq = q->int64(0) + 1;
          row.prev_hash = q->text(1);
        }
      }
      row.hash = audit_row_hash(row, row.prev_hash);
      auto s = run(c,
                   "INSERT INTO audit_events(seq, at, event, subject, session, ip, user_agent, "
                   "details, prev_hash, hash) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   row.seq, row.at, row.event, row.subject, row.session, row.ip, row.user_agent,
                   row.details, row.prev_hash, row.hash);
      if (!s) return tl::unexpected(s.error());
      return row;
    });
  }

  Result<std::vector<AuditEvent>> list_audit(std::int64_t after_seq, int limit) override {
    if (limit <= 0) return std::vector<AuditEvent>{};
    static const std::string sql =
        select_from(kAuditCols, "FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?");
    return read([&](Connection& c) { return query_all(c, read_audit, sql, after_seq, limit); });
  }

  Result<std::vector<AuditEvent>> list_audit_filtered(std::optional<std::string> subject,
                                                      int limit) override {
    if (limit <= 0) return std::vector<AuditEvent>{};
    // Newest `limit` rows, then put back in chain order for display.
    static const std::string all_sql =
        "SELECT * FROM (" + select_from(kAuditCols, "FROM audit_events ORDER BY seq DESC LIMIT ?") +
        ") ORDER BY seq";
    static const std::string subject_sql =
        "SELECT * FROM (" +
        select_from(kAuditCols, "FROM audit_events WHERE subject = ? ORDER BY seq DESC LIMIT ?") +
        ") ORDER BY seq";
    return read([&](Connection& c) {
      return subject ? query_all(c, read_audit, subject_sql, *subject, limit)
                     : query_all(c, read_audit, all_sql, limit);
    });
  }

  // ---- health ----

  Status ping() override {
    return read([&](Connection& c) { return run(c, "SELECT 1"); });
  }

 private:
  // Bounded delete of expired rows of a challenge table (both have an index
  // on expires_at). `table` is one of our own table names, never input.
  Result<int> purge(std::string_view table, core::UnixTime cutoff, int limit) {
    if (limit <= 0) return 0;
    const std::string t(table);
    const std::string sql = "DELETE FROM " + t + " WHERE rowid IN (SELECT rowid FROM " + t +
                            " WHERE expires_at < ? ORDER BY expires_at LIMIT ?)";
    return write([&](Connection& c) -> Result<int> {
      if (auto s = run(c, sql, cutoff, limit); !s) return tl::unexpected(s.error());
      return static_cast<int>(c.changes());
    });
  }

  Result<std::int64_t> count_rows(std::string_view table) {
    const std::string sql = "SELECT count(*) FROM " + std::string(table);
    return read([&](Connection& c) -> Result<std::int64_t> {
      auto q = c.prepare(sql);
      if (!q) return tl::unexpected(q.error());
      auto row = q->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return tl::unexpected(StoreError::kCorrupt);
      return q->int64(0);
    });
  }

  // Runs `body` on the write connection inside a committed transaction and
  // returns its result once that commit is durable.
  //
  // Group commit: concurrent writers share one transaction, hence one WAL
  // fsync. Each caller queues its body; whichever caller finds no batch in
  // progress becomes the leader, takes every queued body (up to kMaxBatch),
  // runs them in queue order inside one BEGIN IMMEDIATE, each in its own
  // SAVEPOINT (a body that fails is rolled back alone and reports its own
  // error, exactly as if it had run in a transaction of its own), commits
  // once, and wakes the others. Later bodies see the writes of earlier ones,
  // so the batch is equivalent to running them one after another. If the
  // COMMIT fails, every body of the batch that had succeeded reports that
  // failure: nothing is acknowledged that is not on disk. With one writer at
  // a time a batch is one body, as before.
  template <class F>
  auto write(F&& body) -> decltype(body(std::declval<Connection&>())) {
    using R = decltype(body(std::declval<Connection&>()));
    std::optional<R> result;
    WriteJob job;
    job.run = [&](Connection& c) -> bool {
      try {
        result.emplace(body(c));
      } catch (...) {
        result.emplace(tl::unexpected(StoreError::kIo));
      }
      return static_cast<bool>(*result);
    };
    job.fail = [&](StoreError e) { result.emplace(tl::unexpected(e)); };
    submit(job);
    return std::move(*result);
  }

  struct WriteJob {
    std::function<bool(Connection&)> run;  // true: succeeded, keep its writes
    std::function<void(StoreError)> fail;  // overrides the result (commit failed)
    bool done = false;
  };
  static constexpr std::size_t kMaxBatch = 256;

  void submit(WriteJob& job) {
    std::unique_lock lock(queue_mu_);
    queue_.push_back(&job);
    while (!job.done) {
      if (leading_) {
        queue_cv_.wait(lock);
        continue;
      }
      leading_ = true;
      const std::size_t n = std::min(queue_.size(), kMaxBatch);
      std::vector<WriteJob*> batch(queue_.begin(), queue_.begin() + static_cast<long>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
      lock.unlock();
      run_batch(batch);
      lock.lock();
      for (auto* j : batch) j->done = true;
      leading_ = false;
      queue_cv_.notify_all();
    }
  }

  void run_batch(const std::vector<WriteJob*>& batch) {
    std::lock_guard lock(write_mu_);
    auto tx = Transaction::begin(writer_, Transaction::Mode::kImmediate);
    if (!tx) {
      for (auto* j : batch) j->fail(tx.error());
      return;
    }
    std::vector<WriteJob*> kept;
    kept.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      WriteJob* j = batch[i];
      bool ok = false;
      if (batch.size() == 1) {  // the transaction is the savepoint
        ok = j->run(writer_);
      } else if (auto s = writer_.exec("SAVEPOINT job"); !s) {
        j->fail(s.error());
      } else {
        ok = j->run(writer_);
        if (!ok) (void)writer_.exec("ROLLBACK TO job");
        if (auto r = writer_.exec("RELEASE job"); !r && ok) {
          j->fail(r.error());
          ok = false;
        }
      }
      if (!writer_.in_transaction()) {
        // SQLite rolled the whole transaction back by itself (I/O error, out
        // of memory...): what the batch wrote so far is gone, and running the
        // rest would write outside any transaction. Fail them all.
        if (ok) j->fail(StoreError::kIo);
        for (auto* k : kept) k->fail(StoreError::kIo);
        for (std::size_t r = i + 1; r < batch.size(); ++r) batch[r]->fail(StoreError::kIo);
        return;
      }
      if (ok) kept.push_back(j);
    }
    if (kept.empty()) return;  // the Transaction rolls back (nothing to keep)
    if (auto s = tx->commit(); !s) {
      for (auto* j : kept) j->fail(s.error());
      return;
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    batched_jobs_.fetch_add(kept.size(), std::memory_order_relaxed);
  }

  template <class F>
  auto read(F&& body) -> decltype(body(std::declval<Connection&>())) {
    if (readers_ == nullptr || readers_->empty()) {
      // In-memory databases are private to one connection: read on the writer.
      std::lock_guard lock(write_mu_);
      return body(writer_);
    }
    auto lease = readers_->acquire();
    return body(lease.conn());
  }

  static Status session_exists(Connection& c, std::string_view public_id) {
    auto q = c.prepare("SELECT 1 FROM sessions WHERE public_id = ?");
    if (!q) return tl::unexpected(q.error());
    q->bind(1, public_id);
    auto row = q->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return tl::unexpected(StoreError::kNotFound);
    return {};
  }

  // kNotFound unless `sql` (a SELECT taking one parameter) yields a row.
  template <class Key>
  static Status row_exists(Connection& c, std::string_view sql, const Key& key) {
    auto q = c.prepare(sql);
    if (!q) return tl::unexpected(q.error());
    q->bind(1, key);
    auto row = q->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return tl::unexpected(StoreError::kNotFound);
    return {};
  }

  // Marks the session's current (never exchanged) refresh tokens revoked.
  static Status revoke_current_refresh_tokens(Connection& c, std::string_view session_public_id) {
    return run(c,
               "UPDATE refresh_tokens SET rotated_at = ? "
               "WHERE session_public_id = ? AND rotated_at = 0",
               kRefreshTokenRevoked, session_public_id);
  }

  static Status insert_refresh(Connection& c, const RefreshToken& t) {
    return run(c,
               "INSERT INTO refresh_tokens(token_hash, session_public_id, family, created_at, "
               "expires_at, rotated_at, replaced_by) VALUES(?, ?, ?, ?, ?, ?, ?)",
               t.token_hash, t.session_public_id, t.family, t.created_at, t.expires_at,
               t.rotated_at, t.replaced_by);
  }

  std::mutex write_mu_;  // the writer connection (batches, and reads of in-memory stores)
  Connection writer_;
  std::mutex queue_mu_;  // queue_ and leading_
  std::condition_variable queue_cv_;
  std::deque<WriteJob*> queue_;
  bool leading_ = false;
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> batched_jobs_{0};
  std::unique_ptr<ReadPool> readers_;  // empty for in-memory databases
};

bool is_memory_path(const std::string& path) {
  return path.empty() || path == ":memory:" || path.find("mode=memory") != std::string::npos;
}

// Runs a PRAGMA that answers with one text row and returns that answer.
Result<std::string> pragma_text(Connection& c, const char* sql) {
  auto q = c.prepare(sql);
  if (!q) return tl::unexpected(q.error());
  auto row = q->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::string();
  return q->text(0);
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path, core::Seconds busy_timeout) {
  const auto ms = std::clamp<core::Seconds>(busy_timeout, 0, INT_MAX / 1000) * 1000;
  const int busy_ms = static_cast<int>(ms);

  auto writer = Connection::open(path, busy_ms);
  if (!writer) return tl::unexpected(writer.error());
  // journal_mode is persistent in the file and cannot change inside a
  // transaction, so it is set once here before migrations.
  const bool memory = is_memory_path(path);
  auto mode = pragma_text(*writer, "PRAGMA journal_mode=WAL");
  if (!mode) {
    if (mode.error() == StoreError::kCorrupt) {
      std::fprintf(stderr, "stepup store: %s is not a usable SQLite database\n", path.c_str());
    }
    return tl::unexpected(mode.error());
  }
  if (!memory && *mode != "wal") {
    std::fprintf(stderr, "stepup store: could not switch %s to WAL (journal_mode=%s)\n",
                 path.c_str(), mode->c_str());
    return tl::unexpected(StoreError::kIo);
  }
  // FULL: the WAL is fsynced at every commit, so an acknowledged write
  // survives a crash of the process and of the machine.
  if (auto s = writer->exec("PRAGMA synchronous=FULL"); !s) return tl::unexpected(s.error());
  if (auto s = sqlite::migrate(*writer); !s) return tl::unexpected(s.error());

  auto pool = std::make_unique<ReadPool>();
  if (!memory) {
    for (int i = 0; i < kReadConnections; ++i) {
      auto reader = Connection::open(path, busy_ms);
      if (!reader) return tl::unexpected(reader.error());
      // A bug that writes through a reader would bypass the write mutex.
      if (auto s = reader->exec("PRAGMA query_only=ON"); !s) return tl::unexpected(s.error());
      pool->add(std::move(*reader));
    }
  }
  return std::make_unique<SqliteStore>(std::move(*writer), std::move(pool));
}

}  // namespace stepup::store
