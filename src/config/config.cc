// Config loading: YAML text -> validated Config, or one ConfigError listing
// every problem as "FILE:LINE: explanation". This is an edge of the program,
// so exceptions are fine here; everything below it gets typed values only.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

namespace stepup::config {
namespace {

using core::Seconds;

struct Problem {
  int line;  // 1-based; 0 when unknown
  std::string text;
};

// Reached when no `levels` section is given. aal1 is the password sign-in;
// aal2 adds any second factor for 15 minutes. A passkey with user
// verification (WebAuthn reports hwk or swk plus `user`) is itself two
// factors, something held and something known or are, so it reaches aal2
// alone; that is what makes usernameless passkey sign-in worth offering.
// aal3 asks for a device-bound key with user verification on top of the
// password and lasts only 5 minutes, for the most sensitive actions; a synced
// passkey (swk) never reaches it because its key leaves the device. The
// recovery-code set [pwd, rc] is not listed here: it is appended afterwards
// to the level named by factors.recovery_codes.reaches (aal2 by default), so
// `reaches: none` takes it away again.
std::vector<core::Level> default_levels() {
  return {
      core::Level{"aal1", "aal1", {{"pwd"}}, std::nullopt},
      core::Level{
          "aal2",
          "aal2",
          {{"pwd", "otp"}, {"pwd", "hwk"}, {"pwd", "swk"}, {"hwk", "user"}, {"swk", "user"}},
          15 * 60},
      core::Level{"aal3", "aal3", {{"pwd", "hwk", "user"}}, 5 * 60},
  };
}

int line_of(const YAML::Node& n) {
  if (!n.IsDefined()) return 0;
  const YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return in_quotes(n.Scalar());
  }
  return "something else";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool is_lower_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// acr values travel in space-separated acr_values and in quoted header
// parameters, so they must be visible ASCII without quotes or backslashes.
bool is_acr_value(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

// Reasons end up in error_description="..." (RFC 6750 §3 allows only
// %x20-21 / %x23-5B / %x5D-7E there).
bool is_header_text(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

bool is_cookie_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v <= 65535;
}

// "host:port" or "[v6]:port"; the port is required (0 picks a free one).
std::string listen_problem(std::string_view s) {
  std::string_view host, port;
  if (s.starts_with("[")) {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return "IPv6 address must be written as [addr]:port";
    host = s.substr(1, close - 1);
    if (close + 1 >= s.size() || s[close + 1] != ':') return "needs a port, like [::1]:8080";
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return "needs a port, like 127.0.0.1:8080";
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "IPv6 address must be written as [addr]:port";
    }
  }
  if (host.empty()) return "needs a host or address before the port, like 0.0.0.0:8080";
  if (!is_port(port)) return "port must be a number from 0 to 65535";
  return {};
}

// http(s)://authority[/path]; `origin_only` forbids anything after the authority.
std::string url_problem(std::string_view s, bool origin_only) {
  std::string_view rest;
  if (s.starts_with("https://")) {
    rest = s.substr(8);
  } else if (s.starts_with("http://")) {
    rest = s.substr(7);
  } else {
    return "must start with http:// or https://";
  }
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.empty()) return "needs a host after the scheme";
  if (authority.find('@') != std::string_view::npos) return "must not contain user info (@)";
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "must not contain spaces or non-ASCII characters";
    }
  }
  std::string_view host = authority;
  if (host.starts_with("[")) {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return "IPv6 host must be written as [addr]";
    std::string_view after = host.substr(close + 1);
    if (!after.empty() && (after[0] != ':' || !is_port(after.substr(1)))) return "bad port";
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    if (colon == 0) return "needs a host before the port";
    if (!is_port(host.substr(colon + 1))) return "port must be a number from 0 to 65535";
  }
  if (origin_only && end != std::string_view::npos) {
    return "must be an origin (scheme://host[:port]) without path, query or fragment";
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "must not contain a query or fragment";
  }
  return {};
}

// Shortest text that reads back as the same double ("1", "0.5", "1e+06").
std::string format_number(double d) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return ec == std::errc() ? std::string(buf, p) : std::to_string(d);
}

std::string strip_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/' && !s.ends_with("://")) s.pop_back();
  return s;
}

// One handler per known key of a mapping.
struct Field {
  std::string_view key;
  std::function<void(const YAML::Node& value, const std::string& name)> read;
};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  void error(int line, std::string text) { problems_.push_back({line, std::move(text)}); }
  void error(const YAML::Node& at, const std::string& name, const std::string& text) {
    // yaml-cpp marks an empty value (`key:` and nothing after it) at the
    // next token, often a later line; the key's own line is the right one.
    int line = line_of(at);
    if (at.IsNull() && value_.is(at) && value_key_line_ > 0) line = value_key_line_;
    error(line, name.empty() ? text : name + ": " + text);
  }
  bool failed() const { return !problems_.empty(); }

  [[noreturn]] void throw_all() {
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      // Problems without a line go last, the rest in file order.
      int la = a.line == 0 ? std::numeric_limits<int>::max() : a.line;
      int lb = b.line == 0 ? std::numeric_limits<int>::max() : b.line;
      return la < lb;
    });
    std::string report;
    for (const Problem& p : problems_) {
      if (!report.empty()) report += '\n';
      report += source_;
      if (p.line > 0) report += ':' + std::to_string(p.line);
      report += ": " + p.text;
    }
    throw ConfigError(report);
  }

  // Walks a mapping, calling the handler of each key; unknown and duplicate
  // keys are reported with their own line. A null node (absent or empty
  // section) is fine and means "all defaults".
  void read_map(const YAML::Node& node, const std::string& where,
                const std::vector<Field>& fields) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsMap()) {
      error(node, where, "expected a mapping of keys, got " + describe(node));
      return;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        error(key, where, "keys must be plain words");
        continue;
      }
      const std::string& k = key.Scalar();
      auto f =
          std::find_if(fields.begin(), fields.end(), [&](const Field& fl) { return fl.key == k; });
      if (f == fields.end()) {
        std::vector<std::string> allowed;
        for (const Field& fl : fields) allowed.emplace_back(fl.key);
        error(line_of(key), "unknown key " + in_quotes(k) +
                                (where.empty() ? " at the top level" : " in " + where) +
                                " (allowed: " + join(allowed) + ")");
        continue;
      }
      if (!seen.insert(k).second) {
        error(line_of(key), "duplicate key " + in_quotes(k) +
                                (where.empty() ? " at the top level" : " in " + where));
        continue;
      }
      const YAML::Node value = it->second;
      const YAML::Node outer_value = value_;
      const int outer_line = value_key_line_;
      value_.reset(value);
      value_key_line_ = line_of(key);
      f->read(value, where.empty() ? k : where + "." + k);
      value_.reset(outer_value);
      value_key_line_ = outer_line;
    }
  }

  bool expect_scalar(const YAML::Node& v, const std::string& name, std::string_view what) {
    if (v.IsScalar()) return true;
    error(v, name, "expected " + std::string(what) + ", got " + describe(v));
    return false;
  }

  // Non-empty string.
  void read_string(const YAML::Node& v, const std::string& name, std::string& out) {
    if (!expect_scalar(v, name, "a string")) return;
    if (v.Scalar().empty()) {
      error(v, name, "must not be empty");
      return;
    }
    out = v.Scalar();
  }

  void read_bool(const YAML::Node& v, const std::string& name, bool& out) {
    bool b = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) {
      error(v, name, "expected true or false, got " + describe(v));
      return;
    }
    out = b;
  }

  template <typename T>
  void read_int(const YAML::Node& v, const std::string& name, T& out, std::int64_t lo,
                std::int64_t hi) {
    if (!expect_scalar(v, name, "a whole number")) return;
    const std::string& s = v.Scalar();
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc::result_out_of_range) {
      error(v, name, "number " + s + " is too large");
      return;
    }
    if (ec != std::errc() || p != s.data() + s.size()) {
      error(v, name, "expected a whole number, got " + describe(v));
      return;
    }
    if (n < 0 && lo >= 0) {
      error(v, name, "must not be negative (got " + s + ")");
      return;
    }
    if (n < lo || n > hi) {
      error(v, name,
            "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " + s +
                ")");
      return;
    }
    out = static_cast<T>(n);
  }

  // A plain decimal number (rates). NaN and infinities are refused: they
  // would make a token bucket either never or always refill.
  void read_number(const YAML::Node& v, const std::string& name, double& out, double lo,
                   double hi) {
    if (!expect_scalar(v, name, "a number")) return;
    const std::string& s = v.Scalar();
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d)) {
      error(v, name, "expected a number like 1 or 0.5, got " + describe(v));
      return;
    }
    if (d < 0 && lo >= 0) {
      error(v, name, "must not be negative (got " + s + ")");
      return;
    }
    if (d < lo || d > hi) {
      error(v, name,
            "must be between " + format_number(lo) + " and " + format_number(hi) + " (got " + s +
                ")");
      return;
    }
    out = d;
  }

  bool read_duration(const YAML::Node& v, const std::string& name, Seconds& out, Seconds min = 0) {
    if (!expect_scalar(v, name, "a duration like 90s, 5m, 12h or 7d")) return false;
    std::optional<Seconds> d = parse_duration(v.Scalar());
    if (!d) {
      error(v, name,
            "expected a duration like 90s, 5m, 12h, 7d or whole seconds, got " + describe(v));
      return false;
    }
    if (*d < min) {
      error(v, name, "must be at least " + std::to_string(min) + "s (got " + v.Scalar() + ")");
      return false;
    }
    out = *d;
    return true;
  }

  void read_opt_duration(const YAML::Node& v, const std::string& name, std::optional<Seconds>& out,
                         Seconds min = 0) {
    Seconds d = 0;
    if (read_duration(v, name, d, min)) out = d;
  }

  // A list of non-empty strings. A single string is an error: it is almost
  // always a forgotten pair of brackets, and silently accepting it hides that.
  bool read_string_list(const YAML::Node& v, const std::string& name,
                        std::vector<std::string>& out) {
    if (!v.IsSequence()) {
      error(v, name, "expected a list like [a, b], got " + describe(v));
      return false;
    }
    bool ok = true;
    out.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      const YAML::Node item = v[i];
      std::string item_name = name + "[" + std::to_string(i) + "]";
      if (!item.IsScalar() || item.Scalar().empty()) {
        error(item, item_name, "expected a non-empty string, got " + describe(item));
        ok = false;
        continue;
      }
      out.push_back(item.Scalar());
    }
    return ok;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<Problem> problems_;
  // The value read_map is handing to a field right now, and its key's line.
  YAML::Node value_;
  int value_key_line_ = 0;
};

std::string resolve_path(const std::string& path, const std::string& source);

// RFC 6750 b64token: what an Authorization: Bearer value may hold.
bool is_b64token(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) ||
                          std::string_view("-._~+/").find(s[i]) != std::string_view::npos)) {
    ++i;
  }
  while (i < s.size() && s[i] == '=') ++i;
  return i > 0 && i == s.size();
}

constexpr size_t kMinMetricsToken = 32;

// Reads server.metrics_token_file; "" (and an error at the key) when unusable.
std::string read_metrics_token(Reader& r, const YAML::Node& v, const std::string& n,
                               const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    r.error(v, n, "cannot read " + in_quotes(file) + ": " + std::strerror(errno));
    return {};
  }
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  if (token.size() < kMinMetricsToken || !is_b64token(token)) {
    r.error(v, n,
            in_quotes(file) + " must hold one token of at least " +
                std::to_string(kMinMetricsToken) +
                " characters from A-Z a-z 0-9 - . _ ~ + / (then = padding), like the output of "
                "`openssl rand -base64 32`");
    return {};
  }
  return token;
}

// The port part of a listen value that passed listen_problem().
std::string_view listen_port(std::string_view s) { return s.substr(s.rfind(':') + 1); }

void read_server(Reader& r, const YAML::Node& node, ServerConfig& c) {
  std::optional<YAML::Node> metrics_listen_node;
  r.read_map(
      node, "server",
      {
          {"listen",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             if (std::string why = listen_problem(s); !why.empty()) {
               r.error(v, n, why + " (got " + in_quotes(s) + ")");
               return;
             }
             c.listen = s;
           }},
          {"public_url",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             if (std::string why = url_problem(s, false); !why.empty()) {
               r.error(v, n, why + " (got " + in_quotes(s) + ")");
               return;
             }
             c.public_url = strip_trailing_slash(s);
           }},
          {"io_threads", [&](const YAML::Node& v,
                             const std::string& n) { r.read_int(v, n, c.io_threads, 0, 256); }},
          {"max_body_bytes",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_int(v, n, c.max_body_bytes, 1, 1 << 30);
           }},
          {"read_timeout", [&](const YAML::Node& v,
                               const std::string& n) { r.read_duration(v, n, c.read_timeout, 1); }},
          {"idle_timeout", [&](const YAML::Node& v,
                               const std::string& n) { r.read_duration(v, n, c.idle_timeout, 1); }},
          {"drain_timeout",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_duration(v, n, c.drain_timeout, 0);
           }},
          {"trust_forwarded_for",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_bool(v, n, c.trust_forwarded_for);
           }},
          {"metrics_listen",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             if (std::string why = listen_problem(s); !why.empty()) {
               r.error(v, n, why + " (got " + in_quotes(s) + ")");
               return;
             }
             c.metrics_listen = s;
             metrics_listen_node.emplace(v);
           }},
          {"metrics_token_file",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             c.metrics_token_file = resolve_path(s, r.source());
             c.metrics_token = read_metrics_token(r, v, n, c.metrics_token_file);
           }},
      });
  // Both listeners use SO_REUSEPORT, so one port for both would not fail to
  // bind: it would split connections between them at random.
  if (metrics_listen_node && listen_port(c.metrics_listen) != "0" &&
      listen_port(c.metrics_listen) == listen_port(c.listen)) {
    r.error(*metrics_listen_node, "server.metrics_listen",
            "must use another port than server.listen (" + in_quotes(c.listen) + ")");
  }
}

void read_log(Reader& r, const YAML::Node& node, LogConfig& c) {
  r.read_map(
      node, "log",
      {
          {"level",
           [&](const YAML::Node& v, const std::string& n) {
             static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn",
                                                              "error"};
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             if (std::find(kLevels.begin(), kLevels.end(), s) == kLevels.end()) {
               r.error(v, n, "must be one of " + join(kLevels) + " (got " + in_quotes(s) + ")");
               return;
             }
             c.level = s;
           }},
          {"json", [&](const YAML::Node& v, const std::string& n) { r.read_bool(v, n, c.json); }},
      });
}

void read_storage(Reader& r, const YAML::Node& node, StorageConfig& c) {
  r.read_map(
      node, "storage",
      {
          {"driver",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             if (s != "sqlite") {
               r.error(v, n, "only \"sqlite\" is supported (got " + in_quotes(s) + ")");
               return;
             }
             c.driver = s;
           }},
          {"path", [&](const YAML::Node& v, const std::string& n) { r.read_string(v, n, c.path); }},
          {"busy_timeout", [&](const YAML::Node& v,
                               const std::string& n) { r.read_duration(v, n, c.busy_timeout, 0); }},
      });
}

void read_tokens(Reader& r, const YAML::Node& node, TokenConfig& c) {
  r.read_map(
      node, "tokens",
      {
          {"issuer",
           [&](const YAML::Node& v, const std::string& n) { r.read_string(v, n, c.issuer); }},
          {"audience",
           [&](const YAML::Node& v, const std::string& n) { r.read_string(v, n, c.audience); }},
          {"algorithm",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             if (s != "ES256" && s != "EdDSA") {
               r.error(v, n, "must be ES256 or EdDSA (got " + in_quotes(s) + ")");
               return;
             }
             c.algorithm = s;
           }},
          {"access_ttl", [&](const YAML::Node& v,
                             const std::string& n) { r.read_duration(v, n, c.access_ttl, 1); }},
          {"refresh_ttl", [&](const YAML::Node& v,
                              const std::string& n) { r.read_duration(v, n, c.refresh_ttl, 1); }},
          {"refresh_reuse_grace",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_duration(v, n, c.refresh_reuse_grace, 0);
           }},
          {"clock_skew", [&](const YAML::Node& v,
                             const std::string& n) { r.read_duration(v, n, c.clock_skew, 0); }},
          {"key_retire_after",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_duration(v, n, c.key_retire_after, 0);
           }},
      });
}

void read_sessions(Reader& r, const YAML::Node& node, SessionConfig& c) {
  r.read_map(
      node, "sessions",
      {
          {"idle_timeout", [&](const YAML::Node& v,
                               const std::string& n) { r.read_duration(v, n, c.idle_timeout, 1); }},
          {"absolute_timeout",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_duration(v, n, c.absolute_timeout, 1);
           }},
      });
}

void read_cookie(Reader& r, const YAML::Node& node, CookieConfig& c) {
  int name_line = line_of(node);
  r.read_map(node, "cookie",
             {
                 {"name",
                  [&](const YAML::Node& v, const std::string& n) {
                    std::string s;
                    r.read_string(v, n, s);
                    if (s.empty()) return;
                    if (!is_cookie_name(s)) {
                      r.error(v, n, "is not a valid cookie name (got " + in_quotes(s) + ")");
                      return;
                    }
                    name_line = line_of(v);
                    c.name = s;
                  }},
                 {"secure",
                  [&](const YAML::Node& v, const std::string& n) { r.read_bool(v, n, c.secure); }},
                 {"same_site",
                  [&](const YAML::Node& v, const std::string& n) {
                    std::string s;
                    r.read_string(v, n, s);
                    if (s.empty()) return;
                    if (s != "Lax" && s != "Strict") {
                      r.error(v, n, "must be Lax or Strict (got " + in_quotes(s) + ")");
                      return;
                    }
                    c.same_site = s;
                  }},
             });
  if (c.secure && c.name.starts_with("__Host-")) {
    r.error(name_line,
            "cookie.name: "
            "leave out the __Host- prefix; it is added when secure is true");
  }
}

void read_passwords(Reader& r, const YAML::Node& node, PasswordConfig& c) {
  int min_line = line_of(node);
  r.read_map(
      node, "passwords",
      {
          {"min_length",
           [&](const YAML::Node& v, const std::string& n) {
             min_line = line_of(v);
             r.read_int(v, n, c.min_length, 8, 4096);
           }},
          {"max_length",
           [&](const YAML::Node& v, const std::string& n) {
             // NIST SP 800-63B §5.1.1.2: allow at least 64 characters.
             r.read_int(v, n, c.max_length, 64, 4096);
           }},
          {"argon2_memory_kib",
           [&](const YAML::Node& v, const std::string& n) {
             // Argon2 needs at least 8 KiB; 4 GiB is far beyond any sane setting.
             r.read_int(v, n, c.argon2_memory_kib, 8, 4 * 1024 * 1024);
           }},
          {"argon2_iterations",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_int(v, n, c.argon2_iterations, 1, 1000);
           }},
          {"hash_workers", [&](const YAML::Node& v,
                               const std::string& n) { r.read_int(v, n, c.hash_workers, 1, 256); }},
          {"hash_queue", [&](const YAML::Node& v,
                             const std::string& n) { r.read_int(v, n, c.hash_queue, 1, 1000000); }},
      });
  if (c.min_length > c.max_length) {
    r.error(min_line,
            "passwords.min_length: "
            "must not be larger than max_length (" +
                std::to_string(c.max_length) + ")");
  }
}

void read_levels(Reader& r, const YAML::Node& node, std::vector<core::Level>& out) {
  if (!node.IsDefined() || node.IsNull()) {
    out = default_levels();
    return;
  }
  if (!node.IsMap()) {
    r.error(node, "levels", "expected a mapping of level names, got " + describe(node));
    out = default_levels();
    return;
  }
  if (node.size() == 0) {
    r.error(node, "levels", "must name at least one level");
    return;
  }
  std::set<std::string> names, acrs;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node body = it->second;
    if (!key.IsScalar() || !is_acr_value(key.Scalar())) {
      r.error(key, "levels",
              "level name must be a word without spaces or quotes, got " + describe(key));
      continue;
    }
    core::Level level;
    level.name = key.Scalar();
    level.acr = level.name;
    const std::string where = "levels." + level.name;
    if (!names.insert(level.name).second) {
      r.error(key, "levels", "duplicate level " + in_quotes(level.name));
      continue;
    }
    int acr_line = line_of(key);
    bool has_reached_by = false;
    r.read_map(body, where,
               {
                   {"acr",
                    [&](const YAML::Node& v, const std::string& n) {
                      std::string s;
                      r.read_string(v, n, s);
                      if (s.empty()) return;
                      if (!is_acr_value(s)) {
                        r.error(v, n,
                                "must be visible ASCII without spaces, quotes or backslashes");
                        return;
                      }
                      acr_line = line_of(v);
                      level.acr = s;
                    }},
                   {"reached_by",
                    [&](const YAML::Node& v, const std::string& n) {
                      has_reached_by = true;
                      if (!v.IsSequence() || v.size() == 0) {
                        r.error(v, n,
                                "expected a non-empty list of method sets like [[pwd, otp]], got " +
                                    describe(v));
                        return;
                      }
                      for (size_t i = 0; i < v.size(); ++i) {
                        const YAML::Node set = v[i];
                        const std::string set_name = n + "[" + std::to_string(i) + "]";
                        if (set.IsScalar()) {
                          r.error(set, set_name,
                                  "each entry is a list of methods, write [[" + set.Scalar() +
                                      "]] rather than [" + set.Scalar() + "]");
                          continue;
                        }
                        std::vector<std::string> methods;
                        if (!r.read_string_list(set, set_name, methods)) continue;
                        if (methods.empty()) {
                          r.error(set, set_name, "a method set must not be empty");
                          continue;
                        }
                        bool ok = true;
                        for (size_t j = 0; j < methods.size(); ++j) {
                          if (!is_lower_name(methods[j])) {
                            r.error(set[j], set_name,
                                    "method " + in_quotes(methods[j]) +
                                        " must be a lower-case RFC 8176 name like pwd, otp, hwk");
                            ok = false;
                          }
                        }
                        if (ok) level.reached_by.push_back(std::move(methods));
                      }
                    }},
                   {"elevation",
                    [&](const YAML::Node& v, const std::string& n) {
                      r.read_opt_duration(v, n, level.elevation, 1);
                    }},
               });
    if (body.IsDefined() && !body.IsNull() && !body.IsMap()) continue;  // already reported
    if (!has_reached_by) {
      r.error(key, where, "needs reached_by, e.g. reached_by: [[pwd, otp]]");
    }
    if (!acrs.insert(level.acr).second) {
      r.error(acr_line,
              where + ": acr " + in_quotes(level.acr) + " is already used by another level");
    }
    out.push_back(std::move(level));
  }
}

// Reads one rule (or the default rule, which has no matcher keys).
bool read_rule(Reader& r, const YAML::Node& node, const std::string& where, bool is_default,
               const core::LevelTable& levels, core::RuleSpec& spec) {
  if (!node.IsMap()) {
    r.error(node, where,
            "expected a mapping like { path: \"/admin/**\", level: aal2 }, got " + describe(node));
    return false;
  }
  bool ok = true;
  bool is_public = false, is_deny = false;
  std::optional<int> level_line, max_age_line;
  std::vector<Field> fields;
  if (!is_default) {
    fields.push_back({"methods", [&](const YAML::Node& v, const std::string& n) {
                        if (!r.read_string_list(v, n, spec.methods)) ok = false;
                      }});
    fields.push_back({"hosts", [&](const YAML::Node& v, const std::string& n) {
                        if (!r.read_string_list(v, n, spec.hosts)) {
                          ok = false;
                          return;
                        }
                        for (size_t i = 0; i < spec.hosts.size(); ++i) {
                          std::string_view why = core::host_pattern_problem(spec.hosts[i]);
                          if (!why.empty()) {
                            r.error(v[i], n, in_quotes(spec.hosts[i]) + ": " + std::string(why));
                            ok = false;
                          }
                        }
                      }});
    fields.push_back({"path", [&](const YAML::Node& v, const std::string& n) {
                        std::string s;
                        r.read_string(v, n, s);
                        if (s.empty()) {
                          ok = false;
                          return;
                        }
                        if (std::string_view why = core::glob_problem(s); !why.empty()) {
                          r.error(v, n, in_quotes(s) + ": " + std::string(why));
                          ok = false;
                          return;
                        }
                        spec.path = s;
                      }});
  }
  fields.push_back({"level", [&](const YAML::Node& v, const std::string& n) {
                      level_line = line_of(v);
                      r.read_string(v, n, spec.level);
                      if (spec.level.empty()) {
                        ok = false;
                        return;
                      }
                      if (levels.size() > 0 && !levels.find(spec.level)) {
                        std::vector<std::string> names;
                        for (const core::Level& l : levels.levels()) names.push_back(l.name);
                        r.error(v, n,
                                "unknown level " + in_quotes(spec.level) +
                                    " (levels: " + join(names) + ")");
                        ok = false;
                      }
                    }});
  fields.push_back({"max_age", [&](const YAML::Node& v, const std::string& n) {
                      max_age_line = line_of(v);
                      r.read_opt_duration(v, n, spec.max_age, 0);
                    }});
  fields.push_back(
      {"public", [&](const YAML::Node& v, const std::string& n) { r.read_bool(v, n, is_public); }});
  fields.push_back(
      {"deny", [&](const YAML::Node& v, const std::string& n) { r.read_bool(v, n, is_deny); }});
  fields.push_back({"reason", [&](const YAML::Node& v, const std::string& n) {
                      r.read_string(v, n, spec.reason);
                      if (!is_header_text(spec.reason)) {
                        r.error(v, n,
                                "must be plain ASCII text without quotes or backslashes (it "
                                "is sent in the WWW-Authenticate header)");
                        ok = false;
                      }
                    }});
  r.read_map(node, where, fields);

  int effects = (level_line ? 1 : 0) + (is_public ? 1 : 0) + (is_deny ? 1 : 0);
  if (effects != 1) {
    r.error(node, where,
            effects == 0 ? "needs one of level: NAME, public: true or deny: true"
                         : "has more than one of level, public: true and deny: true; keep one");
    return false;
  }
  spec.effect = is_public ? core::RuleEffect::kPublic
                : is_deny ? core::RuleEffect::kDeny
                          : core::RuleEffect::kRequire;
  if (spec.effect != core::RuleEffect::kRequire && max_age_line) {
    r.error(*max_age_line, where + ".max_age: only applies to a rule with a level");
    ok = false;
  }
  return ok;
}

void read_origins(Reader& r, const YAML::Node& v, std::vector<std::string>& out) {
  const std::string name = "return_to_origins";
  std::vector<std::string> items;
  if (!r.read_string_list(v, name, items)) return;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string origin = strip_trailing_slash(items[i]);
    if (std::string why = url_problem(origin, true); !why.empty()) {
      r.error(v[i], name + "[" + std::to_string(i) + "]",
              why + " (got " + in_quotes(items[i]) + ")");
      continue;
    }
    out.push_back(std::move(origin));
  }
}

void read_clients(Reader& r, const YAML::Node& v, std::vector<IntrospectionClient>& out) {
  const std::string name = "introspection_clients";
  if (!v.IsSequence()) {
    r.error(v, name, "expected a list of { id, secret }, got " + describe(v));
    return;
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < v.size(); ++i) {
    const YAML::Node item = v[i];
    const std::string where = name + "[" + std::to_string(i) + "]";
    IntrospectionClient client;
    int id_line = line_of(item);
    bool id_seen = false, secret_seen = false;
    r.read_map(item, where,
               {
                   {"id",
                    [&](const YAML::Node& val, const std::string& n) {
                      id_line = line_of(val);
                      id_seen = true;
                      r.read_string(val, n, client.id);
                      // HTTP Basic splits user:password at the first colon.
                      if (client.id.find(':') != std::string::npos) {
                        r.error(val, n, "must not contain ':' (HTTP Basic cannot carry it)");
                        client.id.clear();
                      }
                    }},
                   {"secret",
                    [&](const YAML::Node& val, const std::string& n) {
                      secret_seen = true;
                      r.read_string(val, n, client.secret);
                    }},
               });
    if (!item.IsMap()) continue;  // read_map reported it
    if (client.id.empty() || client.secret.empty()) {
      // A present but bad value was reported where it was read.
      if (!id_seen || !secret_seen) r.error(item, where, "needs both id and secret");
      continue;
    }
    if (!ids.insert(client.id).second) {
      r.error(id_line, where + ": duplicate client id " + in_quotes(client.id));
      continue;
    }
    out.push_back(std::move(client));
  }
}

// Relative paths in the file mean "next to the config file", so the server
// finds the same files whatever directory it is started from.
std::string resolve_path(const std::string& path, const std::string& source) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  std::filesystem::path dir = std::filesystem::path(source).parent_path();
  if (dir.empty()) return path;
  return (dir / p).string();
}

std::string resolve_storage_path(const std::string& path, const std::string& source) {
  if (path == ":memory:" || path.starts_with("file:")) return path;
  return resolve_path(path, source);
}

// Where factors.recovery_codes.reaches was written (0: not written, so the
// default applies and a missing default level is not an error).
struct ReachSpec {
  int line = 0;
};

void read_factors(Reader& r, const YAML::Node& node, FactorsConfig& c, ReachSpec& reach) {
  r.read_map(
      node, "factors",
      {
          {"totp",
           [&](const YAML::Node& t, const std::string& where) {
             TotpConfig& totp = c.totp;
             r.read_map(
                 t, where,
                 {
                     {"algorithm",
                      [&](const YAML::Node& v, const std::string& n) {
                        std::string s;
                        r.read_string(v, n, s);
                        if (s.empty()) return;
                        // RFC 6238 §1.2 allows HMAC-SHA-1, -256 and -512; the
                        // otpauth URI spells them this way.
                        if (s != "SHA1" && s != "SHA256" && s != "SHA512") {
                          r.error(v, n,
                                  "must be SHA1, SHA256 or SHA512 (got " + in_quotes(s) + ")");
                          return;
                        }
                        totp.algorithm = s;
                      }},
                     {"digits", [&](const YAML::Node& v,
                                    const std::string& n) { r.read_int(v, n, totp.digits, 6, 8); }},
                     {"period",
                      [&](const YAML::Node& v, const std::string& n) {
                        Seconds d = 0;
                        if (!r.read_duration(v, n, d, 0)) return;
                        // Shorter steps are hard to type in time; longer ones
                        // keep a code valid for minutes.
                        if (d < 15 || d > 120) {
                          r.error(v, n, "must be between 15s and 120s (got " + v.Scalar() + ")");
                          return;
                        }
                        totp.period = d;
                      }},
                     {"issuer",
                      [&](const YAML::Node& v, const std::string& n) {
                        std::string s;
                        r.read_string(v, n, s);
                        if (s.empty()) return;
                        // Key URI format: apps split the label "issuer:account"
                        // at the colon, even a percent-encoded one.
                        if (s.find(':') != std::string::npos) {
                          r.error(v, n,
                                  "must not contain ':' (authenticator apps split the label "
                                  "at it)");
                          return;
                        }
                        if (!is_header_text(s)) {
                          r.error(v, n, "must be plain ASCII text without quotes or backslashes");
                          return;
                        }
                        totp.issuer = s;
                      }},
                 });
           }},
          {"recovery_codes",
           [&](const YAML::Node& rc, const std::string& where) {
             r.read_map(rc, where,
                        {
                            {"count",
                             [&](const YAML::Node& v, const std::string& n) {
                               r.read_int(v, n, c.recovery_code_count, 5, 20);
                             }},
                            {"reaches",
                             [&](const YAML::Node& v, const std::string& n) {
                               if (!r.expect_scalar(v, n, "a level name, or none")) return;
                               const std::string& s = v.Scalar();
                               reach.line = line_of(v);
                               c.recovery_codes_reach = s == "none" ? "" : s;
                             }},
                        });
           }},
      });
}

void read_secrets(Reader& r, const YAML::Node& node, SecretsConfig& c) {
  std::optional<YAML::Node> old_node;
  r.read_map(node, "secrets",
             {
                 {"key_file", [&](const YAML::Node& v,
                                  const std::string& n) { r.read_string(v, n, c.key_file); }},
                 {"old_key_files",
                  [&](const YAML::Node& v, const std::string& n) {
                    if (r.read_string_list(v, n, c.old_key_files)) old_node.emplace(v);
                  }},
             });
  if (!old_node) return;
  // A key listed twice, or the current key listed as old, is almost always a
  // rotation edited halfway; say so instead of loading it twice.
  std::set<std::string> seen = {
      std::filesystem::path(resolve_path(c.key_file, r.source())).lexically_normal().string()};
  for (size_t i = 0; i < c.old_key_files.size(); ++i) {
    const std::string& f = c.old_key_files[i];
    const std::string resolved =
        std::filesystem::path(resolve_path(f, r.source())).lexically_normal().string();
    if (!seen.insert(resolved).second) {
      r.error((*old_node)[i], "secrets.old_key_files[" + std::to_string(i) + "]",
              in_quotes(f) + " is already the key_file or listed before");
    }
  }
}

void read_step_up(Reader& r, const YAML::Node& node, StepUpConfig& c) {
  r.read_map(node, "step_up",
             {
                 {"challenge_ttl",
                  [&](const YAML::Node& v, const std::string& n) {
                    r.read_duration(v, n, c.challenge_ttl, 1);
                  }},
                 {"enrollment_max_age",
                  [&](const YAML::Node& v, const std::string& n) {
                    r.read_duration(v, n, c.enrollment_max_age, 1);
                  }},
                 {"revoke_other_sessions_on_factor_change",
                  [&](const YAML::Node& v, const std::string& n) {
                    r.read_bool(v, n, c.revoke_other_sessions_on_factor_change);
                  }},
                 {"max_open_challenges",
                  [&](const YAML::Node& v, const std::string& n) {
                    r.read_int(v, n, c.max_open_challenges, 1, 100);
                  }},
             });
}

void read_lockout(Reader& r, const YAML::Node& node, LockoutConfig& c) {
  int base_line = line_of(node);
  r.read_map(
      node, "lockout",
      {
          {"max_failures", [&](const YAML::Node& v,
                               const std::string& n) { r.read_int(v, n, c.max_failures, 1, 100); }},
          {"base_delay",
           [&](const YAML::Node& v, const std::string& n) {
             base_line = line_of(v);
             r.read_duration(v, n, c.base_delay, 1);
           }},
          {"max_delay", [&](const YAML::Node& v,
                            const std::string& n) { r.read_duration(v, n, c.max_delay, 1); }},
      });
  if (c.base_delay > c.max_delay) {
    r.error(base_line, "lockout.base_delay: must not be longer than max_delay (" +
                           std::to_string(c.max_delay) + "s)");
  }
}

void read_rate_limit(Reader& r, const YAML::Node& node, const std::string& where,
                     RateLimitConfig& c) {
  r.read_map(
      node, where,
      {
          {"per_second", [&](const YAML::Node& v,
                             const std::string& n) { r.read_number(v, n, c.per_second, 0, 1e6); }},
          {"burst", [&](const YAML::Node& v,
                        const std::string& n) { r.read_int(v, n, c.burst, 1, 1000000); }},
      });
}

void read_rate_limits(Reader& r, const YAML::Node& node, RateLimitsConfig& c) {
  r.read_map(node, "rate_limits",
             {
                 {"login", [&](const YAML::Node& v,
                               const std::string& n) { read_rate_limit(r, v, n, c.login); }},
                 {"verify", [&](const YAML::Node& v,
                                const std::string& n) { read_rate_limit(r, v, n, c.verify); }},
             });
}

// ---------------------------------------------------------------- webauthn

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// What a URL parser would take for an IP address (no port): anything
// bracketed or with a colon (IPv6), or a name whose last label is a number
// (IPv4, including the short and hex forms WHATWG URL parsing accepts, like
// 127.1 or 0x7f.1).
bool looks_like_ip(std::string_view host) {
  if (host.starts_with("[") || host.find(':') != std::string_view::npos) return true;
  if (host.ends_with(".")) host.remove_suffix(1);
  size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  std::string_view digits = last;
  bool hex = false;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
    digits = last.substr(2);
    hex = true;
  }
  for (char c : digits) {
    bool ok = (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    if (!ok) return false;
  }
  return true;
}

// The host of an already validated http(s) URL, lower-cased; IPv6 keeps its
// brackets.
std::string url_host(std::string_view url) {
  std::string_view rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.starts_with("[")) return lower(rest.substr(0, rest.find(']') + 1));
  return lower(rest.substr(0, rest.find(':')));
}

const char* const kIpRpId =
    "is an IP address; WebAuthn does not allow an IP address as the RP ID, so "
    "use a domain name (localhost works for development)";

// The RP ID is a registrable-domain-style host name (WebAuthn §5.1.2 / the
// HTML "valid domain"): no scheme, port or path, and not an IP address.
std::string rp_id_problem(std::string_view s) {
  if (s.find("://") != std::string_view::npos) {
    return "must be a host name like example.com, without a scheme";
  }
  if (s.find_first_of("/?#") != std::string_view::npos) {
    return "must be a host name like example.com, without a path";
  }
  // One colon is host:port; more, or brackets, is IPv6.
  size_t colon = s.find(':');
  if (s.starts_with("[") || (colon != std::string_view::npos && s.rfind(':') != colon)) {
    return kIpRpId;
  }
  if (colon != std::string_view::npos) {
    return looks_like_ip(s.substr(0, colon)) ? kIpRpId : "must be a host name without a port";
  }
  if (looks_like_ip(s)) return kIpRpId;
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return "must be ASCII; write an internationalized name in its xn-- form";
    }
  }
  if (s.size() > 253) return "is longer than 253 characters";
  if (s.ends_with(".")) return "must not end with a dot";
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty()) return "must not have empty labels (\"..\" or a leading dot)";
    if (label.size() > 63) return "has a label longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') {
      return "labels must not start or end with '-'";
    }
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return "must be a host name made of letters, digits, '-' and '.'";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return {};
}

// Browsers serialize an origin in lower case and without the scheme's
// default port, and WebAuthn compares clientDataJSON.origin byte for byte;
// writing it the same way here keeps "https://Example.com:443" from never
// matching.
std::string canonical_origin(std::string_view origin) {
  std::string out = lower(origin);
  if (out.starts_with("https://") && out.ends_with(":443")) out.resize(out.size() - 4);
  if (out.starts_with("http://") && out.ends_with(":80")) out.resize(out.size() - 3);
  return out;
}

// Runs after the whole file is read, because the origins are checked against
// the RP ID, which defaults to the host of server.public_url.
void read_webauthn(Reader& r, const YAML::Node& node, const ServerConfig& server,
                   WebAuthnConfig& c) {
  std::optional<YAML::Node> origins_node;
  bool rp_id_ok = true;
  r.read_map(
      node, "webauthn",
      {
          {"rp_id",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) {
               rp_id_ok = false;
               return;
             }
             if (std::string why = rp_id_problem(s); !why.empty()) {
               r.error(v, n, in_quotes(s) + " " + why);
               rp_id_ok = false;
               return;
             }
             c.rp_id = lower(s);  // host names compare case-insensitively
           }},
          {"rp_name",
           [&](const YAML::Node& v, const std::string& n) {
             std::string s;
             r.read_string(v, n, s);
             if (s.empty()) return;
             for (char ch : s) {
               if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
                 r.error(v, n, "must not contain control characters");
                 return;
               }
             }
             c.rp_name = s;
           }},
          {"origins",
           [&](const YAML::Node& v, const std::string& n) {
             std::vector<std::string> items;
             if (!r.read_string_list(v, n, items)) return;
             if (items.empty()) {
               r.error(v, n,
                       "must list at least one origin; leave it out to use the origin of "
                       "server.public_url");
               return;
             }
             origins_node.emplace(v);
             std::set<std::string> seen;
             for (size_t i = 0; i < items.size(); ++i) {
               const std::string item_name = n + "[" + std::to_string(i) + "]";
               std::string origin = strip_trailing_slash(items[i]);
               if (std::string why = url_problem(origin, true); !why.empty()) {
                 r.error(v[i], item_name, why + " (got " + in_quotes(items[i]) + ")");
                 continue;
               }
               origin = canonical_origin(origin);
               if (!seen.insert(origin).second) {
                 r.error(v[i], item_name, in_quotes(origin) + " is listed twice");
                 continue;
               }
               c.origins.push_back(std::move(origin));
             }
           }},
          {"passkey_login",
           [&](const YAML::Node& v, const std::string& n) { r.read_bool(v, n, c.passkey_login); }},
          {"max_login_challenges",
           [&](const YAML::Node& v, const std::string& n) {
             r.read_int(v, n, c.max_login_challenges, 10, 10'000'000);
           }},
          {"timeout",
           [&](const YAML::Node& v, const std::string& n) {
             Seconds d = 0;
             if (!r.read_duration(v, n, d, 0)) return;
             // Shorter than 10s is not enough to find and touch a key; the
             // spec recommends at most 10 minutes.
             if (d < 10 || d > 600) {
               r.error(v, n, "must be between 10s and 10m (got " + v.Scalar() + ")");
               return;
             }
             c.timeout = d;
           }},
      });
  if (!origins_node || !rp_id_ok) return;

  // A browser only lets a page use an RP ID equal to its own host or a
  // registrable suffix of it, so an origin outside the RP ID can never work.
  std::string rp_id = c.rp_id;
  std::string whose = "rp_id";
  if (rp_id.empty()) {
    rp_id = url_host(server.public_url);
    // An IP public_url has no usable default RP ID; the service reports that.
    if (looks_like_ip(rp_id)) return;
    whose = "the RP ID (the host of server.public_url, as rp_id is not set)";
  }
  const YAML::Node& list = *origins_node;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = strip_trailing_slash(list[i].Scalar());
    if (!url_problem(item, true).empty()) continue;  // reported above
    const std::string host = url_host(item);
    if (host == rp_id || (host.size() > rp_id.size() && host.ends_with("." + rp_id))) continue;
    r.error(list[i], "webauthn.origins[" + std::to_string(i) + "]",
            "host " + in_quotes(host) + " of " + in_quotes(item) + " is not " + whose + " " +
                in_quotes(rp_id) + " or a subdomain of it");
  }
}

// Gives recovery codes their level: the base level's first method set plus
// "rc" is appended to the level they reach, so "password, then a recovery
// code" reaches it like "password, then TOTP" does. Runs after levels and
// base_level are known.
void apply_recovery_reach(Reader& r, const ReachSpec& reach, Config& cfg) {
  std::string& name = cfg.factors.recovery_codes_reach;
  if (name.empty() || cfg.levels.size() == 0) return;
  std::optional<core::LevelIndex> idx = cfg.levels.find(name);
  if (!idx) {
    if (reach.line == 0) {
      name.clear();  // the default names a level this file does not have
      return;
    }
    std::vector<std::string> names;
    for (const core::Level& l : cfg.levels.levels()) names.push_back(l.name);
    r.error(reach.line, "factors.recovery_codes.reaches: unknown level " + in_quotes(name) +
                            " (levels: " + join(names) + ", or none)");
    return;
  }
  std::optional<core::LevelIndex> base =
      cfg.base_level.empty() ? std::nullopt : cfg.levels.find(cfg.base_level);
  if (!base) return;  // base_level was reported
  if (*idx <= *base) {
    if (reach.line == 0) {
      name.clear();
      return;
    }
    r.error(reach.line, "factors.recovery_codes.reaches: level " + in_quotes(name) +
                            " is already held after sign-in; name a higher level, or none");
    return;
  }
  name = cfg.levels.at(*idx).name;
  const core::Level& base_level = cfg.levels.at(*base);
  if (base_level.reached_by.empty()) return;
  std::vector<std::string> set = base_level.reached_by.front();
  if (std::find(set.begin(), set.end(), "rc") == set.end()) set.push_back("rc");
  auto as_set = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  std::vector<core::Level> levels = cfg.levels.levels();
  std::vector<std::vector<std::string>>& reached_by = levels[static_cast<size_t>(*idx)].reached_by;
  const std::vector<std::string> wanted = as_set(set);
  for (const std::vector<std::string>& existing : reached_by) {
    if (as_set(existing) == wanted) return;  // written out by hand already
  }
  reached_by.push_back(std::move(set));
  cfg.levels = core::LevelTable(std::move(levels));
}

void read_upstream(Reader& r, const YAML::Node& node, core::PathSemantics& u) {
  r.read_map(node, "upstream",
             {
                 {"path_case",
                  [&](const YAML::Node& v, const std::string& n) {
                    std::string s;
                    r.read_string(v, n, s);
                    if (s == "sensitive") {
                      u.path_case = core::PathCase::kSensitive;
                    } else if (s == "insensitive") {
                      u.path_case = core::PathCase::kInsensitive;
                    } else if (s == "unknown") {
                      u.path_case = core::PathCase::kUnknown;
                    } else {
                      r.error(v, n,
                              "must be sensitive, insensitive or unknown (got " + in_quotes(s) + ")");
                    }
                  }},
                 {"trailing_slash",
                  [&](const YAML::Node& v, const std::string& n) {
                    std::string s;
                    r.read_string(v, n, s);
                    if (s == "significant") {
                      u.trailing_slash = core::TrailingSlash::kSignificant;
                    } else if (s == "ignored") {
                      u.trailing_slash = core::TrailingSlash::kIgnored;
                    } else if (s == "unknown") {
                      u.trailing_slash = core::TrailingSlash::kUnknown;
                    } else {
                      r.error(v, n,
                              "must be significant, ignored or unknown (got " + in_quotes(s) +
                                  ")");
                    }
                  }},
             });
}

Config parse_root(Reader& r, const YAML::Node& root, const std::string& source_name) {
  Config cfg;
  cfg.source_path = source_name;
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    r.error(root, "", "the file must be a mapping of sections (server:, levels:, rules:, ...)");
    r.throw_all();
  }
  // Copy-constructed once (never assigned: YAML::Node assignment writes into
  // the document instead of rebinding).
  std::optional<YAML::Node> levels_opt, base_opt, rules_opt, default_opt, webauthn_opt;
  ReachSpec reach;
  r.read_map(
      root, "",
      {
          {"server",
           [&](const YAML::Node& v, const std::string&) { read_server(r, v, cfg.server); }},
          {"log", [&](const YAML::Node& v, const std::string&) { read_log(r, v, cfg.log); }},
          {"storage",
           [&](const YAML::Node& v, const std::string&) { read_storage(r, v, cfg.storage); }},
          {"tokens",
           [&](const YAML::Node& v, const std::string&) { read_tokens(r, v, cfg.tokens); }},
          {"sessions",
           [&](const YAML::Node& v, const std::string&) { read_sessions(r, v, cfg.sessions); }},
          {"cookie",
           [&](const YAML::Node& v, const std::string&) { read_cookie(r, v, cfg.cookie); }},
          {"passwords",
           [&](const YAML::Node& v, const std::string&) { read_passwords(r, v, cfg.passwords); }},
          {"levels", [&](const YAML::Node& v, const std::string&) { levels_opt.emplace(v); }},
          {"base_level", [&](const YAML::Node& v, const std::string&) { base_opt.emplace(v); }},
          {"rules", [&](const YAML::Node& v, const std::string&) { rules_opt.emplace(v); }},
          {"upstream",
           [&](const YAML::Node& v, const std::string&) { read_upstream(r, v, cfg.upstream); }},
          {"default", [&](const YAML::Node& v, const std::string&) { default_opt.emplace(v); }},
          {"return_to_origins",
           [&](const YAML::Node& v, const std::string&) {
             read_origins(r, v, cfg.allowed_return_origins);
           }},
          {"introspection_clients",
           [&](const YAML::Node& v, const std::string&) {
             read_clients(r, v, cfg.introspection_clients);
           }},
          {"factors", [&](const YAML::Node& v,
                          const std::string&) { read_factors(r, v, cfg.factors, reach); }},
          {"secrets",
           [&](const YAML::Node& v, const std::string&) { read_secrets(r, v, cfg.secrets); }},
          {"step_up",
           [&](const YAML::Node& v, const std::string&) { read_step_up(r, v, cfg.step_up); }},
          {"lockout",
           [&](const YAML::Node& v, const std::string&) { read_lockout(r, v, cfg.lockout); }},
          {"rate_limits", [&](const YAML::Node& v,
                              const std::string&) { read_rate_limits(r, v, cfg.rate_limits); }},
          {"webauthn", [&](const YAML::Node& v, const std::string&) { webauthn_opt.emplace(v); }},
      });
  if (webauthn_opt) read_webauthn(r, *webauthn_opt, cfg.server, cfg.webauthn);
  const YAML::Node levels_node = levels_opt ? *levels_opt : YAML::Node(YAML::NodeType::Null);
  const YAML::Node rules_node = rules_opt ? *rules_opt : YAML::Node(YAML::NodeType::Null);
  const YAML::Node default_node = default_opt ? *default_opt : YAML::Node(YAML::NodeType::Null);

  // Levels before rules: rules name levels.
  std::vector<core::Level> levels;
  read_levels(r, levels_node, levels);
  cfg.levels = core::LevelTable(std::move(levels));

  if (base_opt) {
    const YAML::Node& base_node = *base_opt;
    std::string base;
    r.read_string(base_node, "base_level", base);
    if (!base.empty()) {
      std::optional<core::LevelIndex> idx = cfg.levels.find(base);
      if (!idx) {
        if (cfg.levels.size() > 0) {
          r.error(base_node, "base_level", "unknown level " + in_quotes(base));
        }
      } else if (cfg.levels.at(*idx).elevation) {
        r.error(base_node, "base_level",
                "level " + in_quotes(base) +
                    " has an elevation; the base level is held for the whole session");
      } else {
        cfg.base_level = cfg.levels.at(*idx).name;
      }
    }
  } else if (cfg.levels.size() > 0) {
    cfg.base_level = cfg.levels.at(0).name;
  }

  // Once levels and base_level are final; rules only name levels by index.
  apply_recovery_reach(r, reach, cfg);

  std::vector<core::RuleSpec> rules;
  if (rules_node.IsDefined() && !rules_node.IsNull()) {
    if (!rules_node.IsSequence()) {
      r.error(rules_node, "rules", "expected a list of rules, got " + describe(rules_node));
    } else {
      for (size_t i = 0; i < rules_node.size(); ++i) {
        core::RuleSpec spec;
        if (read_rule(r, rules_node[i], "rules[" + std::to_string(i) + "]", false, cfg.levels,
                      spec)) {
          rules.push_back(std::move(spec));
        }
      }
    }
  }
  core::RuleSpec default_rule;
  default_rule.effect = core::RuleEffect::kDeny;  // fail closed when absent
  if (default_node.IsDefined() && !default_node.IsNull()) {
    read_rule(r, default_node, "default", true, cfg.levels, default_rule);
  }

  if (cfg.tokens.issuer.empty()) cfg.tokens.issuer = cfg.server.public_url;
  cfg.storage.path = resolve_storage_path(cfg.storage.path, source_name);
  cfg.secrets.key_file = resolve_path(cfg.secrets.key_file, source_name);
  for (std::string& f : cfg.secrets.old_key_files) f = resolve_path(f, source_name);

  if (r.failed()) r.throw_all();
  try {
    cfg.policy =
        core::Policy(cfg.levels, std::move(rules), std::move(default_rule), cfg.upstream);
  } catch (const std::invalid_argument& e) {
    // Every rule problem should have been caught above with its own line;
    // this is the safety net so a gap there still fails loudly.
    r.error(line_of(rules_node), e.what());
    r.throw_all();
  }
  return cfg;
}

}  // namespace

std::optional<Seconds> parse_duration(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  Seconds value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return std::nullopt;  // overflow
  std::string_view unit(p, static_cast<size_t>(text.data() + text.size() - p));
  Seconds scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "d") {
    scale = 86400;
  } else {
    return std::nullopt;
  }
  Seconds out = 0;
  if (__builtin_mul_overflow(value, scale, &out)) return std::nullopt;
  return out;
}

Config parse_config(const std::string& yaml_text, const std::string& source_name) {
  Reader r(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    r.error(e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax error: " + e.msg);
    r.throw_all();
  }
  try {
    return parse_root(r, root, source_name);
  } catch (const YAML::Exception& e) {
    // yaml-cpp can still throw on odd documents (e.g. bad aliases); keep the
    // one-report promise.
    r.error(e.mark.is_null() ? 0 : e.mark.line + 1, e.msg);
    r.throw_all();
  }
}

Config load_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path + ": is a directory, not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the config file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the config file");
  return parse_config(text.str(), path);
}

}  // namespace stepup::config
