// Who may read /metrics: the access decision of http/metrics.cc as a table
// over (metrics_listen set?, token set?, listener, bearer sent).
#include "http/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace stepup::http {
namespace {

const std::string kToken(43, 't');

config::ServerConfig server(bool own_listener, bool token) {
  config::ServerConfig c;
  if (own_listener) c.metrics_listen = "127.0.0.1:9464";
  if (token) c.metrics_token = kToken;
  return c;
}

struct AccessRow {
  const char* name;
  bool own_listener;
  bool token;
  MetricsListener where;
  std::string bearer;
  MetricsAccess want;
  bool direct_local = false;  // loopback peer, no proxy header
};

void PrintTo(const AccessRow& r, std::ostream* os) { *os << r.name; }

class MetricsAccessTable : public ::testing::TestWithParam<AccessRow> {};

TEST_P(MetricsAccessTable, Decides) {
  const AccessRow& r = GetParam();
  EXPECT_EQ(metrics_access(server(r.own_listener, r.token), r.where, r.bearer, r.direct_local),
            r.want);
}

constexpr auto kMain = MetricsListener::kMain;
constexpr auto kOwn = MetricsListener::kMetrics;

INSTANTIATE_TEST_SUITE_P(
    Rows, MetricsAccessTable,
    ::testing::Values(
        // Neither configured: only a direct request from this machine.
        AccessRow{"default_refuses", false, false, kMain, "", MetricsAccess::kNotHere},
        AccessRow{"default_refuses_any_bearer", false, false, kMain, kToken,
                  MetricsAccess::kNotHere},
        AccessRow{"default_serves_direct_local", false, false, kMain, "", MetricsAccess::kServe,
                  true},
        // A configured token is needed even from this machine.
        AccessRow{"token_needed_locally_too", false, true, kMain, "",
                  MetricsAccess::kTokenMissing, true},
        AccessRow{"own_listener_main_is_404_locally", true, false, kMain, "",
                  MetricsAccess::kNotHere, true},
        // Token on the main listener.
        AccessRow{"token_missing", false, true, kMain, "", MetricsAccess::kTokenMissing},
        AccessRow{"token_right", false, true, kMain, kToken, MetricsAccess::kServe},
        AccessRow{"token_prefix", false, true, kMain, kToken.substr(0, 42),
                  MetricsAccess::kTokenMismatch},
        AccessRow{"token_longer", false, true, kMain, kToken + "t", MetricsAccess::kTokenMismatch},
        AccessRow{"token_one_byte_off", false, true, kMain, std::string(42, 't') + "u",
                  MetricsAccess::kTokenMismatch},
        // Own listener: only there, 404 on the main one even with the token.
        AccessRow{"own_listener_serves", true, false, kOwn, "", MetricsAccess::kServe},
        AccessRow{"own_listener_main_is_404", true, false, kMain, "", MetricsAccess::kNotHere},
        AccessRow{"both_main_is_404_with_token", true, true, kMain, kToken,
                  MetricsAccess::kNotHere},
        AccessRow{"both_own_needs_token", true, true, kOwn, "", MetricsAccess::kTokenMissing},
        AccessRow{"both_own_wrong_token", true, true, kOwn, "x", MetricsAccess::kTokenMismatch},
        AccessRow{"both_own_right_token", true, true, kOwn, kToken, MetricsAccess::kServe},
        // The metrics listener never exists without metrics_listen; if asked anyway, refuse.
        AccessRow{"no_own_listener_configured", false, true, kOwn, kToken,
                  MetricsAccess::kNotHere}));

TEST(MetricsAccess, DirectLocalMeansLoopbackAndNoProxyHeader) {
  Request req{bhttp::verb::get, "/metrics", 11};
  EXPECT_TRUE(is_direct_local(req, ConnectionInfo{"127.0.0.1", 5000}));
  EXPECT_TRUE(is_direct_local(req, ConnectionInfo{"::1", 5000}));
  EXPECT_TRUE(is_direct_local(req, ConnectionInfo{"127.8.9.10", 5000}));
  EXPECT_FALSE(is_direct_local(req, ConnectionInfo{"10.0.0.5", 5000}));
  EXPECT_FALSE(is_direct_local(req, ConnectionInfo{"192.0.2.127", 5000}));
  EXPECT_FALSE(is_direct_local(req, ConnectionInfo{"", 0}));
  for (const char* h : {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via",
                        "X-Original-URI"}) {
    Request relayed{bhttp::verb::get, "/metrics", 11};
    relayed.set(h, "x");
    EXPECT_FALSE(is_direct_local(relayed, ConnectionInfo{"127.0.0.1", 5000})) << h;
  }
}

}  // namespace
}  // namespace stepup::http
