// Config loading of the webauthn section (RP ID, origins, timeout) and the
// built-in levels that let a passkey sign a user in on its own.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"

namespace stepup::config {
namespace {

using Strings = std::vector<std::string>;

std::string errors_of(const std::string& yaml) {
  try {
    parse_config(yaml, "test.yaml");
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

// ---------------------------------------------------------------- good configs

TEST(WebAuthnConfig, FullRoundTrip) {
  const Config c = parse_config(R"(webauthn:
  rp_id: "example.com"
  rp_name: "Example Bank"
  origins: ["https://example.com", "https://login.example.com/", "https://a.b.example.com:8443"]
  passkey_login: false
  timeout: 2m
)",
                                "test.yaml");
  EXPECT_EQ(c.webauthn.rp_id, "example.com");
  EXPECT_EQ(c.webauthn.rp_name, "Example Bank");
  EXPECT_EQ(c.webauthn.origins, (Strings{"https://example.com", "https://login.example.com",
                                         "https://a.b.example.com:8443"}));
  EXPECT_FALSE(c.webauthn.passkey_login);
  EXPECT_EQ(c.webauthn.timeout, 120);
}

TEST(WebAuthnConfig, DefaultsWhenAbsentOrEmpty) {
  for (const char* text : {"", "webauthn:\n", "webauthn: {}\n"}) {
    const Config c = parse_config(text, "test.yaml");
    EXPECT_EQ(c.webauthn.rp_id, "") << text;  // the service derives it from public_url
    EXPECT_EQ(c.webauthn.rp_name, "stepup") << text;
    EXPECT_TRUE(c.webauthn.origins.empty()) << text;
    EXPECT_TRUE(c.webauthn.passkey_login) << text;
    EXPECT_EQ(c.webauthn.timeout, 120) << text;
  }
}

TEST(WebAuthnConfig, LocalhostIsAValidRpId) {
  const Config c = parse_config(
      "webauthn: { rp_id: localhost, origins: [\"http://localhost:8080\"] }\n", "test.yaml");
  EXPECT_EQ(c.webauthn.rp_id, "localhost");
  EXPECT_EQ(c.webauthn.origins, Strings{"http://localhost:8080"});
}

TEST(WebAuthnConfig, RpIdAndOriginsAreWrittenAsBrowsersDo) {
  // Browsers lower-case the origin and drop the scheme's default port, and
  // the RP ID hash is taken over the lower-case name.
  const Config c = parse_config(
      "webauthn:\n  rp_id: Example.COM\n  origins: [\"https://Login.Example.com:443/\", "
      "\"http://example.com:80\", \"https://example.com:444\"]\n",
      "test.yaml");
  EXPECT_EQ(c.webauthn.rp_id, "example.com");
  EXPECT_EQ(c.webauthn.origins, (Strings{"https://login.example.com", "http://example.com",
                                         "https://example.com:444"}));
}

TEST(WebAuthnConfig, TimeoutBounds) {
  EXPECT_EQ(parse_config("webauthn: { timeout: 10s }\n", "t").webauthn.timeout, 10);
  EXPECT_EQ(parse_config("webauthn: { timeout: 10m }\n", "t").webauthn.timeout, 600);
  EXPECT_EQ(parse_config("webauthn: { timeout: 90 }\n", "t").webauthn.timeout, 90);
}

TEST(WebAuthnConfig, OriginsWithoutRpIdAreCheckedAgainstPublicUrlHost) {
  const Config ok = parse_config(
      "server: { public_url: \"https://id.example.com/\" }\n"
      "webauthn: { origins: [\"https://id.example.com\", \"https://x.id.example.com\"] }\n",
      "t");
  EXPECT_EQ(ok.webauthn.rp_id, "");  // still left for the service to derive
  EXPECT_EQ(ok.webauthn.origins.size(), 2u);

  // An IP public_url has no default RP ID to check against; nothing to say here.
  const Config ip = parse_config(
      "server: { public_url: \"http://192.168.1.10:8080\" }\n"
      "webauthn: { origins: [\"https://example.com\"] }\n",
      "t");
  EXPECT_EQ(ip.webauthn.rp_id, "");
  EXPECT_EQ(ip.webauthn.origins, Strings{"https://example.com"});

  // Nor is an IP public_url alone an error while webauthn is left to defaults.
  EXPECT_EQ(errors_of("server: { public_url: \"http://127.0.0.1:8080\" }\n"),
            "(parsed without errors)");
  EXPECT_EQ(errors_of("server: { public_url: \"http://[::1]:8080\" }\nwebauthn: {}\n"),
            "(parsed without errors)");
}

// ---------------------------------------------------------------- errors

struct ErrorRow {
  const char* name;
  const char* yaml;
  std::string want;  // the whole first report line
};

void PrintTo(const ErrorRow& row, std::ostream* os) { *os << row.name; }

class WebAuthnErrors : public ::testing::TestWithParam<ErrorRow> {};

TEST_P(WebAuthnErrors, ReportsLineAndMessage) {
  const std::string report = errors_of(GetParam().yaml);
  const std::vector<std::string> lines = lines_of(report);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], GetParam().want) << "full report:\n" << report;
  EXPECT_EQ(lines.size(), 1u) << "full report:\n" << report;
}

constexpr const char* kIp =
    "is an IP address; WebAuthn does not allow an IP address as the RP ID, so use a domain "
    "name (localhost works for development)";

INSTANTIATE_TEST_SUITE_P(
    Rows, WebAuthnErrors,
    ::testing::Values(
        ErrorRow{"unknown key", "webauthn:\n  rp_id: example.com\n  rpid: x\n",
                 "test.yaml:3: unknown key \"rpid\" in webauthn (allowed: rp_id, rp_name, "
                 "origins, passkey_login, max_login_challenges, timeout)"},
        ErrorRow{"duplicate key", "webauthn:\n  timeout: 1m\n  timeout: 2m\n",
                 "test.yaml:3: duplicate key \"timeout\" in webauthn"},
        ErrorRow{"section not a mapping", "webauthn: [a]\n",
                 "test.yaml:1: webauthn: expected a mapping of keys, got a list"},
        ErrorRow{"rp_id a list", "webauthn:\n  rp_id: [example.com]\n",
                 "test.yaml:2: webauthn.rp_id: expected a string, got a list"},
        ErrorRow{"rp_id empty", "webauthn:\n  rp_id: \"\"\n",
                 "test.yaml:2: webauthn.rp_id: must not be empty"},
        ErrorRow{"rp_id with scheme", "webauthn:\n  rp_id: \"https://example.com\"\n",
                 "test.yaml:2: webauthn.rp_id: \"https://example.com\" must be a host name "
                 "like example.com, without a scheme"},
        ErrorRow{"rp_id with path", "webauthn:\n  rp_id: \"example.com/login\"\n",
                 "test.yaml:2: webauthn.rp_id: \"example.com/login\" must be a host name like "
                 "example.com, without a path"},
        ErrorRow{"rp_id with port", "webauthn:\n  rp_id: \"example.com:8443\"\n",
                 "test.yaml:2: webauthn.rp_id: \"example.com:8443\" must be a host name "
                 "without a port"},
        ErrorRow{"rp_id IPv4", "webauthn:\n  rp_id: \"192.168.1.10\"\n",
                 (std::string("test.yaml:2: webauthn.rp_id: \"192.168.1.10\" ") + kIp)},
        ErrorRow{"rp_id IPv4 with port", "webauthn:\n  rp_id: \"10.0.0.1:8080\"\n",
                 (std::string("test.yaml:2: webauthn.rp_id: \"10.0.0.1:8080\" ") + kIp)},
        ErrorRow{"rp_id short IPv4", "webauthn:\n  rp_id: \"127.1\"\n",
                 (std::string("test.yaml:2: webauthn.rp_id: \"127.1\" ") + kIp)},
        ErrorRow{"rp_id IPv6", "webauthn:\n  rp_id: \"::1\"\n",
                 (std::string("test.yaml:2: webauthn.rp_id: \"::1\" ") + kIp)},
        ErrorRow{"rp_id bracketed IPv6", "webauthn:\n  rp_id: \"[::1]\"\n",
                 (std::string("test.yaml:2: webauthn.rp_id: \"[::1]\" ") + kIp)},
        ErrorRow{"rp_id bad character", "webauthn:\n  rp_id: \"ex_ample.com\"\n",
                 "test.yaml:2: webauthn.rp_id: \"ex_ample.com\" must be a host name made of "
                 "letters, digits, '-' and '.'"},
        ErrorRow{"rp_id empty label", "webauthn:\n  rp_id: \"example..com\"\n",
                 "test.yaml:2: webauthn.rp_id: \"example..com\" must not have empty labels "
                 "(\"..\" or a leading dot)"},
        ErrorRow{"rp_id trailing dot", "webauthn:\n  rp_id: \"example.com.\"\n",
                 "test.yaml:2: webauthn.rp_id: \"example.com.\" must not end with a dot"},
        ErrorRow{"rp_id hyphen at label edge", "webauthn:\n  rp_id: \"-example.com\"\n",
                 "test.yaml:2: webauthn.rp_id: \"-example.com\" labels must not start or end "
                 "with '-'"},
        ErrorRow{"rp_id non-ASCII",
                 "webauthn:\n  rp_id: \"b\xc3\xbc"
                 "cher.example\"\n",
                 "test.yaml:2: webauthn.rp_id: \"b\xc3\xbc"
                 "cher.example\" must be ASCII; "
                 "write an internationalized name in its xn-- form"},
        ErrorRow{"rp_name empty", "webauthn:\n  rp_name: \"\"\n",
                 "test.yaml:2: webauthn.rp_name: must not be empty"},
        ErrorRow{"rp_name control character", "webauthn:\n  rp_name: \"a\\tb\"\n",
                 "test.yaml:2: webauthn.rp_name: must not contain control characters"},
        ErrorRow{"origins a string", "webauthn:\n  origins: \"https://example.com\"\n",
                 "test.yaml:2: webauthn.origins: expected a list like [a, b], got "
                 "\"https://example.com\""},
        ErrorRow{"origins empty list", "webauthn:\n  origins: []\n",
                 "test.yaml:2: webauthn.origins: must list at least one origin; leave it out "
                 "to use the origin of server.public_url"},
        ErrorRow{"origin with path",
                 "webauthn:\n  rp_id: example.com\n  origins:\n    - https://example.com/login\n",
                 "test.yaml:4: webauthn.origins[0]: must be an origin (scheme://host[:port]) "
                 "without path, query or fragment (got \"https://example.com/login\")"},
        ErrorRow{"origin without scheme",
                 "webauthn:\n  rp_id: example.com\n  origins: [example.com]\n",
                 "test.yaml:3: webauthn.origins[0]: must start with http:// or https:// (got "
                 "\"example.com\")"},
        ErrorRow{"origin other scheme",
                 "webauthn:\n  rp_id: example.com\n  origins: [\"ftp://example.com\"]\n",
                 "test.yaml:3: webauthn.origins[0]: must start with http:// or https:// (got "
                 "\"ftp://example.com\")"},
        ErrorRow{"origin listed twice",
                 "webauthn:\n  rp_id: example.com\n  origins:\n    - https://example.com\n"
                 "    - https://example.com:443/\n",
                 "test.yaml:5: webauthn.origins[1]: \"https://example.com\" is listed twice"},
        ErrorRow{"origin outside rp_id",
                 "webauthn:\n  rp_id: example.com\n  origins:\n    - https://example.com\n"
                 "    - https://evil.com\n",
                 "test.yaml:5: webauthn.origins[1]: host \"evil.com\" of \"https://evil.com\" "
                 "is not rp_id \"example.com\" or a subdomain of it"},
        ErrorRow{"origin sharing only a suffix",
                 "webauthn:\n  rp_id: example.com\n  origins: [\"https://notexample.com\"]\n",
                 "test.yaml:3: webauthn.origins[0]: host \"notexample.com\" of "
                 "\"https://notexample.com\" is not rp_id \"example.com\" or a subdomain of it"},
        ErrorRow{"origin is the parent of rp_id",
                 "webauthn:\n  rp_id: login.example.com\n  origins: [\"https://example.com\"]\n",
                 "test.yaml:3: webauthn.origins[0]: host \"example.com\" of "
                 "\"https://example.com\" is not rp_id \"login.example.com\" or a subdomain of "
                 "it"},
        ErrorRow{"origin is an IP",
                 "webauthn:\n  rp_id: example.com\n  origins: [\"https://10.0.0.1\"]\n",
                 "test.yaml:3: webauthn.origins[0]: host \"10.0.0.1\" of \"https://10.0.0.1\" "
                 "is not rp_id \"example.com\" or a subdomain of it"},
        ErrorRow{"origin outside the public_url host",
                 "server: { public_url: \"https://example.com\" }\n"
                 "webauthn:\n  origins: [\"https://example.org\"]\n",
                 "test.yaml:3: webauthn.origins[0]: host \"example.org\" of "
                 "\"https://example.org\" is not the RP ID (the host of server.public_url, as "
                 "rp_id is not set) \"example.com\" or a subdomain of it"},
        ErrorRow{"passkey_login not a bool", "webauthn:\n  passkey_login: maybe\n",
                 "test.yaml:2: webauthn.passkey_login: expected true or false, got \"maybe\""},
        ErrorRow{"timeout too short", "webauthn:\n  timeout: 9s\n",
                 "test.yaml:2: webauthn.timeout: must be between 10s and 10m (got 9s)"},
        ErrorRow{"timeout too long", "webauthn:\n  timeout: 11m\n",
                 "test.yaml:2: webauthn.timeout: must be between 10s and 10m (got 11m)"},
        ErrorRow{"timeout malformed", "webauthn:\n  timeout: soon\n",
                 "test.yaml:2: webauthn.timeout: expected a duration like 90s, 5m, 12h, 7d or "
                 "whole seconds, got \"soon\""}));

TEST(WebAuthnConfig, BadRpIdSkipsTheOriginCheck) {
  // One problem, not one per origin: the origins cannot be judged against an
  // RP ID that is itself wrong.
  const std::string report =
      errors_of("webauthn:\n  rp_id: \"10.0.0.1\"\n  origins: [\"https://example.com\"]\n");
  EXPECT_EQ(lines_of(report).size(), 1u) << report;
  EXPECT_NE(report.find("test.yaml:2: webauthn.rp_id:"), std::string::npos) << report;
}

TEST(WebAuthnConfig, AllProblemsReportedInFileOrder) {
  const std::string report = errors_of(
      "webauthn:\n  timeout: 1s\n  rp_id: example.com\n  origins: [\"https://a.org\", "
      "\"https://example.com/x\"]\n  extra: 1\n");
  const std::vector<std::string> lines = lines_of(report);
  ASSERT_EQ(lines.size(), 4u) << report;
  EXPECT_TRUE(lines[0].starts_with("test.yaml:2: webauthn.timeout:")) << report;
  EXPECT_TRUE(lines[1].starts_with("test.yaml:4: webauthn.origins[")) << report;
  EXPECT_TRUE(lines[2].starts_with("test.yaml:4: webauthn.origins[")) << report;
  EXPECT_TRUE(lines[3].starts_with("test.yaml:5: unknown key \"extra\"")) << report;
}

// ---------------------------------------------------------------- passkeys in the default levels

std::string level_held(const Config& c, const std::vector<core::MethodProof>& proofs,
                       core::UnixTime now) {
  std::optional<core::Attainment> top = c.levels.highest(proofs, now);
  return top ? c.levels.at(top->level).name : "none";
}

TEST(DefaultLevels, PasskeyAloneSignsInAtAal2) {
  const Config c = parse_config("", "t");
  // Usernameless passkey sign-in proves [hwk|swk, user] and no password.
  EXPECT_EQ(level_held(c, {{"swk", 1000}, {"user", 1000}}, 1000), "aal2");
  EXPECT_EQ(level_held(c, {{"hwk", 1000}, {"user", 1000}}, 1000), "aal2");
  // ... for aal2's 15 minutes; with no password there is no aal1 under it.
  EXPECT_EQ(level_held(c, {{"swk", 1000}, {"user", 1000}}, 1000 + 899), "aal2");
  EXPECT_EQ(level_held(c, {{"swk", 1000}, {"user", 1000}}, 1000 + 900), "none");
  // Without user verification a passkey is only one factor.
  EXPECT_EQ(level_held(c, {{"swk", 1000}}, 1000), "none");
  EXPECT_EQ(level_held(c, {{"hwk", 1000}}, 1000), "none");
  EXPECT_EQ(level_held(c, {{"user", 1000}}, 1000), "none");
  EXPECT_EQ(level_held(c, {{"pwd", 1000}}, 1000), "aal1");
}

TEST(DefaultLevels, OnlyADeviceBoundKeyWithUserVerificationReachesAal3) {
  const Config c = parse_config("", "t");
  EXPECT_EQ(level_held(c, {{"pwd", 1000}, {"hwk", 1010}, {"user", 1010}}, 1010), "aal3");
  EXPECT_EQ(level_held(c, {{"pwd", 1000}, {"hwk", 1010}, {"user", 1010}}, 1010 + 299), "aal3");
  EXPECT_EQ(level_held(c, {{"pwd", 1000}, {"hwk", 1010}, {"user", 1010}}, 1010 + 300), "aal2");
  // A synced passkey, even with user verification, stops at aal2.
  EXPECT_EQ(level_held(c, {{"pwd", 1000}, {"swk", 1010}, {"user", 1010}}, 1010), "aal2");
  // A key without user verification after a password: aal2.
  EXPECT_EQ(level_held(c, {{"pwd", 1000}, {"hwk", 1010}}, 1010), "aal2");
  // A security key with PIN but no password is aal2, not aal3.
  EXPECT_EQ(level_held(c, {{"hwk", 1010}, {"user", 1010}}, 1010), "aal2");
}

TEST(DefaultLevels, WrittenLevelsReplaceTheDefaults) {
  // A levels section is taken as written: no passkey sets are added to it.
  const Config c = parse_config(
      "levels:\n  low: { reached_by: [[pwd]] }\n  high: { reached_by: [[pwd, otp]] }\n", "t");
  EXPECT_EQ(level_held(c, {{"swk", 1000}, {"user", 1000}}, 1000), "none");
}

}  // namespace
}  // namespace stepup::config
