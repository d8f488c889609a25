// stepup config check --config FILE [--strict]
//
// Loads and validates the file (errors: exit 2, as every command), then prints
// the warnings of config::find_warnings to stderr, one "warning: ..." line
// each. Warnings do not fail the check (exit 0) unless --strict is given
// (exit 1 when there is at least one), for CI pipelines that want them fixed.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "config/config_warnings.h"

namespace stepup::cli {

namespace {
struct ConfigOptions {
  std::string config = "stepup.yaml";
  bool strict = false;
};

int run_config_check(const ConfigOptions& o) {
  auto cfg = load_or_exit(o.config);
  const auto warnings = config::find_warnings(cfg);
  for (const auto& w : warnings) std::cerr << "warning: " << o.config << ": " << w.message << "\n";
  std::cout << "config OK: " << o.config << " (" << cfg.levels.size() << " levels, "
            << cfg.policy.rules().size() << " rules, storage " << cfg.storage.driver << " at "
            << cfg.storage.path << ")";
  if (!warnings.empty()) std::cout << ", " << warnings.size() << " warning(s)";
  std::cout << "\n";
  return o.strict && !warnings.empty() ? 1 : 0;
}
}  // namespace

void setup_config(CLI::App& app) {
  auto opt = std::make_shared<ConfigOptions>();
  auto* cmd = app.add_subcommand("config", "Work with the configuration file");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand("check", "Validate a config file without starting");
  check->add_option("--config,-c", opt->config, "Config file")->required();
  check->add_flag("--strict", opt->strict, "Exit 1 when there are warnings");
  check->callback([opt] { exit_status() = run_config_check(*opt); });
}

}  // namespace stepup::cli
