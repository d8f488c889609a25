// The pure decision: Policy::match over the 50-rule table of bench/rules.json
// and core::decide() for the rule it finds, plus the level computation the
// cookie path runs per request (LevelTable::attainments).
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_common.h"
#include "core/decision.h"
#include "core/policy.h"

namespace {

using namespace stepup;

constexpr core::UnixTime kNow = 1'790'000'000;

const config::Config& cfg() {
  static bench::TempDir dir;
  static const config::Config c = bench::load_bench_config(dir.path());
  return c;
}

// Requests that stop at different depths of the table.
const core::RequestFacts kRequests[] = {
    {"GET", "bank.local", "/healthz"},                  // rule 0
    {"POST", "bank.local", "/api/v1/payments/123"},     // rule ~13
    {"GET", "bank.local", "/app/accounts/42/history"},  // rule 46: the HTTP benchmark's
    {"GET", "www.bank.local", "/somewhere/else/deep"},  // rule 49: the catch-all
};

void BM_PolicyMatch(benchmark::State& state) {
  const auto& req = kRequests[state.range(0)];
  const auto& policy = cfg().policy;
  int index = 0;
  for (auto _ : state) {
    const core::Rule& r = policy.match(req);
    index = r.index;
    benchmark::DoNotOptimize(&r);
  }
  state.SetLabel("rule " + std::to_string(index) + " " + std::string(req.path));
}
BENCHMARK(BM_PolicyMatch)->DenseRange(0, 3);

// decide() alone on the benchmark's rule, for an allowed caller.
void BM_Decide(benchmark::State& state) {
  const core::Rule& rule = cfg().policy.match(kRequests[2]);
  const core::Attainment held[] = {{0, kNow - 60, core::kNever}};
  core::Principal p{"alice", "q5b3dA9kXzV0mPq2", held};
  for (auto _ : state) {
    auto d = core::decide(rule, &p, kNow);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_Decide);

// match + decide: the whole pure part of a gateway request.
void BM_MatchAndDecide(benchmark::State& state) {
  const auto& policy = cfg().policy;
  const core::Attainment held[] = {{0, kNow - 60, core::kNever}};
  core::Principal p{"alice", "q5b3dA9kXzV0mPq2", held};
  const auto& req = kRequests[state.range(0)];
  for (auto _ : state) {
    auto d = core::decide(policy.match(req), &p, kNow);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_MatchAndDecide)->Arg(2)->Arg(3);

// Levels held from a session's method proofs (the cookie path computes this
// on every request; it allocates a vector).
void BM_LevelAttainments(benchmark::State& state) {
  const auto& levels = cfg().levels;
  const std::vector<core::MethodProof> proofs = {{"pwd", kNow - 600}, {"otp", kNow - 120}};
  for (auto _ : state) {
    auto a = levels.attainments(proofs, kNow);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_LevelAttainments);

}  // namespace
