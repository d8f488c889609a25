#include "service/audit.h"

#include <spdlog/spdlog.h>

#include "store/audit_hash.h"

namespace stepup::service {

void Audit::record(core::UnixTime now, std::string_view event, const AuditContext& ctx,
                   std::string_view details_json) {
  store::AuditEvent e;
  e.at = now;
  e.event = std::string(event);
  e.subject = std::string(ctx.subject);
  e.session = std::string(ctx.session);
  e.ip = std::string(ctx.ip);
  e.user_agent = std::string(ctx.user_agent.substr(0, 512));
  e.details = std::string(details_json);
  auto r = store_.append_audit(e);
  if (!r) {
    spdlog::error("audit: cannot append {} for {}: {}", event, ctx.subject,
                  store::to_string(r.error()));
  }
}

Audit::VerifyReport Audit::verify() {
  VerifyReport rep;
  std::string prev(64, '0');
  std::int64_t after = 0;
  std::int64_t expected_seq = 0;
  for (;;) {
    auto page = store_.list_audit(after, 1000);
    if (!page) {
      rep.ok = false;
      rep.problem = std::string("cannot read audit log: ") + store::to_string(page.error());
      return rep;
    }
    if (page->empty()) break;
    for (const auto& e : *page) {
      ++rep.rows;
      if (expected_seq != 0 && e.seq != expected_seq + 1) {
        rep.ok = false;
        rep.first_bad_seq = e.seq;
        rep.problem = "row(s) missing before seq " + std::to_string(e.seq);
        return rep;
      }
      expected_seq = e.seq;
      if (e.prev_hash != prev) {
        rep.ok = false;
        rep.first_bad_seq = e.seq;
        rep.problem = "prev_hash does not match the previous row";
        return rep;
      }
      if (store::audit_row_hash(e, prev) != e.hash) {
        rep.ok = false;
        rep.first_bad_seq = e.seq;
        rep.problem = "row content does not match its hash (edited)";
        return rep;
      }
      prev = e.hash;
      after = e.seq;
    }
  }
  return rep;
}

}  // namespace stepup::service
