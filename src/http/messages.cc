#include "http/messages.h"

#include <arpa/inet.h>

#include <boost/json.hpp>
#include <cstring>

namespace stepup::http {

namespace json = boost::json;

namespace {
constexpr std::size_t kMaxJsonDepth = 16;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One X-Forwarded-For entry as a normalized address: a bare IPv4 dotted quad
// or an IPv6 literal (optionally in brackets); IPv4-mapped IPv6 is shown as
// IPv4, like ConnectionInfo::remote_ip. Anything else (a port, a name,
// "unknown", an obfuscated RFC 7239 identifier, junk) is nullopt.
std::optional<std::string> forwarded_address(std::string_view entry) {
  entry = trim(entry);
  bool bracketed = false;
  if (entry.size() >= 2 && entry.front() == '[' && entry.back() == ']') {
    entry = entry.substr(1, entry.size() - 2);
    bracketed = true;
  }
  char text[INET6_ADDRSTRLEN + 1];
  if (entry.empty() || entry.size() >= sizeof text) return std::nullopt;
  std::memcpy(text, entry.data(), entry.size());
  text[entry.size()] = '\0';
  if (std::strlen(text) != entry.size()) return std::nullopt;  // an embedded NUL
  char out[INET6_ADDRSTRLEN];
  in_addr v4;
  if (!bracketed && inet_pton(AF_INET, text, &v4) == 1) {
    if (inet_ntop(AF_INET, &v4, out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out);
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text, &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
    if (inet_ntop(AF_INET, &v4, out, sizeof out) == nullptr) return std::nullopt;
  } else if (inet_ntop(AF_INET6, &v6, out, sizeof out) == nullptr) {
    return std::nullopt;
  }
  return std::string(out);
}
}  // namespace

Response make_response(const Request& req, bhttp::status status) {
  Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

Response json_response(const Request& req, bhttp::status status, std::string body) {
  Response res = make_response(req, status);
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response error_response(const Request& req, int status, std::string_view code,
                        std::string_view description) {
  return json_response(req, static_cast<bhttp::status>(status), json_error_body(code, description));
}

Response error_response(const Request& req, const service::Error& e) {
  if (e.code == service::ErrorCode::kStepUpRequired) {
    // RFC 9470: the challenge in the header, and the same facts in the body.
    json::object o{{"error", "insufficient_user_authentication"},
                   {"error_description", e.description},
                   {"acr_values", e.acr}};
    if (e.max_age) o["max_age"] = *e.max_age;
    Response res = json_response(req, bhttp::status::unauthorized, json::serialize(o));
    std::string h = "Bearer error=\"insufficient_user_authentication\", error_description=\"";
    for (char c : e.description) {
      if (c == '"' || c == '\\') h += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) h += c;
    }
    h += "\", acr_values=\"" + e.acr + "\"";
    if (e.max_age) h += ", max_age=\"" + std::to_string(*e.max_age) + "\"";
    res.set(bhttp::field::www_authenticate, h);
    return res;
  }
  Response res =
      error_response(req, service::http_status(e.code), service::error_name(e.code), e.description);
  if (e.retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(e.retry_after));
  if (e.code == service::ErrorCode::kOverloaded || e.code == service::ErrorCode::kUnavailable) {
    res.set(bhttp::field::retry_after, "1");
  }
  if (e.code == service::ErrorCode::kInvalidToken) {
    res.set(bhttp::field::www_authenticate, "Bearer error=\"invalid_token\"");
  }
  return res;
}

Response empty_response(const Request& req, bhttp::status status) {
  Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  res.content_length(0);
  return res;
}

tl::expected<json::object, Response> read_json_object(const Request& req) {
  auto ct = header(req, "Content-Type");
  auto semi = ct.find(';');
  auto media = trim(ct.substr(0, semi));
  if (!iequals(media, "application/json")) {
    return tl::unexpected(
        error_response(req, 415, "unsupported_media_type", "Send the body as application/json"));
  }
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  json::storage_ptr sp = json::make_shared_resource<json::monotonic_resource>();
  std::error_code ec;
  json::value v = json::parse(req.body(), ec, sp, opt);
  if (ec) {
    return tl::unexpected(error_response(req, 400, "invalid_request",
                                         "The body is not valid JSON (or is nested too deeply)"));
  }
  if (!v.is_object()) {
    return tl::unexpected(
        error_response(req, 400, "invalid_request", "The body must be a JSON object"));
  }
  // Copy out of the monotonic arena into default storage.
  return json::object(std::move(v.as_object()), json::storage_ptr());
}

tl::expected<std::string, Response> require_string(const Request& req, const json::object& o,
                                                   std::string_view key, std::size_t max_len) {
  auto it = o.find(key);
  if (it == o.end()) {
    return tl::unexpected(
        error_response(req, 400, "invalid_request", "Missing field '" + std::string(key) + "'"));
  }
  if (!it->value().is_string()) {
    return tl::unexpected(error_response(req, 400, "invalid_request",
                                         "Field '" + std::string(key) + "' must be a string"));
  }
  const auto& s = it->value().get_string();
  if (s.size() > max_len) {
    return tl::unexpected(error_response(
        req, 400, "invalid_request",
        "Field '" + std::string(key) + "' is longer than " + std::to_string(max_len) + " bytes"));
  }
  return std::string(s.data(), s.size());
}

tl::expected<std::optional<std::string>, Response> optional_string(const Request& req,
                                                                   const json::object& o,
                                                                   std::string_view key,
                                                                   std::size_t max_len) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>{};
  auto s = require_string(req, o, key, max_len);
  if (!s) return tl::unexpected(std::move(s.error()));
  return std::optional<std::string>(std::move(*s));
}

std::string_view header(const Request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  auto v = it->value();
  return std::string_view(v.data(), v.size());
}

std::string_view bearer_token(const Request& req) {
  auto v = header(req, "Authorization");
  if (v.size() < 7 || !iequals(v.substr(0, 7), "Bearer ")) return {};
  return trim(v.substr(7));
}

std::string_view path_of(std::string_view target) {
  auto q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

service::ClientInfo client_info(const Request& req, const ConnectionInfo& conn,
                                bool trust_forwarded_for) {
  service::ClientInfo c;
  c.ip = conn.remote_ip;
  if (trust_forwarded_for) {
    // One trusted proxy appends the address it saw to whatever the client
    // sent, so only the right-most entry is not the client's choice. Repeated
    // field lines mean the same as one comma-joined line in order (RFC 9110
    // §5.3): the right-most entry is the last one of the last line. Reading
    // the first line only let a client send its own line first and pick the
    // address the per-IP limits count. An entry that is not an address means
    // the proxy is not doing what we trust it to do: use the peer address,
    // never an entry to its left.
    std::string_view last_line;
    bool any = false;
    for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
      last_line = std::string_view(it->value().data(), it->value().size());
      any = true;
    }
    if (any) {
      const auto comma = last_line.rfind(',');
      const auto entry = comma == std::string_view::npos ? last_line : last_line.substr(comma + 1);
      if (auto ip = forwarded_address(entry)) c.ip = std::move(*ip);
    }
  }
  c.user_agent = std::string(header(req, "User-Agent").substr(0, 512));
  return c;
}

bool wants_html(const Request& req) {
  if (!header(req, "Authorization").empty()) return false;
  return header(req, "Accept").find("text/html") != std::string_view::npos;
}

std::string url_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> url_decode(std::string_view s, bool plus_is_space) {
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> form_value(std::string_view body, std::string_view key) {
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    auto eq = pair.find('=');
    auto k = url_decode(pair.substr(0, eq), true);
    if (k && *k == key) {
      if (eq == std::string_view::npos) return std::string();
      return url_decode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string origin_of(std::string_view url) {
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  auto scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return {};
  auto rest = url.substr(scheme_end + 3);
  auto slash = rest.find_first_of("/?#");
  auto host = rest.substr(0, slash);
  if (host.empty() || host.find('@') != std::string_view::npos) return {};
  std::string out(scheme);
  out += "://";
  for (char c : host) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

json::object session_view_json(const service::SessionView& v) {
  json::object o;
  o["id"] = v.id;
  o["subject"] = v.subject;
  o["acr"] = v.acr;
  json::array amr;
  for (const auto& m : v.amr) amr.emplace_back(m);
  o["amr"] = std::move(amr);
  o["auth_time"] = v.auth_time;
  if (v.elevated_until) {
    o["elevated_until"] = *v.elevated_until;
  } else {
    o["elevated_until"] = nullptr;
  }
  o["expires_at"] = v.expires_at;
  o["idle_expires_at"] = v.idle_expires_at;
  return o;
}

}  // namespace stepup::http
