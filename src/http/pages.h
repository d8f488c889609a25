// Hosted pages and assets (/login, /step-up, /account, /assets/*, /stepup.js):
// plain HTML/CSS/JS embedded in the binary, served with a strict CSP and
// anti-framing headers. The pages talk to the JSON API with fetch(); they
// hold no server-side state. Thread-safe (the asset table is immutable).
#pragma once
#include <optional>
#include <span>
#include <string_view>

#include "http/server.h"

namespace stepup::http {

// The page or asset for a GET/HEAD request, or nullopt when the path is not one.
// Pages answer `Cache-Control: no-store`; assets carry an ETag and answer 304 to
// a matching If-None-Match. HEAD answers the GET headers with an empty body.
std::optional<Response> hosted_page(const Request& req);

// One file of web/, compiled in by cmake/embed_assets.cmake. `path` is relative
// to web/ ("login.html", "assets/style.css", "stepup.js"); both views point at
// static storage.
struct EmbeddedAsset {
  std::string_view path;
  std::string_view data;
};

// Every embedded file, sorted by path (defined in the generated source).
std::span<const EmbeddedAsset> embedded_assets();

}  // namespace stepup::http
