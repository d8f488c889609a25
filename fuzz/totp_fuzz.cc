// libFuzzer target: TOTP secrets and codes from outside. The first byte picks
// parameters, the rest is split at the first '\n' into a base32 secret (as a
// user or an import would type it) and a code (as a user submits it).
//
// Invariants: base32_decode(base32_encode(x)) == x for the decoded secret; a
// code totp_verify accepts is a code of that secret at the matched step, the
// step lies in the window and is after last_used_step; a code made by
// totp_code for `now` is accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "factors/totp.h"

using stepup::factors::TotpAlg;
using stepup::factors::TotpParams;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t sel = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto nl = in.find('\n');
  const std::string_view secret_text = in.substr(0, nl);
  const std::string_view code =
      nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);

  TotpParams p;
  p.alg = static_cast<TotpAlg>(sel % 3);
  p.digits = 6 + (sel >> 2) % 3;
  p.window = (sel >> 4) % 3;
  p.period = (sel & 0x80) ? 60 : 30;
  const stepup::core::UnixTime now = 1790000000 + (sel % 7) * 13;
  const std::int64_t last_used = (sel & 0x40) ? stepup::factors::totp_step(now, p) - 1 : 0;

  auto secret = stepup::factors::base32_decode(secret_text);
  if (!secret) return 0;
  auto round = stepup::factors::base32_decode(stepup::factors::base32_encode(*secret));
  if (!round || *round != *secret) std::abort();

  if (auto step = stepup::factors::totp_verify(*secret, code, now, last_used, p)) {
    const std::int64_t cur = stepup::factors::totp_step(now, p);
    if (*step <= last_used || *step < cur - p.window || *step > cur + p.window) std::abort();
    std::string digits;
    for (char c : code) {
      if (c != ' ') digits += c;
    }
    if (stepup::factors::hotp_code(*secret, static_cast<std::uint64_t>(*step), p) != digits) {
      std::abort();
    }
  }
  const std::string good = stepup::factors::totp_code(*secret, now, p);
  if (good.size() != static_cast<std::size_t>(p.digits)) std::abort();
  if (!stepup::factors::totp_verify(*secret, good, now, last_used, p)) std::abort();
  return 0;
}
