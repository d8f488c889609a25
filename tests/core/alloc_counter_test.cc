// Global operator new replacement that counts allocations per thread, plus a
// self-test so a broken counter cannot make "no allocation" tests pass vacuously.
#include "core/alloc_counter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>

namespace {
thread_local std::size_t g_allocations = 0;
}

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that these replace the matching operator new above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace stepup::testing {

AllocationScope::AllocationScope() : start_(g_allocations) {}
AllocationScope::~AllocationScope() = default;
std::size_t AllocationScope::count() const { return g_allocations - start_; }

namespace {
TEST(AllocationScope, SeesAnAllocation) {
  AllocationScope scope;
  auto* s = new std::string(100, 'x');
  EXPECT_GE(scope.count(), 1u);
  delete s;
}
}  // namespace

}  // namespace stepup::testing
