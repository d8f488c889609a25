// stepup: step-up authentication server. See README.md and docs/.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

int main(int argc, char** argv) {
  CLI::App app{"stepup: step-up authentication server"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stepup 0.1.0");
  stepup::cli::setup_serve(app);
  stepup::cli::setup_user(app);
  stepup::cli::setup_session(app);
  stepup::cli::setup_keys(app);
  stepup::cli::setup_config(app);
  stepup::cli::setup_factor(app);
  stepup::cli::setup_audit(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "stepup: " << e.what() << "\n";
    return 1;
  }
  return stepup::cli::exit_status();
}
