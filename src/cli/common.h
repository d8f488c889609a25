// Shared bits of the CLI: loading the config with a friendly message,
// printing JSON or text. Not thread-safe (the CLI is single-threaded).
#pragma once
#include <string>

#include "config/config.h"

namespace stepup::cli {

// Loads the config or prints the report to stderr and exits with status 2.
config::Config load_or_exit(const std::string& path);

// The status main() returns; subcommand callbacks set it.
int& exit_status();

// Formats a Unix time as ISO 8601 UTC ("-" for 0).
std::string iso_time(std::int64_t t);

}  // namespace stepup::cli
