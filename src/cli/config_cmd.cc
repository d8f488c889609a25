// stepup config check --config FILE
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace stepup::cli {

namespace {
struct ConfigOptions {
  std::string config = "stepup.yaml";
};

int run_config_check(const ConfigOptions& o) {
  auto cfg = load_or_exit(o.config);
  std::cout << "config OK: " << o.config << " (" << cfg.levels.size() << " levels, "
            << cfg.policy.rules().size() << " rules, storage " << cfg.storage.driver << " at "
            << cfg.storage.path << ")\n";
  return 0;
}
}  // namespace

void setup_config(CLI::App& app) {
  auto opt = std::make_shared<ConfigOptions>();
  auto* cmd = app.add_subcommand("config", "Work with the configuration file");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand("check", "Validate a config file without starting");
  check->add_option("--config,-c", opt->config, "Config file")->required();
  check->callback([opt] { exit_status() = run_config_check(*opt); });
}

}  // namespace stepup::cli
