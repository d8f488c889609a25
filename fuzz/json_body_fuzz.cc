// libFuzzer target: the API request-body path. The bytes become the body of a
// Beast request with `Content-Type: application/json`, as the server hands it
// to a handler, and go through http::read_json_object and the field readers
// the handlers use (require_string / optional_string).
//
// Invariants: every refusal is a ready 400 response with the contract's JSON
// error body; an accepted body is a JSON object whose fields, when read as
// strings, respect the length limit.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/messages.h"

namespace {

namespace bhttp = stepup::http::bhttp;

void check_error(const stepup::http::Response& res) {
  if (res.result_int() != 400) std::abort();
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body(), ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  stepup::http::Request req{bhttp::verb::post, "/api/v1/login/password", 11};
  req.set(bhttp::field::content_type, "application/json");
  req.body().assign(reinterpret_cast<const char*>(data), size);
  req.prepare_payload();

  auto obj = stepup::http::read_json_object(req);
  if (!obj) {
    check_error(obj.error());
    return 0;
  }
  // The fields the handlers read, with their limits.
  for (const char* key : {"username", "password", "refresh_token", "code", "method"}) {
    auto s = stepup::http::require_string(req, *obj, key, 1024);
    if (s) {
      if (s->size() > 1024) std::abort();
    } else {
      check_error(s.error());
    }
  }
  for (const char* key : {"return_to", "reason", "acr_values", "factor_id", "name"}) {
    auto s = stepup::http::optional_string(req, *obj, key, 64);
    if (s) {
      if (*s && (*s)->size() > 64) std::abort();
    } else {
      check_error(s.error());
    }
  }
  return 0;
}
