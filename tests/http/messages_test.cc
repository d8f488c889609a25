// Tests for client facts read from a request: the client address with and
// without a trusted X-Forwarded-For (RFC 7239 §5.2 style "append" semantics:
// the trusted proxy appends the address it saw, so the right-most entry of
// all X-Forwarded-For lines, combined as RFC 9110 §5.3 says, is the only one
// that is not the client's own choice).
#include "http/messages.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stepup::http {
namespace {

constexpr char kPeer[] = "192.0.2.1";  // the trusted proxy's address

Request request_with(const std::vector<std::string>& xff_lines) {
  Request req{bhttp::verb::get, "/api/v1/session", 11};
  for (const auto& line : xff_lines) req.insert("X-Forwarded-For", line);
  req.set(bhttp::field::user_agent, "messages-test/1.0");
  return req;
}

std::string ip_of(const std::vector<std::string>& xff_lines, bool trust = true) {
  ConnectionInfo conn;
  conn.remote_ip = kPeer;
  return client_info(request_with(xff_lines), conn, trust).ip;
}

TEST(ClientInfo, WithoutTrustThePeerAddressIsUsed) {
  EXPECT_EQ(ip_of({"203.0.113.9"}, false), kPeer);
  EXPECT_EQ(ip_of({}, true), kPeer);
}

TEST(ClientInfo, RightMostEntryOfOneLine) {
  EXPECT_EQ(ip_of({"203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(ip_of({"10.0.0.1, 203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(ip_of({"10.0.0.1,203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(ip_of({"  10.0.0.1 ,\t203.0.113.9  "}), "203.0.113.9");
}

// Issue 11: a client that sends its own X-Forwarded-For line gets the proxy's
// appended line after it (nginx $proxy_add_x_forwarded_for joins into one
// line, but a proxy that adds a second field line is just as legal). Reading
// only the first line would let the client pick its address.
TEST(ClientInfo, RepeatedLinesAreCombinedInOrder) {
  EXPECT_EQ(ip_of({"198.51.100.66", "203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(ip_of({"198.51.100.66, 198.51.100.67", "203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(ip_of({"198.51.100.66", "10.0.0.1, 203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(ip_of({"198.51.100.66", "10.0.0.1", "203.0.113.9"}), "203.0.113.9");
}

TEST(ClientInfo, IPv6EntriesAreAcceptedAndNormalized) {
  EXPECT_EQ(ip_of({"2001:db8::1"}), "2001:db8::1");
  EXPECT_EQ(ip_of({"2001:DB8:0:0::1"}), "2001:db8::1");
  EXPECT_EQ(ip_of({"[2001:db8::1]"}), "2001:db8::1");
  EXPECT_EQ(ip_of({"::ffff:203.0.113.9"}), "203.0.113.9");  // same key as the IPv4 form
}

// An entry that is not an address must not let an earlier (client-chosen)
// entry through: the answer is the peer address, never a left neighbour.
TEST(ClientInfo, MalformedRightMostEntryFallsBackToThePeer) {
  for (const std::string& bad : std::vector<std::string>{
           "unknown", "", " ", "203.0.113.9:4711", "203.0.113", "203.0.113.999", "1.2.3.4.5",
           "evil.example", "2001:db8::1::2", "[2001:db8::1", "203.0.113.9 x", "_hidden",
           std::string(80, '1'), std::string("203.0.113.9\0", 12)}) {
    SCOPED_TRACE("right-most entry [" + bad + "]");
    EXPECT_EQ(ip_of({"198.51.100.66, " + bad}), kPeer);
    EXPECT_EQ(ip_of({"198.51.100.66", bad}), kPeer);
  }
  // A trailing comma leaves an empty right-most entry.
  EXPECT_EQ(ip_of({"198.51.100.66,"}), kPeer);
  EXPECT_EQ(ip_of({"198.51.100.66", "203.0.113.9,"}), kPeer);
}

TEST(ClientInfo, UserAgentIsCapped) {
  Request req{bhttp::verb::get, "/", 11};
  req.set(bhttp::field::user_agent, std::string(2000, 'a'));
  ConnectionInfo conn;
  conn.remote_ip = kPeer;
  EXPECT_EQ(client_info(req, conn, false).user_agent.size(), 512u);
}

}  // namespace
}  // namespace stepup::http
