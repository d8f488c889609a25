// Config loading: round trip, defaults, FILE:LINE errors, durations, and
// policy decisions built from config text.
#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/decision.h"

namespace stepup::config {
namespace {

// The report of a config that must fail, or a marker when it parsed.
std::string errors_of(const std::string& yaml, const std::string& source = "test.yaml") {
  try {
    parse_config(yaml, source);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(parsed without errors)";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// ---------------------------------------------------------------- durations

struct DurationRow {
  const char* text;
  std::optional<core::Seconds> want;
};

class DurationTable : public ::testing::TestWithParam<DurationRow> {};

TEST_P(DurationTable, Parses) {
  EXPECT_EQ(parse_duration(GetParam().text), GetParam().want) << "\"" << GetParam().text << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Rows, DurationTable,
    ::testing::Values(DurationRow{"90s", 90}, DurationRow{"5m", 300}, DurationRow{"12h", 43200},
                      DurationRow{"7d", 604800}, DurationRow{"0", 0}, DurationRow{"0s", 0},
                      DurationRow{"42", 42}, DurationRow{"007", 7}, DurationRow{"1d", 86400},
                      DurationRow{"9223372036854775807", 9223372036854775807LL},
                      DurationRow{"", std::nullopt}, DurationRow{"s", std::nullopt},
                      DurationRow{"-5", std::nullopt}, DurationRow{"-5m", std::nullopt},
                      DurationRow{"+5", std::nullopt}, DurationRow{"5x", std::nullopt},
                      DurationRow{"5ms", std::nullopt}, DurationRow{"5M", std::nullopt},
                      DurationRow{"5 m", std::nullopt}, DurationRow{" 5m", std::nullopt},
                      DurationRow{"5m ", std::nullopt}, DurationRow{"1h30m", std::nullopt},
                      DurationRow{"1.5h", std::nullopt}, DurationRow{"abc", std::nullopt},
                      DurationRow{"0x10", std::nullopt},
                      DurationRow{"9223372036854775808", std::nullopt},  // int64 overflow
                      DurationRow{"153722867280912931m", std::nullopt},  // overflow on scaling
                      DurationRow{"106751991167301d", std::nullopt}));

// ---------------------------------------------------------------- good configs

constexpr const char* kFull = R"(server:
  listen: "0.0.0.0:9090"
  public_url: "https://auth.example.com/"
  io_threads: 4
  max_body_bytes: 1024
  read_timeout: 5s
  idle_timeout: 2m
  drain_timeout: 0
  trust_forwarded_for: true
log: { level: debug, json: true }
storage: { driver: sqlite, path: data/stepup.db, busy_timeout: 1s }
tokens:
  issuer: "https://issuer.example.com"
  audience: gateway
  algorithm: EdDSA
  access_ttl: 5m
  refresh_ttl: 7d
  refresh_reuse_grace: 10s
  clock_skew: 0s
  key_retire_after: 1h
sessions: { idle_timeout: 10m, absolute_timeout: 8h }
cookie: { name: sid, secure: false, same_site: Strict }
passwords: { min_length: 12, max_length: 128, argon2_memory_kib: 8192, argon2_iterations: 1, hash_workers: 2, hash_queue: 10 }
levels:
  low: { reached_by: [[pwd]] }
  mid: { acr: "urn:example:mid", reached_by: [[pwd, otp], [pwd, hwk]], elevation: 15m }
base_level: low
rules:
  - { methods: [post], path: "/payments/**", level: mid, max_age: 5m, reason: "Payments need a second factor" }
  - { hosts: ["*.example.com"], path: "/**", level: low }
default: { public: true }
return_to_origins: ["https://app.example.com", "http://localhost:3000/"]
introspection_clients:
  - { id: gw, secret: gw-secret-123 }
  - { id: other, secret: "s2" }
)";

TEST(ParseConfig, FullRoundTrip) {
  const Config c = parse_config(kFull, "/etc/stepup/stepup.yaml");
  EXPECT_EQ(c.source_path, "/etc/stepup/stepup.yaml");
  EXPECT_EQ(c.server.listen, "0.0.0.0:9090");
  EXPECT_EQ(c.server.public_url, "https://auth.example.com");  // trailing slash dropped
  EXPECT_EQ(c.server.io_threads, 4);
  EXPECT_EQ(c.server.max_body_bytes, 1024u);
  EXPECT_EQ(c.server.read_timeout, 5);
  EXPECT_EQ(c.server.idle_timeout, 120);
  EXPECT_EQ(c.server.drain_timeout, 0);
  EXPECT_TRUE(c.server.trust_forwarded_for);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_TRUE(c.log.json);
  EXPECT_EQ(c.storage.driver, "sqlite");
  EXPECT_EQ(c.storage.path, "/etc/stepup/data/stepup.db");
  EXPECT_EQ(c.storage.busy_timeout, 1);
  EXPECT_EQ(c.tokens.issuer, "https://issuer.example.com");
  EXPECT_EQ(c.tokens.audience, "gateway");
  EXPECT_EQ(c.tokens.algorithm, "EdDSA");
  EXPECT_EQ(c.tokens.access_ttl, 300);
  EXPECT_EQ(c.tokens.refresh_ttl, 7 * 86400);
  EXPECT_EQ(c.tokens.refresh_reuse_grace, 10);
  EXPECT_EQ(c.tokens.clock_skew, 0);
  EXPECT_EQ(c.tokens.key_retire_after, 3600);
  EXPECT_EQ(c.sessions.idle_timeout, 600);
  EXPECT_EQ(c.sessions.absolute_timeout, 8 * 3600);
  EXPECT_EQ(c.cookie.name, "sid");
  EXPECT_FALSE(c.cookie.secure);
  EXPECT_EQ(c.cookie.same_site, "Strict");
  EXPECT_EQ(c.passwords.min_length, 12);
  EXPECT_EQ(c.passwords.max_length, 128);
  EXPECT_EQ(c.passwords.argon2_memory_kib, 8192u);
  EXPECT_EQ(c.passwords.argon2_iterations, 1u);
  EXPECT_EQ(c.passwords.hash_workers, 2);
  EXPECT_EQ(c.passwords.hash_queue, 10);

  ASSERT_EQ(c.levels.size(), 2);
  EXPECT_EQ(c.levels.at(0).name, "low");
  EXPECT_EQ(c.levels.at(0).acr, "low");  // acr defaults to the name
  EXPECT_EQ(c.levels.at(0).elevation, std::nullopt);
  EXPECT_EQ(c.levels.at(1).name, "mid");
  EXPECT_EQ(c.levels.at(1).acr, "urn:example:mid");
  EXPECT_EQ(c.levels.at(1).elevation, 900);
  EXPECT_EQ(c.levels.at(1).reached_by,
            (std::vector<std::vector<std::string>>{{"pwd", "otp"}, {"pwd", "hwk"}}));
  EXPECT_EQ(c.base_level, "low");

  ASSERT_EQ(c.policy.rules().size(), 2u);
  const core::Rule& pay = c.policy.rules()[0];
  EXPECT_EQ(pay.spec.methods, std::vector<std::string>{"POST"});
  EXPECT_EQ(pay.spec.path, "/payments/**");
  EXPECT_EQ(pay.spec.effect, core::RuleEffect::kRequire);
  EXPECT_EQ(pay.level, 1);
  EXPECT_EQ(pay.spec.max_age, 300);
  EXPECT_EQ(pay.spec.reason, "Payments need a second factor");
  EXPECT_EQ(c.policy.rules()[1].spec.hosts, std::vector<std::string>{"*.example.com"});
  EXPECT_EQ(c.policy.rules()[1].spec.path, "/**");
  EXPECT_EQ(c.policy.default_rule().spec.effect, core::RuleEffect::kPublic);

  EXPECT_EQ(c.allowed_return_origins,
            (std::vector<std::string>{"https://app.example.com", "http://localhost:3000"}));
  ASSERT_EQ(c.introspection_clients.size(), 2u);
  EXPECT_EQ(c.introspection_clients[0].id, "gw");
  EXPECT_EQ(c.introspection_clients[0].secret, "gw-secret-123");
  EXPECT_EQ(c.introspection_clients[1].id, "other");
}

TEST(ParseConfig, EmptyFileGivesDefaults) {
  for (const char* text : {"", "# only a comment\n", "---\n"}) {
    const Config c = parse_config(text, "stepup.yaml");
    const Config defaults;
    EXPECT_EQ(c.server.listen, defaults.server.listen);
    EXPECT_EQ(c.server.public_url, "http://localhost:8080");
    EXPECT_EQ(c.tokens.issuer, "http://localhost:8080");  // from public_url
    EXPECT_EQ(c.tokens.algorithm, "ES256");
    EXPECT_EQ(c.storage.path, "stepup.db");  // no directory in the source name
    ASSERT_EQ(c.levels.size(), 3);
    EXPECT_EQ(c.levels.at(0).name, "aal1");
    EXPECT_EQ(c.levels.at(0).elevation, std::nullopt);
    EXPECT_EQ(c.levels.at(1).name, "aal2");
    // The three second-factor sets, the two passkey-alone sets, then recovery
    // codes (factors.recovery_codes.reaches).
    EXPECT_EQ(c.levels.at(1).reached_by, (std::vector<std::vector<std::string>>{{"pwd", "otp"},
                                                                                {"pwd", "hwk"},
                                                                                {"pwd", "swk"},
                                                                                {"hwk", "user"},
                                                                                {"swk", "user"},
                                                                                {"pwd", "rc"}}));
    EXPECT_EQ(c.levels.at(1).elevation, 900);
    EXPECT_EQ(c.levels.at(2).name, "aal3");
    EXPECT_EQ(c.levels.at(2).reached_by,
              (std::vector<std::vector<std::string>>{{"pwd", "hwk", "user"}}));
    EXPECT_EQ(c.levels.at(2).elevation, 300);
    EXPECT_EQ(c.base_level, "aal1");
    EXPECT_TRUE(c.policy.rules().empty());
    // Fail closed: no rules and no default means deny.
    EXPECT_EQ(c.policy.match({"GET", "", "/"}).spec.effect, core::RuleEffect::kDeny);
  }
}

TEST(ParseConfig, ExampleFileParsesAndShowsTheDefaults) {
  const std::filesystem::path example =
      std::filesystem::path(__FILE__).parent_path() / "../../examples/config/stepup.example.yaml";
  const Config c = load_config(example.string());
  const Config d;
  EXPECT_EQ(c.server.listen, d.server.listen);
  EXPECT_EQ(c.server.public_url, d.server.public_url);
  EXPECT_EQ(c.server.io_threads, d.server.io_threads);
  EXPECT_EQ(c.server.max_body_bytes, d.server.max_body_bytes);
  EXPECT_EQ(c.server.read_timeout, d.server.read_timeout);
  EXPECT_EQ(c.server.idle_timeout, d.server.idle_timeout);
  EXPECT_EQ(c.server.drain_timeout, d.server.drain_timeout);
  EXPECT_EQ(c.server.trust_forwarded_for, d.server.trust_forwarded_for);
  EXPECT_EQ(c.server.metrics_listen, d.server.metrics_listen);
  EXPECT_EQ(c.server.metrics_token_file, d.server.metrics_token_file);
  EXPECT_EQ(c.upstream.path_case, d.upstream.path_case);
  EXPECT_EQ(c.upstream.trailing_slash, d.upstream.trailing_slash);
  EXPECT_EQ(c.log.level, d.log.level);
  EXPECT_EQ(c.log.json, d.log.json);
  EXPECT_EQ(c.storage.driver, d.storage.driver);
  EXPECT_EQ(c.storage.busy_timeout, d.storage.busy_timeout);
  EXPECT_EQ(c.tokens.audience, d.tokens.audience);
  EXPECT_EQ(c.tokens.algorithm, d.tokens.algorithm);
  EXPECT_EQ(c.tokens.access_ttl, d.tokens.access_ttl);
  EXPECT_EQ(c.tokens.refresh_ttl, d.tokens.refresh_ttl);
  EXPECT_EQ(c.tokens.refresh_reuse_grace, d.tokens.refresh_reuse_grace);
  EXPECT_EQ(c.tokens.clock_skew, d.tokens.clock_skew);
  EXPECT_EQ(c.tokens.key_retire_after, d.tokens.key_retire_after);
  EXPECT_EQ(c.sessions.idle_timeout, d.sessions.idle_timeout);
  EXPECT_EQ(c.sessions.absolute_timeout, d.sessions.absolute_timeout);
  EXPECT_EQ(c.cookie.name, d.cookie.name);
  EXPECT_EQ(c.cookie.secure, d.cookie.secure);
  EXPECT_EQ(c.cookie.same_site, d.cookie.same_site);
  EXPECT_EQ(c.passwords.min_length, d.passwords.min_length);
  EXPECT_EQ(c.passwords.max_length, d.passwords.max_length);
  EXPECT_EQ(c.passwords.argon2_memory_kib, d.passwords.argon2_memory_kib);
  EXPECT_EQ(c.passwords.argon2_iterations, d.passwords.argon2_iterations);
  EXPECT_EQ(c.passwords.hash_workers, d.passwords.hash_workers);
  EXPECT_EQ(c.passwords.hash_queue, d.passwords.hash_queue);
  EXPECT_EQ(c.step_up.max_open_challenges, d.step_up.max_open_challenges);
  EXPECT_EQ(c.webauthn.max_login_challenges, d.webauthn.max_login_challenges);
  // The levels written out are the built-in ones.
  const Config builtin = parse_config("", "x.yaml");
  ASSERT_EQ(c.levels.size(), builtin.levels.size());
  for (int i = 0; i < c.levels.size(); ++i) {
    EXPECT_EQ(c.levels.at(i).name, builtin.levels.at(i).name);
    EXPECT_EQ(c.levels.at(i).acr, builtin.levels.at(i).acr);
    EXPECT_EQ(c.levels.at(i).reached_by, builtin.levels.at(i).reached_by);
    EXPECT_EQ(c.levels.at(i).elevation, builtin.levels.at(i).elevation);
  }
  EXPECT_EQ(c.policy.rules().size(), 5u);
  EXPECT_TRUE(std::filesystem::path(c.storage.path).is_absolute() ||
              c.storage.path.find('/') != std::string::npos);
  // The step-up sections.
  EXPECT_EQ(c.factors.totp.algorithm, d.factors.totp.algorithm);
  EXPECT_EQ(c.factors.totp.digits, d.factors.totp.digits);
  EXPECT_EQ(c.factors.totp.period, d.factors.totp.period);
  EXPECT_EQ(c.factors.totp.issuer, d.factors.totp.issuer);
  EXPECT_EQ(c.factors.recovery_code_count, d.factors.recovery_code_count);
  EXPECT_EQ(c.factors.recovery_codes_reach, d.factors.recovery_codes_reach);
  EXPECT_EQ(c.secrets.key_file, (example.parent_path() / d.secrets.key_file).string());
  EXPECT_EQ(c.secrets.old_key_files, d.secrets.old_key_files);
  EXPECT_EQ(c.step_up.challenge_ttl, d.step_up.challenge_ttl);
  EXPECT_EQ(c.step_up.enrollment_max_age, d.step_up.enrollment_max_age);
  EXPECT_EQ(c.step_up.revoke_other_sessions_on_factor_change,
            d.step_up.revoke_other_sessions_on_factor_change);
  EXPECT_EQ(c.lockout.max_failures, d.lockout.max_failures);
  EXPECT_EQ(c.lockout.base_delay, d.lockout.base_delay);
  EXPECT_EQ(c.lockout.max_delay, d.lockout.max_delay);
  EXPECT_EQ(c.rate_limits.login.per_second, d.rate_limits.login.per_second);
  EXPECT_EQ(c.rate_limits.login.burst, d.rate_limits.login.burst);
  EXPECT_EQ(c.rate_limits.verify.per_second, d.rate_limits.verify.per_second);
  EXPECT_EQ(c.rate_limits.verify.burst, d.rate_limits.verify.burst);
  EXPECT_EQ(c.webauthn.rp_id, d.webauthn.rp_id);
  EXPECT_EQ(c.webauthn.rp_name, d.webauthn.rp_name);
  EXPECT_EQ(c.webauthn.origins, d.webauthn.origins);
  EXPECT_EQ(c.webauthn.passkey_login, d.webauthn.passkey_login);
  EXPECT_EQ(c.webauthn.timeout, d.webauthn.timeout);
}

TEST(ParseConfig, StoragePathResolution) {
  auto path_for = [](const std::string& path, const std::string& source) {
    return parse_config("storage: { path: \"" + path + "\" }\n", source).storage.path;
  };
  EXPECT_EQ(path_for("x.db", "/etc/stepup/stepup.yaml"), "/etc/stepup/x.db");
  EXPECT_EQ(path_for("d/x.db", "conf/stepup.yaml"), "conf/d/x.db");
  EXPECT_EQ(path_for("/var/lib/x.db", "/etc/stepup/stepup.yaml"), "/var/lib/x.db");
  EXPECT_EQ(path_for("x.db", "stepup.yaml"), "x.db");
  EXPECT_EQ(path_for(":memory:", "/etc/stepup.yaml"), ":memory:");
  // The default path is resolved too.
  EXPECT_EQ(parse_config("", "/srv/a/stepup.yaml").storage.path, "/srv/a/stepup.db");
}

TEST(LoadConfig, MetricsTokenFileIsReadNextToTheConfig) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("stepup-config-metrics-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "s.yaml").string();
  {
    std::ofstream out(file);
    out << "server:\n  metrics_token_file: token\n";
  }
  const std::string token(40, 'k');
  {
    std::ofstream out(dir / "token");
    out << token << "\n";  // the newline `echo` leaves is not part of it
  }
  Config c = load_config(file);
  EXPECT_EQ(c.server.metrics_token_file, (dir / "token").string());
  EXPECT_EQ(c.server.metrics_token, token);
  EXPECT_EQ(c.server.metrics_listen, "");
  // Too short, or with characters a Bearer value cannot carry: refused at the key.
  const std::vector<std::string> bads = {std::string(31, 'k'), std::string(20, 'k') + " x" + token,
                                         ""};
  for (const std::string& bad : bads) {
    {
      std::ofstream out(dir / "token");
      out << bad;
    }
    try {
      load_config(file);
      ADD_FAILURE() << "expected ConfigError for \"" << bad << "\"";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(file + ":2: server.metrics_token_file: \"" +
                                                (dir / "token").string() +
                                                "\" must hold one token of at least 32",
                                            0),
                0u)
          << e.what();
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(LoadConfig, ReadsFileAndReportsItsName) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("stepup-config-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "s.yaml").string();
  {
    std::ofstream out(file);
    out << "server:\n  listen: \"127.0.0.1:0\"\n  bogus: 1\n";
  }
  try {
    load_config(file);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(file + ":3: unknown key \"bogus\" in server", 0), 0u)
        << e.what();
  }
  {
    std::ofstream out(file);
    out << "server:\n  listen: \"127.0.0.1:0\"\n";
  }
  const Config c = load_config(file);
  EXPECT_EQ(c.server.listen, "127.0.0.1:0");
  EXPECT_EQ(c.storage.path, (dir / "stepup.db").string());
  std::filesystem::remove_all(dir);

  try {
    load_config(std::filesystem::temp_directory_path().string());
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos);
  }
  try {
    load_config((dir / "missing.yaml").string());
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.yaml: cannot open"), std::string::npos);
  }
}

// ---------------------------------------------------------------- errors

struct ErrorRow {
  const char* name;
  const char* yaml;
  const char* want;  // the whole first report line, "test.yaml:LINE: ..."
};

void PrintTo(const ErrorRow& row, std::ostream* os) { *os << row.name; }

class ErrorTable : public ::testing::TestWithParam<ErrorRow> {};

TEST_P(ErrorTable, ReportsLineAndMessage) {
  const std::string report = errors_of(GetParam().yaml);
  const std::vector<std::string> lines = lines_of(report);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], GetParam().want) << "full report:\n" << report;
  EXPECT_EQ(lines.size(), 1u) << "full report:\n" << report;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, ErrorTable,
    ::testing::Values(
        ErrorRow{"bad upstream path_case", "upstream: { path_case: maybe }\n",
                 "test.yaml:1: upstream.path_case: must be sensitive, insensitive or unknown "
                 "(got \"maybe\")"},
        ErrorRow{"bad upstream trailing_slash", "upstream:\n  trailing_slash: yes\n",
                 "test.yaml:2: upstream.trailing_slash: must be significant, ignored or unknown "
                 "(got \"yes\")"},
        // Unknown keys at several depths.
        ErrorRow{"unknown top-level key", "server: {}\nlevls: {}\n",
                 "test.yaml:2: unknown key \"levls\" at the top level (allowed: server, log, "
                 "storage, tokens, sessions, cookie, passwords, levels, base_level, rules, "
                 "upstream, default, return_to_origins, introspection_clients, factors, secrets, step_up, "
                 "lockout, rate_limits, webauthn)"},
        ErrorRow{"unknown key in server", "server:\n  listen: \"a:1\"\n  listn: \"b:2\"\n",
                 "test.yaml:3: unknown key \"listn\" in server (allowed: listen, public_url, "
                 "io_threads, max_body_bytes, read_timeout, idle_timeout, drain_timeout, "
                 "trust_forwarded_for, metrics_listen, metrics_token_file)"},
        ErrorRow{"unknown key in a level",
                 "levels:\n  aal1:\n    reached_by: [[pwd]]\n    elevaton: 5m\n",
                 "test.yaml:4: unknown key \"elevaton\" in levels.aal1 (allowed: acr, "
                 "reached_by, elevation)"},
        ErrorRow{"unknown key in a rule",
                 "rules:\n  - { path: \"/a\", level: aal1 }\n  - path: \"/b\"\n    lvl: aal1\n"
                 "    level: aal1\n",
                 "test.yaml:4: unknown key \"lvl\" in rules[1] (allowed: methods, hosts, path, "
                 "level, max_age, public, deny, reason)"},
        ErrorRow{"unknown key in the default rule", "default: { deny: true, path: \"/x\" }\n",
                 "test.yaml:1: unknown key \"path\" in default (allowed: level, max_age, public, "
                 "deny, reason)"},
        ErrorRow{"unknown key in an introspection client",
                 "introspection_clients:\n  - id: gw\n    secret: s\n    scope: all\n",
                 "test.yaml:4: unknown key \"scope\" in introspection_clients[0] (allowed: id, "
                 "secret)"},
        ErrorRow{"duplicate key", "log:\n  level: info\n  level: debug\n",
                 "test.yaml:3: duplicate key \"level\" in log"},
        // Wrong types and values.
        ErrorRow{"section is a string", "server: yes\n",
                 "test.yaml:1: server: expected a mapping of keys, got \"yes\""},
        ErrorRow{"string where a list is expected",
                 "rules:\n  - { methods: POST, path: \"/a\", level: aal1 }\n",
                 "test.yaml:2: rules[0].methods: expected a list like [a, b], got \"POST\""},
        ErrorRow{"bad duration", "tokens:\n  access_ttl: abc\n",
                 "test.yaml:2: tokens.access_ttl: expected a duration like 90s, 5m, 12h, 7d or "
                 "whole seconds, got \"abc\""},
        ErrorRow{"zero ttl", "tokens:\n  access_ttl: 0s\n",
                 "test.yaml:2: tokens.access_ttl: must be at least 1s (got 0s)"},
        ErrorRow{"negative number", "\nserver:\n  max_body_bytes: -5\n",
                 "test.yaml:3: server.max_body_bytes: must not be negative (got -5)"},
        ErrorRow{"not a number", "server: { io_threads: many }\n",
                 "test.yaml:1: server.io_threads: expected a whole number, got \"many\""},
        ErrorRow{"io_threads too large", "server:\n  io_threads: 300\n",
                 "test.yaml:2: server.io_threads: must be between 0 and 256 (got 300)"},
        ErrorRow{"max_length below 64", "passwords:\n  max_length: 32\n",
                 "test.yaml:2: passwords.max_length: must be between 64 and 4096 (got 32)"},
        ErrorRow{"min_length below 8 (NIST SP 800-63B)", "passwords:\n  min_length: 7\n",
                 "test.yaml:2: passwords.min_length: must be between 8 and 4096 (got 7)"},
        ErrorRow{"min above max", "passwords:\n  min_length: 100\n  max_length: 64\n",
                 "test.yaml:2: passwords.min_length: must not be larger than max_length (64)"},
        ErrorRow{"same_site", "cookie:\n  same_site: None\n",
                 "test.yaml:2: cookie.same_site: must be Lax or Strict (got \"None\")"},
        ErrorRow{"bool", "cookie:\n  secure: maybe\n",
                 "test.yaml:2: cookie.secure: expected true or false, got \"maybe\""},
        ErrorRow{"algorithm", "tokens:\n  algorithm: HS256\n",
                 "test.yaml:2: tokens.algorithm: must be ES256 or EdDSA (got \"HS256\")"},
        ErrorRow{"metrics_listen without port", "server:\n  metrics_listen: \"127.0.0.1\"\n",
                 "test.yaml:2: server.metrics_listen: needs a port, like 127.0.0.1:8080 (got "
                 "\"127.0.0.1\")"},
        // SO_REUSEPORT would let both bind and split connections at random.
        ErrorRow{"metrics_listen on the main port",
                 "server:\n  listen: \"127.0.0.1:8080\"\n  metrics_listen: \"0.0.0.0:8080\"\n",
                 "test.yaml:3: server.metrics_listen: must use another port than server.listen "
                 "(\"127.0.0.1:8080\")"},
        ErrorRow{"metrics_token_file missing",
                 "server:\n  metrics_token_file: no-such-token-file\n",
                 "test.yaml:2: server.metrics_token_file: cannot read \"no-such-token-file\": No "
                 "such file or directory"},
        ErrorRow{"listen without port", "server:\n  listen: \"127.0.0.1\"\n",
                 "test.yaml:2: server.listen: needs a port, like 127.0.0.1:8080 (got "
                 "\"127.0.0.1\")"},
        ErrorRow{"listen with bad port", "server:\n  listen: \"127.0.0.1:99999\"\n",
                 "test.yaml:2: server.listen: port must be a number from 0 to 65535 (got "
                 "\"127.0.0.1:99999\")"},
        ErrorRow{"public_url scheme", "server:\n  public_url: \"ftp://x\"\n",
                 "test.yaml:2: server.public_url: must start with http:// or https:// (got "
                 "\"ftp://x\")"},
        ErrorRow{"public_url without host", "server:\n  public_url: \"https://\"\n",
                 "test.yaml:2: server.public_url: needs a host after the scheme (got "
                 "\"https://\")"},
        ErrorRow{"log level", "log: { level: loud }\n",
                 "test.yaml:1: log.level: must be one of trace, debug, info, warn, error (got "
                 "\"loud\")"},
        ErrorRow{"storage driver", "storage:\n  driver: postgres\n",
                 "test.yaml:2: storage.driver: only \"sqlite\" is supported (got \"postgres\")"},
        ErrorRow{"empty string", "tokens:\n  audience: \"\"\n",
                 "test.yaml:2: tokens.audience: must not be empty"},
        ErrorRow{"host-prefixed cookie", "cookie:\n  name: __Host-sid\n",
                 "test.yaml:2: cookie.name: leave out the __Host- prefix; it is added when "
                 "secure is true"},
        ErrorRow{"origin with a path", "return_to_origins:\n  - \"https://app.example.com/x\"\n",
                 "test.yaml:2: return_to_origins[0]: must be an origin (scheme://host[:port]) "
                 "without path, query or fragment (got \"https://app.example.com/x\")"},
        ErrorRow{"client id with colon", "introspection_clients:\n  - { id: \"a:b\", secret: s }\n",
                 "test.yaml:2: introspection_clients[0].id: must not contain ':' (HTTP Basic "
                 "cannot carry it)"},
        ErrorRow{"duplicate client",
                 "introspection_clients:\n  - { id: a, secret: s }\n  - { id: a, secret: t }\n",
                 "test.yaml:3: introspection_clients[1]: duplicate client id \"a\""},
        // Levels.
        ErrorRow{"reached_by is a string", "levels:\n  aal1:\n    reached_by: pwd\n",
                 "test.yaml:3: levels.aal1.reached_by: expected a non-empty list of method sets "
                 "like [[pwd, otp]], got \"pwd\""},
        ErrorRow{"reached_by is a flat list", "levels:\n  aal1:\n    reached_by: [pwd]\n",
                 "test.yaml:3: levels.aal1.reached_by[0]: each entry is a list of methods, write "
                 "[[pwd]] rather than [pwd]"},
        ErrorRow{"method not lower case", "levels:\n  aal1:\n    reached_by: [[PWD]]\n",
                 "test.yaml:3: levels.aal1.reached_by[0]: method \"PWD\" must be a lower-case "
                 "RFC 8176 name like pwd, otp, hwk"},
        ErrorRow{"level without reached_by", "levels:\n  aal1:\n    acr: one\n",
                 "test.yaml:2: levels.aal1: needs reached_by, e.g. reached_by: [[pwd, otp]]"},
        ErrorRow{"zero elevation",
                 "levels:\n  aal1: { reached_by: [[pwd]] }\n  aal2: { reached_by: [[otp]], "
                 "elevation: 0s }\n",
                 "test.yaml:3: levels.aal2.elevation: must be at least 1s (got 0s)"},
        ErrorRow{"duplicate acr",
                 "levels:\n  a: { reached_by: [[pwd]] }\n  b:\n    acr: a\n    reached_by: "
                 "[[otp]]\n",
                 "test.yaml:4: levels.b: acr \"a\" is already used by another level"},
        ErrorRow{"empty levels", "levels: {}\n",
                 "test.yaml:1: levels: must name at least one level"},
        ErrorRow{"unknown base level", "base_level: aal7\n",
                 "test.yaml:1: base_level: unknown level \"aal7\""},
        ErrorRow{"elevated base level", "base_level: aal2\n",
                 "test.yaml:1: base_level: level \"aal2\" has an elevation; the base level is "
                 "held for the whole session"},
        // Rules.
        ErrorRow{"rule with unknown level", "rules:\n  - path: \"/x\"\n    level: aal9\n",
                 "test.yaml:3: rules[0].level: unknown level \"aal9\" (levels: aal1, aal2, "
                 "aal3)"},
        ErrorRow{"rule with bad glob", "rules:\n  - { path: \"/a**b\", level: aal1 }\n",
                 "test.yaml:2: rules[0].path: \"/a**b\": ** must be a whole path segment (like "
                 "/a/**/b)"},
        ErrorRow{"rule glob not starting with /",
                 "rules:\n  - { path: \"admin/**\", level: aal1 }\n",
                 "test.yaml:2: rules[0].path: \"admin/**\": path glob must start with /"},
        ErrorRow{"rule with bad host", "rules:\n  - hosts: [\"a.*.com\"]\n    level: aal1\n",
                 "test.yaml:2: rules[0].hosts: \"a.*.com\": * is only allowed as a leading *. "
                 "label"},
        ErrorRow{"rule with no effect", "rules:\n  - { path: \"/x\" }\n",
                 "test.yaml:2: rules[0]: needs one of level: NAME, public: true or deny: true"},
        ErrorRow{"rule with public false only", "rules:\n  - { path: \"/x\", public: false }\n",
                 "test.yaml:2: rules[0]: needs one of level: NAME, public: true or deny: true"},
        ErrorRow{"rule with two effects", "rules:\n  - { path: \"/x\", level: aal1, deny: true }\n",
                 "test.yaml:2: rules[0]: has more than one of level, public: true and deny: "
                 "true; keep one"},
        ErrorRow{"max_age on public",
                 "rules:\n  - path: \"/x\"\n    public: true\n    max_age: 5m\n",
                 "test.yaml:4: rules[0].max_age: only applies to a rule with a level"},
        ErrorRow{"reason with quotes",
                 "rules:\n  - { path: \"/x\", deny: true, reason: 'say \"no\"' }\n",
                 "test.yaml:2: rules[0].reason: must be plain ASCII text without quotes or "
                 "backslashes (it is sent in the WWW-Authenticate header)"},
        ErrorRow{"rules not a list", "rules: { path: \"/x\" }\n",
                 "test.yaml:1: rules: expected a list of rules, got a mapping"},
        ErrorRow{"default with no effect", "default: {}\n",
                 "test.yaml:1: default: needs one of level: NAME, public: true or deny: true"},
        // Syntax.
        ErrorRow{"yaml syntax error", "server:\n  listen: \"a:1\"\n  bad: [1, 2\n",
                 "test.yaml:4: YAML syntax error: end of sequence flow not found"},
        ErrorRow{"tab indentation", "server:\n\tlisten: x\n",
                 "test.yaml:2: YAML syntax error: illegal map value"},
        ErrorRow{"top level is a list", "- a\n- b\n",
                 "test.yaml:1: the file must be a mapping of sections (server:, levels:, "
                 "rules:, ...)"}));

TEST(ParseConfig, AllProblemsReportedTogetherInFileOrder) {
  const std::string report = errors_of(
      "server:\n"                                          // 1
      "  io_threads: 999\n"                                // 2
      "  listen: nowhere\n"                                // 3
      "tokens:\n"                                          // 4
      "  algorithm: RS256\n"                               // 5
      "levels:\n"                                          // 6
      "  aal1: { reached_by: [[pwd]] }\n"                  // 7
      "rules:\n"                                           // 8
      "  - { path: \"/x\", level: aal2 }\n"                // 9
      "  - { path: \"/y\", public: true, colour: red }\n"  // 10
      "cookie: { same_site: lax }\n",                      // 11
      "conf/stepup.yaml");
  const std::vector<std::string> lines = lines_of(report);
  ASSERT_EQ(lines.size(), 6u) << report;
  EXPECT_EQ(lines[0].rfind("conf/stepup.yaml:2: server.io_threads:", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("conf/stepup.yaml:3: server.listen:", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("conf/stepup.yaml:5: tokens.algorithm:", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3], "conf/stepup.yaml:9: rules[0].level: unknown level \"aal2\" (levels: aal1)");
  EXPECT_EQ(lines[4].rfind("conf/stepup.yaml:10: unknown key \"colour\" in rules[1]", 0), 0u)
      << lines[4];
  EXPECT_EQ(lines[5].rfind("conf/stepup.yaml:11: cookie.same_site:", 0), 0u) << lines[5];
}

TEST(ParseConfig, UpstreamSemantics) {
  const Config d = parse_config("", "x");
  EXPECT_EQ(d.upstream.path_case, core::PathCase::kUnknown);
  EXPECT_EQ(d.upstream.trailing_slash, core::TrailingSlash::kUnknown);
  const Config c = parse_config(
      "upstream: { path_case: insensitive, trailing_slash: ignored }\n"
      "rules:\n  - { path: \"/admin/**\", level: aal2 }\n  - { path: \"/**\", public: true }\n",
      "x");
  EXPECT_EQ(c.upstream.path_case, core::PathCase::kInsensitive);
  EXPECT_EQ(c.upstream.trailing_slash, core::TrailingSlash::kIgnored);
  // The policy was compiled with them: /ADMIN/ is the admin area.
  EXPECT_EQ(c.policy.match({"GET", "", "/ADMIN/"}).index, 0);
  const Config s = parse_config(
      "upstream: { path_case: sensitive, trailing_slash: significant }\n"
      "rules:\n  - { path: \"/admin/**\", level: aal2 }\n  - { path: \"/**\", public: true }\n",
      "x");
  EXPECT_EQ(s.policy.match({"GET", "", "/ADMIN/"}).index, 1);
}

TEST(ParseConfig, IssuerDefaultsToPublicUrl) {
  EXPECT_EQ(parse_config("server: { public_url: \"https://a.example\" }\n", "x").tokens.issuer,
            "https://a.example");
  EXPECT_EQ(
      parse_config("server: { public_url: \"https://a.example\" }\ntokens: { issuer: me }\n", "x")
          .tokens.issuer,
      "me");
}

TEST(ParseConfig, IPv6Listen) {
  EXPECT_EQ(parse_config("server: { listen: \"[::1]:8080\" }\n", "x").server.listen, "[::1]:8080");
  EXPECT_NE(errors_of("server: { listen: \"::1:8080\" }\n").find("IPv6"), std::string::npos);
}

// ---------------------------------------------------------------- policy from config text

constexpr const char* kPolicy = R"(levels:
  aal1: { reached_by: [[pwd]] }
  aal2: { reached_by: [[pwd, otp], [pwd, hwk]], elevation: 15m }
rules:
  - { methods: [POST], path: "/payments/**", level: aal2, max_age: 5m, reason: "Payments need a second factor" }
  - { path: "/admin/**", level: aal2, max_age: 5m }
  - { path: "/public/**", public: true }
  - { path: "/blocked/**", deny: true, reason: "Closed" }
  - { hosts: ["*.example.com"], path: "/**", level: aal1 }
  - { path: "/api/*/status", public: true }
default: { level: aal1 }
)";

constexpr core::UnixTime kT0 = 1'700'000'000;  // password sign-in

struct PolicyRow {
  const char* method;
  const char* host;
  const char* path;
  std::vector<core::MethodProof> proofs;  // empty: no session
  core::UnixTime now;
  core::Verdict verdict;
  int rule;  // index of the deciding rule, -1 default
};

void PrintTo(const PolicyRow& r, std::ostream* os) {
  *os << r.method << " " << r.host << r.path << " @" << (r.now - kT0);
}

class PolicyFromConfig : public ::testing::TestWithParam<PolicyRow> {};

TEST_P(PolicyFromConfig, Decides) {
  static const Config cfg = parse_config(kPolicy, "policy.yaml");
  const PolicyRow& row = GetParam();
  const core::Rule& rule = cfg.policy.match({row.method, row.host, row.path});
  EXPECT_EQ(rule.index, row.rule);
  const std::vector<core::Attainment> held = cfg.levels.attainments(row.proofs, row.now);
  const core::Principal principal{"alice", "s1", held};
  const core::Decision d = core::decide(rule, row.proofs.empty() ? nullptr : &principal, row.now);
  EXPECT_EQ(core::to_string(d.verdict), core::to_string(row.verdict));
}

const std::vector<core::MethodProof> kPwdOnly = {{"pwd", kT0}};
const std::vector<core::MethodProof> kWithOtp = {{"pwd", kT0}, {"otp", kT0 + 600}};

INSTANTIATE_TEST_SUITE_P(
    Rows, PolicyFromConfig,
    ::testing::Values(
        PolicyRow{"POST", "", "/payments/1", {}, kT0, core::Verdict::kLogin, 0},
        PolicyRow{"POST", "", "/payments/1", kPwdOnly, kT0 + 10, core::Verdict::kStepUp, 0},
        PolicyRow{"POST", "", "/payments/1", kWithOtp, kT0 + 600 + 300, core::Verdict::kAllow, 0},
        PolicyRow{"POST", "", "/payments/1", kWithOtp, kT0 + 600 + 301, core::Verdict::kStepUp, 0},
        PolicyRow{"GET", "", "/payments/1", kPwdOnly, kT0 + 10, core::Verdict::kAllow, -1},
        PolicyRow{"GET", "", "/admin", kWithOtp, kT0 + 700, core::Verdict::kAllow, 1},
        PolicyRow{"GET", "", "/admin/users", kPwdOnly, kT0 + 700, core::Verdict::kStepUp, 1},
        PolicyRow{"GET", "", "/public/x.css", {}, kT0, core::Verdict::kAllow, 2},
        PolicyRow{"GET", "", "/blocked/x", kWithOtp, kT0 + 700, core::Verdict::kDeny, 3},
        PolicyRow{"GET", "app.example.com:443", "/home", kPwdOnly, kT0 + 99999,
                  core::Verdict::kAllow, 4},
        PolicyRow{"GET", "app.example.com", "/home", {}, kT0, core::Verdict::kLogin, 4},
        // Host rule shadows the later public rule for its hosts only.
        PolicyRow{"GET", "app.example.com", "/api/v2/status", {}, kT0, core::Verdict::kLogin, 4},
        PolicyRow{"GET", "other.org", "/api/v2/status", {}, kT0, core::Verdict::kAllow, 5},
        PolicyRow{"GET", "other.org", "/api/v2/x/status", {}, kT0, core::Verdict::kLogin, -1}));

}  // namespace
}  // namespace stepup::config
