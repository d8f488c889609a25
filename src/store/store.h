// Store: every durable thing stepup keeps, behind one interface.
//
// open_sqlite() gives the embedded default (WAL, foreign keys, versioned
// migrations applied at open, busy timeout, synchronous=FULL so an
// acknowledged write survives SIGKILL and power loss of the process).
// Implementations are thread-safe: any method may be called from any thread.
// Secrets never reach the store in the clear: callers pass hashes.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "core/level.h"
#include "core/time.h"

namespace stepup::store {

enum class StoreError {
  kNotFound,  // no such row (also: a referenced user/session does not exist)
  kConflict,  // unique constraint (e.g. username taken)
  kBusy,      // database locked past the busy timeout
  kCorrupt,   // integrity problem or unexpected schema
  kIo,        // anything else from the driver
};
const char* to_string(StoreError e);

template <class T>
using Result = tl::expected<T, StoreError>;
using Status = tl::expected<void, StoreError>;

struct User {
  std::int64_t id = 0;
  std::string username;
  std::string password_hash;  // Argon2id PHC string
  core::UnixTime created_at = 0;
  bool disabled = false;
};

struct Factor {
  std::string id;  // random opaque id
  std::int64_t user_id = 0;
  std::string type;    // "totp", "recovery_codes", "webauthn"
  std::string name;    // user-chosen label
  std::string secret;  // type-specific, encrypted or hashed by the factor
  bool confirmed = false;
  core::UnixTime created_at = 0;
  core::UnixTime last_used_at = 0;
  std::int64_t counter = 0;  // TOTP last step / WebAuthn signCount
  int failures = 0;          // consecutive failures
  core::UnixTime locked_until = 0;
};

// The lockout schedule (config `lockout:`) that reserve_factor_attempt
// applies inside its transaction.
struct LockoutPolicy {
  int max_failures = 5;           // reserved attempts before a lock (>= 1)
  core::Seconds base_delay = 60;  // the first lock
  core::Seconds max_delay = 3600;
};

// How long a factor is locked once `failures` consecutive attempts have been
// reserved: 0 below max_failures, base_delay at max_failures, doubled for each
// further one, capped at max_delay.
core::Seconds lock_delay(const LockoutPolicy& p, int failures);

// The answer of reserve_factor_attempt.
struct FactorAttempt {
  Factor factor;                // the row as the reservation left it
  bool reserved = false;        // false: the factor is locked (factor.locked_until > now)
                                // and nothing was counted: do not check the code
  bool last_of_window = false;  // this reservation reached max_failures and set
                                // factor.locked_until: the last guess before the lock
};

struct Session {
  std::string id_hash;    // SHA-256 (hex) of the session id; the id itself is never stored
  std::string public_id;  // stable, non-secret handle shown in lists (survives rotation)
  std::int64_t user_id = 0;
  std::string subject;                     // username at sign-in
  std::vector<core::MethodProof> methods;  // each method with its last proof time
  core::UnixTime created_at = 0;           // sign-in time
  core::UnixTime last_seen_at = 0;
  core::UnixTime expires_at = 0;       // absolute timeout
  core::UnixTime idle_expires_at = 0;  // idle timeout
  core::UnixTime revoked_at = 0;       // 0: live
  std::string ip;
  std::string user_agent;
};

struct RefreshToken {
  std::string token_hash;  // SHA-256 hex of the opaque token
  std::string session_public_id;
  std::string family;  // one family per session; reuse revokes the family's session
  core::UnixTime created_at = 0;
  core::UnixTime expires_at = 0;
  core::UnixTime rotated_at = 0;  // 0: current; set when exchanged
                                  // (kRefreshTokenRevoked: revoked, never exchanged)
  std::string replaced_by;        // token_hash of the successor
};

// rotated_at of tokens revoked by revoke_refresh_family without being
// exchanged. Any rotated_at != 0 means "not exchangeable"; a later exchange
// attempt gets kConflict from rotate_refresh_token, like a replay. Negative,
// so `rotated_at > 0` still means "really exchanged at that time" and
// `now - rotated_at` never lands inside a reuse grace window.
inline constexpr core::UnixTime kRefreshTokenRevoked = -1;

struct SigningKey {
  std::string kid;
  std::string algorithm;    // "ES256" | "EdDSA"
  std::string private_pem;  // PKCS#8 PEM
  std::string public_jwk;   // JSON object text
  core::UnixTime created_at = 0;
  core::UnixTime retired_at = 0;     // 0: active signer candidate; else no longer signs
  core::UnixTime publish_until = 0;  // 0: forever; after this the public key leaves JWKS
};

struct AuditEvent {
  std::int64_t seq = 0;  // assigned by the store
  core::UnixTime at = 0;
  std::string event;  // e.g. "login.succeeded"
  std::string subject;
  std::string session;  // public session id
  std::string ip;
  std::string user_agent;
  std::string details;    // JSON object text
  std::string prev_hash;  // hash chain, filled by the store
  std::string hash;
};

// Expired challenges are kept this long before they are deleted, so that a
// late answer reads "expired" rather than "no such challenge".
inline constexpr core::Seconds kExpiredChallengeGrace = 600;
// Expired challenges each insert deletes at most (bounded work per request;
// more than one, so a backlog shrinks while challenges are being created).
inline constexpr int kPurgeOnInsert = 8;

// One pending step-up. Single use: consume_challenge marks it used exactly
// once, however many requests race for it.
struct Challenge {
  std::string id;                 // random opaque id (primary key)
  std::string session_public_id;  // the session that asked; only it may verify
  std::int64_t user_id = 0;
  std::string target_level;  // level name
  std::optional<core::Seconds> max_age;
  std::string methods_json;  // JSON array of offered methods
  std::string return_to;     // validated relative path or allowed absolute URL ("" none)
  std::string reason;
  std::string transaction_json;    // "" or JSON object (PSD2 dynamic linking)
  std::string webauthn_challenge;  // "" or base64url random challenge
  core::UnixTime created_at = 0;
  core::UnixTime expires_at = 0;
  core::UnixTime used_at = 0;  // 0: unused
};

class Store {
 public:
  virtual ~Store() = default;

  // Users
  virtual Result<User> create_user(std::string_view username, std::string_view password_hash,
                                   core::UnixTime now) = 0;
  virtual Result<User> find_user(std::string_view username) = 0;
  virtual Result<User> find_user_by_id(std::int64_t id) = 0;
  virtual Result<std::vector<User>> list_users() = 0;  // by id
  virtual Status set_password_hash(std::int64_t user_id, std::string_view hash) = 0;

  // Factors
  virtual Status add_factor(const Factor& f) = 0;
  virtual Result<std::vector<Factor>> list_factors(std::int64_t user_id) = 0;  // oldest first
  virtual Result<Factor> find_factor(std::string_view id) = 0;
  virtual Status update_factor(const Factor& f) = 0;  // by id: all mutable columns
  virtual Status delete_factor(std::string_view id) = 0;

  // Factor attempts: a lockout that survives restarts and cannot be raced.
  // Reserves one guess BEFORE the caller checks the code, in one write
  // transaction: if locked_until > now, nothing changes and `reserved` is
  // false (the caller refuses without looking at the code); otherwise
  // `failures` is incremented and, when it reaches policy.max_failures,
  // locked_until is set to now + lock_delay(policy, failures) right there,
  // never lowered (MAX with the stored value). So however many attempts race
  // (threads, processes, nodes), at most max_failures are reserved per lock
  // window, and the lock depends on the count, not on the order of writes.
  // The caller then calls factor_succeeded (clears the count and the lock)
  // or leaves the row as is. kNotFound if no such factor.
  virtual Result<FactorAttempt> reserve_factor_attempt(std::string_view id, core::UnixTime now,
                                                       const LockoutPolicy& policy) = 0;
  // Success: failures=0, locked_until=0 (a lock set by this attempt's own
  // reservation, the last of its window, is lifted), last_used_at=now,
  // counter=new_counter and (when given) secret=*new_secret, ONLY IF the
  // stored counter still equals expected_counter (compare-and-set); else
  // kConflict (a concurrent or replayed use) and nothing changes. kNotFound
  // if no such factor.
  virtual Status factor_succeeded(std::string_view id, core::UnixTime now,
                                  std::int64_t expected_counter, std::int64_t new_counter,
                                  std::optional<std::string> new_secret) = 0;
  // Operator unlock: failures=0, locked_until=0 for every factor of the user.
  // kNotFound if no such user.
  virtual Status unlock_factors(std::int64_t user_id) = 0;

  // Sessions. Rotation replaces the id hash atomically: the old id is dead
  // the moment the call returns, and so is every refresh token issued under
  // it (rotate_session_id and elevate_session mark the session's current
  // refresh tokens revoked, as revoke_refresh_family does, in the same
  // transaction; a later exchange of one is a reuse); a revoked session cannot be rotated
  // (kNotFound). update_session never changes id_hash and never clears
  // revoked_at (revocation is sticky). revoke_session on an already revoked
  // session succeeds and keeps the first revocation time. list_sessions
  // returns live and revoked sessions, newest first.
  virtual Status create_session(const Session& s) = 0;
  virtual Result<Session> find_session(std::string_view id_hash) = 0;
  virtual Result<Session> find_session_by_public_id(std::string_view public_id) = 0;
  virtual Result<std::vector<Session>> list_sessions(std::optional<std::int64_t> user_id) = 0;
  virtual Status update_session(const Session& s) = 0;  // by public_id
  virtual Status rotate_session_id(std::string_view public_id, std::string_view new_id_hash) = 0;
  // A level change in one transaction: the new methods, last-seen and idle
  // deadline, and the new id hash (the old id and the refresh tokens issued
  // before die in the same commit, so a crash can never leave an elevated
  // session reachable by its old id or a refresh token from before).
  virtual Status elevate_session(const Session& s, std::string_view new_id_hash) = 0;
  virtual Status revoke_session(std::string_view public_id, core::UnixTime now) = 0;
  virtual Status touch_session(std::string_view public_id, core::UnixTime last_seen,
                               core::UnixTime idle_expires_at) = 0;
  // Many touches in one transaction (sessions that no longer exist are
  // skipped). Never moves last_seen_at backwards.
  struct Touch {
    std::string public_id;
    core::UnixTime last_seen = 0;
    core::UnixTime idle_expires_at = 0;
  };
  virtual Status touch_sessions(const std::vector<Touch>& touches) = 0;
  // Revokes every live session of the user except `keep_public_id` (may be
  // ""), and the current refresh tokens of every other session of the user
  // (as revoke_refresh_family does), in one transaction. Returns how many
  // sessions it revoked. kNotFound if no such user.
  virtual Result<int> revoke_user_sessions(std::int64_t user_id, std::string_view keep_public_id,
                                           core::UnixTime now) = 0;

  // Refresh tokens. rotate_refresh_token marks `old_hash` rotated and inserts
  // `next` in one transaction; it fails with kConflict if `old_hash` was
  // already rotated (a concurrent or replayed use).
  virtual Status add_refresh_token(const RefreshToken& t) = 0;
  virtual Result<RefreshToken> find_refresh_token(std::string_view token_hash) = 0;
  // A non-zero `session_idle_expires_at` also records the use as session
  // activity (last_seen_at = now, idle deadline = that value) in the same
  // transaction.
  virtual Status rotate_refresh_token(std::string_view old_hash, const RefreshToken& next,
                                      core::UnixTime now,
                                      core::UnixTime session_idle_expires_at = 0) = 0;
  // Sets rotated_at = kRefreshTokenRevoked on every current token of the
  // session (rows are kept for reuse detection). kNotFound if no such session.
  virtual Status revoke_refresh_family(std::string_view session_public_id) = 0;

  // Challenges (step-up and WebAuthn registration). add_challenge: kConflict
  // on a duplicate id, kNotFound if the session or user does not exist.
  // In the same transaction it deletes at most kPurgeOnInsert challenges (of
  // any session) that expired before created_at - kExpiredChallengeGrace, and,
  // when max_per_session > 0, evicts challenges of the same session so that at
  // most max_per_session remain with the new one: used or expired ones first,
  // then the oldest open ones. An evicted challenge is deleted (it can no
  // longer be verified). Cheap: both deletes walk an index.
  virtual Status add_challenge(const Challenge& c, int max_per_session = 0) = 0;
  virtual Result<Challenge> find_challenge(std::string_view id) = 0;
  // Marks the challenge used if it is unused: kConflict if it was already
  // used, kNotFound if absent. Expiry is the caller's check (it knows the
  // policy); this only guarantees single use.
  virtual Status consume_challenge(std::string_view id, core::UnixTime now) = 0;
  // Deletes at most `limit` challenges that expired before `cutoff`, oldest
  // expiry first (housekeeping; bounded work per call); returns how many.
  virtual Result<int> purge_challenges(core::UnixTime cutoff, int limit = 1000) = 0;
  // Rows in the challenges table (tests and metrics).
  virtual Result<std::int64_t> count_challenges() = 0;

  // Passkey sign-in challenges (no session or user yet). consume_login_challenge
  // returns the WebAuthn challenge once: kConflict when used or expired,
  // kNotFound when absent (also: purged or evicted). add_login_challenge
  // deletes at most kPurgeOnInsert rows that expired before
  // now - kExpiredChallengeGrace and, when max_total > 0, evicts the oldest
  // rows so that at most max_total remain with the new one (anyone can create
  // these: the table needs a global bound).
  virtual Status add_login_challenge(std::string_view id, std::string_view webauthn_challenge,
                                     core::UnixTime now, core::UnixTime expires_at,
                                     int max_total = 0) = 0;
  virtual Result<std::string> consume_login_challenge(std::string_view id, core::UnixTime now) = 0;
  // As purge_challenges, for the login challenges.
  virtual Result<int> purge_login_challenges(core::UnixTime cutoff, int limit = 1000) = 0;
  virtual Result<std::int64_t> count_login_challenges() = 0;

  // Signing keys
  virtual Status add_signing_key(const SigningKey& k) = 0;
  virtual Result<std::vector<SigningKey>> list_signing_keys() = 0;  // newest first
  virtual Status retire_signing_key(std::string_view kid, core::UnixTime retired_at,
                                    core::UnixTime publish_until) = 0;

  // Audit (append-only hash chain; verify lives in service/)
  virtual Result<AuditEvent> append_audit(const AuditEvent& e) = 0;
  // Rows with seq > after_seq, ascending, at most `limit` (limit <= 0: none).
  // The hash rule is in store/audit_hash.h.
  virtual Result<std::vector<AuditEvent>> list_audit(std::int64_t after_seq, int limit) = 0;
  // The LAST `limit` rows (ascending by seq), only those whose subject equals
  // `subject` when given (limit <= 0: none). For `stepup audit tail --user`.
  virtual Result<std::vector<AuditEvent>> list_audit_filtered(std::optional<std::string> subject,
                                                              int limit) = 0;

  // Health
  virtual Status ping() = 0;

  // Write transactions committed, and the writes they carried (group commit
  // puts concurrent writes in one transaction). For /metrics.
  struct WriteStats {
    std::uint64_t commits = 0;
    std::uint64_t writes = 0;
  };
  virtual WriteStats write_stats() const { return {}; }
};

// Opens (creating if needed) the SQLite database at `path` and migrates it.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path, core::Seconds busy_timeout);

}  // namespace stepup::store
