#include "store/store.h"

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

}  // namespace stepup::store
