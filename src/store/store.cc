#include "store/store.h"

#include <algorithm>

namespace stepup::store {

const char* to_string(StoreError e) {
  switch (e) {
    case StoreError::kNotFound:
      return "not_found";
    case StoreError::kConflict:
      return "conflict";
    case StoreError::kBusy:
      return "busy";
    case StoreError::kCorrupt:
      return "corrupt";
    case StoreError::kIo:
      return "io";
  }
  return "unknown";
}

core::Seconds lock_delay(const LockoutPolicy& p, int failures) {
  if (failures < p.max_failures) return 0;
  // Doubling per failure past the limit, capped (and no overflow: the loop
  // stops at the cap).
  core::Seconds delay = p.base_delay;
  for (int i = p.max_failures; i < failures && delay < p.max_delay; ++i) delay *= 2;
  return std::min(delay, p.max_delay);
}

}  // namespace stepup::store
