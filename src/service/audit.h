// Audit: append-only event log in the store (a hash chain, see
// store/audit_hash.h). record() never fails the caller's request: a store
// error is logged, not thrown. verify() walks the chain and reports the first
// row whose hash does not match. Thread-safe.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"
#include "store/store.h"

namespace stepup::service {

struct AuditContext {
  std::string_view subject;
  std::string_view session;  // public session id
  std::string_view ip;
  std::string_view user_agent;
};

class Audit {
 public:
  explicit Audit(store::Store& store) : store_(store) {}
  // details_json must be a JSON object text ("{}" when there is nothing).
  void record(core::UnixTime now, std::string_view event, const AuditContext& ctx,
              std::string_view details_json = "{}");

  struct VerifyReport {
    bool ok = true;
    std::int64_t rows = 0;
    std::optional<std::int64_t> first_bad_seq;
    std::string problem;
  };
  VerifyReport verify();

 private:
  store::Store& store_;
};

}  // namespace stepup::service
