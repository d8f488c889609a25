// CLI subcommands (CLI11 "subcommands in files" layout): each file has an
// Options struct, a setup_x(CLI::App&) that registers the subcommand and a
// run_x(const Options&) that does the work and returns the exit status.
// Exit status: 0 ok, 1 operational failure, 2 bad input.
#pragma once

namespace CLI {
class App;
}

namespace stepup::cli {

void setup_serve(CLI::App& app);
void setup_user(CLI::App& app);
void setup_session(CLI::App& app);
void setup_keys(CLI::App& app);
void setup_config(CLI::App& app);
void setup_factor(CLI::App& app);
void setup_audit(CLI::App& app);

}  // namespace stepup::cli
