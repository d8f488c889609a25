// Tests for Cookie header parsing and Set-Cookie rendering (RFC 6265).
#include "http/cookie.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace stepup::http {
namespace {

struct FindCase {
  std::string_view header;
  std::string_view name;
  std::optional<std::string_view> want;
};

class FindCookieTest : public ::testing::TestWithParam<FindCase> {};

TEST_P(FindCookieTest, Table) {
  const FindCase& c = GetParam();
  EXPECT_EQ(find_cookie(c.header, c.name), c.want)
      << "header: [" << c.header << "] name: " << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc6265, FindCookieTest,
    ::testing::Values(
        // RFC 6265 §5.4 serialisation: "a=b; c=d".
        FindCase{"a=b; c=d", "a", "b"}, FindCase{"a=b; c=d", "c", "d"},
        FindCase{"a=b; c=d", "e", std::nullopt}, FindCase{"", "a", std::nullopt},
        FindCase{"a=b", "a", "b"},
        // Tolerant of missing and extra whitespace.
        FindCase{"a=b;c=d", "c", "d"}, FindCase{"  a = b ;   c =  d  ", "a", "b"},
        FindCase{"  a = b ;   c =  d  ", "c", "d"}, FindCase{"a=b;\tc=d", "c", "d"},
        // First occurrence wins (§5.4: more specific paths come first).
        FindCase{"sid=first; sid=second", "sid", "first"},
        // Names are case-sensitive and must match whole.
        FindCase{"SID=x; sid=y", "sid", "y"}, FindCase{"xsid=1; sidx=2", "sid", std::nullopt},
        // Empty values are values.
        FindCase{"a=; b=2", "a", ""},
        // '=' inside a value belongs to the value (§5.2: split at the first '=').
        FindCase{"tok=abc==; x=1", "tok", "abc=="},
        // Quoted values are unquoted.
        FindCase{"a=\"quoted value\"; b=2", "a", "quoted value"}, FindCase{"a=\"\"", "a", ""},
        FindCase{"a=\"unterminated", "a", "\"unterminated"},
        // Pairs without '=' are ignored, empty pairs are skipped.
        FindCase{"flag; a=1", "a", "1"}, FindCase{"flag", "flag", std::nullopt},
        FindCase{";; a=1 ;;", "a", "1"},
        // Control characters are rejected, in the value or the name asked for.
        FindCase{"a=b\x01"
                 "c",
                 "a", std::nullopt},
        FindCase{"a=b\x7f", "a", std::nullopt}, FindCase{"a=bad\x01; a=good", "a", std::nullopt},
        FindCase{"a=1", "", std::nullopt}, FindCase{"a\x01=1", "a\x01", std::nullopt}));

TEST(FindCookieTest, ReturnsViewIntoHeader) {
  const std::string header = "x=1; stepup_session=abc123; y=2";
  auto v = find_cookie(header, "stepup_session");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "abc123");
  EXPECT_GE(v->data(), header.data());
  EXPECT_LE(v->data() + v->size(), header.data() + header.size());
}

TEST(RenderCookieTest, Defaults) {
  SetCookie c;
  c.name = "stepup_session";
  c.value = "abc";
  EXPECT_EQ(render(c), "stepup_session=abc; Path=/; HttpOnly; SameSite=Lax");
}

TEST(RenderCookieTest, AllAttributes) {
  SetCookie c;
  c.name = "__Host-sid";
  c.value = "v-1.2_3";
  c.path = "/api";
  c.max_age = 3600;
  c.secure = true;
  c.same_site = "Strict";
  EXPECT_EQ(render(c),
            "__Host-sid=v-1.2_3; Path=/api; Max-Age=3600; HttpOnly; Secure; SameSite=Strict");
}

TEST(RenderCookieTest, OptionalAttributesCanBeOmitted) {
  SetCookie c;
  c.name = "a";
  c.value = "";
  c.path = "";
  c.http_only = false;
  c.same_site = "";
  EXPECT_EQ(render(c), "a=");
}

TEST(RenderCookieTest, NegativeMaxAgeRendersAsZero) {
  SetCookie c;
  c.name = "a";
  c.value = "b";
  c.max_age = -5;
  EXPECT_EQ(render(c), "a=b; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
}

TEST(RenderCookieTest, RejectsBadNamesValuesAndAttributes) {
  auto with = [](auto change) {
    SetCookie c;
    c.name = "a";
    c.value = "b";
    change(c);
    return c;
  };
  // Bad name, path or SameSite: nothing renders, not even a deletion.
  const SetCookie bad_attributes[] = {
      with([](SetCookie& c) { c.name = ""; }),
      with([](SetCookie& c) { c.name = "a b"; }),
      with([](SetCookie& c) { c.name = "a=b"; }),
      with([](SetCookie& c) { c.name = "a;b"; }),
      with([](SetCookie& c) { c.name = "a\x01"; }),
      with([](SetCookie& c) { c.path = "/a;Secure"; }),
      with([](SetCookie& c) { c.path = "/a\n"; }),
      with([](SetCookie& c) { c.same_site = "lax; x"; }),
      with([](SetCookie& c) { c.same_site = "Sometimes"; }),
  };
  for (const auto& c : bad_attributes) {
    EXPECT_FALSE(is_valid(c)) << c.name << " path=" << c.path << " same_site=" << c.same_site;
    EXPECT_EQ(render(c), "") << c.name;
    EXPECT_EQ(render_deletion(c), "") << c.name;
  }
  // Bad value: no cookie, but deleting the name is still fine.
  const SetCookie bad_values[] = {
      with([](SetCookie& c) { c.value = "b; Domain=evil.example"; }),
      with([](SetCookie& c) { c.value = "b\r\nSet-Cookie: x=y"; }),
      with([](SetCookie& c) { c.value = "two words"; }),
      with([](SetCookie& c) { c.value = "a,b"; }),
      with([](SetCookie& c) { c.value = "back\\slash"; }),
      with([](SetCookie& c) { c.value = "\"quoted\""; }),
      with([](SetCookie& c) { c.value = "\x7f"; }),
  };
  for (const auto& c : bad_values) {
    EXPECT_FALSE(is_valid(c)) << c.value;
    EXPECT_EQ(render(c), "") << c.value;
    EXPECT_NE(render_deletion(c), "") << c.value;
  }
  EXPECT_TRUE(is_valid(with([](SetCookie&) {})));
}

TEST(RenderCookieTest, DeletionCookie) {
  SetCookie c;
  c.name = "stepup_session";
  c.value = "still-here";
  c.max_age = 600;
  c.secure = true;
  EXPECT_EQ(render_deletion(c),
            "stepup_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; "
            "Secure; "
            "SameSite=Lax");
  // A bad value does not matter for deletion, a bad name does.
  c.value = "bad value";
  EXPECT_NE(render_deletion(c), "");
  c.name = "bad name";
  EXPECT_EQ(render_deletion(c), "");
}

TEST(RenderCookieTest, RoundTripsThroughFindCookie) {
  SetCookie c;
  c.name = "sid";
  c.value = "Zm9vYmFy-_.~";
  const std::string set = render(c);
  const std::string name_value = set.substr(0, set.find(';'));
  const std::string header = "other=1; " + name_value;
  EXPECT_EQ(find_cookie(header, "sid"), std::optional<std::string_view>("Zm9vYmFy-_.~"));
}

}  // namespace
}  // namespace stepup::http
