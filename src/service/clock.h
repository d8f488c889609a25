// Clock: the one place that reads the system clock. Services take a Clock&
// so tests can pass a fake and move time by hand. Thread-safe.
#pragma once
#include <atomic>
#include <chrono>

#include "core/time.h"

namespace stepup::service {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual core::UnixTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  core::UnixTime now() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// For tests: time stands still until advanced.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(core::UnixTime t) : t_(t) {}
  core::UnixTime now() const override { return t_.load(); }
  void advance(core::Seconds s) { t_ += s; }
  void set(core::UnixTime t) { t_ = t; }

 private:
  std::atomic<core::UnixTime> t_;
};

}  // namespace stepup::service
