// libFuzzer target: cookie and header parsing. The bytes are used as a Cookie
// header (http::find_cookie under the session cookie names and under a name
// taken from the input itself), as an Authorization header (bearer_token), as
// a form body (form_value / url_decode, the introspection body) and as a URL
// (origin_of, path_of).
//
// Invariants: a found cookie value is a view into the header and holds no
// control character; a bearer token is a view into the header with no
// surrounding blanks; a rendered Set-Cookie never contains CR or LF.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/cookie.h"
#include "http/messages.h"

namespace {

namespace bhttp = stepup::http::bhttp;

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

bool has_ctl(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void check_cookie(std::string_view header, std::string_view name) {
  auto v = stepup::http::find_cookie(header, name);
  if (!v) return;
  if (!inside(*v, header) || has_ctl(*v)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  check_cookie(in, "stepup_session");
  check_cookie(in, "__Host-stepup_session");
  // A name from the input: everything before the first '=' (or nothing).
  check_cookie(in, in.substr(0, in.find('=')));

  // The same bytes as a cookie value to render: invalid ones render as "".
  stepup::http::SetCookie sc;
  sc.name = "stepup_session";
  sc.value = std::string(in.substr(0, 128));
  const std::string rendered = stepup::http::render(sc);
  if (rendered.find_first_of("\r\n") != std::string::npos) std::abort();
  if (!stepup::http::is_valid(sc) && !rendered.empty()) std::abort();

  stepup::http::Request req{bhttp::verb::get, "/api/v1/session", 11};
  const boost::beast::string_view value(in.data(), in.size());
  req.set(bhttp::field::authorization, value);
  req.set(bhttp::field::cookie, value);
  const std::string_view auth = stepup::http::header(req, "Authorization");
  const std::string_view bearer = stepup::http::bearer_token(req);
  if (!inside(bearer, auth)) std::abort();
  if (!bearer.empty() && (bearer.front() == ' ' || bearer.back() == ' ')) std::abort();
  (void)stepup::http::wants_html(req);

  (void)stepup::http::form_value(in, "token");
  if (auto d = stepup::http::url_decode(in, true)) {
    if (d->size() > in.size()) std::abort();
  }
  (void)stepup::http::origin_of(in);
  if (!inside(stepup::http::path_of(in), in)) std::abort();
  return 0;
}
