// Canonical request: one pass over the raw target, building the canonical path
// in place; dot segments are resolved as each segment completes.
#include "core/canonical.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <vector>

namespace stepup::core {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
// RFC 3986 unreserved.
bool is_unreserved(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
// pchar minus unreserved, pct-encoded and ';' (refused on its own).
bool is_plain_delim(unsigned char c) {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*':
    case '+': case ',': case '=': case ':': case '@':
      return true;
    default:
      return false;
  }
}

// RFC 3629 well-formed UTF-8, fed one decoded byte at a time. Rejects overlong
// forms, surrogates and code points above U+10FFFF.
class Utf8Check {
 public:
  // false when `b` cannot continue the bytes seen so far.
  bool feed(unsigned char b) {
    if (need_ == 0) {
      if (b < 0x80) return true;
      if (b >= 0xC2 && b <= 0xDF) { need_ = 1; lo_ = 0x80; hi_ = 0xBF; return true; }
      if (b == 0xE0) { need_ = 2; lo_ = 0xA0; hi_ = 0xBF; return true; }
      if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) { need_ = 2; lo_ = 0x80; hi_ = 0xBF; return true; }
      if (b == 0xED) { need_ = 2; lo_ = 0x80; hi_ = 0x9F; return true; }
      if (b == 0xF0) { need_ = 3; lo_ = 0x90; hi_ = 0xBF; return true; }
      if (b >= 0xF1 && b <= 0xF3) { need_ = 3; lo_ = 0x80; hi_ = 0xBF; return true; }
      if (b == 0xF4) { need_ = 3; lo_ = 0x80; hi_ = 0x8F; return true; }
      return false;
    }
    if (b < lo_ || b > hi_) return false;
    --need_;
    lo_ = 0x80;
    hi_ = 0xBF;
    return true;
  }
  bool complete() const { return need_ == 0; }

 private:
  int need_ = 0;
  unsigned char lo_ = 0x80, hi_ = 0xBF;
};

// "%25" followed by two hex digits in a finished segment: an upstream that
// decodes twice would see another byte there.
bool has_double_encoding(std::string_view seg) {
  for (size_t i = 0; i + 4 < seg.size(); ++i) {
    if (seg[i] == '%' && seg[i + 1] == '2' && seg[i + 2] == '5' && hex_value(seg[i + 3]) >= 0 &&
        hex_value(seg[i + 4]) >= 0) {
      return true;
    }
  }
  return false;
}

// Origin-form path (up to '?', which the caller has cut) to canonical form.
void append_escape(std::string& s, char hi, char lo) {
  s += '%';
  s += upper(hi);
  s += upper(lo);
}

tl::expected<std::string, Refusal> canonical_origin_path(std::string_view path,
                                                         std::string* literal) {
  if (path.empty() || path.front() != '/') return tl::unexpected(Refusal::kNotOriginForm);
  if (path.size() > 1 && path[1] == '/') return tl::unexpected(Refusal::kNetworkPath);
  bool dotted = false;  // saw a "." or ".." segment
  if (literal) literal->clear();
  std::string out;
  out.reserve(path.size());
  Utf8Check utf8;
  bool trailing = false;
  // The same path resolved without merging slashes first (RFC 3986 5.2.4,
  // WHATWG URL): its segment stack, true for an empty segment. Its non-empty
  // segments equal ours until a ".." would remove an empty one there and a
  // real one here; that path has no single meaning.
  std::vector<char> kept_empty;
  size_t i = 1;
  // The escape just read (path[i-3..i-1]) stays encoded, hex upper-cased.
  const auto keep_escape = [&] {
    append_escape(out, path[i - 2], path[i - 1]);
    if (literal) append_escape(*literal, path[i - 2], path[i - 1]);
  };
  while (true) {
    const size_t seg_start = out.size();
    const size_t lit_start = literal ? literal->size() : 0;
    out += '/';
    if (literal) *literal += '/';
    // One segment: up to the next raw '/' or the end.
    while (i < path.size() && path[i] != '/') {
      const auto c = static_cast<unsigned char>(path[i]);
      if (c == '%') {
        if (i + 2 >= path.size()) {
          return tl::unexpected(Refusal::kBadPercent);
        }
        const int hi = hex_value(path[i + 1]);
        const int lo = hex_value(path[i + 2]);
        if (hi < 0 || lo < 0) return tl::unexpected(Refusal::kBadPercent);
        const auto v = static_cast<unsigned char>(hi * 16 + lo);
        i += 3;
        if (v >= 0x80) {
          if (!utf8.feed(v)) return tl::unexpected(Refusal::kBadUtf8);
          keep_escape();
          continue;
        }
        if (!utf8.complete()) return tl::unexpected(Refusal::kBadUtf8);
        if (v == '/') return tl::unexpected(Refusal::kEncodedSlash);
        if (v == '\\') return tl::unexpected(Refusal::kBackslash);
        if (v < 0x20 || v == 0x7F) return tl::unexpected(Refusal::kControl);
        if (v == ';') return tl::unexpected(Refusal::kSemicolon);
        if (is_unreserved(v) || is_plain_delim(v)) {
          out += static_cast<char>(v);
          if (literal) *literal += static_cast<char>(v);
        } else {
          keep_escape();
        }
        continue;
      }
      if (!utf8.complete()) return tl::unexpected(Refusal::kBadUtf8);
      if (c >= 0x80) return tl::unexpected(Refusal::kNonAscii);
      if (c <= 0x20 || c == 0x7F) return tl::unexpected(Refusal::kControl);
      if (c == '\\') return tl::unexpected(Refusal::kBackslash);
      if (c == ';') return tl::unexpected(Refusal::kSemicolon);
      if (!is_unreserved(c) && !is_plain_delim(c)) return tl::unexpected(Refusal::kBadCharacter);
      out += static_cast<char>(c);
      if (literal) *literal += static_cast<char>(c);
      ++i;
    }
    if (!utf8.complete()) return tl::unexpected(Refusal::kBadUtf8);
    const bool last = i >= path.size();
    const std::string_view seg = std::string_view(out).substr(seg_start + 1);
    if (has_double_encoding(seg)) return tl::unexpected(Refusal::kDoubleEncoding);
    if (literal && seg.empty()) literal->resize(lit_start);  // merged slash
    if (seg == "." || seg == "..") dotted = true;
    if (seg.empty() || seg == ".") {
      out.resize(seg_start);  // repeated slash or "."
      trailing = true;
      if (seg.empty() && !last) kept_empty.push_back(1);
    } else if (seg == "..") {
      out.resize(seg_start);
      if (out.empty()) return tl::unexpected(Refusal::kAboveRoot);
      // Whether this ".." removes an empty segment or the one before it
      // depends on whether the upstream merges slashes first.
      if (kept_empty.empty() || kept_empty.back()) return tl::unexpected(Refusal::kEmptyDotDot);
      kept_empty.pop_back();
      out.resize(out.rfind('/'));
      trailing = true;
    } else {
      trailing = false;
      kept_empty.push_back(0);
    }
    if (last) break;
    ++i;  // past the '/'
  }
  if (literal) {
    if (!dotted) {
      literal->clear();
    } else if (literal->empty()) {
      *literal = "/";
    } else if (path.back() == '/' && literal->back() != '/') {
      *literal += '/';
    }
  }
  if (out.empty()) return std::string("/");
  if (trailing) out += '/';
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// "host[:port]" without the port when it is the scheme's default.
std::string_view without_default_port(std::string_view host, std::string_view scheme) {
  const size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || host.find(']', colon) != std::string_view::npos) {
    return host;
  }
  const std::string_view port = host.substr(colon + 1);
  if ((iequals(scheme, "http") && port == "80") || (iequals(scheme, "https") && port == "443")) {
    return host.substr(0, colon);
  }
  return host;
}

bool looks_absolute(std::string_view target) {
  // scheme ":" — a letter, then letters, digits, + - . up to the first ':'.
  if (target.empty() || !is_alpha(static_cast<unsigned char>(target.front()))) return false;
  for (char c : target) {
    if (c == ':') return true;
    if (!is_alpha(static_cast<unsigned char>(c)) && !is_digit(static_cast<unsigned char>(c)) &&
        c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return false;
}

}  // namespace

std::string_view to_string(Refusal r) {
  switch (r) {
    case Refusal::kEmpty: return "empty";
    case Refusal::kNotOriginForm: return "not_origin_form";
    case Refusal::kBadAbsoluteForm: return "bad_absolute_form";
    case Refusal::kHostMismatch: return "host_mismatch";
    case Refusal::kBadHost: return "bad_host";
    case Refusal::kBadMethod: return "bad_method";
    case Refusal::kTooLong: return "too_long";
    case Refusal::kBadPercent: return "bad_percent";
    case Refusal::kEncodedSlash: return "encoded_slash";
    case Refusal::kBackslash: return "backslash";
    case Refusal::kControl: return "control";
    case Refusal::kBadCharacter: return "bad_character";
    case Refusal::kNonAscii: return "non_ascii";
    case Refusal::kBadUtf8: return "bad_utf8";
    case Refusal::kDoubleEncoding: return "double_encoding";
    case Refusal::kSemicolon: return "semicolon";
    case Refusal::kAboveRoot: return "above_root";
    case Refusal::kEmptyDotDot: return "empty_dot_dot";
    case Refusal::kNetworkPath: return "network_path";
    case Refusal::kGatewayHeader: return "gateway_header";
  }
  return "unknown";
}

std::string_view describe(Refusal r) {
  switch (r) {
    case Refusal::kEmpty: return "The request facts are missing";
    case Refusal::kNotOriginForm: return "The path must start with /";
    case Refusal::kBadAbsoluteForm: return "An absolute URI must be http(s)://host/path";
    case Refusal::kHostMismatch: return "The absolute URI names another host";
    case Refusal::kBadHost: return "The host is not a host name or address";
    case Refusal::kBadMethod: return "The method is not an HTTP method name";
    case Refusal::kTooLong: return "The request target is too long";
    case Refusal::kBadPercent: return "Invalid percent-encoding in the path";
    case Refusal::kEncodedSlash: return "Encoded slash (%2F) in the path";
    case Refusal::kBackslash: return "Backslash in the path";
    case Refusal::kControl: return "Control character or space in the path";
    case Refusal::kBadCharacter: return "Character not allowed in a path";
    case Refusal::kNonAscii: return "Raw non-ASCII byte in the path";
    case Refusal::kBadUtf8: return "Percent-encoded bytes are not valid UTF-8";
    case Refusal::kDoubleEncoding: return "Double percent-encoding in the path";
    case Refusal::kSemicolon: return "Semicolon (path parameter) in the path";
    case Refusal::kAboveRoot: return "The path climbs above the root with ..";
    case Refusal::kEmptyDotDot: return "A .. follows an empty segment (//..)";
    case Refusal::kNetworkPath: return "The path starts with // (read as a host by URL parsers)";
    case Refusal::kGatewayHeader: return "A gateway header is missing or sent twice";
  }
  return "Refused";
}

tl::expected<std::string, Refusal> canonical_path(std::string_view target, std::string_view host,
                                                  std::string* literal) {
  if (target.empty()) return tl::unexpected(Refusal::kEmpty);
  if (target.size() > kMaxTarget) return tl::unexpected(Refusal::kTooLong);
  if (target.front() != '/' && looks_absolute(target)) {
    auto url = boost::urls::parse_absolute_uri(target);
    if (!url) return tl::unexpected(Refusal::kBadAbsoluteForm);
    const std::string_view scheme = url->scheme();
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) {
      return tl::unexpected(Refusal::kBadAbsoluteForm);
    }
    if (!url->has_authority() || url->has_userinfo() || url->encoded_host().empty() ||
        url->has_fragment()) {
      return tl::unexpected(Refusal::kBadAbsoluteForm);
    }
    auto named = canonical_host(url->encoded_host_and_port());
    auto forwarded = canonical_host(host);
    if (!named || !forwarded || forwarded->empty()) return tl::unexpected(Refusal::kHostMismatch);
    if (without_default_port(*named, scheme) != without_default_port(*forwarded, scheme)) {
      return tl::unexpected(Refusal::kHostMismatch);
    }
    const std::string_view path = url->encoded_path();
    if (path.empty()) {
      if (literal) literal->clear();
      return std::string("/");
    }
    return canonical_origin_path(path, literal);
  }
  return canonical_origin_path(target.substr(0, target.find('?')), literal);
}

tl::expected<std::string, Refusal> canonical_host(std::string_view host) {
  if (host.empty()) return std::string();
  if (host.size() > 255) return tl::unexpected(Refusal::kBadHost);
  std::string out;
  out.reserve(host.size());
  size_t i = 0;
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos || close < 3) return tl::unexpected(Refusal::kBadHost);
    for (size_t k = 1; k < close; ++k) {
      const char c = host[k];
      if (hex_value(c) < 0 && c != ':' && c != '.') return tl::unexpected(Refusal::kBadHost);
    }
    for (size_t k = 0; k <= close; ++k) out += lower(host[k]);
    i = close + 1;
  } else {
    while (i < host.size() && host[i] != ':') {
      const auto c = static_cast<unsigned char>(host[i]);
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_') {
        return tl::unexpected(Refusal::kBadHost);
      }
      out += lower(static_cast<char>(c));
      ++i;
    }
    // One trailing dot (the absolute form of a DNS name) is dropped; empty
    // labels anywhere else are refused.
    if (out.find("..") != std::string::npos) return tl::unexpected(Refusal::kBadHost);
    if (!out.empty() && out.back() == '.') out.pop_back();
    if (out.empty() || out.front() == '.') return tl::unexpected(Refusal::kBadHost);
  }
  if (i < host.size()) {
    if (host[i] != ':') return tl::unexpected(Refusal::kBadHost);
    const std::string_view port = host.substr(i + 1);
    if (port.empty() || port.size() > 5) return tl::unexpected(Refusal::kBadHost);
    for (char c : port) {
      if (!is_digit(static_cast<unsigned char>(c))) return tl::unexpected(Refusal::kBadHost);
    }
    out += ':';
    out += port;
  }
  return out;
}

tl::expected<std::string, Refusal> canonical_method(std::string_view method) {
  if (method.empty()) return tl::unexpected(Refusal::kEmpty);
  if (method.size() > 32) return tl::unexpected(Refusal::kBadMethod);
  std::string out;
  out.reserve(method.size());
  for (char c : method) {
    const auto u = static_cast<unsigned char>(c);
    const bool tchar = is_alpha(u) || is_digit(u) ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) return tl::unexpected(Refusal::kBadMethod);
    if (c >= 'a' && c <= 'z') return tl::unexpected(Refusal::kBadMethod);
    out += c;
  }
  return out;
}

}  // namespace stepup::core
