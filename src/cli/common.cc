#include "cli/common.h"

#include <ctime>
#include <iostream>

namespace stepup::cli {

config::Config load_or_exit(const std::string& path) {
  try {
    return config::load_config(path);
  } catch (const config::ConfigError& e) {
    std::cerr << "stepup: invalid configuration:\n" << e.what() << "\n";
    std::exit(2);
  } catch (const std::exception& e) {
    std::cerr << "stepup: cannot load configuration " << path << ": " << e.what() << "\n";
    std::exit(2);
  }
}

int& exit_status() {
  static int status = 0;
  return status;
}

std::string iso_time(std::int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace stepup::cli
