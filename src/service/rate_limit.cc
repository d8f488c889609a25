#include "service/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace stepup::service {

core::Seconds RateLimiter::take(std::string_view key, std::int64_t now_ms) {
  if (rate_ <= 0 || burst_ <= 0) return 0;  // disabled
  Shard& sh = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(sh.mu);
  // Sweep: forget buckets that have refilled completely (they equal a new one).
  if (now_ms - sh.last_sweep_ms > 60'000) {
    for (auto it = sh.buckets.begin(); it != sh.buckets.end();) {
      const double refilled = it->second.tokens + (now_ms - it->second.at_ms) / 1000.0 * rate_;
      it = refilled >= burst_ ? sh.buckets.erase(it) : std::next(it);
    }
    sh.last_sweep_ms = now_ms;
  }
  auto [it, fresh] = sh.buckets.try_emplace(std::string(key));
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst_;
    b.at_ms = now_ms;
  } else {
    const double elapsed = std::max<std::int64_t>(0, now_ms - b.at_ms) / 1000.0;
    b.tokens = std::min<double>(burst_, b.tokens + elapsed * rate_);
    b.at_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<core::Seconds>(std::ceil((1.0 - b.tokens) / rate_));
}

}  // namespace stepup::service
