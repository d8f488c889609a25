// Shared fixtures for the micro-benchmarks: the 50-rule table of
// bench/rules.json (also used by bench/http/run and the Node peer), a config
// built around it, and a throw-away directory for SQLite files.
//
// Benchmarks are single-process tools; nothing here is thread-safe beyond
// what the returned objects document themselves.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "config/config.h"

namespace stepup::bench {

// The JSON array of rules (JSON is YAML flow style, so it drops into a config).
inline std::string rules_json() {
  std::ifstream in(STEPUP_BENCH_RULES);
  if (!in) throw std::runtime_error("cannot read " STEPUP_BENCH_RULES);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A unique directory under `parent` ($TMPDIR when empty), removed when the
// object dies.
class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& parent = {}) {
    const auto base = parent.empty() ? std::filesystem::temp_directory_path() : parent;
    std::string tmpl = (base / "stepup-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The config the HTTP benchmark runs with (same levels, same 50 rules), with
// storage in `dir`. Tiny Argon2 parameters: sign-in cost is not measured here.
inline std::string config_yaml(const std::filesystem::path& dir) {
  return "server:\n  listen: \"127.0.0.1:0\"\n  public_url: \"http://localhost:8080\"\n"
         "log:\n  level: \"warn\"\n"
         "storage:\n  path: \"" +
         (dir / "stepup.db").string() +
         "\"\n"
         "tokens:\n  access_ttl: \"2h\"\n"
         "sessions:\n  idle_timeout: \"12h\"\n  absolute_timeout: \"24h\"\n"
         "cookie:\n  secure: false\n"
         "passwords:\n  argon2_memory_kib: 8192\n  argon2_iterations: 1\n"
         "secrets:\n  key_file: \"" +
         (dir / "stepup.key").string() +
         "\"\n"
         "levels:\n  aal1:\n    reached_by: [[pwd]]\n"
         "  aal2:\n    reached_by: [[pwd, otp], [pwd, hwk]]\n    elevation: \"15m\"\n"
         "base_level: aal1\n"
         "rules: " +
         rules_json() + "default:\n  deny: true\n";
}

inline config::Config load_bench_config(const std::filesystem::path& dir) {
  return config::parse_config(config_yaml(dir), (dir / "stepup.yaml").string());
}

}  // namespace stepup::bench
