// RateLimiter: per-key token buckets (key = client IP) in memory.
//
// Each key gets `burst` tokens refilled at `per_second`; take() spends one or
// says how long to wait. Sharded by key hash so threads rarely contend; idle
// buckets are dropped once full again. Per node: with N nodes the effective
// limit is N times higher (documented). Thread-safe.
#pragma once
#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/time.h"

namespace stepup::service {

class RateLimiter {
 public:
  RateLimiter(double per_second, int burst) : rate_(per_second), burst_(burst) {}

  // 0 when allowed; otherwise the whole seconds to wait (for Retry-After).
  // `now_ms` is milliseconds since the epoch (callers use the Clock).
  core::Seconds take(std::string_view key, std::int64_t now_ms);

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t at_ms = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
    std::int64_t last_sweep_ms = 0;
  };
  static constexpr std::size_t kShards = 16;
  double rate_;
  int burst_;
  std::array<Shard, kShards> shards_;
};

}  // namespace stepup::service
