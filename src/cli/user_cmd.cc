// stepup user add NAME --password-stdin | user list
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/runtime.h"
#include "service/signin.h"

namespace stepup::cli {

namespace json = boost::json;

namespace {
struct UserOptions {
  std::string config = "stepup.yaml";
  std::string name;
  bool password_stdin = false;
  bool json = false;
};

int run_user_add(const UserOptions& o) {
  auto cfg = load_or_exit(o.config);
  if (!o.password_stdin) {
    std::cerr << "stepup: give the password on standard input with --password-stdin\n";
    return 2;
  }
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  auto store = service::open_store(cfg);
  service::SystemClock clock;
  auto user = service::create_user(*store, cfg, o.name, password, clock.now());
  if (!user) {
    std::cerr << "stepup: cannot add user '" << o.name << "': " << user.error().description << "\n";
    return user.error().code == service::ErrorCode::kUnavailable ? 1 : 2;
  }
  if (o.json) {
    json::object j{
        {"id", user->id}, {"username", user->username}, {"created_at", user->created_at}};
    std::cout << json::serialize(j) << "\n";
  } else {
    std::cout << "created user " << user->username << " (id " << user->id << ")\n";
  }
  return 0;
}

int run_user_list(const UserOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  auto users = store->list_users();
  if (!users) {
    std::cerr << "stepup: cannot list users: " << store::to_string(users.error()) << "\n";
    return 1;
  }
  if (o.json) {
    json::array arr;
    for (const auto& u : *users) {
      json::object j{{"id", u.id},
                     {"username", u.username},
                     {"created_at", u.created_at},
                     {"disabled", u.disabled}};
      if (auto fs = store->list_factors(u.id)) j["factors"] = fs->size();
      arr.push_back(std::move(j));
    }
    std::cout << json::serialize(arr) << "\n";
    return 0;
  }
  std::cout << "ID\tUSERNAME\tCREATED\n";
  for (const auto& u : *users) {
    std::cout << u.id << "\t" << u.username << "\t" << iso_time(u.created_at)
              << (u.disabled ? "\t(disabled)" : "") << "\n";
  }
  return 0;
}
int run_user_unlock(const UserOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  auto u = store->find_user(o.name);
  if (!u) {
    std::cerr << "stepup: no user named '" << o.name << "'\n";
    return 2;
  }
  if (!store->unlock_factors(u->id)) {
    std::cerr << "stepup: cannot unlock\n";
    return 1;
  }
  service::SystemClock clock;
  service::Audit audit(*store);
  audit.record(clock.now(), "factor.unlocked", service::AuditContext{o.name, "", "", "cli"},
               R"({"by":"operator"})");
  std::cout << "unlocked the factors of " << o.name << "\n";
  return 0;
}
}  // namespace

void setup_user(CLI::App& app) {
  auto opt = std::make_shared<UserOptions>();
  auto* cmd = app.add_subcommand("user", "Manage users");
  cmd->require_subcommand(1);
  auto* add = cmd->add_subcommand("add", "Create a user (password read from stdin)");
  add->add_option("name", opt->name, "Username")->required();
  add->add_flag("--password-stdin", opt->password_stdin, "Read the password from stdin");
  add->add_option("--config,-c", opt->config, "Config file")->required();
  add->add_flag("--json", opt->json, "Print JSON");
  add->callback([opt] { exit_status() = run_user_add(*opt); });
  auto* list = cmd->add_subcommand("list", "List users");
  list->add_option("--config,-c", opt->config, "Config file")->required();
  list->add_flag("--json", opt->json, "Print JSON");
  list->callback([opt] { exit_status() = run_user_list(*opt); });
  auto* unlock = cmd->add_subcommand("unlock", "Clear a user's factor lockouts");
  unlock->add_option("name", opt->name, "Username")->required();
  unlock->add_option("--config,-c", opt->config, "Config file")->required();
  unlock->callback([opt] { exit_status() = run_user_unlock(*opt); });
}

}  // namespace stepup::cli
