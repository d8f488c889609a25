// /metrics: the Prometheus text exposition of stepup's counters, and who may
// read it (docs/security.md, "Metrics").
//
// Where /metrics is served follows the server config:
// - server.metrics_listen set: only on that listener (the main listener
//   answers 404), so it can sit on a loopback or internal address no gateway
//   forwards to;
// - server.metrics_token_file set: a request must carry
//   `Authorization: Bearer <token>` (compared in constant time), else 401 with
//   WWW-Authenticate. Applies on whichever listener serves /metrics;
// - neither: not served at all (404), the safe default.
//
// Thread-safe: everything here reads atomics and immutable config.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/canonical.h"
#include "http/server.h"
#include "service/runtime.h"

namespace stepup::http {

// Counters the handlers bump; each one is a family in render_metrics(), where
// a new field must also get its # HELP and # TYPE.
struct Metrics {
  std::atomic<std::uint64_t> decisions_allow{0};
  std::atomic<std::uint64_t> decisions_step_up{0};
  std::atomic<std::uint64_t> decisions_login{0};
  std::atomic<std::uint64_t> decisions_deny{0};
  std::atomic<std::uint64_t> decisions_error{0};
  std::atomic<std::uint64_t> logins_ok{0};
  std::atomic<std::uint64_t> logins_failed{0};
  std::atomic<std::uint64_t> refreshes{0};
  // Requests refused before matching, by core::Refusal (no single canonical meaning).
  std::array<std::atomic<std::uint64_t>, core::kRefusalCount> requests_refused{};
  // Filled by the server owner so /metrics can show them.
  std::function<std::uint64_t()> requests_total;
  std::function<std::uint64_t()> connections_open;
};

// Which listener a /metrics request arrived on.
enum class MetricsListener {
  kMain,     // server.listen
  kMetrics,  // server.metrics_listen
};

// What a /metrics request gets.
enum class MetricsAccess {
  kServe,          // 200 with the exposition
  kNotHere,        // 404: served elsewhere (metrics_listen) or not configured
  kTokenMissing,   // 401: a token is configured and none was sent
  kTokenMismatch,  // 401: the bearer token does not match
};

// Pure: the access decision for a request on `where` carrying `bearer` (the
// Authorization: Bearer value, empty when absent). `direct_local`: the peer is
// a loopback address and the request carries no proxy header (see
// is_direct_local); with neither metrics_listen nor a token configured, only
// such requests are served (a scraper on the same machine), everything else
// gets 404.
MetricsAccess metrics_access(const config::ServerConfig& server, MetricsListener where,
                             std::string_view bearer, bool direct_local = false);

// The peer is 127.0.0.0/8 or ::1 and the request has none of Forwarded,
// X-Forwarded-*, X-Real-IP, Via, X-Original-*: nothing says a proxy relayed it.
bool is_direct_local(const Request& req, const ConnectionInfo& conn);

// The exposition (text format 0.0.4): every family with # HELP and # TYPE.
std::string render_metrics(const Metrics& m, service::Runtime& rt);

// The full answer to GET/HEAD /metrics on `where`.
Response metrics_response(const Request& req, const ConnectionInfo& conn, const Metrics& m,
                          service::Runtime& rt, MetricsListener where);

// Handler for the server.metrics_listen listener: /metrics and nothing else
// (404 for other paths, 405 for methods other than GET and HEAD).
Handler make_metrics_handler(service::Runtime& rt, const Metrics& m);

}  // namespace stepup::http
