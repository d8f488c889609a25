// /metrics rendering and access (see metrics.h).
#include "http/metrics.h"

#include <cstdint>
#include <memory>

#include "crypto/hash.h"
#include "factors/password.h"
#include "http/messages.h"

namespace stepup::http {

namespace {

constexpr std::string_view kChallenge = "Bearer realm=\"stepup metrics\"";
constexpr std::string_view kChallengeInvalid =
    "Bearer realm=\"stepup metrics\", error=\"invalid_token\"";

// One metric family: # HELP and # TYPE, then its samples. promtool (run by
// tests/integration/metrics.test.mjs) checks the result.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t v) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += std::to_string(v);
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

bool is_direct_local(const Request& req, const ConnectionInfo& conn) {
  const std::string_view ip = conn.remote_ip;
  const bool loopback = ip == "::1" || ip.starts_with("127.");
  if (!loopback) return false;
  for (std::string_view h : {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
                             "X-Forwarded-Proto", "X-Forwarded-Uri", "X-Real-IP", "Via",
                             "X-Original-URI", "X-Original-Method"}) {
    if (req.count(h) != 0) return false;
  }
  return true;
}

MetricsAccess metrics_access(const config::ServerConfig& server, MetricsListener where,
                             std::string_view bearer, bool direct_local) {
  const bool own_listener = !server.metrics_listen.empty();
  if (own_listener != (where == MetricsListener::kMetrics)) return MetricsAccess::kNotHere;
  if (server.metrics_token.empty()) {
    // Without its own listener and without a token: only a scraper on this
    // machine talking to us directly (no proxy in between).
    if (own_listener) return MetricsAccess::kServe;
    return direct_local ? MetricsAccess::kServe : MetricsAccess::kNotHere;
  }
  if (bearer.empty()) return MetricsAccess::kTokenMissing;
  // Hash both sides first so the comparison takes the same time whatever the
  // length of what was sent.
  return crypto::constant_time_equal(crypto::sha256(bearer), crypto::sha256(server.metrics_token))
             ? MetricsAccess::kServe
             : MetricsAccess::kTokenMismatch;
}

std::string render_metrics(const Metrics& m, service::Runtime& rt) {
  Exposition e;
  e.family("stepup_decisions_total", "counter",
           "Enforcement decisions (authz endpoints and checks) by verdict.");
  e.sample("stepup_decisions_total", "verdict=\"allow\"", m.decisions_allow);
  e.sample("stepup_decisions_total", "verdict=\"step_up\"", m.decisions_step_up);
  e.sample("stepup_decisions_total", "verdict=\"login\"", m.decisions_login);
  e.sample("stepup_decisions_total", "verdict=\"deny\"", m.decisions_deny);
  e.sample("stepup_decisions_total", "verdict=\"error\"", m.decisions_error);
  e.family("stepup_logins_total", "counter", "Password sign-ins by result.");
  e.sample("stepup_logins_total", "result=\"ok\"", m.logins_ok);
  e.sample("stepup_logins_total", "result=\"failed\"", m.logins_failed);
  e.family("stepup_token_refreshes_total", "counter", "Refresh token rotations that succeeded.");
  e.sample("stepup_token_refreshes_total", "", m.refreshes);
  e.family("stepup_requests_refused_total", "counter",
           "Requests refused before matching: no single canonical meaning (by reason).");
  for (std::size_t i = 0; i < m.requests_refused.size(); ++i) {
    const std::string label =
        "reason=\"" + std::string(core::to_string(static_cast<core::Refusal>(i))) + "\"";
    e.sample("stepup_requests_refused_total", label, m.requests_refused[i]);
  }
  const auto ws = rt.store().write_stats();
  e.family("stepup_store_commits_total", "counter", "Store write transactions committed.");
  e.sample("stepup_store_commits_total", "", ws.commits);
  e.family("stepup_store_writes_total", "counter", "Store writes, grouped into those commits.");
  e.sample("stepup_store_writes_total", "", ws.writes);
  e.family("stepup_password_queue", "gauge", "Password hashing jobs waiting for a hashing worker.");
  e.sample("stepup_password_queue", "", static_cast<std::uint64_t>(rt.password_pool().queued()));
  e.family("stepup_password_verifications_total", "counter",
           "Argon2id password verifications run (known and unknown usernames cost one each).");
  e.sample("stepup_password_verifications_total", "", factors::password_verifications());
  if (m.requests_total) {
    e.family("stepup_http_requests_total", "counter",
             "HTTP requests answered on the main listener, parser errors included.");
    e.sample("stepup_http_requests_total", "", m.requests_total());
  }
  if (m.connections_open) {
    e.family("stepup_http_connections_open", "gauge",
             "HTTP connections currently open on the main listener.");
    e.sample("stepup_http_connections_open", "", m.connections_open());
  }
  return e.take();
}

Response metrics_response(const Request& req, const ConnectionInfo& conn, const Metrics& m,
                          service::Runtime& rt, MetricsListener where) {
  switch (metrics_access(rt.config().server, where, bearer_token(req),
                         is_direct_local(req, conn))) {
    case MetricsAccess::kServe: {
      Response res = make_response(req, bhttp::status::ok);
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = render_metrics(m, rt);
      res.prepare_payload();
      return res;
    }
    case MetricsAccess::kNotHere:
      return error_response(req, 404, "not_found", "No such endpoint");
    case MetricsAccess::kTokenMissing: {
      // RFC 6750 §3.1: no error code when the request had no credentials.
      Response res = error_response(req, 401, "invalid_token",
                                    "/metrics needs the bearer token of server.metrics_token_file");
      res.set(bhttp::field::www_authenticate, kChallenge);
      return res;
    }
    case MetricsAccess::kTokenMismatch: {
      Response res = error_response(req, 401, "invalid_token", "Wrong metrics bearer token");
      res.set(bhttp::field::www_authenticate, kChallengeInvalid);
      return res;
    }
  }
  return error_response(req, 500, "internal_error", "internal server error");
}

Handler make_metrics_handler(service::Runtime& rt, const Metrics& m) {
  return [&rt, &m](Request& req, const ConnectionInfo& conn, Responder respond) {
    const std::string_view target(req.target().data(), req.target().size());
    if (path_of(target) != "/metrics") {
      return respond(error_response(req, 404, "not_found", "No such endpoint"));
    }
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
      Response res = error_response(req, 405, "method_not_allowed", "Use GET");
      res.set(bhttp::field::allow, "GET, HEAD");
      return respond(std::move(res));
    }
    respond(metrics_response(req, conn, m, rt, MetricsListener::kMetrics));
  };
}

}  // namespace stepup::http
