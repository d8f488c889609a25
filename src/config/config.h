// Config: the YAML file `stepup serve --config FILE` reads, as typed values.
//
// load_config() parses and validates the whole file at once. Every problem is
// reported as "FILE:LINE: plain explanation"; unknown keys are errors. The
// result is immutable after loading and safe to share between threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/level.h"
#include "core/policy.h"
#include "core/time.h"

namespace stepup::config {

// Thrown by load_config / parse_config. what() is the full report, one
// problem per line, each "FILE:LINE: explanation".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";             // host:port (IPv6 as [::1]:8080)
  std::string public_url = "http://localhost:8080";  // issuer and link base
  int io_threads = 0;                                // 0: one per core
  std::size_t max_body_bytes = 64 * 1024;
  core::Seconds read_timeout = 10;   // whole-request read timeout
  core::Seconds idle_timeout = 60;   // keep-alive idle
  core::Seconds drain_timeout = 10;  // graceful stop
  bool trust_forwarded_for = false;  // take client IP from X-Forwarded-For
  // /metrics access (docs/security.md, "Metrics"). Neither set: not served.
  std::string metrics_listen;      // own host:port for /metrics; "" = main listener
  std::string metrics_token_file;  // bearer token file (resolved path); "" = no token
  std::string metrics_token;       // its content, read at load; never logged
};

struct LogConfig {
  std::string level = "info";  // trace|debug|info|warn|error
  bool json = false;
};

struct StorageConfig {
  std::string driver = "sqlite";   // sqlite (postgres later)
  std::string path = "stepup.db";  // sqlite file; relative to the config file
  core::Seconds busy_timeout = 5;
};

struct TokenConfig {
  std::string issuer;  // default: server.public_url
  std::string audience = "stepup";
  std::string algorithm = "ES256";  // ES256 | EdDSA
  core::Seconds access_ttl = 600;
  core::Seconds refresh_ttl = 30 * 24 * 3600;
  core::Seconds refresh_reuse_grace = 0;  // 0: off
  core::Seconds clock_skew = 30;
  core::Seconds key_retire_after =
      0;  // 0: access_ttl; old public keys kept this long after rotation
};

struct SessionConfig {
  core::Seconds idle_timeout = 30 * 60;
  core::Seconds absolute_timeout = 12 * 3600;
};

struct CookieConfig {
  std::string name = "stepup_session";  // "__Host-" is prepended when secure
  bool secure = true;                   // false only for plain-http development
  std::string same_site = "Lax";        // Lax | Strict
};

struct PasswordConfig {
  int min_length = 8;
  int max_length = 64;  // at least 64 per NIST
  std::uint64_t argon2_memory_kib = 19 * 1024;
  std::uint64_t argon2_iterations = 2;
  int hash_workers = 1;  // Argon2id pool threads
  int hash_queue = 64;   // waiting jobs before 503
};

struct IntrospectionClient {
  std::string id;
  std::string secret;  // as configured; compared in constant time
};

struct TotpConfig {
  std::string algorithm = "SHA1";  // SHA1 | SHA256 | SHA512
  int digits = 6;                  // 6..8
  core::Seconds period = 30;
  std::string issuer = "stepup";  // shown in authenticator apps
};

struct FactorsConfig {
  TotpConfig totp;
  int recovery_code_count = 10;               // 5..20
  std::string recovery_codes_reach = "aal2";  // level a recovery code reaches; "" = none
};

struct SecretsConfig {
  std::string key_file = "stepup.key";     // relative to the config file; created 0600 if missing
  std::vector<std::string> old_key_files;  // decrypt only (key rotation)
};

struct StepUpConfig {
  core::Seconds challenge_ttl = 300;
  core::Seconds enrollment_max_age = 300;  // freshness needed to change factors
  bool revoke_other_sessions_on_factor_change = true;
  // Open challenges (step-up and WebAuthn registration) one session may hold;
  // starting one more evicts the oldest (which then no longer verifies).
  int max_open_challenges = 5;
};

struct LockoutConfig {
  int max_failures = 5;           // consecutive failures before a lock (1..100)
  core::Seconds base_delay = 60;  // first lock; doubles with each further failure
  core::Seconds max_delay = 3600;
};

struct RateLimitConfig {
  double per_second = 1;  // refill rate per client IP; 0 disables
  int burst = 10;
};

struct RateLimitsConfig {
  RateLimitConfig login{1, 10};
  RateLimitConfig verify{2, 10};
};

struct WebAuthnConfig {
  std::string rp_id;  // default: host of server.public_url
  std::string rp_name = "stepup";
  std::vector<std::string> origins;  // default: [origin of server.public_url]
  bool passkey_login = true;         // usernameless sign-in with discoverable credentials
  core::Seconds timeout = 120;       // ceremony timeout hint for the browser
  // Passkey sign-in challenges kept at once, over all clients (anyone can
  // create them); one more evicts the oldest.
  int max_login_challenges = 10000;
};

struct Config {
  std::string source_path;  // the file it came from
  ServerConfig server;
  LogConfig log;
  StorageConfig storage;
  TokenConfig tokens;
  SessionConfig sessions;
  CookieConfig cookie;
  PasswordConfig passwords;
  core::LevelTable levels;
  std::string base_level;  // level reached at sign-in with a password (default: first)
  core::Policy policy;
  core::PathSemantics upstream;  // how the upstream reads paths (upstream: section)
  std::vector<std::string> allowed_return_origins;  // e.g. https://app.example.com
  std::vector<IntrospectionClient> introspection_clients;
  FactorsConfig factors;
  SecretsConfig secrets;
  StepUpConfig step_up;
  LockoutConfig lockout;
  RateLimitsConfig rate_limits;
  WebAuthnConfig webauthn;
};

// Parses YAML text; `source_name` is used in error messages. Relative storage
// paths are resolved against the directory of `source_name`.
Config parse_config(const std::string& yaml_text, const std::string& source_name);
// Reads and parses the file.
Config load_config(const std::string& path);

// "90s", "5m", "12h", "7d", or a bare integer (seconds). nullopt when malformed.
std::optional<core::Seconds> parse_duration(std::string_view text);

}  // namespace stepup::config
