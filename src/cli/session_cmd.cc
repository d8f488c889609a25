// stepup session list [--user NAME] | session revoke ID
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/runtime.h"

namespace stepup::cli {

namespace json = boost::json;

namespace {
struct SessionOptions {
  std::string config = "stepup.yaml";
  std::string user;
  std::string id;
  bool json = false;
  bool all = false;
};

int run_session_list(const SessionOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  std::optional<std::int64_t> uid;
  if (!o.user.empty()) {
    auto u = store->find_user(o.user);
    if (!u) {
      std::cerr << "stepup: no user named '" << o.user << "'\n";
      return 2;
    }
    uid = u->id;
  }
  auto list = store->list_sessions(uid);
  if (!list) {
    std::cerr << "stepup: cannot list sessions: " << store::to_string(list.error()) << "\n";
    return 1;
  }
  service::SystemClock clock;
  const auto now = clock.now();
  json::array arr;
  if (!o.json) std::cout << "ID\tUSER\tSTATE\tCREATED\tLAST SEEN\tIP\n";
  for (const auto& s : *list) {
    std::string state = s.revoked_at                                        ? "revoked"
                        : (s.expires_at <= now || s.idle_expires_at <= now) ? "expired"
                                                                            : "live";
    if (!o.all && state != "live") continue;
    if (o.json) {
      json::array methods;
      for (const auto& m : s.methods)
        methods.push_back(json::object{{"method", m.method}, {"at", m.at}});
      arr.push_back(json::object{{"id", s.public_id},
                                 {"subject", s.subject},
                                 {"state", state},
                                 {"created_at", s.created_at},
                                 {"last_seen_at", s.last_seen_at},
                                 {"expires_at", s.expires_at},
                                 {"idle_expires_at", s.idle_expires_at},
                                 {"revoked_at", s.revoked_at},
                                 {"methods", std::move(methods)},
                                 {"ip", s.ip},
                                 {"user_agent", s.user_agent}});
    } else {
      std::cout << s.public_id << "\t" << s.subject << "\t" << state << "\t"
                << iso_time(s.created_at) << "\t" << iso_time(s.last_seen_at) << "\t" << s.ip
                << "\n";
    }
  }
  if (o.json) std::cout << json::serialize(arr) << "\n";
  return 0;
}

int run_session_revoke(const SessionOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  service::SystemClock clock;
  auto s = store->find_session_by_public_id(o.id);
  if (!s) {
    std::cerr << "stepup: no session with id '" << o.id << "'\n";
    return 2;
  }
  if (!store->revoke_session(o.id, clock.now()) || !store->revoke_refresh_family(o.id)) {
    std::cerr << "stepup: cannot revoke session " << o.id << "\n";
    return 1;
  }
  service::Audit audit(*store);
  audit.record(clock.now(), "session.revoked", service::AuditContext{s->subject, o.id, "", "cli"},
               R"({"by":"operator"})");
  std::cout << "revoked session " << o.id << " of " << s->subject << "\n";
  return 0;
}
}  // namespace

void setup_session(CLI::App& app) {
  auto opt = std::make_shared<SessionOptions>();
  auto* cmd = app.add_subcommand("session", "Inspect and revoke sessions");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "List live sessions");
  list->add_option("--user,-u", opt->user, "Only this user's sessions");
  list->add_flag("--all", opt->all, "Include revoked and expired sessions");
  list->add_option("--config,-c", opt->config, "Config file")->required();
  list->add_flag("--json", opt->json, "Print JSON");
  list->callback([opt] { exit_status() = run_session_list(*opt); });
  auto* revoke = cmd->add_subcommand("revoke", "Revoke a session by id");
  revoke->add_option("id", opt->id, "Session id (from session list)")->required();
  revoke->add_option("--config,-c", opt->config, "Config file")->required();
  revoke->callback([opt] { exit_status() = run_session_revoke(*opt); });
}

}  // namespace stepup::cli
