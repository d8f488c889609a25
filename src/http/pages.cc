#include "http/pages.h"

#include <cstdint>
#include <string>
#include <unordered_map>

#include "http/messages.h"

namespace stepup::http {

namespace {

// The pages load only their own scripts and styles: no inline code, so an
// injected string can never run. data: images carry the TOTP QR code, which
// the account page builds from the API's SVG without touching innerHTML.
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// Pages may show one-time secrets (a TOTP key, recovery codes are filled in by
// script but the page is the container): never stored by any cache. Assets
// are revalidated (cheap 304 by ETag) so an upgrade shows at once.
constexpr std::string_view kPageCache = "no-store";
constexpr std::string_view kAssetCache = "no-cache";

struct Served {
  std::string_view body;
  std::string_view content_type;
  std::string etag;
  bool page = false;
};

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

std::string_view content_type_of(std::string_view path) {
  if (ends_with(path, ".html")) return "text/html; charset=utf-8";
  if (ends_with(path, ".css")) return "text/css; charset=utf-8";
  if (ends_with(path, ".js") || ends_with(path, ".mjs")) return "text/javascript; charset=utf-8";
  if (ends_with(path, ".svg")) return "image/svg+xml";
  if (ends_with(path, ".png")) return "image/png";
  if (ends_with(path, ".ico")) return "image/x-icon";
  if (ends_with(path, ".json")) return "application/json";
  if (ends_with(path, ".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// FNV-1a is enough for a validator: it only has to change when the bytes do.
std::string etag_of(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(h >> shift) & 0xf];
  out += '"';
  return out;
}

// Route table built once from the embedded files: "x.html" at the top of web/
// is the page "/x"; every other file is served under its own path.
class Catalog {
 public:
  Catalog() {
    for (const auto& a : embedded_assets()) {
      Served s{a.data, content_type_of(a.path), etag_of(a.data), false};
      std::string route = "/" + std::string(a.path);
      if (a.path.find('/') == std::string_view::npos && ends_with(a.path, ".html")) {
        route.resize(route.size() - 5);
        s.page = true;
      }
      routes_.emplace(std::move(route), std::move(s));
    }
  }

  const Served* find(std::string_view path) const {
    auto it = routes_.find(std::string(path));
    return it == routes_.end() ? nullptr : &it->second;
  }

 private:
  std::unordered_map<std::string, Served> routes_;
};

const Catalog& catalog() {
  static const Catalog c;
  return c;
}

// RFC 9110 13.1.2: If-None-Match uses the weak comparison; "*" matches any.
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto item = if_none_match.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

void set_security_headers(Response& res) {
  res.set("Content-Security-Policy", kCsp);
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
}

}  // namespace

std::optional<Response> hosted_page(const Request& req) {
  const bool head = req.method() == bhttp::verb::head;
  if (!head && req.method() != bhttp::verb::get) return std::nullopt;
  const std::string_view path = path_of(std::string_view(req.target().data(), req.target().size()));

  // The bare origin is nobody's page: send people to their account.
  if (path == "/") {
    Response res{bhttp::status::found, req.version()};
    res.keep_alive(req.keep_alive());
    set_security_headers(res);
    res.set(bhttp::field::location, "/account");
    res.set(bhttp::field::cache_control, kPageCache);
    res.content_length(0);
    return res;
  }

  const Served* s = catalog().find(path);
  if (s == nullptr) return std::nullopt;

  Response res{bhttp::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  set_security_headers(res);
  res.set(bhttp::field::content_type, s->content_type);
  if (s->page) {
    res.set(bhttp::field::cache_control, kPageCache);
  } else {
    res.set(bhttp::field::cache_control, kAssetCache);
    res.set(bhttp::field::etag, s->etag);
    if (etag_matches(header(req, "If-None-Match"), s->etag)) {
      res.result(bhttp::status::not_modified);
      return res;
    }
  }
  // HEAD: the GET headers (Content-Length included), no body bytes.
  if (head) {
    res.content_length(s->body.size());
  } else {
    res.body().assign(s->body.data(), s->body.size());
    res.prepare_payload();
  }
  return res;
}

}  // namespace stepup::http
