// Counts heap allocations made by the current thread while a scope is active,
// so tests can prove a hot path does not allocate. The global operator new
// replacement lives in alloc_counter_test.cc (one definition per binary).
// Not thread-safe across scopes: use one AllocationScope at a time per thread.
#pragma once
#include <cstddef>

namespace stepup::testing {

// Number of operator new calls on this thread since the scope started.
class AllocationScope {
 public:
  AllocationScope();
  ~AllocationScope();
  std::size_t count() const;

 private:
  std::size_t start_;
};

}  // namespace stepup::testing
