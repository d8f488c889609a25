// The pure decision: Policy::match over the 50-rule table of bench/rules.json
// and core::decide() for the rule it finds, plus the level computation the
// cookie path runs per request (LevelTable::attainments).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "bench_common.h"
#include "core/canonical.h"
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

// The same table compiled for an upstream whose path semantics are known
// (one reading) against the default unknown (up to four readings).
const core::Policy& policy_for(core::PathSemantics sem) {
  static std::vector<std::unique_ptr<core::Policy>> made;
  std::vector<core::RuleSpec> specs;
  for (const auto& r : cfg().policy.rules()) specs.push_back(r.spec);
  made.push_back(std::make_unique<core::Policy>(cfg().levels, std::move(specs),
                                                cfg().policy.default_rule().spec, sem));
  return *made.back();
}

void BM_PolicyMatchKnownSemantics(benchmark::State& state) {
  static const core::Policy& policy =
      policy_for({core::PathCase::kSensitive, core::TrailingSlash::kSignificant});
  const auto& req = kRequests[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(&policy.match(req));
}
BENCHMARK(BM_PolicyMatchKnownSemantics)->Arg(2)->Arg(3);

void BM_PolicyMatchUnknownSemantics(benchmark::State& state) {
  static const core::Policy& policy = policy_for({});
  const auto& req = kRequests[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(&policy.match(req));
}
BENCHMARK(BM_PolicyMatchUnknownSemantics)->Arg(2)->Arg(3);

// The canonical request of a raw target: a plain path, one with escapes and
// dot segments, and one refused.
void BM_CanonicalPath(benchmark::State& state) {
  static const char* kTargets[] = {"/app/accounts/42/history?page=2",
                                   "/app/x/../accounts/%34%32/./history",
                                   "/app/accounts%2f42"};
  const char* t = kTargets[state.range(0)];
  for (auto _ : state) benchmark::DoNotOptimize(core::canonical_path(t, "bank.local"));
  state.SetLabel(t);
}
BENCHMARK(BM_CanonicalPath)->DenseRange(0, 2);

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
