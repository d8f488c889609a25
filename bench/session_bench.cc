// The credential side of a gateway request: TokenVerifier (JWS + claims),
// the SQLite session lookups each path does, and the whole
// service::Enforcement::decide() for a Bearer token and for a cookie, on a
// real SQLite file (WAL) holding kSessions live sessions: once with one
// credential repeated (the per-thread caches of service::Sessions hit) and
// once cycling through kSessions distinct ones (more than the cache holds,
// so every call verifies / reads the store). The SQLite file lives on tmpfs
// when /dev/shm exists: seeding is one fsync'ed transaction per session, and
// reads (what is measured) do not touch the disk either way.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "service/runtime.h"

namespace {

using namespace stepup;

constexpr int kSessions = 10000;  // > the 8192-entry per-thread caches

struct World {
  bench::TempDir dir{std::filesystem::exists("/dev/shm") ? "/dev/shm" : ""};
  std::unique_ptr<service::Runtime> rt;
  std::string cookie;  // of the session the tokens belong to
  std::string access_token;
  std::vector<std::string> id_hashes;  // of every seeded session
  std::vector<std::string> public_ids;
  std::vector<std::string> cookies;  // of every seeded session
  std::vector<std::string> tokens;   // one access token per seeded session

  World() {
    rt = std::make_unique<service::Runtime>(bench::load_bench_config(dir.path()));
    auto& store = rt->store();
    const auto now = rt->clock().now();
    auto user = store.create_user("alice", "$argon2id$unused", now);
    if (!user) throw std::runtime_error("create_user");
    auto s = rt->sessions().create(*user, {{"pwd", now}}, {"127.0.0.1", "bench"});
    if (!s) throw std::runtime_error("create session");
    cookie = s->cookie_value;
    access_token = s->tokens.access_token;
    for (int i = 0; i < kSessions; ++i) {
      store::Session row = s->session;
      cookies.push_back(crypto::random_token(32));
      row.id_hash = crypto::sha256_hex(cookies.back());
      row.public_id = crypto::random_token(12);
      if (!store.create_session(row)) throw std::runtime_error("seed session");
      id_hashes.push_back(row.id_hash);
      public_ids.push_back(row.public_id);
      auto t = rt->sessions().issue(row, false);
      if (!t) throw std::runtime_error("issue");
      tokens.push_back(t->access_token);
    }
  }
};

World& world() {
  static World w;
  return w;
}

// JWS verify + claim checks (iss, aud, exp, nbf, iat, stepup claims).
void BM_TokenVerifierVerify(benchmark::State& state) {
  auto& w = world();
  const auto& verifier = w.rt->sessions().verifier();
  const auto now = w.rt->clock().now();
  for (auto _ : state) {
    auto c = verifier.verify(w.access_token, now);
    if (!c) state.SkipWithError("token did not verify");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_TokenVerifierVerify);

// The cookie path's store read (by SHA-256 of the cookie), cycling over
// every seeded session so the lookups are not one hot row.
void BM_StoreFindSession(benchmark::State& state) {
  auto& w = world();
  std::size_t i = 0;
  for (auto _ : state) {
    auto s = w.rt->store().find_session(w.id_hashes[i++ % w.id_hashes.size()]);
    if (!s) state.SkipWithError("not found");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_StoreFindSession);

// The Bearer path's revocation check (by the token's sid).
void BM_StoreFindSessionByPublicId(benchmark::State& state) {
  auto& w = world();
  std::size_t i = 0;
  for (auto _ : state) {
    auto s = w.rt->store().find_session_by_public_id(w.public_ids[i++ % w.public_ids.size()]);
    if (!s) state.SkipWithError("not found");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_StoreFindSessionByPublicId);

// Hashing the cookie before the lookup (hex SHA-256).
void BM_CookieSha256Hex(benchmark::State& state) {
  auto& w = world();
  for (auto _ : state) {
    auto h = crypto::sha256_hex(w.cookie);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_CookieSha256Hex);

// Whole decision below HTTP for the request the HTTP benchmark sends.
// range 0: Bearer (verify + store read + decide); 1: cookie (store read +
// levels + decide).
void BM_EnforcementDecide(benchmark::State& state) {
  auto& w = world();
  auto& enforcement = w.rt->enforcement();
  const core::RequestFacts req{"GET", "bank.local", "/app/accounts/42/history"};
  service::Credential cred;
  if (state.range(0) == 0)
    cred.bearer = w.access_token;
  else
    cred.cookie = w.cookie;
  for (auto _ : state) {
    auto v = enforcement.decide(req, cred);
    if (!v || v->decision.verdict != core::Verdict::kAllow) state.SkipWithError("not allowed");
    benchmark::DoNotOptimize(v);
  }
  state.SetLabel(state.range(0) == 0 ? "bearer" : "cookie");
}
BENCHMARK(BM_EnforcementDecide)->Arg(0)->Arg(1);

// The same with kSessions distinct credentials in turn: every Bearer call
// verifies a signature and reads the session, every cookie call hashes the
// cookie and reads the store (the caches never hit).
void BM_EnforcementDecideDistinct(benchmark::State& state) {
  auto& w = world();
  auto& enforcement = w.rt->enforcement();
  const core::RequestFacts req{"GET", "bank.local", "/app/accounts/42/history"};
  const auto& creds = state.range(0) == 0 ? w.tokens : w.cookies;
  // Carries on across repetitions: restarting at 0 would find the first
  // credentials still in the per-thread caches.
  static std::size_t next[2] = {0, 0};
  std::size_t& i = next[state.range(0) == 0 ? 0 : 1];
  for (auto _ : state) {
    service::Credential cred;
    const std::string& c = creds[i++ % creds.size()];
    if (state.range(0) == 0)
      cred.bearer = c;
    else
      cred.cookie = c;
    auto v = enforcement.decide(req, cred);
    if (!v || v->decision.verdict != core::Verdict::kAllow) state.SkipWithError("not allowed");
    benchmark::DoNotOptimize(v);
  }
  state.SetLabel(state.range(0) == 0 ? "bearer, 10k distinct" : "cookie, 10k distinct");
}
BENCHMARK(BM_EnforcementDecideDistinct)->Arg(0)->Arg(1);

}  // namespace
