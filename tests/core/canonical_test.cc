// Canonical request: the table of the issue's bypasses and their variants, a
// property test (fixed point, and agreement with a decode-then-resolve
// upstream and with Boost.URL's normalize()) over generated paths.
#include "core/canonical.h"

#include <gtest/gtest.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <random>
#include <string>
#include <vector>

namespace stepup::core {
namespace {

struct Row {
  const char* target;
  const char* want;  // canonical path, or nullptr when refused
  Refusal why = Refusal::kEmpty;
};

std::string show(const tl::expected<std::string, Refusal>& r) {
  return r ? *r : "refused:" + std::string(to_string(r.error()));
}

class CanonicalTable : public ::testing::TestWithParam<Row> {};

TEST_P(CanonicalTable, Path) {
  const Row& row = GetParam();
  const auto got = canonical_path(row.target, "bank.example:8080");
  if (row.want) {
    EXPECT_EQ(show(got), row.want) << row.target;
  } else {
    ASSERT_FALSE(got) << row.target << " gave " << show(got);
    EXPECT_EQ(to_string(got.error()), to_string(row.why)) << row.target;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rows, CanonicalTable,
    ::testing::Values(
        // Plain paths stay as they are; the query is dropped.
        Row{"/", "/"}, Row{"/admin", "/admin"}, Row{"/admin/", "/admin/"},
        Row{"/accounts?id=1&x=/../admin", "/accounts"}, Row{"/a/b.c/d~e_f-g", "/a/b.c/d~e_f-g"},
        Row{"/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="},
        // Sub-delims, ':' and '@' are decoded: servers that decode serve
        // /odata/%24batch as /odata/$batch.
        Row{"/odata/%24batch", "/odata/$batch"}, Row{"/v1/users%3adelete", "/v1/users:delete"},
        Row{"/%21%26%27%28%29%2a%2B%2c%3D%40", "/!&'()*+,=@"},
        // The issue's bypasses resolve to the path the upstream serves.
        Row{"/x/../admin", "/admin"}, Row{"/public/../admin", "/admin"},
        Row{"/./admin", "/admin"}, Row{"/x/%2e%2e/admin", "/admin"},
        Row{"/.%2e/admin", nullptr, Refusal::kAboveRoot}, Row{"//admin", nullptr, Refusal::kNetworkPath},
        Row{"//x/admin", nullptr, Refusal::kNetworkPath},
        Row{"http://bank.example:8080//x/admin", nullptr, Refusal::kNetworkPath},
        Row{"/%61dmin", "/admin"}, Row{"/x/%2E%2E/admin", "/admin"},
        Row{"/x/.%2E/admin", "/admin"}, Row{"/x/%2e./admin", "/admin"},
        Row{"/admin/.", "/admin/"}, Row{"/admin/./users", "/admin/users"},
        Row{"/admin/users/..", "/admin/"}, Row{"/a/b/../../admin", "/admin"},
        Row{"/admin///users//", "/admin/users/"}, Row{"/%7Euser", "/~user"},
        Row{"/%41%42%43", "/ABC"}, Row{"/a%3ab", "/a:b"}, Row{"/a%3fb", "/a%3Fb"}, Row{"/a%20b", "/a%20b"},
        Row{"/caf%C3%A9", "/caf%C3%A9"}, Row{"/%F0%9F%98%80", "/%F0%9F%98%80"},
        Row{"/a/..", "/"}, Row{"/.", "/"}, Row{"/a/./", "/a/"},
        // Refused: no single meaning across upstreams.
        Row{"/admin%2fusers", nullptr, Refusal::kEncodedSlash},
        Row{"/admin%2Fusers", nullptr, Refusal::kEncodedSlash},
        Row{"/admin\\users", nullptr, Refusal::kBackslash},
        Row{"/admin%5cusers", nullptr, Refusal::kBackslash},
        Row{"/admin%00", nullptr, Refusal::kControl}, Row{"/admin%0a", nullptr, Refusal::kControl},
        Row{"/admin%7f", nullptr, Refusal::kControl}, Row{"/ad\tmin", nullptr, Refusal::kControl},
        Row{"/ad min", nullptr, Refusal::kControl}, Row{"/admin%", nullptr, Refusal::kBadPercent},
        Row{"/admin%2", nullptr, Refusal::kBadPercent},
        Row{"/admin%zz", nullptr, Refusal::kBadPercent},
        Row{"/%252e%252e/admin", nullptr, Refusal::kDoubleEncoding},
        Row{"/%25%32%65", nullptr, Refusal::kDoubleEncoding},
        Row{"/admin;x=1", nullptr, Refusal::kSemicolon},
        Row{"/..;/admin", nullptr, Refusal::kSemicolon},
        Row{"/admin%3bx", nullptr, Refusal::kSemicolon},
        Row{"/%c0%ae%c0%ae/admin", nullptr, Refusal::kBadUtf8},
        Row{"/%e0%80%ae", nullptr, Refusal::kBadUtf8}, Row{"/%ed%a0%80", nullptr, Refusal::kBadUtf8},
        Row{"/%c3", nullptr, Refusal::kBadUtf8}, Row{"/%c3a", nullptr, Refusal::kBadUtf8},
        Row{"/caf\xc3\xa9", nullptr, Refusal::kNonAscii},
        Row{"/a#b", nullptr, Refusal::kBadCharacter}, Row{"/a<b", nullptr, Refusal::kBadCharacter},
        Row{"/a\"b", nullptr, Refusal::kBadCharacter}, Row{"/..", nullptr, Refusal::kAboveRoot},
        Row{"/a/../..", nullptr, Refusal::kAboveRoot},
        // "/admin//../users": nginx and Go merge slashes first (/users);
        // RFC 3986 and WHATWG URL drop only the empty segment (/admin/users).
        Row{"/admin//../users", nullptr, Refusal::kEmptyDotDot},
        Row{"/admin//./../users", nullptr, Refusal::kEmptyDotDot},
        Row{"/admin//%2e%2e/users", nullptr, Refusal::kEmptyDotDot},
        Row{"/a//b/../../c", nullptr, Refusal::kEmptyDotDot},
        Row{"/a//b/../c", "/a/c"}, Row{"/a//./b", "/a/b"}, Row{"/admin//", "/admin/"},
        Row{"/%2e%2e/admin", nullptr, Refusal::kAboveRoot},
        Row{"admin", nullptr, Refusal::kNotOriginForm}, Row{"*", nullptr, Refusal::kNotOriginForm},
        Row{"", nullptr, Refusal::kEmpty},
        // Absolute form: the path of the forwarded host only.
        Row{"http://bank.example:8080/x/../admin?q", "/admin"},
        Row{"HTTP://BANK.example:8080", "/"},
        Row{"http://other.example/admin", nullptr, Refusal::kHostMismatch},
        Row{"http://bank.example/admin", nullptr, Refusal::kHostMismatch},
        Row{"http://user@bank.example:8080/admin", nullptr, Refusal::kBadAbsoluteForm},
        Row{"ftp://bank.example:8080/admin", nullptr, Refusal::kBadAbsoluteForm},
        Row{"http:/admin", nullptr, Refusal::kBadAbsoluteForm}));

TEST(Canonical, AbsoluteFormDefaultPort) {
  EXPECT_EQ(show(canonical_path("http://bank.example:80/a", "bank.example")), "/a");
  EXPECT_EQ(show(canonical_path("https://bank.example/a", "bank.example:443")), "/a");
  EXPECT_FALSE(canonical_path("https://bank.example:80/a", "bank.example"));
  EXPECT_FALSE(canonical_path("http://bank.example/a", ""));
}

TEST(Canonical, LiteralReadingKeepsDotSegments) {
  std::string lit;
  EXPECT_EQ(*canonical_path("/admin/..", "", &lit), "/");
  EXPECT_EQ(lit, "/admin/..");
  EXPECT_EQ(*canonical_path("/x/%2e%2e/%61dmin//users/", "", &lit), "/admin/users/");
  EXPECT_EQ(lit, "/x/../admin/users/");
  EXPECT_EQ(*canonical_path("/transfer/.", "", &lit), "/transfer/");
  EXPECT_EQ(lit, "/transfer/.");
  EXPECT_EQ(*canonical_path("/a/b?x=/..", "", &lit), "/a/b");
  EXPECT_EQ(lit, "") << "no dot segment: no second reading";
  EXPECT_EQ(*canonical_path("/a.b/..c", "", &lit), "/a.b/..c");
  EXPECT_EQ(lit, "");
}

TEST(Canonical, TooLong) {
  std::string p = "/" + std::string(kMaxTarget, 'a');
  ASSERT_FALSE(canonical_path(p, ""));
  EXPECT_EQ(canonical_path(p, "").error(), Refusal::kTooLong);
}

TEST(Canonical, Host) {
  EXPECT_EQ(*canonical_host("Bank.Example.:8080"), "bank.example:8080");
  EXPECT_EQ(*canonical_host("[::1]:443"), "[::1]:443");
  EXPECT_EQ(*canonical_host("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(*canonical_host(""), "");
  for (const char* bad : {"a.com, b.com", "a.com b", "user@a.com", "a.com:", "a.com:123456",
                          "a.com:8x", "[::1", "[zz]", ".a.com", "a..com", "a.com/x", "a\\b", "ai..",
                          "."}) {
    EXPECT_FALSE(canonical_host(bad)) << bad;
  }
}

TEST(Canonical, Method) {
  EXPECT_EQ(canonical_method("get").error(), Refusal::kBadMethod);  // case-sensitive
  EXPECT_EQ(canonical_method("Get").error(), Refusal::kBadMethod);
  EXPECT_EQ(*canonical_method("GET"), "GET");
  EXPECT_EQ(*canonical_method("PROPFIND"), "PROPFIND");
  EXPECT_EQ(canonical_method("").error(), Refusal::kEmpty);
  EXPECT_EQ(canonical_method("GE T").error(), Refusal::kBadMethod);
  EXPECT_EQ(canonical_method("GET\r\n").error(), Refusal::kBadMethod);
}

TEST(Canonical, EveryRefusalHasWords) {
  for (std::size_t i = 0; i < kRefusalCount; ++i) {
    const auto r = static_cast<Refusal>(i);
    EXPECT_NE(to_string(r), "unknown");
    EXPECT_NE(describe(r), "Refused");
  }
}

// ---- properties over generated paths --------------------------------------

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// An upstream that decodes everything once, then merges slashes and resolves
// dot segments (what nginx does for $uri and many frameworks for routing).
std::string decode_all(std::string_view p);

std::optional<std::string> upstream_view(std::string_view p) {
  const std::string d = decode_all(p);
  std::vector<std::string> segs;
  std::size_t pos = 1;
  bool trailing = false;
  while (pos <= d.size()) {
    std::size_t end = d.find('/', pos);
    if (end == std::string::npos) end = d.size();
    std::string s = d.substr(pos, end - pos);
    if (s.empty() || s == ".") {
      trailing = true;
    } else if (s == "..") {
      if (segs.empty()) return std::nullopt;
      segs.pop_back();
      trailing = true;
    } else {
      segs.push_back(s);
      trailing = false;
    }
    pos = end + 1;
  }
  std::string out;
  for (const auto& s : segs) out += "/" + s;
  if (out.empty()) return "/";
  if (trailing) out += "/";
  return out;
}

std::string decode_all(std::string_view p) {
  std::string d;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%' && i + 2 < p.size()) {
      d += static_cast<char>(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
      i += 2;
    } else {
      d += p[i];
    }
  }
  return d;
}

std::string random_path(std::mt19937& rng) {
  static const std::vector<std::string> kParts = {
      "/", "/", "/", ".", "..", "%2e", "%2E", "a", "A", "admin", "x", "%61", "%41", "%2f",
      "%5c", "\\", ";", "%3b", "%00", "%25", "%32", "%65", "%c0", "%ae", "%c3%a9", "%zz", "%",
      "~", "%7e", "-", "_", "%20", " ", "?", "#", ":", "@", "!", "*", "%3A", "\x80", "b"};
  std::uniform_int_distribution<std::size_t> pick(0, kParts.size() - 1);
  std::uniform_int_distribution<int> len(0, 12);
  std::string p = "/";
  for (int i = len(rng); i > 0; --i) p += kParts[pick(rng)];
  return p;
}

TEST(CanonicalProperty, FixedPointAndUpstreamAgreement) {
  std::mt19937 rng(20261204);
  int accepted = 0, refused = 0, judged_by_boost = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string p = random_path(rng);
    const auto c = canonical_path(p, "");
    if (!c) {
      ++refused;
      continue;
    }
    ++accepted;
    // A fixed point.
    const auto again = canonical_path(*c, "");
    ASSERT_TRUE(again) << p << " -> " << *c;
    ASSERT_EQ(*again, *c) << p;
    // Its shape: starts with '/', no empty, '.' or '..' segment, no %2F/%5C.
    ASSERT_EQ(c->front(), '/');
    ASSERT_EQ(c->find("//"), std::string::npos) << p;
    ASSERT_EQ(c->find("/./"), std::string::npos) << p;
    ASSERT_EQ(c->find("/../"), std::string::npos) << p;
    // An upstream that decodes once and resolves dots serves exactly the
    // decoded canonical path (the query is cut first, as upstreams do).
    const std::string before_query = p.substr(0, p.find('?'));
    const auto up = upstream_view(before_query);
    ASSERT_TRUE(up) << p;
    ASSERT_EQ(*up, decode_all(*c)) << p;
    // Boost.URL's normalize() resolves dot segments without merging
    // slashes first (RFC 3986 5.2.4, like WHATWG URL) and decodes what needs
    // no encoding (for Boost that includes sub-delims, ':' and '@'). Once its
    // empty segments are dropped it must name the same resource: an input
    // where the two resolutions differ is one we must have refused.
    auto u = boost::urls::parse_origin_form(before_query);
    if (u) {
      boost::urls::url url(*u);
      url.normalize_path();
      std::string b(url.encoded_path());
      // (Boost keeps a leading "/." before an empty segment so that the
      // path cannot be read as an authority; such outputs are skipped.)
      if (b.find("..") == std::string::npos && b.find("/./") == std::string::npos) {
        std::string merged;
        for (char ch : b) {
          if (ch == '/' && !merged.empty() && merged.back() == '/') continue;
          merged += ch;
        }
        if (merged.empty()) merged = "/";
        ++judged_by_boost;
        ASSERT_EQ(decode_all(merged), decode_all(*c)) << p << " boost: " << b;
      }
    }
  }
  // The generator must exercise both outcomes and the Boost judge.
  EXPECT_GT(accepted, 10000);
  EXPECT_GT(refused, 10000);
  EXPECT_GT(judged_by_boost, 5000);
}

}  // namespace
}  // namespace stepup::core
