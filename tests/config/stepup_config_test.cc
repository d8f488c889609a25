// Config loading of the step-up sections: factors, secrets, step_up, lockout,
// rate_limits, and the method set that factors.recovery_codes.reaches adds to
// a level.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace stepup::config {
namespace {

using Sets = std::vector<std::vector<std::string>>;

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

const Sets& reached_by(const Config& c, const std::string& level) {
  std::optional<core::LevelIndex> i = c.levels.find(level);
  if (!i) throw std::runtime_error("no level " + level);
  return c.levels.at(*i).reached_by;
}

// ---------------------------------------------------------------- good configs

constexpr const char* kStepUp = R"(factors:
  totp: { algorithm: SHA512, digits: 8, period: 1m, issuer: "Example Corp" }
  recovery_codes: { count: 12, reaches: aal3 }
secrets: { key_file: keys/current.key, old_key_files: [keys/old1.key, /abs/old2.key] }
step_up: { challenge_ttl: 2m, enrollment_max_age: 90s, revoke_other_sessions_on_factor_change: false }
lockout: { max_failures: 3, base_delay: 30s, max_delay: 30s }
rate_limits:
  login: { per_second: 0.5, burst: 3 }
  verify: { per_second: 0, burst: 1 }
)";

TEST(StepUpConfig, FullRoundTrip) {
  const Config c = parse_config(kStepUp, "/etc/stepup/stepup.yaml");
  EXPECT_EQ(c.factors.totp.algorithm, "SHA512");
  EXPECT_EQ(c.factors.totp.digits, 8);
  EXPECT_EQ(c.factors.totp.period, 60);
  EXPECT_EQ(c.factors.totp.issuer, "Example Corp");
  EXPECT_EQ(c.factors.recovery_code_count, 12);
  EXPECT_EQ(c.factors.recovery_codes_reach, "aal3");
  EXPECT_EQ(c.secrets.key_file, "/etc/stepup/keys/current.key");
  EXPECT_EQ(c.secrets.old_key_files,
            (std::vector<std::string>{"/etc/stepup/keys/old1.key", "/abs/old2.key"}));
  EXPECT_EQ(c.step_up.challenge_ttl, 120);
  EXPECT_EQ(c.step_up.enrollment_max_age, 90);
  EXPECT_FALSE(c.step_up.revoke_other_sessions_on_factor_change);
  EXPECT_EQ(c.lockout.max_failures, 3);
  EXPECT_EQ(c.lockout.base_delay, 30);
  EXPECT_EQ(c.lockout.max_delay, 30);  // equal delays are fine
  EXPECT_EQ(c.rate_limits.login.per_second, 0.5);
  EXPECT_EQ(c.rate_limits.login.burst, 3);
  EXPECT_EQ(c.rate_limits.verify.per_second, 0);  // 0: limit off
  EXPECT_EQ(c.rate_limits.verify.burst, 1);
  // aal3 gets the recovery set, aal2 keeps its own.
  EXPECT_EQ(reached_by(c, "aal3"), (Sets{{"pwd", "hwk", "user"}, {"pwd", "rc"}}));
  EXPECT_EQ(
      reached_by(c, "aal2"),
      (Sets{{"pwd", "otp"}, {"pwd", "hwk"}, {"pwd", "swk"}, {"hwk", "user"}, {"swk", "user"}}));
}

TEST(StepUpConfig, Defaults) {
  const Config c = parse_config("", "/srv/a/stepup.yaml");
  const Config d;
  EXPECT_EQ(c.factors.totp.algorithm, "SHA1");
  EXPECT_EQ(c.factors.totp.digits, 6);
  EXPECT_EQ(c.factors.totp.period, 30);
  EXPECT_EQ(c.factors.totp.issuer, "stepup");
  EXPECT_EQ(c.factors.recovery_code_count, 10);
  EXPECT_EQ(c.factors.recovery_codes_reach, "aal2");
  EXPECT_EQ(c.secrets.key_file, "/srv/a/stepup.key");  // resolved like storage.path
  EXPECT_TRUE(c.secrets.old_key_files.empty());
  EXPECT_EQ(c.step_up.challenge_ttl, 300);
  EXPECT_EQ(c.step_up.enrollment_max_age, 300);
  EXPECT_TRUE(c.step_up.revoke_other_sessions_on_factor_change);
  EXPECT_EQ(c.lockout.max_failures, 5);
  EXPECT_EQ(c.lockout.base_delay, 60);
  EXPECT_EQ(c.lockout.max_delay, 3600);
  EXPECT_EQ(c.rate_limits.login.per_second, 1);
  EXPECT_EQ(c.rate_limits.login.burst, 10);
  EXPECT_EQ(c.rate_limits.verify.per_second, 2);
  EXPECT_EQ(c.rate_limits.verify.burst, 10);
  // Empty sections mean all defaults too.
  const Config e = parse_config(
      "factors: { totp: {}, recovery_codes: }\nsecrets:\nstep_up: {}\nlockout:\n"
      "rate_limits: { login: {} }\n",
      "stepup.yaml");
  EXPECT_EQ(e.factors.totp.algorithm, d.factors.totp.algorithm);
  EXPECT_EQ(e.factors.recovery_codes_reach, "aal2");
  EXPECT_EQ(e.secrets.key_file, "stepup.key");  // no directory in the source name
  EXPECT_EQ(e.lockout.max_failures, d.lockout.max_failures);
  EXPECT_EQ(e.rate_limits.login.burst, d.rate_limits.login.burst);
}

TEST(StepUpConfig, DurationsAndNumbersInOtherSpellings) {
  const Config c = parse_config(
      "factors: { totp: { period: 15 } }\n"
      "rate_limits: { login: { per_second: 2.5e1, burst: 1000000 }, verify: { per_second: .25 } "
      "}\n",
      "x");
  EXPECT_EQ(c.factors.totp.period, 15);
  EXPECT_EQ(c.rate_limits.login.per_second, 25);
  EXPECT_EQ(c.rate_limits.login.burst, 1000000);
  EXPECT_EQ(c.rate_limits.verify.per_second, 0.25);
  EXPECT_EQ(parse_config("factors: { totp: { period: 2m } }\n", "x").factors.totp.period, 120);
}

TEST(StepUpConfig, SecretsPathResolution) {
  const Config rel =
      parse_config("secrets: { key_file: k.key, old_key_files: [o.key] }\n", "conf/stepup.yaml");
  EXPECT_EQ(rel.secrets.key_file, "conf/k.key");
  EXPECT_EQ(rel.secrets.old_key_files, std::vector<std::string>{"conf/o.key"});
  const Config abs =
      parse_config("secrets: { key_file: /var/lib/k.key }\n", "/etc/stepup/stepup.yaml");
  EXPECT_EQ(abs.secrets.key_file, "/var/lib/k.key");
}

// ---------------------------------------------------------------- recovery-code level

TEST(RecoveryReach, DefaultAppendsPasswordThenCodeToAal2) {
  const Config c = parse_config("", "x");
  EXPECT_EQ(reached_by(c, "aal1"), (Sets{{"pwd"}}));
  EXPECT_EQ(reached_by(c, "aal2"), (Sets{{"pwd", "otp"},
                                         {"pwd", "hwk"},
                                         {"pwd", "swk"},
                                         {"hwk", "user"},
                                         {"swk", "user"},
                                         {"pwd", "rc"}}));
  EXPECT_EQ(reached_by(c, "aal3"), (Sets{{"pwd", "hwk", "user"}}));

  // And the level table now decides so: a password, then a recovery code,
  // holds aal2 for its elevation.
  const std::vector<core::MethodProof> proofs = {{"pwd", 1000}, {"rc", 1100}};
  std::optional<core::Attainment> top = c.levels.highest(proofs, 1100 + 899);
  ASSERT_TRUE(top.has_value());
  EXPECT_EQ(c.levels.at(top->level).name, "aal2");
  EXPECT_EQ(top->reached_at, 1100);
  top = c.levels.highest(proofs, 1100 + 900);  // the 15m elevation is over
  ASSERT_TRUE(top.has_value());
  EXPECT_EQ(c.levels.at(top->level).name, "aal1");
  // A recovery code alone reaches nothing.
  const std::vector<core::MethodProof> rc_only = {{"rc", 1100}};
  EXPECT_FALSE(c.levels.highest(rc_only, 1100).has_value());
}

TEST(RecoveryReach, NoneOrEmptyDisables) {
  for (const char* text : {"factors: { recovery_codes: { reaches: none } }\n",
                           "factors: { recovery_codes: { reaches: \"\" } }\n"}) {
    const Config c = parse_config(text, "x");
    EXPECT_EQ(c.factors.recovery_codes_reach, "") << text;
    EXPECT_EQ(
        reached_by(c, "aal2"),
        (Sets{{"pwd", "otp"}, {"pwd", "hwk"}, {"pwd", "swk"}, {"hwk", "user"}, {"swk", "user"}}))
        << text;
  }
}

TEST(RecoveryReach, MissingDefaultLevelDisablesSilently) {
  const Config c = parse_config(
      "levels:\n  low: { reached_by: [[pwd]] }\n  high: { reached_by: [[pwd, otp]] }\n", "x");
  EXPECT_EQ(c.factors.recovery_codes_reach, "");
  EXPECT_EQ(reached_by(c, "low"), (Sets{{"pwd"}}));
  EXPECT_EQ(reached_by(c, "high"), (Sets{{"pwd", "otp"}}));
}

TEST(RecoveryReach, NamedLevelUsesTheBaseLevelsFirstSet) {
  const Config c = parse_config(
      "levels:\n"
      "  low: { reached_by: [[pwd, geo], [sso]] }\n"
      "  mid: { acr: \"urn:example:mid\", reached_by: [[pwd, geo, otp]], elevation: 10m }\n"
      "factors: { recovery_codes: { reaches: \"urn:example:mid\" } }\n",
      "x");
  EXPECT_EQ(c.factors.recovery_codes_reach, "mid");  // named by acr, stored by name
  EXPECT_EQ(reached_by(c, "mid"), (Sets{{"pwd", "geo", "otp"}, {"pwd", "geo", "rc"}}));
  EXPECT_EQ(reached_by(c, "low"), (Sets{{"pwd", "geo"}, {"sso"}}));
}

TEST(RecoveryReach, BaseLevelIsTheConfiguredOne) {
  const Config c = parse_config(
      "levels:\n"
      "  anon: { reached_by: [[none]] }\n"
      "  user: { reached_by: [[pwd]] }\n"
      "  aal2: { reached_by: [[pwd, otp]], elevation: 5m }\n"
      "base_level: user\n",
      "x");
  EXPECT_EQ(reached_by(c, "aal2"), (Sets{{"pwd", "otp"}, {"pwd", "rc"}}));
}

TEST(RecoveryReach, SetAlreadyWrittenIsNotRepeated) {
  for (const char* set : {"[pwd, rc]", "[rc, pwd]", "[rc, pwd, rc]"}) {
    const std::string text = std::string("levels:\n  aal1: { reached_by: [[pwd]] }\n") +
                             "  aal2: { reached_by: [[pwd, otp], " + set + "] }\n";
    const Config c = parse_config(text, "x");
    EXPECT_EQ(reached_by(c, "aal2").size(), 2u) << set;
  }
  // A base set that already holds rc does not get a second one.
  const Config c = parse_config(
      "levels:\n  aal1: { reached_by: [[pwd, rc]] }\n  aal2: { reached_by: [[pwd, otp]] }\n", "x");
  EXPECT_EQ(reached_by(c, "aal2"), (Sets{{"pwd", "otp"}, {"pwd", "rc"}}));
}

// ---------------------------------------------------------------- errors

struct ErrorRow {
  const char* name;
  const char* yaml;
  const char* want;  // the whole report, one line
};

void PrintTo(const ErrorRow& row, std::ostream* os) { *os << row.name; }

class StepUpErrors : public ::testing::TestWithParam<ErrorRow> {};

TEST_P(StepUpErrors, ReportsLineAndMessage) {
  const std::string report = errors_of(GetParam().yaml);
  const std::vector<std::string> lines = lines_of(report);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], GetParam().want) << "full report:\n" << report;
  EXPECT_EQ(lines.size(), 1u) << "full report:\n" << report;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, StepUpErrors,
    ::testing::Values(
        // Unknown keys at every depth.
        ErrorRow{"unknown key in factors", "factors:\n  webauthn: {}\n",
                 "test.yaml:2: unknown key \"webauthn\" in factors (allowed: totp, "
                 "recovery_codes)"},
        ErrorRow{"unknown key in totp", "factors:\n  totp:\n    window: 1\n",
                 "test.yaml:3: unknown key \"window\" in factors.totp (allowed: algorithm, "
                 "digits, period, issuer)"},
        ErrorRow{"unknown key in recovery_codes", "factors:\n  recovery_codes:\n    reach: aal2\n",
                 "test.yaml:3: unknown key \"reach\" in factors.recovery_codes (allowed: count, "
                 "reaches)"},
        ErrorRow{"unknown key in secrets", "secrets: { keyfile: k }\n",
                 "test.yaml:1: unknown key \"keyfile\" in secrets (allowed: key_file, "
                 "old_key_files)"},
        ErrorRow{"unknown key in step_up", "step_up:\n  challenge_tll: 5m\n",
                 "test.yaml:2: unknown key \"challenge_tll\" in step_up (allowed: challenge_ttl, "
                 "enrollment_max_age, revoke_other_sessions_on_factor_change, max_open_challenges)"},
        ErrorRow{"unknown key in lockout", "lockout:\n  max_delay: 1h\n  attempts: 3\n",
                 "test.yaml:3: unknown key \"attempts\" in lockout (allowed: max_failures, "
                 "base_delay, max_delay)"},
        ErrorRow{"unknown key in rate_limits", "rate_limits:\n  signup: {}\n",
                 "test.yaml:2: unknown key \"signup\" in rate_limits (allowed: login, verify)"},
        ErrorRow{"unknown key in a rate limit",
                 "rate_limits:\n  verify:\n    per_second: 1\n    per_minute: 60\n",
                 "test.yaml:4: unknown key \"per_minute\" in rate_limits.verify (allowed: "
                 "per_second, burst)"},
        ErrorRow{"duplicate key", "lockout:\n  max_failures: 3\n  max_failures: 4\n",
                 "test.yaml:3: duplicate key \"max_failures\" in lockout"},
        // Types.
        ErrorRow{"factors is a list", "factors: [totp]\n",
                 "test.yaml:1: factors: expected a mapping of keys, got a list"},
        ErrorRow{"totp is a string", "factors:\n  totp: SHA1\n",
                 "test.yaml:2: factors.totp: expected a mapping of keys, got \"SHA1\""},
        ErrorRow{"rate limit is a number", "rate_limits: { login: 5 }\n",
                 "test.yaml:1: rate_limits.login: expected a mapping of keys, got \"5\""},
        // factors.totp.
        ErrorRow{"algorithm", "factors:\n  totp: { algorithm: MD5 }\n",
                 "test.yaml:2: factors.totp.algorithm: must be SHA1, SHA256 or SHA512 (got "
                 "\"MD5\")"},
        ErrorRow{"algorithm in lower case", "factors:\n  totp: { algorithm: sha1 }\n",
                 "test.yaml:2: factors.totp.algorithm: must be SHA1, SHA256 or SHA512 (got "
                 "\"sha1\")"},
        ErrorRow{"digits too few", "factors:\n  totp: { digits: 5 }\n",
                 "test.yaml:2: factors.totp.digits: must be between 6 and 8 (got 5)"},
        ErrorRow{"digits too many", "factors:\n  totp: { digits: 9 }\n",
                 "test.yaml:2: factors.totp.digits: must be between 6 and 8 (got 9)"},
        ErrorRow{"period too short", "factors:\n  totp:\n    period: 14s\n",
                 "test.yaml:3: factors.totp.period: must be between 15s and 120s (got 14s)"},
        ErrorRow{"period too long", "factors:\n  totp:\n    period: 121\n",
                 "test.yaml:3: factors.totp.period: must be between 15s and 120s (got 121)"},
        ErrorRow{"period not a duration", "factors:\n  totp:\n    period: 30sec\n",
                 "test.yaml:3: factors.totp.period: expected a duration like 90s, 5m, 12h, 7d "
                 "or whole seconds, got \"30sec\""},
        ErrorRow{"issuer with colon", "factors:\n  totp: { issuer: \"Corp:Auth\" }\n",
                 "test.yaml:2: factors.totp.issuer: must not contain ':' (authenticator apps "
                 "split the label at it)"},
        ErrorRow{"empty issuer", "factors:\n  totp: { issuer: \"\" }\n",
                 "test.yaml:2: factors.totp.issuer: must not be empty"},
        // factors.recovery_codes.
        ErrorRow{"count too low", "factors:\n  recovery_codes: { count: 4 }\n",
                 "test.yaml:2: factors.recovery_codes.count: must be between 5 and 20 (got 4)"},
        ErrorRow{"count too high", "factors:\n  recovery_codes: { count: 21 }\n",
                 "test.yaml:2: factors.recovery_codes.count: must be between 5 and 20 (got 21)"},
        ErrorRow{"reaches an unknown level", "factors:\n  recovery_codes:\n    reaches: aal9\n",
                 "test.yaml:3: factors.recovery_codes.reaches: unknown level \"aal9\" (levels: "
                 "aal1, aal2, aal3, or none)"},
        ErrorRow{"reaches aal2 the user removed",
                 "levels:\n  low: { reached_by: [[pwd]] }\n  high: { reached_by: [[pwd, otp]] }\n"
                 "factors: { recovery_codes: { reaches: aal2 } }\n",
                 "test.yaml:4: factors.recovery_codes.reaches: unknown level \"aal2\" (levels: "
                 "low, high, or none)"},
        ErrorRow{"reaches the base level", "factors:\n  recovery_codes:\n    reaches: aal1\n",
                 "test.yaml:3: factors.recovery_codes.reaches: level \"aal1\" is already held "
                 "after sign-in; name a higher level, or none"},
        ErrorRow{"reaches nothing written", "factors:\n  recovery_codes:\n    reaches:\n",
                 "test.yaml:3: factors.recovery_codes.reaches: expected a level name, or none, "
                 "got nothing"},
        ErrorRow{"empty value before another key",
                 "step_up:\n  challenge_ttl:\n  enrollment_max_age: 5m\n",
                 "test.yaml:2: step_up.challenge_ttl: expected a duration like 90s, 5m, 12h or "
                 "7d, got nothing"},
        ErrorRow{"empty value before a section", "secrets:\n  key_file:\n\nlockout: {}\n",
                 "test.yaml:2: secrets.key_file: expected a string, got nothing"},
        ErrorRow{"reaches a list", "factors:\n  recovery_codes:\n    reaches: [aal2]\n",
                 "test.yaml:3: factors.recovery_codes.reaches: expected a level name, or none, "
                 "got a list"},
        // secrets.
        ErrorRow{"empty key_file", "secrets:\n  key_file: \"\"\n",
                 "test.yaml:2: secrets.key_file: must not be empty"},
        ErrorRow{"old_key_files as a string", "secrets:\n  old_key_files: old.key\n",
                 "test.yaml:2: secrets.old_key_files: expected a list like [a, b], got "
                 "\"old.key\""},
        ErrorRow{"current key listed as old",
                 "secrets:\n  key_file: k.key\n  old_key_files:\n    - o.key\n    - ./k.key\n",
                 "test.yaml:5: secrets.old_key_files[1]: \"./k.key\" is already the key_file or "
                 "listed before"},
        ErrorRow{"old key listed twice", "secrets:\n  old_key_files: [o.key, a/../o.key]\n",
                 "test.yaml:2: secrets.old_key_files[1]: \"a/../o.key\" is already the key_file "
                 "or listed before"},
        // step_up.
        ErrorRow{"zero challenge ttl", "step_up:\n  challenge_ttl: 0s\n",
                 "test.yaml:2: step_up.challenge_ttl: must be at least 1s (got 0s)"},
        ErrorRow{"zero enrollment max age", "step_up:\n  enrollment_max_age: 0\n",
                 "test.yaml:2: step_up.enrollment_max_age: must be at least 1s (got 0)"},
        ErrorRow{"revoke not a bool",
                 "step_up:\n  revoke_other_sessions_on_factor_change: sometimes\n",
                 "test.yaml:2: step_up.revoke_other_sessions_on_factor_change: expected true or "
                 "false, got \"sometimes\""},
        // lockout.
        ErrorRow{"max_failures zero", "lockout:\n  max_failures: 0\n",
                 "test.yaml:2: lockout.max_failures: must be between 1 and 100 (got 0)"},
        ErrorRow{"max_failures too many", "lockout:\n  max_failures: 101\n",
                 "test.yaml:2: lockout.max_failures: must be between 1 and 100 (got 101)"},
        ErrorRow{"zero base delay", "lockout:\n  base_delay: 0s\n",
                 "test.yaml:2: lockout.base_delay: must be at least 1s (got 0s)"},
        ErrorRow{"base delay above max delay", "lockout:\n  max_delay: 1m\n  base_delay: 2m\n",
                 "test.yaml:3: lockout.base_delay: must not be longer than max_delay (60s)"},
        ErrorRow{"base delay above the default max delay", "lockout:\n  base_delay: 2h\n",
                 "test.yaml:2: lockout.base_delay: must not be longer than max_delay (3600s)"},
        // rate_limits.
        ErrorRow{"negative rate", "rate_limits:\n  login: { per_second: -1 }\n",
                 "test.yaml:2: rate_limits.login.per_second: must not be negative (got -1)"},
        ErrorRow{"rate not a number", "rate_limits:\n  login: { per_second: fast }\n",
                 "test.yaml:2: rate_limits.login.per_second: expected a number like 1 or 0.5, "
                 "got \"fast\""},
        ErrorRow{"rate nan", "rate_limits:\n  login: { per_second: nan }\n",
                 "test.yaml:2: rate_limits.login.per_second: expected a number like 1 or 0.5, "
                 "got \"nan\""},
        ErrorRow{"rate inf", "rate_limits:\n  verify: { per_second: inf }\n",
                 "test.yaml:2: rate_limits.verify.per_second: expected a number like 1 or 0.5, "
                 "got \"inf\""},
        ErrorRow{"rate with a unit", "rate_limits:\n  verify: { per_second: 2/s }\n",
                 "test.yaml:2: rate_limits.verify.per_second: expected a number like 1 or 0.5, "
                 "got \"2/s\""},
        ErrorRow{"rate too large", "rate_limits:\n  verify: { per_second: 1e7 }\n",
                 "test.yaml:2: rate_limits.verify.per_second: must be between 0 and 1e+06 (got "
                 "1e7)"},
        ErrorRow{"burst zero", "rate_limits:\n  verify:\n    burst: 0\n",
                 "test.yaml:3: rate_limits.verify.burst: must be between 1 and 1000000 (got 0)"},
        ErrorRow{"burst fraction", "rate_limits:\n  verify:\n    burst: 1.5\n",
                 "test.yaml:3: rate_limits.verify.burst: expected a whole number, got \"1.5\""}));

TEST(StepUpConfig, ProblemsInNewSectionsReportedTogetherInFileOrder) {
  const std::string report = errors_of(
      "lockout: { max_failures: 0 }\n"           // 1
      "factors:\n"                               // 2
      "  totp: { digits: 10 }\n"                 // 3
      "  recovery_codes: { reaches: aal7 }\n"    // 4
      "rate_limits: { login: { burst: -2 } }\n"  // 5
      "server: { io_threads: many }\n",          // 6
      "conf/stepup.yaml");
  const std::vector<std::string> lines = lines_of(report);
  ASSERT_EQ(lines.size(), 5u) << report;
  EXPECT_EQ(lines[0].rfind("conf/stepup.yaml:1: lockout.max_failures:", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("conf/stepup.yaml:3: factors.totp.digits:", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("conf/stepup.yaml:4: factors.recovery_codes.reaches: unknown level", 0),
            0u)
      << lines[2];
  EXPECT_EQ(lines[3].rfind("conf/stepup.yaml:5: rate_limits.login.burst:", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4].rfind("conf/stepup.yaml:6: server.io_threads:", 0), 0u) << lines[4];
}

}  // namespace
}  // namespace stepup::config
