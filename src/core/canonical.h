// Canonical request: method, host and path as the upstream will serve them.
//
// Gateways hand stepup the raw request target (nginx `$request_uri`, Caddy and
// Traefik `X-Forwarded-Uri`) and pass the same raw bytes to the upstream, which
// then decodes and resolves them its own way. Rules are only worth something if
// they are matched against what the upstream serves, so every enforcement point
// turns the raw target into one canonical path first:
//
//   - percent-encoded unreserved bytes and sub-delims/':'/'@' are decoded
//     (`%61` -> `a`, `%2e` -> `.`, `%24` -> `$`, `%3a` -> `:`; servers that
//     decode serve those as the raw character), every other percent-encoding
//     is kept with upper-case hex (`%c3%a9` -> `%C3%A9`, `%20`, `%3F`, `%25`);
//   - dot segments are removed (RFC 3986 section 5.2.4) and repeated slashes merged;
//   - what has no single meaning across upstreams is refused, not guessed: an
//     encoded `/`, a literal or encoded backslash, NUL and other control bytes,
//     invalid percent-encoding, double encoding (`%25` + two hex digits), `;`
//     (path parameters: Tomcat/Jetty strip them, others do not), raw non-ASCII
//     bytes, encoded bytes that are not valid UTF-8 (overlong `%c0%ae`), a `..`
//     above the root, a `..` after an empty segment (`/a//../b` is /b once
//     slashes are merged first, /a/b under RFC 3986 or WHATWG resolution), a
//     target that does not start with `/`.
//   - an absolute-form target (`http://host/path`) gives its path when its host
//     is the forwarded host, and is refused otherwise.
//
// The query string is dropped (rules match paths). A canonical path is a fixed
// point: canonical_path(canonical_path(p)) == canonical_path(p). Pure; no
// allocation beyond the returned string; thread-safe.
#pragma once
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace stepup::core {

// Why a request was refused. Each value names one kind of ambiguity.
enum class Refusal {
  kEmpty,            // no target, method or host where one is required
  kNotOriginForm,    // target does not start with '/' (nor is an absolute http(s) URI)
  kBadAbsoluteForm,  // absolute-form target that is not plain http(s)://host/path
  kHostMismatch,     // absolute-form host differs from the forwarded host
  kBadHost,          // host is not a host name, IPv4 or [IPv6], with an optional port
  kBadMethod,        // method is not an HTTP token
  kTooLong,          // target longer than kMaxTarget
  kBadPercent,       // '%' not followed by two hex digits
  kEncodedSlash,     // %2F: a slash the upstream may or may not split on
  kBackslash,        // '\' or %5C: some upstreams read it as '/'
  kControl,          // NUL, other control bytes, space, DEL (raw or encoded)
  kBadCharacter,     // a raw byte that is not allowed in a path (" < > ^ ` { | } #)
  kNonAscii,         // a raw byte >= 0x80 (must be percent-encoded)
  kBadUtf8,          // percent-encoded bytes that are not valid UTF-8 (e.g. overlong)
  kDoubleEncoding,   // %25 followed by two hex digits: decoded twice it is another byte
  kSemicolon,        // ';' or %3B: path parameters mean different things upstream
  kAboveRoot,        // '..' that would climb above '/'
  kNetworkPath,      // the path starts with "//": WHATWG URL parsers (node's new URL(url,
                     // base)) read "//x/admin" as host x and path /admin
  kEmptyDotDot,      // '..' after an empty segment ("/a//../b"): merge-then-resolve gives
                     // /b (nginx, Go), RFC 3986 / WHATWG resolution gives /a/b
  kGatewayHeader,    // a gateway header (X-Forwarded-*, X-Original-*) missing or repeated
};
constexpr std::size_t kRefusalCount = static_cast<std::size_t>(Refusal::kGatewayHeader) + 1;

// Stable snake_case code, used in metrics labels and logs.
std::string_view to_string(Refusal r);
// One line for people (error_description).
std::string_view describe(Refusal r);

constexpr std::size_t kMaxTarget = 8192;

// Canonical path of a raw request target (origin-form "/a/b?q" or absolute-form
// "http://host/a/b"). `host` is the host the gateway says the request was for
// (Host or X-Forwarded-Host); an absolute-form target must name the same host
// (case-insensitive, default port ignored). Never returns an empty path.
//
// `literal`, when given, receives the same path with its dot segments kept as
// ordinary segments (decoded, slashes merged), or is cleared when the target
// has no dot segment. express routes `/admin/..` as `/admin/:page` with
// page "..": rules must be matched against this reading too (see
// RequestFacts::literal_path).
tl::expected<std::string, Refusal> canonical_path(std::string_view target, std::string_view host,
                                                  std::string* literal = nullptr);

// The host as rules see it, or a refusal: lower case, no trailing dot, port
// kept (rules ignore it). Empty stays empty (host rules then never match).
// Refuses lists ("a.com, b.com"), userinfo, spaces and anything else that is
// not a reg-name, IPv4 address or [IPv6] literal with an optional :port.
tl::expected<std::string, Refusal> canonical_host(std::string_view host);

// The method, or kBadMethod when it is not an upper-case HTTP token (methods
// are case-sensitive, RFC 9110 9.1: "get" is not GET, and gateways on Go pass
// it on as is), kEmpty when empty.
tl::expected<std::string, Refusal> canonical_method(std::string_view method);

}  // namespace stepup::core
