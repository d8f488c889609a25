// Handlers are grouped by area: sign-in and session, enforcement, metadata.
// Each is parse -> service -> render; no SQL and no policy logic here.
#include "http/api.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>

#include <boost/json.hpp>

#include "core/canonical.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "factors/password.h"
#include "http/cookie.h"
#include "http/messages.h"
#include "http/pages.h"

namespace stepup::http {

namespace json = boost::json;
using service::Authenticated;
using service::Credential;

namespace {

constexpr std::size_t kMaxUsername = 128;
constexpr std::size_t kMaxPassword = 1024;  // rules cap length; this bounds hashing work
constexpr std::size_t kMaxToken = 8192;

class Api {
 public:
  Api(service::Runtime& rt, Metrics& m)
      : rt_(rt),
        cfg_(rt.config()),
        metrics_(m),
        cookie_name_(cfg_.cookie.secure ? "__Host-" + cfg_.cookie.name : cfg_.cookie.name),
        public_origin_(origin_of(cfg_.server.public_url)) {
    std::string base = cfg_.server.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    public_base_ = base;
    build_metadata();
  }

  void operator()(Request& req, const ConnectionInfo& conn, Responder respond) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = path_of(target);
    const auto method = req.method();
    const bool get = method == bhttp::verb::get || method == bhttp::verb::head;

    // Enforcement first: the hot path. Any method is accepted (gateways
    // differ in the method of their sub-request).
    if (path == "/api/v1/authz/auth-request") return respond(authz(req, conn, Mode::kAuthRequest));
    if (path == "/api/v1/authz/forward") return respond(authz(req, conn, Mode::kForward));

    // Read-only answers from memory stay on the I/O thread.
    if (path == "/.well-known/jwks.json") {
      return respond(get ? cached_json(req, rt_.sessions().keys().jwks_json(), "max-age=60")
                         : not_allowed(req, "GET"));
    }
    if (path == "/.well-known/stepup-configuration") {
      return respond(get ? cached_json(req, metadata_, "max-age=300") : not_allowed(req, "GET"));
    }
    if (path == "/healthz")
      return respond(json_response(req, bhttp::status::ok, R"({"status":"ok"})"));
    if (path == "/metrics") return respond(metrics(req, conn));
    if (!path.starts_with("/api/")) {
      if (path == "/readyz") return respond(readyz(req));
      if (get) {
        if (auto page = hosted_page(req)) return respond(std::move(*page));
      }
      return respond(error_response(req, 404, "not_found", "No such endpoint"));
    }

    // Everything else may write to the store (a durable commit waits for the
    // disk): run it on the API worker pool so decisions never queue behind it.
    auto shared = std::make_shared<Request>(std::move(req));
    auto reply = std::make_shared<Responder>(std::move(respond));
    const bool queued = rt_.api_pool().submit(
        [this, shared, conn, reply]() { api(*shared, conn, std::move(*reply)); });
    if (!queued) {
      Response res = error_response(*shared, 503, "overloaded", "The server is busy; try again");
      res.set(bhttp::field::retry_after, "1");
      (*reply)(std::move(res));
    }
  }

  void api(Request& req, const ConnectionInfo& conn, Responder respond) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = path_of(target);
    const auto method = req.method();
    const bool get = method == bhttp::verb::get || method == bhttp::verb::head;
    const bool post = method == bhttp::verb::post;

    if (path == "/api/v1/login/password") {
      if (!post) return respond(not_allowed(req, "POST"));
      return login_password(req, conn, std::move(respond));
    }
    if (path == "/api/v1/token/refresh") {
      return respond(post ? refresh(req, conn) : not_allowed(req, "POST"));
    }
    if (path == "/api/v1/logout")
      return respond(post ? logout(req, conn) : not_allowed(req, "POST"));
    if (path == "/api/v1/session") return respond(get ? session(req) : not_allowed(req, "GET"));
    if (path == "/api/v1/sessions") return respond(get ? sessions(req) : not_allowed(req, "GET"));
    if (path.starts_with("/api/v1/sessions/")) {
      if (method != bhttp::verb::delete_) return respond(not_allowed(req, "DELETE"));
      return respond(revoke_session(req, conn, path.substr(17)));
    }
    if (path == "/api/v1/step-up")
      return respond(post ? step_up_start(req, conn) : not_allowed(req, "POST"));
    if (path.starts_with("/api/v1/step-up/") && path.ends_with("/verify")) {
      if (!post) return respond(not_allowed(req, "POST"));
      return respond(step_up_verify(req, conn, path.substr(16, path.size() - 16 - 7)));
    }
    if (path == "/api/v1/factors")
      return respond(get ? list_factors(req) : not_allowed(req, "GET"));
    if (path == "/api/v1/factors/totp")
      return respond(post ? add_totp(req, conn) : not_allowed(req, "POST"));
    if (path.starts_with("/api/v1/factors/totp/") && path.ends_with("/confirm")) {
      if (!post) return respond(not_allowed(req, "POST"));
      return respond(confirm_totp(req, conn, path.substr(21, path.size() - 21 - 8)));
    }
    if (path == "/api/v1/factors/webauthn/options") {
      return respond(post ? webauthn_register_options(req) : not_allowed(req, "POST"));
    }
    if (path == "/api/v1/factors/webauthn") {
      return respond(post ? webauthn_register(req, conn) : not_allowed(req, "POST"));
    }
    if (path == "/api/v1/login/webauthn/options") {
      return respond(post ? passkey_login_options(req, conn) : not_allowed(req, "POST"));
    }
    if (path == "/api/v1/login/webauthn") {
      return respond(post ? passkey_login(req, conn) : not_allowed(req, "POST"));
    }
    if (path == "/api/v1/factors/recovery-codes") {
      return respond(post ? recovery_codes(req, conn) : not_allowed(req, "POST"));
    }
    if (path.starts_with("/api/v1/factors/")) {
      if (method != bhttp::verb::delete_) return respond(not_allowed(req, "DELETE"));
      return respond(remove_factor(req, conn, path.substr(16)));
    }
    if (path == "/api/v1/authz/check") return respond(post ? check(req) : not_allowed(req, "POST"));
    if (path == "/api/v1/introspect")
      return respond(post ? introspect(req) : not_allowed(req, "POST"));
    return respond(error_response(req, 404, "not_found", "No such endpoint"));
  }

 private:
  enum class Mode { kForward, kAuthRequest };

  // ---- shared pieces -------------------------------------------------------

  Response not_allowed(const Request& req, std::string_view allow) {
    Response res = error_response(req, 405, "method_not_allowed",
                                  "Use " + std::string(allow) + " on this endpoint");
    res.set(bhttp::field::allow, allow);
    return res;
  }

  Credential credential(const Request& req) {
    Credential c;
    c.bearer = bearer_token(req);
    if (c.bearer.empty()) {
      if (auto v = find_cookie(header(req, "Cookie"), cookie_name_)) c.cookie = *v;
    }
    return c;
  }

  // Cookie-authenticated state changes must come from our own origin.
  bool same_origin(const Request& req) {
    auto origin = header(req, "Origin");
    if (!origin.empty()) return origin_of(origin) == public_origin_ && !public_origin_.empty();
    return header(req, "Sec-Fetch-Site") == "same-origin";
  }

  tl::expected<Authenticated, Response> authenticate(const Request& req, bool state_change) {
    const Credential cred = credential(req);
    auto who = rt_.enforcement().authenticate(cred);
    if (!who) return tl::unexpected(error_response(req, who.error()));
    if (state_change && who->via == Authenticated::Via::kCookie && !same_origin(req)) {
      return tl::unexpected(
          error_response(req, 403, "cross_origin_request",
                         "A cookie-authenticated change must come from this site (Origin header)"));
    }
    return std::move(*who);
  }

  std::string set_cookie(const std::string& value) {
    SetCookie c;
    c.name = cookie_name_;
    c.value = value;
    c.path = "/";
    c.max_age = cfg_.sessions.absolute_timeout;
    c.http_only = true;
    c.secure = cfg_.cookie.secure;
    c.same_site = cfg_.cookie.same_site;
    return render(c);
  }

  std::string clear_cookie() {
    SetCookie c;
    c.name = cookie_name_;
    c.value = "";
    c.path = "/";
    c.max_age = 0;
    c.http_only = true;
    c.secure = cfg_.cookie.secure;
    c.same_site = cfg_.cookie.same_site;
    return render(c);
  }

  Response cached_json(const Request& req, const std::string& body, std::string_view cache) {
    Response res = json_response(req, bhttp::status::ok, body);
    res.set(bhttp::field::cache_control, cache);
    res.set(bhttp::field::access_control_allow_origin, "*");
    return res;
  }

  static json::object tokens_json(const service::IssuedTokens& t) {
    json::object o;
    o["access_token"] = t.access_token;
    o["token_type"] = "Bearer";
    o["expires_in"] = t.expires_in;
    if (!t.refresh_token.empty()) o["refresh_token"] = t.refresh_token;
    return o;
  }

  // ---- sign-in and session -------------------------------------------------

  // Per client IP token bucket; 429 with Retry-After when empty.
  std::optional<Response> limited(const Request& req, service::RateLimiter& limiter,
                                  const service::ClientInfo& client) {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto wait = limiter.take(client.ip, now_ms);
    if (wait == 0) return std::nullopt;
    service::Error e{service::ErrorCode::kRateLimited,
                     "Too many attempts from your address; slow down",
                     {},
                     {},
                     wait};
    return error_response(req, e);
  }

  void login_password(Request& req, const ConnectionInfo& conn, Responder respond) {
    if (auto r = limited(req, rt_.login_limiter(),
                         client_info(req, conn, cfg_.server.trust_forwarded_for))) {
      return respond(std::move(*r));
    }
    auto body = read_json_object(req);
    if (!body) return respond(std::move(body.error()));
    auto username = require_string(req, *body, "username", kMaxUsername);
    if (!username) return respond(std::move(username.error()));
    auto password = require_string(req, *body, "password", kMaxPassword);
    if (!password) return respond(std::move(password.error()));

    // The answer is built on a hashing worker: capture what it needs by value.
    Request shell{req.method(), req.target(), req.version()};
    shell.keep_alive(req.keep_alive());
    rt_.signin().with_password(std::move(*username), std::move(*password),
                               client_info(req, conn, cfg_.server.trust_forwarded_for),
                               [this, shell = std::move(shell), respond = std::move(respond)](
                                   service::Result<service::NewSession> r) mutable {
                                 if (!r) {
                                   if (r.error().code == service::ErrorCode::kInvalidCredentials)
                                     ++metrics_.logins_failed;
                                   return respond(error_response(shell, r.error()));
                                 }
                                 ++metrics_.logins_ok;
                                 json::object o = tokens_json(r->tokens);
                                 o["session"] = session_view_json(rt_.sessions().view(r->session));
                                 Response res =
                                     json_response(shell, bhttp::status::ok, json::serialize(o));
                                 res.set(bhttp::field::set_cookie, set_cookie(r->cookie_value));
                                 respond(std::move(res));
                               });
  }

  Response refresh(const Request& req, const ConnectionInfo& conn) {
    auto body = read_json_object(req);
    if (!body) return std::move(body.error());
    auto token = require_string(req, *body, "refresh_token", kMaxToken);
    if (!token) return std::move(token.error());
    auto t =
        rt_.sessions().refresh(*token, client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!t) return error_response(req, t.error());
    ++metrics_.refreshes;
    return json_response(req, bhttp::status::ok, json::serialize(tokens_json(*t)));
  }

  Response logout(const Request& req, const ConnectionInfo& conn) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto r = rt_.sessions().revoke(who->session, "logout",
                                   client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!r) return error_response(req, r.error());
    Response res = json_response(req, bhttp::status::ok, R"({"logged_out":true})");
    res.set(bhttp::field::set_cookie, clear_cookie());
    return res;
  }

  Response session(const Request& req) {
    auto who = authenticate(req, false);
    if (!who) return std::move(who.error());
    json::object o = session_view_json(rt_.sessions().view(who->session));
    json::array factors;
    if (auto fs = rt_.store().list_factors(who->session.user_id)) {
      for (const auto& f : *fs) {
        if (!f.confirmed) continue;
        json::object fo;
        fo["id"] = f.id;
        fo["type"] = f.type;
        fo["name"] = f.name;
        fo["created_at"] = f.created_at;
        fo["last_used_at"] = f.last_used_at;
        factors.push_back(std::move(fo));
      }
    }
    o["factors"] = std::move(factors);
    return json_response(req, bhttp::status::ok, json::serialize(o));
  }

  Response sessions(const Request& req) {
    auto who = authenticate(req, false);
    if (!who) return std::move(who.error());
    auto list = rt_.sessions().live_sessions_of(who->session.user_id);
    if (!list) return error_response(req, list.error());
    json::array arr;
    for (const auto& s : *list) {
      auto v = rt_.sessions().view(s);
      json::object o;
      o["id"] = s.public_id;
      o["current"] = s.public_id == who->session.public_id;
      o["created_at"] = s.created_at;
      o["last_seen_at"] = s.last_seen_at;
      o["expires_at"] = s.expires_at;
      o["acr"] = v.acr;
      o["ip"] = s.ip;
      o["user_agent"] = s.user_agent;
      arr.push_back(std::move(o));
    }
    json::object out;
    out["sessions"] = std::move(arr);
    return json_response(req, bhttp::status::ok, json::serialize(out));
  }

  Response revoke_session(const Request& req, const ConnectionInfo& conn, std::string_view id) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto target = rt_.store().find_session_by_public_id(id);
    // Someone else's session looks exactly like a missing one.
    if (!target || target->user_id != who->session.user_id || target->revoked_at != 0) {
      return error_response(req, 404, "not_found", "No such session");
    }
    auto r = rt_.sessions().revoke(*target, "session.revoked",
                                   client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!r) return error_response(req, r.error());
    json::object o;
    o["revoked"] = target->public_id;
    return json_response(req, bhttp::status::ok, json::serialize(o));
  }

  // ---- step-up and factors -------------------------------------------------

  Response step_up_start(const Request& req, const ConnectionInfo& conn) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto body = read_json_object(req);
    if (!body) return std::move(body.error());
    service::StepUpRequest r;
    auto acr = require_string(req, *body, "acr_values", 256);
    if (!acr) return std::move(acr.error());
    r.acr_values = std::move(*acr);
    if (auto it = body->find("max_age"); it != body->end() && !it->value().is_null()) {
      if (!it->value().is_int64()) {
        return error_response(req, 400, "invalid_request", "Field 'max_age' must be an integer");
      }
      r.max_age = it->value().get_int64();
    }
    auto rt = optional_string(req, *body, "return_to", 2048);
    if (!rt) return std::move(rt.error());
    r.return_to = rt->value_or("");
    auto reason = optional_string(req, *body, "reason", 200);
    if (!reason) return std::move(reason.error());
    r.reason = reason->value_or("");
    if (auto it = body->find("transaction"); it != body->end() && !it->value().is_null()) {
      if (!it->value().is_object()) {
        return error_response(req, 400, "invalid_request", "Field 'transaction' must be an object");
      }
      r.transaction_json = json::serialize(it->value());
      if (r.transaction_json.size() > 4096) {
        return error_response(req, 400, "invalid_request", "Field 'transaction' is too large");
      }
    }
    auto started =
        rt_.step_up().start(*who, r, client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!started) return error_response(req, started.error());
    const auto& c = started->challenge;
    json::object o;
    o["challenge_id"] = c.id;
    o["acr"] = started->acr;
    if (c.max_age) o["max_age"] = *c.max_age;
    o["expires_at"] = c.expires_at;
    o["reason"] = c.reason;
    json::array methods;
    for (const auto& m : started->methods) {
      json::object mo{{"type", m.type}, {"factor_id", m.factor_id}, {"name", m.name}};
      if (m.remaining >= 0) mo["remaining"] = m.remaining;
      methods.push_back(std::move(mo));
    }
    o["methods"] = std::move(methods);
    if (!c.transaction_json.empty()) o["transaction"] = json::parse(c.transaction_json);
    if (!c.return_to.empty()) o["return_to"] = c.return_to;
    if (!started->webauthn_options_json.empty()) {
      o["webauthn"] = json::parse(started->webauthn_options_json);
    }
    return json_response(req, bhttp::status::ok, json::serialize(o));
  }

  Response step_up_verify(const Request& req, const ConnectionInfo& conn, std::string_view id) {
    const auto client = client_info(req, conn, cfg_.server.trust_forwarded_for);
    if (auto r = limited(req, rt_.verify_limiter(), client)) return std::move(*r);
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto body = read_json_object(req);
    if (!body) return std::move(body.error());
    service::StepUpProof p;
    auto method = require_string(req, *body, "method", 32);
    if (!method) return std::move(method.error());
    p.method = std::move(*method);
    if (p.method == "webauthn") {
      auto a = read_assertion(req, *body);
      if (!a) return std::move(a.error());
      p.assertion = std::move(*a);
    } else {
      auto code = require_string(req, *body, "code", 64);
      if (!code) return std::move(code.error());
      p.code = std::move(*code);
    }
    auto fid = optional_string(req, *body, "factor_id", 64);
    if (!fid) return std::move(fid.error());
    p.factor_id = fid->value_or("");
    auto r = rt_.step_up().verify(*who, id, p, client);
    if (!r) return error_response(req, r.error());
    auto view = rt_.sessions().view(r->session);
    json::object o = tokens_json(r->tokens);
    o["acr"] = view.acr;
    json::array amr;
    for (const auto& m : view.amr) amr.emplace_back(m);
    o["amr"] = std::move(amr);
    o["auth_time"] = view.auth_time;
    if (view.elevated_until) {
      o["elevated_until"] = *view.elevated_until;
    } else {
      o["elevated_until"] = nullptr;
    }
    if (r->return_to.empty()) {
      o["return_to"] = nullptr;
    } else {
      o["return_to"] = r->return_to;
    }
    if (r->recovery_codes_remaining >= 0)
      o["recovery_codes_remaining"] = r->recovery_codes_remaining;
    o["session"] = session_view_json(view);
    Response res = json_response(req, bhttp::status::ok, json::serialize(o));
    res.set(bhttp::field::set_cookie, set_cookie(r->cookie_value));
    return res;
  }

  Response list_factors(const Request& req) {
    auto who = authenticate(req, false);
    if (!who) return std::move(who.error());
    auto fs = rt_.store().list_factors(who->session.user_id);
    if (!fs) return error_response(req, 503, "unavailable", "The factor store is unavailable");
    json::array arr;
    for (const auto& f : *fs) {
      json::object o{{"id", f.id},
                     {"type", f.type},
                     {"name", f.name},
                     {"confirmed", f.confirmed},
                     {"created_at", f.created_at},
                     {"last_used_at", f.last_used_at}};
      if (f.type == "recovery_codes") {
        std::error_code ec;
        auto v = json::parse(f.secret, ec);
        o["remaining"] = (!ec && v.is_array()) ? v.as_array().size() : 0;
      }
      if (f.locked_until > rt_.clock().now()) o["locked_until"] = f.locked_until;
      arr.push_back(std::move(o));
    }
    return json_response(req, bhttp::status::ok,
                         json::serialize(json::object{{"factors", std::move(arr)}}));
  }

  Response add_totp(const Request& req, const ConnectionInfo& conn) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    std::string name;
    if (!req.body().empty()) {
      auto body = read_json_object(req);
      if (!body) return std::move(body.error());
      auto n = optional_string(req, *body, "name", 64);
      if (!n) return std::move(n.error());
      name = n->value_or("");
    }
    auto e = rt_.enrollment().add_totp(*who, name,
                                       client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!e) return error_response(req, e.error());
    json::object o{{"factor_id", e->factor_id},
                   {"secret", e->secret_base32},
                   {"otpauth_uri", e->otpauth_uri},
                   {"qr_svg", e->qr_svg}};
    return json_response(req, bhttp::status::ok, json::serialize(o));
  }

  Response confirm_totp(const Request& req, const ConnectionInfo& conn, std::string_view id) {
    const auto client = client_info(req, conn, cfg_.server.trust_forwarded_for);
    if (auto r = limited(req, rt_.verify_limiter(), client)) return std::move(*r);
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto body = read_json_object(req);
    if (!body) return std::move(body.error());
    auto code = require_string(req, *body, "code", 64);
    if (!code) return std::move(code.error());
    auto r = rt_.enrollment().confirm_totp(*who, id, *code, client);
    if (!r) return error_response(req, r.error());
    return json_response(req, bhttp::status::ok,
                         json::serialize(json::object{{"factor_id", id}, {"confirmed", true}}));
  }

  Response recovery_codes(const Request& req, const ConnectionInfo& conn) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto r = rt_.enrollment().new_recovery_codes(
        *who, client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!r) return error_response(req, r.error());
    json::array codes;
    for (const auto& c : r->codes) codes.emplace_back(c);
    return json_response(
        req, bhttp::status::ok,
        json::serialize(json::object{{"factor_id", r->factor_id}, {"codes", std::move(codes)}}));
  }

  Response remove_factor(const Request& req, const ConnectionInfo& conn, std::string_view id) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto r =
        rt_.enrollment().remove(*who, id, client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!r) return error_response(req, r.error());
    return json_response(req, bhttp::status::ok, json::serialize(json::object{{"deleted", id}}));
  }

  // ---- WebAuthn ------------------------------------------------------------

  // A base64url field of the PublicKeyCredential JSON, decoded.
  static tl::expected<std::string, Response> b64_field(const Request& req, const json::object& o,
                                                       std::string_view key, bool required) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) {
      if (!required) return std::string();
      return tl::unexpected(
          error_response(req, 400, "invalid_request", "Missing field '" + std::string(key) + "'"));
    }
    if (!it->value().is_string()) {
      return tl::unexpected(
          error_response(req, 400, "invalid_request",
                         "Field '" + std::string(key) + "' must be a base64url string"));
    }
    std::string_view v(it->value().get_string());
    while (!v.empty() && v.back() == '=') v.remove_suffix(1);  // tolerate padding
    auto raw = crypto::base64url_decode(v);
    if (!raw) {
      return tl::unexpected(error_response(req, 400, "invalid_request",
                                           "Field '" + std::string(key) + "' is not base64url"));
    }
    return std::move(*raw);
  }

  static tl::expected<const json::object*, Response> credential_object(const Request& req,
                                                                       const json::object& body) {
    auto it = body.find("credential");
    if (it == body.end() || !it->value().is_object()) {
      return tl::unexpected(error_response(
          req, 400, "invalid_request", "Field 'credential' must be a PublicKeyCredential object"));
    }
    auto& cred = it->value().as_object();
    auto r = cred.find("response");
    if (r == cred.end() || !r->value().is_object()) {
      return tl::unexpected(error_response(req, 400, "invalid_request",
                                           "Field 'credential.response' must be an object"));
    }
    return &cred;
  }

  static tl::expected<service::WebAuthnAssertion, Response> read_assertion(
      const Request& req, const json::object& body) {
    auto cred = credential_object(req, body);
    if (!cred) return tl::unexpected(std::move(cred.error()));
    const auto& resp = (*cred)->at("response").as_object();
    service::WebAuthnAssertion a;
    auto id = b64_field(req, **cred, "rawId", false);
    if (!id) return tl::unexpected(std::move(id.error()));
    if (id->empty()) {
      id = b64_field(req, **cred, "id", true);
      if (!id) return tl::unexpected(std::move(id.error()));
    }
    a.credential_id = std::move(*id);
    auto cdj = b64_field(req, resp, "clientDataJSON", true);
    if (!cdj) return tl::unexpected(std::move(cdj.error()));
    a.client_data_json = std::move(*cdj);
    auto ad = b64_field(req, resp, "authenticatorData", true);
    if (!ad) return tl::unexpected(std::move(ad.error()));
    a.authenticator_data = std::move(*ad);
    auto sig = b64_field(req, resp, "signature", true);
    if (!sig) return tl::unexpected(std::move(sig.error()));
    a.signature = std::move(*sig);
    auto uh = b64_field(req, resp, "userHandle", false);
    if (!uh) return tl::unexpected(std::move(uh.error()));
    a.user_handle = std::move(*uh);
    return a;
  }

  Response webauthn_register_options(const Request& req) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto o = rt_.passkeys().registration_options(*who);
    if (!o) return error_response(req, o.error());
    json::object out{{"challenge_id", o->challenge_id},
                     {"publicKey", json::parse(o->public_key_json)}};
    return json_response(req, bhttp::status::ok, json::serialize(out));
  }

  Response webauthn_register(const Request& req, const ConnectionInfo& conn) {
    auto who = authenticate(req, true);
    if (!who) return std::move(who.error());
    auto body = read_json_object(req);
    if (!body) return std::move(body.error());
    auto cid = require_string(req, *body, "challenge_id", 64);
    if (!cid) return std::move(cid.error());
    auto name = optional_string(req, *body, "name", 64);
    if (!name) return std::move(name.error());
    auto cred = credential_object(req, *body);
    if (!cred) return std::move(cred.error());
    const auto& resp = (*cred)->at("response").as_object();
    auto cdj = b64_field(req, resp, "clientDataJSON", true);
    if (!cdj) return std::move(cdj.error());
    auto ao = b64_field(req, resp, "attestationObject", true);
    if (!ao) return std::move(ao.error());
    auto r = rt_.passkeys().register_credential(
        *who, *cid, name->value_or(""), std::move(*cdj), std::move(*ao),
        client_info(req, conn, cfg_.server.trust_forwarded_for));
    if (!r) return error_response(req, r.error());
    json::array methods;
    for (const auto& m : r->methods) methods.emplace_back(m);
    json::object out{
        {"factor_id", r->factor_id}, {"name", r->name}, {"methods", std::move(methods)}};
    return json_response(req, bhttp::status::ok, json::serialize(out));
  }

  Response passkey_login_options(const Request& req, const ConnectionInfo& conn) {
    if (auto r = limited(req, rt_.login_limiter(),
                         client_info(req, conn, cfg_.server.trust_forwarded_for))) {
      return std::move(*r);
    }
    auto o = rt_.passkeys().login_options();
    if (!o) return error_response(req, o.error());
    json::object out{{"challenge_id", o->challenge_id},
                     {"publicKey", json::parse(o->public_key_json)}};
    return json_response(req, bhttp::status::ok, json::serialize(out));
  }

  Response passkey_login(const Request& req, const ConnectionInfo& conn) {
    const auto client = client_info(req, conn, cfg_.server.trust_forwarded_for);
    if (auto r = limited(req, rt_.verify_limiter(), client)) return std::move(*r);
    auto body = read_json_object(req);
    if (!body) return std::move(body.error());
    auto cid = require_string(req, *body, "challenge_id", 64);
    if (!cid) return std::move(cid.error());
    auto a = read_assertion(req, *body);
    if (!a) return std::move(a.error());
    auto r = rt_.passkeys().login(*cid, *a, client);
    if (!r) {
      if (r.error().code == service::ErrorCode::kInvalidCredentials) ++metrics_.logins_failed;
      return error_response(req, r.error());
    }
    ++metrics_.logins_ok;
    json::object o = tokens_json(r->tokens);
    o["session"] = session_view_json(rt_.sessions().view(r->session));
    Response res = json_response(req, bhttp::status::ok, json::serialize(o));
    res.set(bhttp::field::set_cookie, set_cookie(r->cookie_value));
    return res;
  }

  // ---- enforcement ---------------------------------------------------------

  void count(core::Verdict v) {
    switch (v) {
      case core::Verdict::kAllow:
        ++metrics_.decisions_allow;
        break;
      case core::Verdict::kStepUp:
        ++metrics_.decisions_step_up;
        break;
      case core::Verdict::kLogin:
        ++metrics_.decisions_login;
        break;
      case core::Verdict::kDeny:
        ++metrics_.decisions_deny;
        break;
    }
  }

  static std::string quote_param(std::string_view s) {
    // RFC 9110 quoted-string: escape \ and ", drop controls.
    std::string out;
    for (unsigned char c : s) {
      if (c < 0x20 || c == 0x7f) continue;
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
    }
    return out;
  }

  std::string step_up_challenge(const core::Decision& d) {
    const auto& level = cfg_.levels.at(d.required_level);
    std::string h = "Bearer error=\"insufficient_user_authentication\", error_description=\"";
    h += quote_param(d.reason);
    h += "\", acr_values=\"";
    h += level.acr;
    h += '"';
    if (d.max_age) {
      h += ", max_age=\"";
      h += std::to_string(*d.max_age);
      h += '"';
    }
    return h;
  }

  // The value of a gateway header sent exactly once; nullopt when it is
  // missing or repeated (a client may have added its own copy).
  static std::optional<std::string_view> single_header(const Request& req, std::string_view name) {
    if (req.count(name) != 1) return std::nullopt;
    auto v = req.find(name)->value();
    return std::string_view(v.data(), v.size());
  }

  // Outside bytes for a log line: printable ASCII as is, the rest as \xNN,
  // at most 512 bytes of input.
  static std::string log_escape(std::string_view raw) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw.substr(0, 512)) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        out += static_cast<char>(c);
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
    if (raw.size() > 512) out += "...";
    return out;
  }

  void count_refusal(core::Refusal why, std::string_view where, std::string_view raw) {
    ++refused_[static_cast<std::size_t>(why)];
    spdlog::warn("{}: refused request ({}): {}", where, core::to_string(why), log_escape(raw));
  }

  // The canonical request from the gateway's headers, or why it is refused.
  struct GatewayRequest {
    std::string method, host, path;
    std::string literal;  // the path with dot segments kept, when it had any
    std::string_view raw_uri;  // as the gateway sent it (for the return URL)
    std::string_view proto;
  };
  tl::expected<GatewayRequest, core::Refusal> gateway_request(const Request& req, Mode mode,
                                                              std::string_view& raw) {
    const bool fwd = mode == Mode::kForward;
    auto method = single_header(req, fwd ? "X-Forwarded-Method" : "X-Original-Method");
    auto uri = single_header(req, fwd ? "X-Forwarded-Uri" : "X-Original-URI");
    auto host = single_header(req, fwd ? "X-Forwarded-Host" : "Host");
    std::optional<std::string_view> proto;
    if (fwd) {
      proto = single_header(req, "X-Forwarded-Proto");
      if (!proto || (*proto != "http" && *proto != "https")) {
        return tl::unexpected(core::Refusal::kGatewayHeader);
      }
    }
    if (!method || !uri || !host) return tl::unexpected(core::Refusal::kGatewayHeader);
    raw = *uri;
    GatewayRequest g;
    auto m = core::canonical_method(*method);
    if (!m) return tl::unexpected(m.error());
    auto h = core::canonical_host(*host);
    if (!h) return tl::unexpected(h.error());
    if (h->empty()) return tl::unexpected(core::Refusal::kGatewayHeader);
    auto p = core::canonical_path(*uri, *h, &g.literal);
    if (!p) return tl::unexpected(p.error());
    g.method = std::move(*m);
    g.host = std::move(*h);
    g.path = std::move(*p);
    g.raw_uri = *uri;
    g.proto = proto.value_or("");
    return g;
  }

  Response authz(const Request& req, const ConnectionInfo& conn, Mode mode) {
    std::string_view raw;
    auto canon = gateway_request(req, mode, raw);
    if (!canon) {
      count_refusal(canon.error(), mode == Mode::kForward ? "authz/forward" : "authz/auth-request",
                    raw);
      if (mode == Mode::kAuthRequest) return no_store(empty_response(req, bhttp::status::forbidden));
      return no_store(
          error_response(req, 403, "request_refused", core::describe(canon.error())));
    }
    core::RequestFacts facts{canon->method, canon->host, canon->path, canon->literal};
    const std::string_view forwarded_uri = canon->raw_uri;

    const auto fail_closed = [&](std::string_view why) {
      ++metrics_.decisions_error;
      spdlog::warn("authz: could not decide, refusing: {}", why);
      if (mode == Mode::kAuthRequest) return no_store(empty_response(req, bhttp::status::forbidden));
      return no_store(error_response(req, 503, "unavailable", "The decision could not be made"));
    };

    service::Result<service::Verdict> v = [&]() -> service::Result<service::Verdict> {
      try {
        return rt_.enforcement().decide(facts, credential(req));
      } catch (const std::exception& e) {
        return service::fail(service::ErrorCode::kInternal, e.what());
      }
    }();
    if (!v) return fail_closed(v.error().description);
    const core::Decision& d = v->decision;
    count(d.verdict);

    // Where a browser goes back after signing in or stepping up (built only
    // when a redirect needs it).
    const auto original_url = [&] {
      const std::string_view proto = canon->proto;
      return std::string(proto.empty() ? "https" : proto) + "://" + std::string(facts.host) +
             std::string(forwarded_uri.starts_with('/') ? forwarded_uri : canon->path);
    };
    const bool browser = mode == Mode::kForward && wants_html(req) && !facts.host.empty();
    switch (d.verdict) {
      case core::Verdict::kAllow: {
        Response res = empty_response(req, bhttp::status::ok);
        if (v->who) {
          const auto& who = *v->who;
          res.set("X-Stepup-Subject", who.session.subject);
          res.set("X-Stepup-Acr", who.acr);
          std::string amr;
          for (const auto& m : who.amr) {
            if (!amr.empty()) amr += ',';
            amr += m;
          }
          res.set("X-Stepup-Amr", amr);
          res.set("X-Stepup-Session", who.session.public_id);
        }
        return no_store(std::move(res));
      }
      case core::Verdict::kLogin: {
        if (browser) {
          return redirect(req, public_base_ + "/login?return_to=" + url_encode(original_url()));
        }
        std::string desc = v->login_reason.empty() ? "No valid session" : v->login_reason;
        Response res = mode == Mode::kAuthRequest ? empty_response(req, bhttp::status::unauthorized)
                                                  : error_response(req, 401, "invalid_token", desc);
        res.set(bhttp::field::www_authenticate,
                "Bearer error=\"invalid_token\", error_description=\"" + quote_param(desc) + "\"");
        return no_store(std::move(res));
      }
      case core::Verdict::kStepUp: {
        const auto& level = cfg_.levels.at(d.required_level);
        if (browser) {
          std::string loc = public_base_ + "/step-up?acr=" + url_encode(level.acr);
          if (d.max_age) loc += "&max_age=" + std::to_string(*d.max_age);
          if (!d.reason.empty()) loc += "&reason=" + url_encode(d.reason);
          loc += "&return_to=" + url_encode(original_url());
          return redirect(req, loc);
        }
        Response res = mode == Mode::kAuthRequest
                           ? empty_response(req, bhttp::status::unauthorized)
                           : error_response(req, 401, "insufficient_user_authentication", d.reason);
        res.set(bhttp::field::www_authenticate, step_up_challenge(d));
        return no_store(std::move(res));
      }
      case core::Verdict::kDeny:
        if (mode == Mode::kAuthRequest) return no_store(empty_response(req, bhttp::status::forbidden));
        return no_store(error_response(req, 403, "access_denied", d.reason));
    }
    return fail_closed("unknown verdict");
  }

  // Decisions are per request and per credential: no cache may keep one.
  static Response no_store(Response res) {
    res.set(bhttp::field::cache_control, "no-store");
    return res;
  }

  Response redirect(const Request& req, const std::string& location) {
    Response res = empty_response(req, bhttp::status::found);
    res.set(bhttp::field::location, location);
    res.set(bhttp::field::cache_control, "no-store");
    return res;
  }

  Response check(const Request& req) {
    auto body = read_json_object(req);
    if (!body) return std::move(body.error());
    auto method = require_string(req, *body, "method", 16);
    if (!method) return std::move(method.error());
    auto path = require_string(req, *body, "path", 4096);
    if (!path) return std::move(path.error());
    auto host = optional_string(req, *body, "host", 255);
    if (!host) return std::move(host.error());
    if (auto it = body->find("context");
        it != body->end() && !it->value().is_object() && !it->value().is_null()) {
      return error_response(req, 400, "invalid_request", "Field 'context' must be an object");
    }
    // The same canonical request the gateway endpoints judge; refused input
    // is a 400 here (the app asked a question that has no single answer).
    const auto refuse = [&](core::Refusal why, std::string_view raw) {
      count_refusal(why, "authz/check", raw);
      return error_response(req, 400, "invalid_request", core::describe(why));
    };
    auto m = core::canonical_method(*method);
    if (!m) return refuse(m.error(), *method);
    auto h = core::canonical_host(host->value_or(""));
    if (!h) return refuse(h.error(), host->value_or(""));
    if (h->empty() && cfg_.policy.has_host_rules()) {
      // Host-scoped rules would be skipped: no answer without the host.
      return error_response(req, 400, "invalid_request",
                            "Field 'host' is required: rules of this policy match on hosts");
    }
    std::string literal;
    auto p = core::canonical_path(*path, *h, &literal);
    if (!p) return refuse(p.error(), *path);
    core::RequestFacts facts{*m, *h, *p, literal};
    auto v = rt_.enforcement().decide(facts, credential(req));
    if (!v) {
      ++metrics_.decisions_error;
      return error_response(req, v.error());
    }
    const auto& d = v->decision;
    count(d.verdict);
    json::object o;
    o["decision"] = core::to_string(d.verdict);
    if (d.verdict == core::Verdict::kStepUp) {
      o["acr_values"] = cfg_.levels.at(d.required_level).acr;
      if (d.max_age) o["max_age"] = *d.max_age;
    }
    if (d.verdict == core::Verdict::kLogin) {
      o["reason"] = v->login_reason.empty() ? "No valid session" : v->login_reason;
    } else {
      o["reason"] = d.reason;
    }
    if (v->who) o["subject"] = v->who->session.subject;
    return json_response(req, bhttp::status::ok, json::serialize(o));
  }

  // ---- metadata ------------------------------------------------------------

  Response introspect(const Request& req) {
    const auto auth = header(req, "Authorization");
    const ClientMatch client = match_client(auth);
    if (!client.ok) {
      Response res = error_response(req, 401, "invalid_client", "Client authentication failed");
      res.set(bhttp::field::www_authenticate, "Basic realm=\"stepup\"");
      return res;
    }
    auto ct = header(req, "Content-Type");
    if (ct.substr(0, ct.find(';')) != "application/x-www-form-urlencoded") {
      return error_response(req, 415, "unsupported_media_type",
                            "Send the body as application/x-www-form-urlencoded");
    }
    auto token = form_value(req.body(), "token");
    if (!token || token->empty()) {
      return error_response(req, 400, "invalid_request", "Missing form field 'token'");
    }
    auto who = rt_.sessions().from_bearer(*token);
    if (!who) {
      if (who.error().code != service::ErrorCode::kInvalidToken)
        return error_response(req, who.error());
      return json_response(req, bhttp::status::ok, R"({"active":false})");
    }
    const auto& c = *who->claims;
    json::object o;
    o["active"] = true;
    o["token_type"] = "access_token";
    o["client_id"] = client.id;
    o["iss"] = c.iss;
    o["aud"] = c.aud;
    o["sub"] = c.sub;
    o["sid"] = c.sid;
    o["jti"] = c.jti;
    o["acr"] = c.acr;
    json::array amr;
    for (const auto& m : c.amr) amr.emplace_back(m);
    o["amr"] = std::move(amr);
    o["auth_time"] = c.auth_time;
    o["iat"] = c.iat;
    o["exp"] = c.exp;
    return json_response(req, bhttp::status::ok, json::serialize(o));
  }

  struct ClientMatch {
    bool ok = false;
    std::string id;
  };

  ClientMatch match_client(std::string_view auth) {
    // Compare the whole header against each client's expected value in
    // constant time: no early exit on the id, no decoding of attacker bytes.
    ClientMatch m;
    for (const auto& c : cfg_.introspection_clients) {
      const std::string expected = "Basic " + crypto::base64_encode(c.id + ":" + c.secret);
      if (crypto::constant_time_equal(auth, expected)) {
        m.ok = true;
        m.id = c.id;
      }
    }
    return m;
  }

  void build_metadata() {
    json::object o;
    o["issuer"] = cfg_.tokens.issuer;
    o["jwks_uri"] = public_base_ + "/.well-known/jwks.json";
    json::array acr;
    for (const auto& l : cfg_.levels.levels()) acr.emplace_back(l.acr);
    o["acr_values_supported"] = std::move(acr);
    json::array amr;
    std::vector<std::string> seen;
    for (const auto& l : cfg_.levels.levels()) {
      for (const auto& set : l.reached_by) {
        for (const auto& m : set) {
          if (std::find(seen.begin(), seen.end(), m) == seen.end()) {
            seen.push_back(m);
            amr.emplace_back(m);
          }
        }
      }
    }
    o["amr_values_supported"] = std::move(amr);
    o["token_signing_alg_values_supported"] = json::array{cfg_.tokens.algorithm};
    o["introspection_endpoint"] = public_base_ + "/api/v1/introspect";
    json::object ep;
    ep["login_password"] = public_base_ + "/api/v1/login/password";
    ep["token_refresh"] = public_base_ + "/api/v1/token/refresh";
    ep["logout"] = public_base_ + "/api/v1/logout";
    ep["session"] = public_base_ + "/api/v1/session";
    ep["sessions"] = public_base_ + "/api/v1/sessions";
    ep["step_up"] = public_base_ + "/api/v1/step-up";
    ep["authz_forward"] = public_base_ + "/api/v1/authz/forward";
    ep["authz_auth_request"] = public_base_ + "/api/v1/authz/auth-request";
    ep["authz_check"] = public_base_ + "/api/v1/authz/check";
    ep["introspection"] = public_base_ + "/api/v1/introspect";
    o["endpoints"] = std::move(ep);
    metadata_ = json::serialize(o);
  }

  Response readyz(const Request& req) {
    if (rt_.store().ping()) return json_response(req, bhttp::status::ok, R"({"status":"ready"})");
    return error_response(req, 503, "unavailable", "The store does not answer");
  }

  Response metrics(const Request& req, const ConnectionInfo& conn) {
    // Rendering and access (listener, bearer token, direct local peer) live
    // in http/metrics.cc.
    return metrics_response(req, conn, metrics_, rt_, MetricsListener::kMain);
  }

  service::Runtime& rt_;
  const config::Config& cfg_;
  Metrics& metrics_;
  std::string cookie_name_;
  std::string public_origin_;
  std::string public_base_;
  std::string metadata_;
  // Lives in Metrics so every listener that serves /metrics can render it.
  std::array<std::atomic<std::uint64_t>, core::kRefusalCount>& refused_ =
      metrics_.requests_refused;
};

}  // namespace

Handler make_api(service::Runtime& rt, Metrics& metrics) {
  auto api = std::make_shared<Api>(rt, metrics);
  return [api](Request& req, const ConnectionInfo& conn, Responder respond) {
    (*api)(req, conn, std::move(respond));
  };
}

}  // namespace stepup::http
