// stepup audit tail [--user NAME] [-n N] [--json] | audit verify
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/audit.h"
#include "service/runtime.h"

namespace stepup::cli {

namespace json = boost::json;

namespace {
struct AuditOptions {
  std::string config = "stepup.yaml";
  std::string user;
  int count = 50;
  bool json = false;
};

int run_tail(const AuditOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  std::optional<std::string> subject;
  if (!o.user.empty()) subject = o.user;
  auto rows = store->list_audit_filtered(subject, o.count);
  if (!rows) {
    std::cerr << "stepup: cannot read the audit log\n";
    return 1;
  }
  json::array arr;
  for (const auto& e : *rows) {
    if (o.json) {
      std::error_code ec;
      json::value details = json::parse(e.details, ec);
      if (ec) details = e.details;
      arr.push_back(json::object{{"seq", e.seq},
                                 {"at", e.at},
                                 {"event", e.event},
                                 {"subject", e.subject},
                                 {"session", e.session},
                                 {"ip", e.ip},
                                 {"user_agent", e.user_agent},
                                 {"details", std::move(details)},
                                 {"prev_hash", e.prev_hash},
                                 {"hash", e.hash}});
    } else {
      std::cout << e.seq << "\t" << iso_time(e.at) << "\t" << e.event << "\t"
                << (e.subject.empty() ? "-" : e.subject) << "\t" << (e.ip.empty() ? "-" : e.ip)
                << "\t" << e.details << "\n";
    }
  }
  if (o.json) std::cout << json::serialize(arr) << "\n";
  return 0;
}

int run_verify(const AuditOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  service::Audit audit(*store);
  auto rep = audit.verify();
  if (rep.ok) {
    std::cout << "audit log ok: " << rep.rows << " rows, hash chain intact\n";
    return 0;
  }
  std::cerr << "audit log BROKEN";
  if (rep.first_bad_seq) std::cerr << " at seq " << *rep.first_bad_seq;
  std::cerr << ": " << rep.problem << " (" << rep.rows << " rows read)\n";
  return 1;
}
}  // namespace

void setup_audit(CLI::App& app) {
  auto opt = std::make_shared<AuditOptions>();
  auto* cmd = app.add_subcommand("audit", "Read and verify the audit log");
  cmd->require_subcommand(1);
  auto* tail = cmd->add_subcommand("tail", "Show the latest audit events");
  tail->add_option("--user,-u", opt->user, "Only this subject's events");
  tail->add_option("-n,--count", opt->count, "How many rows")->check(CLI::Range(1, 100000));
  tail->add_option("--config,-c", opt->config, "Config file")->required();
  tail->add_flag("--json", opt->json, "Print JSON");
  tail->callback([opt] { exit_status() = run_tail(*opt); });
  auto* verify = cmd->add_subcommand("verify", "Check the hash chain; non-zero exit when broken");
  verify->add_option("--config,-c", opt->config, "Config file")->required();
  verify->callback([opt] { exit_status() = run_verify(*opt); });
}

}  // namespace stepup::cli
