// Test environment for the service layer: a fresh temporary directory per
// test holding a real SQLite store and secrets key, a config parsed from YAML
// text, and a service::Runtime driven by a FakeClock that tests move by hand.
//
// Each section of the config can be replaced per test (start({{"tokens",
// "..."}})). Helpers sign users in, enroll TOTP, compute codes at the fake
// time and run a whole step-up. Not thread-safe (one test, one thread).
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "factors/totp.h"
#include "service/clock.h"
#include "service/error.h"
#include "service/runtime.h"

namespace stepup::service::testenv {

namespace fs = std::filesystem;

// 2023-11-14 22:13:20 UTC: a whole multiple of 30 s and of 60 s.
inline constexpr core::UnixTime kT0 = 1'700'000'000;
inline constexpr char kPassword[] = "correct horse battery staple";
inline const ClientInfo kClient{"192.0.2.7", "service-test/1.0"};

// Top-level YAML sections; each value is the flow-style text of that key.
inline std::map<std::string, std::string> default_sections() {
  return {
      {"server", R"({ public_url: "https://auth.example.com" })"},
      {"log", "{ level: error }"},
      {"storage", "{ path: stepup.db }"},
      {"secrets", "{ key_file: stepup.key }"},
      {"passwords", "{ argon2_memory_kib: 8192, argon2_iterations: 1 }"},
      {"tokens", "{ access_ttl: 10m, refresh_ttl: 30d, refresh_reuse_grace: 0s, clock_skew: 30s }"},
      {"sessions", "{ idle_timeout: 30m, absolute_timeout: 12h }"},
      {"levels",
       "{ aal1: { reached_by: [[pwd]] },"
       "  aal2: { reached_by: [[pwd, otp], [pwd, hwk]], elevation: 15m },"
       "  aal3: { reached_by: [[pwd, hwk, user]], elevation: 5m } }"},
      {"base_level", "aal1"},
      {"rules", R"([ { path: "/public/**", public: true },)"
                R"(  { path: "/blocked/**", deny: true, reason: "This area is closed" },)"
                R"(  { path: "/admin/**", level: aal2, max_age: 5m },)"
                R"(  { path: "/pay/**", level: aal2 },)"
                R"(  { path: "/top/**", level: aal3 },)"
                R"(  { path: "/app/**", level: aal1 } ])"},
      {"default", "{ deny: true }"},
      {"step_up",
       "{ challenge_ttl: 5m, enrollment_max_age: 5m, "
       "revoke_other_sessions_on_factor_change: true }"},
      {"lockout", "{ max_failures: 5, base_delay: 1m, max_delay: 1h }"},
      {"factors", "{ recovery_codes: { count: 10, reaches: aal2 } }"},
  };
}

// A TOTP or recovery-code answer to a challenge.
inline StepUpProof proof(std::string method, std::string code) {
  StepUpProof p;
  p.method = std::move(method);
  p.code = std::move(code);
  return p;
}

// Codes of the TOTP steps a verifier with window 1 would accept at `t`.
inline std::set<std::string> window_codes(const std::string& secret, core::UnixTime t,
                                          const factors::TotpParams& p) {
  std::set<std::string> out;
  for (int d = -p.window; d <= p.window; ++d) {
    out.insert(factors::totp_code(secret, t + static_cast<core::Seconds>(d) * p.period, p));
  }
  return out;
}

class ServiceEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "stepup-svctest-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    rt_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Builds the runtime with the default config, some sections replaced.
  void start(const std::map<std::string, std::string>& overrides = {}) {
    auto sections = default_sections();
    for (const auto& [k, v] : overrides) sections[k] = v;
    std::string yaml;
    for (const auto& [k, v] : sections) yaml += k + ": " + v + "\n";
    cfg_ = config::parse_config(yaml, (dir_ / "test.yaml").string());
    auto clock = std::make_unique<FakeClock>(kT0);
    clock_ = clock.get();
    rt_ = std::make_unique<Runtime>(cfg_, std::move(clock));
  }

  Runtime& rt() {
    if (!rt_) start();
    return *rt_;
  }
  FakeClock& clock() {
    if (!rt_) start();
    return *clock_;
  }
  core::UnixTime now() { return clock().now(); }
  std::string db_path() const { return (dir_ / "stepup.db").string(); }

  store::User add_user(const std::string& name) {
    auto u = create_user(rt().store(), rt().config(), name, kPassword, now());
    EXPECT_TRUE(u.has_value()) << (u ? "" : u.error().description);
    return u ? *u : store::User{};
  }

  // A password session started now (no Argon2 round: SignIn has its own tests).
  NewSession sign_in(const store::User& u) {
    auto s = rt().sessions().create(u, {core::MethodProof{"pwd", now()}}, kClient);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().description);
    return s ? std::move(*s) : NewSession{};
  }

  Authenticated who(const std::string& cookie) {
    auto a = rt().sessions().from_cookie(cookie);
    EXPECT_TRUE(a.has_value()) << (a ? "" : a.error().description);
    return a ? std::move(*a) : Authenticated{};
  }

  // A confirmed TOTP factor; returns {factor_id, raw secret bytes}.
  std::pair<std::string, std::string> enroll_totp(const store::User& u) {
    auto t = rt().enrollment().add_confirmed_totp(u, "phone");
    EXPECT_TRUE(t.has_value());
    if (!t) return {};
    auto raw = factors::base32_decode(t->secret_base32);
    EXPECT_TRUE(raw.has_value());
    return {t->factor_id, raw.value_or("")};
  }

  factors::TotpParams totp_params() { return rt().factor_check().configured_totp(); }
  std::string code_now(const std::string& secret) {
    return factors::totp_code(secret, now(), totp_params());
  }
  // Six digits that no step in the verify window accepts now.
  std::string wrong_code(const std::string& secret) {
    auto taken = window_codes(secret, now(), totp_params());
    for (int i = 0;; ++i) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%06d", (i * 7919) % 1000000);
      if (!taken.count(buf)) return buf;
    }
  }

  Result<StartedChallenge> start_challenge(const std::string& cookie,
                                           const std::string& acr = "aal2",
                                           const std::string& return_to = "") {
    StepUpRequest req;
    req.acr_values = acr;
    req.return_to = return_to;
    return rt().step_up().start(who(cookie), req, kClient);
  }

  Result<StepUpResult> verify_totp(const std::string& cookie, const std::string& challenge_id,
                                   const std::string& code) {
    return rt().step_up().verify(who(cookie), challenge_id, proof("totp", code), kClient);
  }

  // Full step-up with the current TOTP code; returns the result (new cookie).
  StepUpResult step_up_totp(const std::string& cookie, const std::string& secret,
                            const std::string& acr = "aal2") {
    auto c = start_challenge(cookie, acr);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().description);
    if (!c) return {};
    auto r = verify_totp(cookie, c->challenge.id, code_now(secret));
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().description);
    return r ? std::move(*r) : StepUpResult{};
  }

  AccessClaims claims_of(const std::string& token) {
    auto c = rt().sessions().verifier().verify(token, now());
    EXPECT_TRUE(c.has_value()) << (c ? "" : to_string(c.error()));
    return c ? *c : AccessClaims{};
  }

  fs::path dir_;
  config::Config cfg_;
  FakeClock* clock_ = nullptr;
  std::unique_ptr<Runtime> rt_;
};

// Prints an error code in failure messages.
inline std::string code_name(const Error& e) {
  return std::string(error_name(e.code)) + ": " + e.description;
}

}  // namespace stepup::service::testenv
