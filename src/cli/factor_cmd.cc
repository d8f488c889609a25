// stepup factor add-totp NAME | factor list NAME | factor remove NAME ID
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/runtime.h"

namespace stepup::cli {

namespace json = boost::json;

namespace {
struct FactorOptions {
  std::string config = "stepup.yaml";
  std::string user;
  std::string id;
  std::string label;
  bool json = false;
};

int run_add_totp(const FactorOptions& o) {
  auto cfg = load_or_exit(o.config);
  service::Runtime rt(cfg);
  auto user = rt.store().find_user(o.user);
  if (!user) {
    std::cerr << "stepup: no user named '" << o.user << "'\n";
    return 2;
  }
  auto e = rt.enrollment().add_confirmed_totp(*user, o.label);
  if (!e) {
    std::cerr << "stepup: cannot add the factor: " << e.error().description << "\n";
    return 1;
  }
  if (o.json) {
    std::cout << json::serialize(json::object{{"factor_id", e->factor_id},
                                              {"secret", e->secret_base32},
                                              {"otpauth_uri", e->otpauth_uri}})
              << "\n";
  } else {
    std::cout << "TOTP factor " << e->factor_id << " added for " << o.user << "\n"
              << "secret:  " << e->secret_base32 << "\n"
              << "uri:     " << e->otpauth_uri << "\n";
  }
  return 0;
}

int run_list(const FactorOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  auto user = store->find_user(o.user);
  if (!user) {
    std::cerr << "stepup: no user named '" << o.user << "'\n";
    return 2;
  }
  auto fs = store->list_factors(user->id);
  if (!fs) {
    std::cerr << "stepup: cannot list factors\n";
    return 1;
  }
  json::array arr;
  if (!o.json) std::cout << "ID\tTYPE\tNAME\tCONFIRMED\tFAILURES\tLOCKED UNTIL\tLAST USED\n";
  for (const auto& f : *fs) {
    if (o.json) {
      arr.push_back(json::object{{"id", f.id},
                                 {"type", f.type},
                                 {"name", f.name},
                                 {"confirmed", f.confirmed},
                                 {"failures", f.failures},
                                 {"locked_until", f.locked_until},
                                 {"created_at", f.created_at},
                                 {"last_used_at", f.last_used_at}});
    } else {
      std::cout << f.id << "\t" << f.type << "\t" << f.name << "\t" << (f.confirmed ? "yes" : "no")
                << "\t" << f.failures << "\t" << iso_time(f.locked_until) << "\t"
                << iso_time(f.last_used_at) << "\n";
    }
  }
  if (o.json) std::cout << json::serialize(arr) << "\n";
  return 0;
}

int run_remove(const FactorOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  auto user = store->find_user(o.user);
  auto f = store->find_factor(o.id);
  if (!user || !f || f->user_id != user->id) {
    std::cerr << "stepup: user '" << o.user << "' has no factor '" << o.id << "'\n";
    return 2;
  }
  if (!store->delete_factor(o.id)) {
    std::cerr << "stepup: cannot remove the factor\n";
    return 1;
  }
  service::Audit audit(*store);
  audit.record(
      std::time(nullptr), "factor.removed", service::AuditContext{o.user, "", "", "cli"},
      json::serialize(json::object{{"factor_id", o.id}, {"type", f->type}, {"by", "operator"}}));
  std::cout << "removed factor " << o.id << " (" << f->type << ") of " << o.user << "\n";
  return 0;
}
}  // namespace

void setup_factor(CLI::App& app) {
  auto opt = std::make_shared<FactorOptions>();
  auto* cmd = app.add_subcommand("factor", "Manage users' second factors");
  cmd->require_subcommand(1);
  auto* add = cmd->add_subcommand("add-totp", "Enroll a confirmed TOTP factor for a user");
  add->add_option("name", opt->user, "Username")->required();
  add->add_option("--label", opt->label, "Factor name shown to the user");
  add->add_option("--config,-c", opt->config, "Config file")->required();
  add->add_flag("--json", opt->json, "Print JSON");
  add->callback([opt] { exit_status() = run_add_totp(*opt); });
  auto* list = cmd->add_subcommand("list", "List a user's factors");
  list->add_option("name", opt->user, "Username")->required();
  list->add_option("--config,-c", opt->config, "Config file")->required();
  list->add_flag("--json", opt->json, "Print JSON");
  list->callback([opt] { exit_status() = run_list(*opt); });
  auto* rm = cmd->add_subcommand("remove", "Remove a factor");
  rm->add_option("name", opt->user, "Username")->required();
  rm->add_option("id", opt->id, "Factor id")->required();
  rm->add_option("--config,-c", opt->config, "Config file")->required();
  rm->callback([opt] { exit_status() = run_remove(*opt); });
}

}  // namespace stepup::cli
