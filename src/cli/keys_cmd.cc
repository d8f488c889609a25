// stepup keys rotate | keys list
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "service/audit.h"
#include "service/clock.h"
#include "service/keyring.h"
#include "service/runtime.h"

namespace stepup::cli {

namespace json = boost::json;

namespace {
struct KeysOptions {
  std::string config = "stepup.yaml";
  bool json = false;
};

int run_keys_rotate(const KeysOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  service::SystemClock clock;
  auto alg = crypto::alg_from_string(cfg.tokens.algorithm);
  // Old public keys stay published until every token they signed has expired.
  const core::Seconds publish_for = cfg.tokens.key_retire_after > 0
                                        ? cfg.tokens.key_retire_after
                                        : cfg.tokens.access_ttl + cfg.tokens.clock_skew;
  auto box = service::open_secret_box(cfg);
  auto kid = service::KeyRing::rotate(*store, *alg, clock.now(), publish_for, box);
  if (!kid) {
    std::cerr << "stepup: key rotation failed: " << kid.error().description << "\n";
    return 1;
  }
  service::Audit audit(*store);
  audit.record(clock.now(), "key.rotated", service::AuditContext{"", "", "", "cli"},
               json::serialize(json::object{{"kid", *kid}}));
  if (o.json) {
    std::cout << json::serialize(json::object{{"kid", *kid}, {"algorithm", cfg.tokens.algorithm}})
              << "\n";
  } else {
    std::cout << "new signing key " << *kid << " (" << cfg.tokens.algorithm
              << "); restart or roll the servers to sign with it; old keys stay published for "
              << publish_for << "s\n";
  }
  return 0;
}

int run_keys_list(const KeysOptions& o) {
  auto cfg = load_or_exit(o.config);
  auto store = service::open_store(cfg);
  auto keys = store->list_signing_keys();
  if (!keys) {
    std::cerr << "stepup: cannot read keys\n";
    return 1;
  }
  json::array arr;
  if (!o.json) std::cout << "KID\tALG\tCREATED\tRETIRED\tPUBLISHED UNTIL\n";
  for (const auto& k : *keys) {
    if (o.json) {
      arr.push_back(json::object{{"kid", k.kid},
                                 {"algorithm", k.algorithm},
                                 {"created_at", k.created_at},
                                 {"retired_at", k.retired_at},
                                 {"publish_until", k.publish_until}});
    } else {
      std::cout << k.kid << "\t" << k.algorithm << "\t" << iso_time(k.created_at) << "\t"
                << iso_time(k.retired_at) << "\t" << iso_time(k.publish_until) << "\n";
    }
  }
  if (o.json) std::cout << json::serialize(arr) << "\n";
  return 0;
}
}  // namespace

void setup_keys(CLI::App& app) {
  auto opt = std::make_shared<KeysOptions>();
  auto* cmd = app.add_subcommand("keys", "Manage token signing keys");
  cmd->require_subcommand(1);
  auto* rotate = cmd->add_subcommand("rotate", "Add a new signing key, retire the current one");
  rotate->add_option("--config,-c", opt->config, "Config file")->required();
  rotate->add_flag("--json", opt->json, "Print JSON");
  rotate->callback([opt] { exit_status() = run_keys_rotate(*opt); });
  auto* list = cmd->add_subcommand("list", "List signing keys");
  list->add_option("--config,-c", opt->config, "Config file")->required();
  list->add_flag("--json", opt->json, "Print JSON");
  list->callback([opt] { exit_status() = run_keys_list(*opt); });
}

}  // namespace stepup::cli
