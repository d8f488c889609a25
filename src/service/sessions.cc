#include "service/sessions.h"

#include <algorithm>
#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace stepup::service {

namespace json = boost::json;

namespace {
constexpr core::Seconds kTouchEvery = 60;    // idle-timeout refresh granularity
constexpr std::size_t kSessionIdBytes = 32;  // 256 bits
constexpr std::size_t kRefreshBytes = 32;
constexpr std::size_t kCacheEntries = 8192;  // per I/O thread, per kind

// Per-thread caches for the hot path: no lock is shared between threads.
// A cached verdict is only ever a shortcut for work whose inputs cannot
// change without an epoch bump (revocation, rotation) or the TTL passing;
// level, elevation and max_age are still computed from `now` every time.
struct CachedSession {
  store::Session session;
  core::UnixTime fetched_at = 0;
};
struct CachedToken {
  AccessClaims claims;
};
struct ThreadCache {
  const void* owner = nullptr;
  std::uint64_t epoch = 0;
  std::unordered_map<std::string, CachedSession> by_cookie;     // cookie value -> session
  std::unordered_map<std::string, CachedSession> by_public_id;  // sid -> session
  std::unordered_map<std::string, CachedToken> tokens;          // token -> verified claims

  void sync(const void* who, std::uint64_t current) {
    if (owner != who || epoch != current) {
      owner = who;
      epoch = current;
      by_cookie.clear();
      by_public_id.clear();
      tokens.clear();
    }
  }
  template <class Map>
  static void bound(Map& m) {
    if (m.size() >= kCacheEntries) m.clear();  // crude but O(1) amortised and allocation-light
  }
};
thread_local ThreadCache tl_cache;

}  // namespace

// Idle-deadline pushes, written to the store off the decision path. Touches
// are kept per session (the latest wins) until a background thread stores
// them, all queued ones in one transaction. While queued or being written
// they are still visible to readers through pending(), so a session read
// from the store in that window is not mistaken for an idle one.
class Sessions::Toucher {
 public:
  explicit Toucher(store::Store& store) : store_(store), thread_([this] { loop(); }) {}
  ~Toucher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();  // the loop stores what is queued before it ends
  }

  void push(const std::string& public_id, core::UnixTime last_seen, core::UnixTime idle) {
    {
      std::lock_guard lock(mu_);
      auto& t = queued_[public_id];
      if (t.last_seen >= last_seen) return;
      t = store::Store::Touch{public_id, last_seen, idle};
      ++pushed_;
      any_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }

  // The newest touch of `public_id` not yet known to be stored.
  std::optional<store::Store::Touch> pending(const std::string& public_id) {
    // Nothing queued or being written (the usual case): no lock taken on the
    // request path. A push that is not visible yet here would not have been
    // visible under the lock either.
    if (!any_.load(std::memory_order_acquire)) return std::nullopt;
    std::lock_guard lock(mu_);
    std::optional<store::Store::Touch> best;
    for (const auto* m : {&writing_, &queued_}) {
      auto it = m->find(public_id);
      if (it != m->end() && (!best || it->second.last_seen > best->last_seen)) best = it->second;
    }
    return best;
  }

  void flush() {
    std::unique_lock lock(mu_);
    const auto target = pushed_;
    cv_.wait(lock, [&] { return stored_ >= target; });
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queued_.empty(); });
      if (queued_.empty() && stop_) return;
      writing_.swap(queued_);
      const auto upto = pushed_;
      std::vector<store::Store::Touch> batch;
      batch.reserve(writing_.size());
      for (const auto& [id, t] : writing_) batch.push_back(t);
      lock.unlock();
      // A failure (disk full, busy) drops these pushes: the sessions keep
      // their stored deadline, which only ends them sooner.
      (void)store_.touch_sessions(batch);
      lock.lock();
      writing_.clear();
      any_.store(!queued_.empty(), std::memory_order_release);
      stored_ = upto;
      cv_.notify_all();
    }
  }

  store::Store& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, store::Store::Touch> queued_;
  std::unordered_map<std::string, store::Store::Touch> writing_;
  std::atomic<bool> any_{false};  // queued_ or writing_ is not empty
  std::uint64_t pushed_ = 0;      // touches accepted
  std::uint64_t stored_ = 0;      // of those, written (or dropped after a failure)
  bool stop_ = false;
  std::thread thread_;  // last: started once the members above exist
};

Sessions::Sessions(const config::Config& cfg, store::Store& store, const Clock& clock,
                   std::shared_ptr<const KeyRing> keys, Audit& audit)
    : cfg_(cfg), store_(store), clock_(clock), keys_(std::move(keys)), audit_(audit) {
  auto v = TokenVerifier::create(keys_->jwks_json(), cfg_.tokens.issuer, cfg_.tokens.audience,
                                 cfg_.tokens.clock_skew);
  if (!v) throw std::runtime_error("token verifier: " + v.error());
  verifier_ = std::make_unique<TokenVerifier>(std::move(*v));
  toucher_ = std::make_unique<Toucher>(store_);
}

Sessions::~Sessions() = default;

void Sessions::flush_touches() { toucher_->flush(); }

void Sessions::apply_pending_touch(store::Session& s) {
  if (auto t = toucher_->pending(s.public_id); t && t->last_seen > s.last_seen_at) {
    s.last_seen_at = t->last_seen;
    s.idle_expires_at = t->idle_expires_at;
  }
}

void Sessions::held_levels(const core::LevelTable& levels,
                           const std::vector<core::MethodProof>& proofs, core::UnixTime now,
                           Authenticated& out) {
  out.held = levels.attainments(proofs, now);
  out.acr.clear();
  out.amr.clear();
  out.auth_time = 0;
  if (out.held.empty()) return;
  const auto& top = out.held.back();
  out.acr = levels.at(top.level).acr;
  out.auth_time = top.reached_at;
  // amr: the methods of the sets that make the held levels, so a lapsed
  // second factor is not advertised to resource servers.
  for (const auto& a : out.held) {
    for (const auto& set : levels.at(a.level).reached_by) {
      bool all = true;
      core::UnixTime reached = 0;
      for (const auto& m : set) {
        auto it = std::find_if(proofs.begin(), proofs.end(),
                               [&](const core::MethodProof& p) { return p.method == m; });
        if (it == proofs.end()) {
          all = false;
          break;
        }
        reached = std::max(reached, it->at);
      }
      if (!all) continue;
      if (a.until != core::kNever && reached + (a.until - a.reached_at) <= now) continue;
      for (const auto& m : set) {
        if (std::find(out.amr.begin(), out.amr.end(), m) == out.amr.end()) out.amr.push_back(m);
      }
    }
  }
}

Result<NewSession> Sessions::create(const store::User& user, std::vector<core::MethodProof> methods,
                                    const ClientInfo& client) {
  const auto now = clock_.now();
  NewSession out;
  out.cookie_value = crypto::random_token(kSessionIdBytes);
  auto& s = out.session;
  s.id_hash = crypto::sha256_hex(out.cookie_value);
  s.public_id = crypto::random_token(12);
  s.user_id = user.id;
  s.subject = user.username;
  s.methods = std::move(methods);
  s.created_at = now;
  s.last_seen_at = now;
  s.expires_at = now + cfg_.sessions.absolute_timeout;
  s.idle_expires_at = std::min(now + cfg_.sessions.idle_timeout, s.expires_at);
  s.ip = client.ip;
  s.user_agent = client.user_agent.substr(0, 512);
  if (!store_.create_session(s)) return fail(ErrorCode::kUnavailable, "cannot store the session");
  auto tokens = issue(s, true);
  if (!tokens) return tl::unexpected(tokens.error());
  out.tokens = std::move(*tokens);
  return out;
}

Result<Authenticated> Sessions::check_live(store::Session s, Authenticated::Via via,
                                           core::UnixTime now) {
  if (s.revoked_at != 0) return fail(ErrorCode::kInvalidToken, "The session was revoked");
  if (s.expires_at <= now) return fail(ErrorCode::kInvalidToken, "The session has expired");
  if (via == Authenticated::Via::kCookie && s.idle_expires_at <= now) {
    return fail(ErrorCode::kInvalidToken, "The session timed out after inactivity");
  }
  Authenticated a;
  a.via = via;
  a.session = std::move(s);
  return a;
}

Result<Authenticated> Sessions::from_cookie(std::string_view cookie_value) {
  if (cookie_value.empty() || cookie_value.size() > 128) {
    return fail(ErrorCode::kInvalidToken, "No valid session");
  }
  const auto now = clock_.now();
  auto& cache = tl_cache;
  cache.sync(this, epoch_.load(std::memory_order_acquire));
  store::Session sess;
  auto hit = cache.by_cookie.find(std::string(cookie_value));
  if (hit != cache.by_cookie.end() && now - hit->second.fetched_at < kCacheTtl) {
    sess = hit->second.session;
  } else {
    const std::string hash = crypto::sha256_hex(cookie_value);
    auto s = store_.find_session(hash);
    if (!s) {
      if (s.error() == store::StoreError::kNotFound) {
        return fail(ErrorCode::kInvalidToken, "No valid session");
      }
      return fail(ErrorCode::kUnavailable, "The session store is unavailable");
    }
    sess = std::move(*s);
    apply_pending_touch(sess);
    if (sess.idle_expires_at <= now && sess.revoked_at == 0) {
      // Looks idle: a touch may have been stored between the read and the
      // pending check (the toucher forgets a touch only after its commit), so
      // one more read sees it. Rare: only sessions that look timed out.
      if (auto again = store_.find_session(hash)) {
        sess = std::move(*again);
        apply_pending_touch(sess);
      }
    }
    ThreadCache::bound(cache.by_cookie);
    cache.by_cookie[std::string(cookie_value)] = CachedSession{sess, now};
  }
  auto a = check_live(std::move(sess), Authenticated::Via::kCookie, now);
  if (!a) return a;
  auto& live = a->session;
  if (now - live.last_seen_at >= kTouchEvery) {
    live.last_seen_at = now;
    live.idle_expires_at = std::min(now + cfg_.sessions.idle_timeout, live.expires_at);
    toucher_->push(live.public_id, live.last_seen_at, live.idle_expires_at);
    if (auto it = cache.by_cookie.find(std::string(cookie_value)); it != cache.by_cookie.end()) {
      it->second.session.last_seen_at = live.last_seen_at;
      it->second.session.idle_expires_at = live.idle_expires_at;
    }
  }
  held_levels(cfg_.levels, live.methods, now, *a);
  return a;
}

Result<Authenticated> Sessions::from_bearer(std::string_view token) {
  const auto now = clock_.now();
  auto& cache = tl_cache;
  cache.sync(this, epoch_.load(std::memory_order_acquire));
  AccessClaims claims;
  auto hit = cache.tokens.find(std::string(token));
  if (hit != cache.tokens.end()) {
    // Signature and static claims were verified; time still moves.
    if (hit->second.claims.exp <= now - cfg_.tokens.clock_skew) {
      cache.tokens.erase(hit);
      return fail(ErrorCode::kInvalidToken, "The access token is not valid: expired");
    }
    claims = hit->second.claims;
  } else {
    auto verified = verifier_->verify(token, now);
    if (!verified) {
      return fail(ErrorCode::kInvalidToken,
                  std::string("The access token is not valid: ") + to_string(verified.error()));
    }
    claims = std::move(*verified);
    ThreadCache::bound(cache.tokens);
    cache.tokens.emplace(std::string(token), CachedToken{claims});
  }
  store::Session sess;
  auto sh = cache.by_public_id.find(claims.sid);
  if (sh != cache.by_public_id.end() && now - sh->second.fetched_at < kCacheTtl) {
    sess = sh->second.session;
  } else {
    auto s = store_.find_session_by_public_id(claims.sid);
    if (!s) {
      if (s.error() == store::StoreError::kNotFound) {
        return fail(ErrorCode::kInvalidToken, "The token's session does not exist");
      }
      return fail(ErrorCode::kUnavailable, "The session store is unavailable");
    }
    sess = std::move(*s);
    apply_pending_touch(sess);
    ThreadCache::bound(cache.by_public_id);
    cache.by_public_id[claims.sid] = CachedSession{sess, now};
  }
  // Clock skew is for verifiers on other machines; this server's clock is the
  // one that issued the token, so an expired token is simply expired.
  if (claims.exp <= now) {
    return fail(ErrorCode::kInvalidToken, "The access token is not valid: expired");
  }
  auto a = check_live(std::move(sess), Authenticated::Via::kBearer, now);
  if (!a) return a;
  // A bearer token asserts exactly its acr, from auth_time, until its exp.
  auto level = cfg_.levels.find(claims.acr);
  if (!level) return fail(ErrorCode::kInvalidToken, "The token's acr is not a known level");
  a->held.clear();
  a->held.push_back(core::Attainment{*level, claims.auth_time, claims.exp});
  a->acr = claims.acr;
  a->amr = claims.amr;
  a->auth_time = claims.auth_time;
  a->claims = std::move(claims);
  return a;
}

SessionView Sessions::view(const store::Session& s) const {
  const auto now = clock_.now();
  Authenticated a;
  held_levels(cfg_.levels, s.methods, now, a);
  SessionView v;
  v.id = s.public_id;
  v.subject = s.subject;
  v.acr = a.acr;
  v.amr = a.amr;
  v.auth_time = a.auth_time;
  for (const auto& h : a.held) {
    if (h.until != core::kNever) {
      v.elevated_until = v.elevated_until ? std::max(*v.elevated_until, h.until) : h.until;
    }
  }
  v.expires_at = s.expires_at;
  v.idle_expires_at = s.idle_expires_at;
  return v;
}

std::string Sessions::sign_access_token(const store::Session& s, const Authenticated& a,
                                        core::UnixTime now, core::UnixTime exp) const {
  json::object c;
  c["iss"] = cfg_.tokens.issuer;
  c["aud"] = cfg_.tokens.audience;
  c["sub"] = s.subject;
  c["sid"] = s.public_id;
  c["iat"] = now;
  c["exp"] = exp;
  c["jti"] = crypto::random_token(16);
  c["acr"] = a.acr;
  json::array amr;
  for (const auto& m : a.amr) amr.emplace_back(m);
  c["amr"] = std::move(amr);
  c["auth_time"] = a.auth_time;
  return keys_->signer().sign_compact(json::serialize(c));
}

Result<IssuedTokens> Sessions::issue(const store::Session& s, bool with_refresh) {
  const auto now = clock_.now();
  Authenticated a;
  held_levels(cfg_.levels, s.methods, now, a);
  if (a.held.empty()) return fail(ErrorCode::kInvalidToken, "The session holds no level");
  core::UnixTime exp = std::min(now + cfg_.tokens.access_ttl, s.expires_at);
  // Never assert a level past the moment it lapses.
  exp = std::min(exp, a.held.back().until);
  IssuedTokens t;
  t.access_token = sign_access_token(s, a, now, exp);
  t.expires_in = exp - now;
  if (with_refresh) {
    t.refresh_token = crypto::random_token(kRefreshBytes);
    store::RefreshToken r;
    r.token_hash = crypto::sha256_hex(t.refresh_token);
    r.session_public_id = s.public_id;
    r.family = s.public_id;
    r.created_at = now;
    r.expires_at = std::min(now + cfg_.tokens.refresh_ttl, s.expires_at);
    if (!store_.add_refresh_token(r)) {
      return fail(ErrorCode::kUnavailable, "cannot store the refresh token");
    }
  }
  return t;
}

Result<IssuedTokens> Sessions::refresh(std::string_view refresh_token, const ClientInfo& client) {
  const auto now = clock_.now();
  if (refresh_token.empty() || refresh_token.size() > 128) {
    return fail(ErrorCode::kInvalidRefreshToken, "The refresh token is not valid");
  }
  const auto hash = crypto::sha256_hex(refresh_token);
  auto rt = store_.find_refresh_token(hash);
  if (!rt) {
    if (rt.error() == store::StoreError::kNotFound) {
      return fail(ErrorCode::kInvalidRefreshToken, "The refresh token is not valid");
    }
    return fail(ErrorCode::kUnavailable, "The token store is unavailable");
  }
  auto sess = store_.find_session_by_public_id(rt->session_public_id);
  if (!sess) return fail(ErrorCode::kInvalidRefreshToken, "The refresh token is not valid");
  apply_pending_touch(*sess);

  auto reused = [&]() -> Result<IssuedTokens> {
    const bool in_grace = cfg_.tokens.refresh_reuse_grace > 0 && rt->rotated_at > 0 &&
                          now - rt->rotated_at <= cfg_.tokens.refresh_reuse_grace;
    if (in_grace) {
      return fail(ErrorCode::kInvalidRefreshToken,
                  "The refresh token was just rotated by a concurrent request");
    }
    if (sess->revoked_at == 0) {
      (void)revoke(*sess, "refresh.reused", client);
    }
    return fail(ErrorCode::kRefreshTokenReused,
                "This refresh token was already used; the session has been revoked");
  };

  // A token of an ended session is simply invalid (logout, revoke, expiry);
  // reuse detection matters while the session is alive.
  if (sess->revoked_at != 0 || sess->expires_at <= now || sess->idle_expires_at <= now) {
    return fail(ErrorCode::kInvalidRefreshToken, "The session has ended");
  }
  if (rt->rotated_at != 0) return reused();
  if (rt->expires_at <= now) {
    return fail(ErrorCode::kInvalidRefreshToken, "The refresh token has expired");
  }

  auto t = issue(*sess, false);
  if (!t) return t;
  t->refresh_token = crypto::random_token(kRefreshBytes);
  store::RefreshToken next;
  next.token_hash = crypto::sha256_hex(t->refresh_token);
  next.session_public_id = sess->public_id;
  next.family = rt->family;
  next.created_at = now;
  next.expires_at = std::min(now + cfg_.tokens.refresh_ttl, sess->expires_at);
  // A refresh is activity: the idle timeout is pushed in the same commit.
  const auto idle = std::min(now + cfg_.sessions.idle_timeout, sess->expires_at);
  auto rot = store_.rotate_refresh_token(hash, next, now, idle);
  if (!rot) {
    if (rot.error() == store::StoreError::kConflict) {
      rt->rotated_at = now;  // lost a race with another use of the same token
      return reused();
    }
    return fail(ErrorCode::kUnavailable, "The token store is unavailable");
  }
  return t;
}

Result<void> Sessions::revoke(const store::Session& s, std::string_view event,
                              const ClientInfo& client) {
  const auto now = clock_.now();
  auto r = store_.revoke_session(s.public_id, now);
  if (!r && r.error() != store::StoreError::kNotFound) {
    return fail(ErrorCode::kUnavailable, "cannot revoke the session");
  }
  (void)store_.revoke_refresh_family(s.public_id);
  invalidate_caches();
  audit_.record(now, event, AuditContext{s.subject, s.public_id, client.ip, client.user_agent});
  return {};
}

Result<std::string> Sessions::rotate_id(const store::Session& s) {
  auto fresh = crypto::random_token(kSessionIdBytes);
  if (!store_.rotate_session_id(s.public_id, crypto::sha256_hex(fresh))) {
    return fail(ErrorCode::kUnavailable, "cannot rotate the session id");
  }
  invalidate_caches();
  return fresh;
}

Result<std::string> Sessions::elevate(const store::Session& s) {
  auto fresh = crypto::random_token(kSessionIdBytes);
  if (!store_.elevate_session(s, crypto::sha256_hex(fresh))) {
    return fail(ErrorCode::kUnavailable, "cannot update the session");
  }
  invalidate_caches();
  return fresh;
}

Result<std::vector<store::Session>> Sessions::live_sessions_of(std::int64_t user_id) {
  const auto now = clock_.now();
  auto all = store_.list_sessions(user_id);
  if (!all) return fail(ErrorCode::kUnavailable, "cannot list sessions");
  std::vector<store::Session> live;
  for (auto& s : *all) {
    apply_pending_touch(s);
    if (s.revoked_at == 0 && s.expires_at > now && s.idle_expires_at > now) {
      live.push_back(std::move(s));
    }
  }
  return live;
}

}  // namespace stepup::service
