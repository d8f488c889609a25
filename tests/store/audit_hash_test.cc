// Tests for the audit hash chain rule (store/audit_hash.h). The expected
// digests were computed independently (Python hashlib over the documented
// serialization), so these pin the format other code verifies against.
#include "store/audit_hash.h"

#include <gtest/gtest.h>

namespace stepup::store {
namespace {

AuditEvent sample() {
  AuditEvent e;
  e.seq = 7;
  e.at = 1700000000;
  e.event = "login.succeeded";
  e.subject = "alice";
  e.session = "s_pub";
  e.ip = "203.0.113.5";
  e.user_agent = "curl/8.0";
  e.details = R"({"acr":"aal2"})";
  return e;
}

TEST(AuditHash, CanonicalSerializationIsLengthPrefixed) {
  EXPECT_EQ(audit_canonical(sample()),
            R"(1:7,10:1700000000,15:login.succeeded,5:alice,5:s_pub,11:203.0.113.5,)"
            R"(8:curl/8.0,14:{"acr":"aal2"},)");
}

TEST(AuditHash, KnownVector) {
  EXPECT_EQ(audit_row_hash(sample(), kAuditGenesisHash),
            "809d37a76ca92dae4c64fe94d39857c7da907c7c361a65713224c75007803309");
}

TEST(AuditHash, EmptyFieldsAndNegativeNumbers) {
  AuditEvent e;
  e.seq = -1;
  EXPECT_EQ(audit_canonical(e), "2:-1,1:0,0:,0:,0:,0:,0:,0:,");
  EXPECT_EQ(audit_row_hash(e, "ab"),
            "dd0acb545ebd2d171d95b2c58a45945d270eb0a8e0f6f3ad0c8b33ae8a301a3b");
}

TEST(AuditHash, IgnoresStoredHashMembers) {
  AuditEvent e = sample();
  e.prev_hash = "something else";
  e.hash = "also ignored";
  EXPECT_EQ(audit_row_hash(e, kAuditGenesisHash), audit_row_hash(sample(), kAuditGenesisHash));
}

TEST(AuditHash, EveryFieldAndPrevHashMatter) {
  const std::string base = audit_row_hash(sample(), kAuditGenesisHash);
  auto changed = [&](auto mutate) {
    AuditEvent e = sample();
    mutate(e);
    return audit_row_hash(e, kAuditGenesisHash);
  };
  EXPECT_NE(base, changed([](AuditEvent& e) { e.seq = 8; }));
  EXPECT_NE(base, changed([](AuditEvent& e) { e.at += 1; }));
  EXPECT_NE(base, changed([](AuditEvent& e) { e.event = "login.failed"; }));
  EXPECT_NE(base, changed([](AuditEvent& e) { e.subject = "bob"; }));
  EXPECT_NE(base, changed([](AuditEvent& e) { e.session = "s_other"; }));
  EXPECT_NE(base, changed([](AuditEvent& e) { e.ip = "203.0.113.6"; }));
  EXPECT_NE(base, changed([](AuditEvent& e) { e.user_agent = "curl/8.1"; }));
  EXPECT_NE(base, changed([](AuditEvent& e) { e.details = "{}"; }));
  EXPECT_NE(base, audit_row_hash(sample(), std::string(64, '1')));
}

TEST(AuditHash, FieldBoundariesCannotShift) {
  // Without length prefixes "ab"+"c" and "a"+"bc" would serialize alike.
  AuditEvent a = sample();
  a.event = "ab";
  a.subject = "c";
  AuditEvent b = sample();
  b.event = "a";
  b.subject = "bc";
  EXPECT_NE(audit_row_hash(a, kAuditGenesisHash), audit_row_hash(b, kAuditGenesisHash));
}

}  // namespace
}  // namespace stepup::store
