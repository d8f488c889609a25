// TOTP verification (RFC 6238, window +-1): what one step-up code check costs.
#include <benchmark/benchmark.h>

#include <string>

#include "factors/totp.h"

namespace {

using namespace stepup;

// RFC 6238 Appendix B secret (ASCII "12345678901234567890", SHA-1).
const std::string kSecret = "12345678901234567890";
constexpr core::UnixTime kNow = 1'111'111'109;

void BM_TotpVerify(benchmark::State& state) {
  factors::TotpParams p;
  // range 0: the current step's code (found first); 1: the previous step's
  // code (found last); 2: a wrong code (every step of the window is tried).
  std::string code;
  if (state.range(0) == 0) code = factors::totp_code(kSecret, kNow, p);
  if (state.range(0) == 1) code = factors::totp_code(kSecret, kNow - p.period, p);
  if (state.range(0) == 2) code = "000000";
  for (auto _ : state) {
    auto step = factors::totp_verify(kSecret, code, kNow, 0, p);
    benchmark::DoNotOptimize(step);
  }
  static const char* const kLabels[] = {"current step", "previous step", "wrong code"};
  state.SetLabel(kLabels[state.range(0)]);
}
BENCHMARK(BM_TotpVerify)->DenseRange(0, 2);

}  // namespace
