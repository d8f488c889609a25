// Time in stepup: Unix seconds as plain integers. core/ never reads a clock;
// callers pass `now`. The only clock reader is service/clock.h.
#pragma once
#include <cstdint>
#include <limits>

namespace stepup::core {

using UnixTime = std::int64_t;  // seconds since the Unix epoch
using Seconds = std::int64_t;   // a duration in seconds

inline constexpr UnixTime kNever = std::numeric_limits<UnixTime>::max();

}  // namespace stepup::core
