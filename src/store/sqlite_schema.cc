#include "store/sqlite_schema.h"

#include <array>
#include <cstdio>
#include <string>

namespace stepup::store::sqlite {
namespace {

// STRICT tables: a type mix-up in a bind fails loudly instead of storing a
// string in an integer column. Times are Unix seconds; 0 means "not set".
constexpr std::string_view kV1 = R"sql(
CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT    NOT NULL UNIQUE,
  password_hash TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE factors (
  id           TEXT    PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  type         TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  secret       BLOB    NOT NULL,
  confirmed    INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL DEFAULT 0,
  counter      INTEGER NOT NULL DEFAULT 0,
  failures     INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX factors_by_user ON factors(user_id);

-- methods: JSON array [{"method":"pwd","at":1700000000}, ...]. Kept inline so
-- the hot-path lookup by id_hash is one indexed row read, no join.
CREATE TABLE sessions (
  public_id       TEXT    NOT NULL UNIQUE,
  id_hash         TEXT    NOT NULL UNIQUE,
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  subject         TEXT    NOT NULL,
  methods         TEXT    NOT NULL DEFAULT '[]',
  created_at      INTEGER NOT NULL,
  last_seen_at    INTEGER NOT NULL DEFAULT 0,
  expires_at      INTEGER NOT NULL DEFAULT 0,
  idle_expires_at INTEGER NOT NULL DEFAULT 0,
  revoked_at      INTEGER NOT NULL DEFAULT 0,
  ip              TEXT    NOT NULL DEFAULT '',
  user_agent      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user_id, created_at);
CREATE INDEX sessions_by_created ON sessions(created_at);

CREATE TABLE refresh_tokens (
  token_hash        TEXT    PRIMARY KEY,
  session_public_id TEXT    NOT NULL REFERENCES sessions(public_id) ON DELETE CASCADE,
  family            TEXT    NOT NULL,
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  rotated_at        INTEGER NOT NULL DEFAULT 0,
  replaced_by       TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_public_id);

-- One pending step-up. methods and transaction_json are JSON text.
CREATE TABLE challenges (
  id                TEXT    PRIMARY KEY,
  session_public_id TEXT    NOT NULL REFERENCES sessions(public_id) ON DELETE CASCADE,
  user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  target_level      TEXT    NOT NULL,
  methods           TEXT    NOT NULL DEFAULT '[]',
  return_to         TEXT    NOT NULL DEFAULT '',
  reason            TEXT    NOT NULL DEFAULT '',
  transaction_json  TEXT    NOT NULL DEFAULT '',
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  used_at           INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX challenges_by_expiry ON challenges(expires_at);

CREATE TABLE signing_keys (
  kid           TEXT    PRIMARY KEY,
  algorithm     TEXT    NOT NULL,
  private_pem   TEXT    NOT NULL,
  public_jwk    TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  retired_at    INTEGER NOT NULL DEFAULT 0,
  publish_until INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE audit_events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  event      TEXT    NOT NULL,
  subject    TEXT    NOT NULL DEFAULT '',
  session    TEXT    NOT NULL DEFAULT '',
  ip         TEXT    NOT NULL DEFAULT '',
  user_agent TEXT    NOT NULL DEFAULT '',
  details    TEXT    NOT NULL DEFAULT '',
  prev_hash  TEXT    NOT NULL,
  hash       TEXT    NOT NULL
) STRICT;
-- Append-only at the storage level too: a stray UPDATE/DELETE fails instead
-- of silently breaking the chain. A retention feature would drop these in a
-- later migration and re-anchor the chain.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
)sql";

// Step-up challenges carry the freshness the rule asked for (NULL: none) and,
// for WebAuthn, the random challenge the browser must sign. Audit tails by
// user read the newest rows of one subject: an index keeps that off a scan.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE challenges ADD COLUMN max_age INTEGER;
ALTER TABLE challenges ADD COLUMN webauthn_challenge TEXT NOT NULL DEFAULT '';
CREATE INDEX challenges_by_session ON challenges(session_public_id);
CREATE INDEX audit_events_by_subject ON audit_events(subject, seq);
)sql";

// Passkey (usernameless) sign-in starts before anyone is known: its
// challenges belong to no session or user, so they get a table of their own.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE login_challenges (
  id                 TEXT    PRIMARY KEY,
  webauthn_challenge TEXT    NOT NULL,
  created_at         INTEGER NOT NULL,
  expires_at         INTEGER NOT NULL,
  used_at            INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX login_challenges_by_expiry ON login_challenges(expires_at);
)sql";

constexpr std::array<std::string_view, 3> kMigrations = {kV1, kV2, kV3};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

int schema_version() { return static_cast<int>(kMigrations.size()); }

Result<int> user_version(Connection& conn) {
  auto q = conn.prepare("PRAGMA user_version");
  if (!q) return tl::unexpected(q.error());
  auto row = q->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return tl::unexpected(StoreError::kCorrupt);
  return static_cast<int>(q->int64(0));
}

Status migrate(Connection& conn) {
  const int known = schema_version();
  for (;;) {
    // The version is read inside the write transaction, so a second process
    // migrating at the same moment waits and then sees our result.
    auto tx = Transaction::begin(conn, Transaction::Mode::kImmediate);
    if (!tx) return tl::unexpected(tx.error());
    auto version = user_version(conn);
    if (!version) return tl::unexpected(version.error());
    if (*version > known || *version < 0) {
      std::fprintf(stderr,
                   "stepup store: database schema version %d is newer than this build knows "
                   "(%d); refusing to open it (use a newer stepup, or restore a backup)\n",
                   *version, known);
      return tl::unexpected(StoreError::kCorrupt);
    }
    if (*version == known) return tx->commit();

    const std::string sql(kMigrations[static_cast<size_t>(*version)]);
    if (auto s = conn.exec(sql.c_str()); !s) {
      std::fprintf(stderr, "stepup store: migration to schema version %d failed: %s\n",
                   *version + 1, conn.last_message().c_str());
      return s;
    }
    // PRAGMA takes no bind parameters; the value is our own integer.
    const std::string bump = "PRAGMA user_version = " + std::to_string(*version + 1);
    if (auto s = conn.exec(bump.c_str()); !s) return s;
    if (auto s = tx->commit(); !s) return s;
  }
}

}  // namespace stepup::store::sqlite
