// Sessions: sign-in sessions and the tokens issued for them.
//
// A session is a server-side record (store::Session) named by a 256-bit random
// id that only the client holds (the store keeps its SHA-256). Each session
// carries the methods proven in it, each with its time; the levels it holds are
// computed from those at every use (core::LevelTable), so an elevation lapses
// by itself. Access tokens are JWTs whose exp never passes the moment their
// level lapses; refresh tokens are opaque, stored hashed, rotated on use.
//
// Thread-safe: all state lives in the store; the key ring is immutable.
#pragma once
#include <stepup/token.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/level.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/error.h"
#include "service/keyring.h"
#include "store/store.h"

namespace stepup::service {

struct ClientInfo {
  std::string ip;
  std::string user_agent;
};

struct IssuedTokens {
  std::string access_token;
  core::Seconds expires_in = 0;
  std::string refresh_token;  // empty when not issued
};

// What a session holds right now, in contract words.
struct SessionView {
  std::string id;  // public id
  std::string subject;
  std::string acr;
  std::vector<std::string> amr;
  core::UnixTime auth_time = 0;
  std::optional<core::UnixTime> elevated_until;
  core::UnixTime expires_at = 0;
  core::UnixTime idle_expires_at = 0;
};

struct NewSession {
  std::string cookie_value;  // the secret session id: goes into the cookie only
  store::Session session;
  IssuedTokens tokens;
};

// A caller whose credential checked out.
struct Authenticated {
  enum class Via { kCookie, kBearer } via = Via::kCookie;
  store::Session session;
  std::optional<AccessClaims> claims;  // for kBearer
  std::vector<core::Attainment> held;  // levels held now
  std::string acr;                     // highest held level's acr ("" if none)
  std::vector<std::string> amr;
  core::UnixTime auth_time = 0;
};

class Sessions {
 public:
  Sessions(const config::Config& cfg, store::Store& store, const Clock& clock,
           std::shared_ptr<const KeyRing> keys, Audit& audit);
  ~Sessions();  // stores the idle touches still queued

  // Starts a session for `user` with the given proofs and issues tokens.
  Result<NewSession> create(const store::User& user, std::vector<core::MethodProof> methods,
                            const ClientInfo& client);

  // Session cookie -> live session (revoked, expired and idle sessions are
  // refused). Refreshes the idle timeout at most once a minute: the new
  // deadline counts at once on this node and is written to the store by a
  // background thread, many sessions per transaction, so a decision never
  // waits for a disk flush. A crash can lose the touches of the last moments,
  // which only makes those sessions time out earlier (the safe direction).
  Result<Authenticated> from_cookie(std::string_view cookie_value);
  // Returns once every idle touch queued before the call is in the store.
  void flush_touches();
  // Bearer access token -> verified claims of a live session.
  Result<Authenticated> from_bearer(std::string_view token);

  SessionView view(const store::Session& s) const;

  // Exchanges a refresh token for a new pair (rotation, reuse detection).
  Result<IssuedTokens> refresh(std::string_view refresh_token, const ClientInfo& client);

  // Revokes a session and its refresh tokens. `event` names the audit event.
  Result<void> revoke(const store::Session& s, std::string_view event, const ClientInfo& client);

  // Replaces the session id (after any level change): the old id is dead when
  // this returns. Returns the new cookie value.
  Result<std::string> rotate_id(const store::Session& s);
  // Records a level change (new method proofs in `s`) and rotates the id in
  // one store transaction. Returns the new cookie value.
  Result<std::string> elevate(const store::Session& s);

  // Access + refresh token for the session's current state.
  Result<IssuedTokens> issue(const store::Session& s, bool with_refresh);

  Result<std::vector<store::Session>> live_sessions_of(std::int64_t user_id);

  // Drops every node-local cached session and token verdict (all threads, on
  // their next use). Called on revocation, id rotation and factor changes so
  // they take effect at once on this node; other nodes (and the CLI) are seen
  // within kCacheTtl.
  void invalidate_caches() { epoch_.fetch_add(1, std::memory_order_release); }
  static constexpr core::Seconds kCacheTtl = 1;

  const KeyRing& keys() const { return *keys_; }
  const TokenVerifier& verifier() const { return *verifier_; }
  const config::Config& config() const { return cfg_; }

  // Levels held by the proofs at `now` and the methods behind them.
  static void held_levels(const core::LevelTable& levels,
                          const std::vector<core::MethodProof>& proofs, core::UnixTime now,
                          Authenticated& out);

 private:
  Result<Authenticated> check_live(store::Session s, Authenticated::Via via, core::UnixTime now);
  // A session read from the store, with any idle touch not yet stored applied.
  void apply_pending_touch(store::Session& s);
  std::string sign_access_token(const store::Session& s, const Authenticated& a, core::UnixTime now,
                                core::UnixTime exp) const;

  const config::Config& cfg_;
  store::Store& store_;
  const Clock& clock_;
  std::shared_ptr<const KeyRing> keys_;
  std::unique_ptr<TokenVerifier> verifier_;
  Audit& audit_;
  std::atomic<std::uint64_t> epoch_{1};
  class Toucher;
  std::unique_ptr<Toucher> toucher_;
};

}  // namespace stepup::service
