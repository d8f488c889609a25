// Audit and SignIn: the events a sign-in and a step-up leave behind, the
// hash chain verifying clean, and tampering done directly on the SQLite file
// (triggers dropped first) being reported at the row it touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "service/service_env.h"

namespace stepup::service {
namespace {

using testenv::kClient;
using testenv::kPassword;
using testenv::kT0;
using ::testing::Contains;
using ::testing::HasSubstr;

class AuditTest : public testenv::ServiceEnv {
 protected:
  std::vector<store::AuditEvent> events() {
    auto all = rt().store().list_audit(0, 10000);
    EXPECT_TRUE(all.has_value());
    return all.value_or(std::vector<store::AuditEvent>{});
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& e : events()) out.push_back(e.event);
    return out;
  }
  const store::AuditEvent* find(const std::vector<store::AuditEvent>& all,
                                const std::string& event) {
    for (const auto& e : all) {
      if (e.event == event) return &e;
    }
    return nullptr;
  }

  // Runs raw SQL on the database file with its own connection.
  void sql(const std::string& text) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }
  int sql_rc(const std::string& text, std::string* msg) {
    sqlite3* db = nullptr;
    if (sqlite3_open(db_path().c_str(), &db) != SQLITE_OK) return -1;
    char* err = nullptr;
    const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
    if (msg) *msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    return rc;
  }

  // Sign-ins (ok, wrong password, unknown user), a step-up that succeeds, a
  // lockout, and a recovery code: every kind of event the brief names.
  void make_history() {
    auto u = add_user("alice");
    ASSERT_TRUE(rt().signin().with_password_sync("alice", "wrong password!", kClient).has_value() ==
                false);
    ASSERT_FALSE(rt().signin().with_password_sync("nobody", kPassword, kClient).has_value());
    auto s = rt().signin().with_password_sync("alice", kPassword, kClient);
    ASSERT_TRUE(s.has_value());
    auto rc = rt().enrollment().new_recovery_codes(who(s->cookie_value), kClient);
    ASSERT_TRUE(rc.has_value());
    codes_ = rc->codes;
    auto [fid, secret] = enroll_totp(u);
    clock().advance(5);
    auto up = step_up_totp(s->cookie_value, secret);
    cookie_ = up.cookie_value;
    for (int i = 0; i < 5; ++i) {
      auto c = start_challenge(cookie_);
      ASSERT_TRUE(c.has_value());
      ASSERT_FALSE(verify_totp(cookie_, c->challenge.id, wrong_code(secret)).has_value());
    }
    auto c = start_challenge(cookie_);
    ASSERT_TRUE(c.has_value());
    auto r = rt().step_up().verify(who(cookie_), c->challenge.id,
                                   testenv::proof("recovery_code", codes_[0]), kClient);
    ASSERT_TRUE(r.has_value()) << testenv::code_name(r.error());
    cookie_ = r->cookie_value;
  }

  std::vector<std::string> codes_;
  std::string cookie_;
};

TEST_F(AuditTest, EventsAreRecorded) {
  make_history();
  const auto all = events();
  const auto n = names();
  for (const char* e : {"login.failed", "login.succeeded", "step_up.requested", "step_up.succeeded",
                        "step_up.failed", "factor.locked", "recovery_code.used", "factor.added"}) {
    EXPECT_THAT(n, Contains(std::string(e))) << e;
  }
  EXPECT_EQ(std::count(n.begin(), n.end(), "login.failed"), 2);
  EXPECT_EQ(std::count(n.begin(), n.end(), "step_up.failed"), 5);
  EXPECT_EQ(std::count(n.begin(), n.end(), "factor.locked"), 1);

  // Both failed sign-ins read the same to the client but the log says why.
  std::vector<std::string> reasons;
  for (const auto& e : all) {
    if (e.event == "login.failed") reasons.push_back(e.details);
  }
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_THAT(reasons[0], HasSubstr("password"));
  EXPECT_THAT(reasons[1], HasSubstr("unknown_user"));

  const auto* ok = find(all, "login.succeeded");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->subject, "alice");
  EXPECT_EQ(ok->ip, kClient.ip);
  EXPECT_EQ(ok->user_agent, kClient.user_agent);
  EXPECT_FALSE(ok->session.empty());
  EXPECT_EQ(ok->at, kT0);
  const auto* used = find(all, "recovery_code.used");
  ASSERT_NE(used, nullptr);
  EXPECT_THAT(used->details, HasSubstr("\"remaining\":9"));
  const auto* locked = find(all, "factor.locked");
  ASSERT_NE(locked, nullptr);
  EXPECT_THAT(locked->details, HasSubstr("locked_until"));

  auto rep = rt().audit().verify();
  EXPECT_TRUE(rep.ok) << rep.problem;
  EXPECT_EQ(rep.rows, static_cast<std::int64_t>(all.size()));
  EXPECT_FALSE(rep.first_bad_seq.has_value());
}

TEST_F(AuditTest, RefreshReuseAndRevokeAreRecorded) {
  auto u = add_user("alice");
  auto s = sign_in(u);
  auto r = rt().sessions().refresh(s.tokens.refresh_token, kClient);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(rt().sessions().refresh(s.tokens.refresh_token, kClient).has_value());
  auto n = names();
  EXPECT_THAT(n, Contains(std::string("refresh.reused")));
  EXPECT_TRUE(rt().audit().verify().ok);
}

TEST_F(AuditTest, TriggersRefuseUpdateAndDelete) {
  make_history();
  std::string msg;
  EXPECT_NE(sql_rc("UPDATE audit_events SET details = '{}' WHERE seq = 2", &msg), SQLITE_OK);
  EXPECT_THAT(msg, HasSubstr("append-only"));
  EXPECT_NE(sql_rc("DELETE FROM audit_events WHERE seq = 2", &msg), SQLITE_OK);
  EXPECT_TRUE(rt().audit().verify().ok);
}

struct TamperCase {
  const char* name;
  const char* sql;          // %SEQ% is replaced by the target seq
  std::int64_t bad_offset;  // reported seq relative to the target
};

class AuditTamperTest : public AuditTest, public ::testing::WithParamInterface<TamperCase> {};

TEST_P(AuditTamperTest, VerifyReportsTheTamperedSeq) {
  make_history();
  const auto all = events();
  ASSERT_GE(all.size(), 10u);
  const std::int64_t target = all[3].seq;
  std::string text = GetParam().sql;
  for (auto p = text.find("%SEQ%"); p != std::string::npos; p = text.find("%SEQ%")) {
    text.replace(p, 5, std::to_string(target));
  }
  sql("DROP TRIGGER IF EXISTS audit_events_no_update; "
      "DROP TRIGGER IF EXISTS audit_events_no_delete; " +
      text);
  auto rep = rt().audit().verify();
  EXPECT_FALSE(rep.ok);
  ASSERT_TRUE(rep.first_bad_seq.has_value()) << rep.problem;
  EXPECT_EQ(*rep.first_bad_seq, target + GetParam().bad_offset) << rep.problem;
  EXPECT_FALSE(rep.problem.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Edits, AuditTamperTest,
    ::testing::Values(
        TamperCase{"details", "UPDATE audit_events SET details = '{}' WHERE seq = %SEQ%", 0},
        TamperCase{"subject", "UPDATE audit_events SET subject = 'mallory' WHERE seq = %SEQ%", 0},
        TamperCase{"time", "UPDATE audit_events SET at = at - 3600 WHERE seq = %SEQ%", 0},
        TamperCase{"event", "UPDATE audit_events SET event = 'login.succeeded' WHERE seq = %SEQ%",
                   0},
        // Recomputing nothing but the stored hash breaks the next link.
        TamperCase{"hash", "UPDATE audit_events SET hash = prev_hash WHERE seq = %SEQ%", 0},
        // A deleted row shows as a gap before the next one.
        TamperCase{"delete", "DELETE FROM audit_events WHERE seq = %SEQ%", 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(AuditTest, SignInGivesOneAnswerForWrongUserAndWrongPassword) {
  auto u = add_user("alice");
  auto wrong_pw = rt().signin().with_password_sync("alice", "not the password", kClient);
  auto wrong_user = rt().signin().with_password_sync("alicf", kPassword, kClient);
  ASSERT_FALSE(wrong_pw.has_value());
  ASSERT_FALSE(wrong_user.has_value());
  EXPECT_EQ(wrong_pw.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_EQ(wrong_user.error().code, ErrorCode::kInvalidCredentials);
  EXPECT_EQ(wrong_pw.error().description, wrong_user.error().description);

  auto ok = rt().signin().with_password_sync("alice", kPassword, kClient);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->session.subject, "alice");
  EXPECT_EQ(ok->session.user_id, u.id);
  auto a = who(ok->cookie_value);
  EXPECT_EQ(a.acr, "aal1");
  EXPECT_EQ(a.auth_time, kT0);

  // The asynchronous path answers exactly once, through the pool.
  std::promise<Result<NewSession>> done;
  auto fut = done.get_future();
  rt().signin().with_password("alice", kPassword, kClient,
                              [&](Result<NewSession> r) { done.set_value(std::move(r)); });
  auto async = fut.get();
  ASSERT_TRUE(async.has_value());
  EXPECT_NE(async->cookie_value, ok->cookie_value);
}

TEST_F(AuditTest, CreateUserChecksRules) {
  start();
  auto dup = add_user("alice");
  auto again = create_user(rt().store(), rt().config(), "alice", kPassword, now());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  for (const char* name : {"", "bad\nname"}) {
    auto r = create_user(rt().store(), rt().config(), name, kPassword, now());
    ASSERT_FALSE(r.has_value()) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidRequest);
  }
  auto short_pw = create_user(rt().store(), rt().config(), "bob", "short", now());
  ASSERT_FALSE(short_pw.has_value());
  EXPECT_EQ(short_pw.error().code, ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace stepup::service
