// Tests for the hosted pages (src/http/pages.cc) and the embedded web/ files:
// routes, content types, the security headers (CSP, anti-framing), HEAD and
// ETag revalidation, and static checks on the HTML itself: no inline script
// or style (the CSP would block them, so they would be silent bugs), no
// external URLs, every referenced asset embedded, every input labelled, and
// the element ids the browser tests and docs/hosted-pages.md rely on.
#include "http/pages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace stepup::http {
namespace {

constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

Request make_request(bhttp::verb method, std::string target) {
  Request req{method, target, 11};
  req.set(bhttp::field::host, "localhost");
  return req;
}

std::string field(const Response& res, std::string_view name) {
  auto it = res.find(name);
  return it == res.end() ? std::string() : std::string(it->value());
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void expect_security_headers(const Response& res, const std::string& what) {
  EXPECT_EQ(field(res, "Content-Security-Policy"), kCsp) << what;
  EXPECT_EQ(field(res, "X-Frame-Options"), "DENY") << what;
  EXPECT_EQ(field(res, "X-Content-Type-Options"), "nosniff") << what;
  EXPECT_EQ(field(res, "Referrer-Policy"), "no-referrer") << what;
}

std::string_view asset(std::string_view path) {
  for (const auto& a : embedded_assets()) {
    if (a.path == path) return a.data;
  }
  return {};
}

std::vector<std::string> html_pages() {
  std::vector<std::string> out;
  for (const auto& a : embedded_assets()) {
    if (a.path.ends_with(".html")) out.emplace_back(a.path);
  }
  return out;
}

// All start tags named `tag` (lower-cased text from "<tag" to ">").
std::vector<std::string> tags(std::string_view html, const std::string& tag) {
  std::vector<std::string> out;
  const std::string doc = lower(std::string(html));
  const std::regex re("<" + tag + "(\\s[^>]*)?>");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back(it->str());
  }
  return out;
}

std::string attr(const std::string& tag, const std::string& name) {
  const std::regex re("\\s" + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(tag, m, re) ? m[1].str() : std::string();
}

// ---- routes ---------------------------------------------------------------

struct RouteCase {
  const char* target;
  const char* content_type;
  bool page;
};

class PagesRoute : public ::testing::TestWithParam<RouteCase> {};

TEST_P(PagesRoute, AnswersWithTypeAndSecurityHeaders) {
  const auto& c = GetParam();
  auto res = hosted_page(make_request(bhttp::verb::get, c.target));
  ASSERT_TRUE(res.has_value()) << c.target;
  EXPECT_EQ(res->result(), bhttp::status::ok) << c.target;
  EXPECT_EQ(field(*res, "Content-Type"), c.content_type) << c.target;
  expect_security_headers(*res, c.target);
  EXPECT_FALSE(res->body().empty()) << c.target;
  EXPECT_EQ(field(*res, "Content-Length"), std::to_string(res->body().size())) << c.target;
  if (c.page) {
    EXPECT_EQ(field(*res, "Cache-Control"), "no-store") << c.target;
    EXPECT_TRUE(lower(res->body()).starts_with("<!doctype html>")) << c.target;
  } else {
    EXPECT_FALSE(field(*res, "ETag").empty()) << c.target;
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, PagesRoute,
    ::testing::Values(RouteCase{"/login", "text/html; charset=utf-8", true},
                      RouteCase{"/login?return_to=%2Faccount", "text/html; charset=utf-8", true},
                      RouteCase{"/step-up", "text/html; charset=utf-8", true},
                      RouteCase{"/step-up?acr=aal2&max_age=300&return_to=%2Ftransfer&reason=x",
                                "text/html; charset=utf-8", true},
                      RouteCase{"/account", "text/html; charset=utf-8", true},
                      RouteCase{"/stepup.js", "text/javascript; charset=utf-8", false},
                      RouteCase{"/assets/style.css", "text/css; charset=utf-8", false},
                      RouteCase{"/assets/stepup-modal.css", "text/css; charset=utf-8", false},
                      RouteCase{"/assets/common.js", "text/javascript; charset=utf-8", false},
                      RouteCase{"/assets/login.js", "text/javascript; charset=utf-8", false},
                      RouteCase{"/assets/step-up.js", "text/javascript; charset=utf-8", false},
                      RouteCase{"/assets/account.js", "text/javascript; charset=utf-8", false},
                      RouteCase{"/assets/webauthn.js", "text/javascript; charset=utf-8", false},
                      RouteCase{"/assets/logo.svg", "image/svg+xml", false}));

TEST(Pages, EveryEmbeddedFileIsServedWithItsBytes) {
  ASSERT_GE(embedded_assets().size(), 10u);
  for (const auto& a : embedded_assets()) {
    std::string route = "/" + std::string(a.path);
    if (a.path.find('/') == std::string_view::npos && a.path.ends_with(".html")) {
      route.resize(route.size() - 5);
    }
    auto res = hosted_page(make_request(bhttp::verb::get, route));
    ASSERT_TRUE(res.has_value()) << route;
    EXPECT_EQ(res->body(), a.data) << route;
    expect_security_headers(*res, route);
  }
}

TEST(Pages, UnknownPathsAreNotPages) {
  for (const char* t :
       {"/assets/nope.css", "/assets/", "/assets", "/login/", "/login.html", "/account.html",
        "/step-up.html", "/assets/../login.html", "/%2e%2e/login", "/stepup.js/", "/LOGIN",
        "/api/v1/nothing", "/favicon.ico", "//login", "/assets/style.css/", ""}) {
    EXPECT_FALSE(hosted_page(make_request(bhttp::verb::get, t)).has_value()) << t;
  }
}

TEST(Pages, OnlyGetAndHead) {
  for (auto m : {bhttp::verb::post, bhttp::verb::put, bhttp::verb::delete_, bhttp::verb::options}) {
    EXPECT_FALSE(hosted_page(make_request(m, "/login")).has_value()) << bhttp::to_string(m);
  }
}

TEST(Pages, HeadHasGetHeadersAndNoBody) {
  for (const char* t :
       {"/login", "/step-up?acr=aal2", "/account", "/stepup.js", "/assets/style.css"}) {
    auto get = hosted_page(make_request(bhttp::verb::get, t));
    auto head = hosted_page(make_request(bhttp::verb::head, t));
    ASSERT_TRUE(get && head) << t;
    EXPECT_EQ(head->result(), bhttp::status::ok) << t;
    EXPECT_TRUE(head->body().empty()) << t;
    EXPECT_EQ(field(*head, "Content-Length"), std::to_string(get->body().size())) << t;
    EXPECT_EQ(field(*head, "Content-Type"), field(*get, "Content-Type")) << t;
    EXPECT_EQ(field(*head, "ETag"), field(*get, "ETag")) << t;
    expect_security_headers(*head, t);
  }
}

TEST(Pages, RootRedirectsToAccount) {
  auto res = hosted_page(make_request(bhttp::verb::get, "/"));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result(), bhttp::status::found);
  EXPECT_EQ(field(*res, "Location"), "/account");
  EXPECT_TRUE(res->body().empty());
}

TEST(Pages, KeepAliveAndVersionFollowTheRequest) {
  auto req = make_request(bhttp::verb::get, "/login");
  req.version(10);
  req.keep_alive(false);
  auto res = hosted_page(req);
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->version(), 10u);
  EXPECT_FALSE(res->keep_alive());
}

// ---- ETag revalidation (RFC 9110 13.1.2) -----------------------------------

TEST(Pages, AssetRevalidatesByETag) {
  auto first = hosted_page(make_request(bhttp::verb::get, "/assets/style.css"));
  ASSERT_TRUE(first.has_value());
  const std::string etag = field(*first, "ETag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // "16 hex digits"
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(field(*first, "Cache-Control"), "no-cache");

  for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    auto req = make_request(bhttp::verb::get, "/assets/style.css");
    req.set(bhttp::field::if_none_match, inm);
    auto res = hosted_page(req);
    ASSERT_TRUE(res.has_value()) << inm;
    EXPECT_EQ(res->result(), bhttp::status::not_modified) << inm;
    EXPECT_TRUE(res->body().empty()) << inm;
    EXPECT_EQ(field(*res, "ETag"), etag) << inm;
    expect_security_headers(*res, inm);
  }
  auto req = make_request(bhttp::verb::get, "/assets/style.css");
  req.set(bhttp::field::if_none_match, "\"0000000000000000\"");
  auto res = hosted_page(req);
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result(), bhttp::status::ok);
  EXPECT_FALSE(res->body().empty());
}

TEST(Pages, DifferentAssetsHaveDifferentETags) {
  std::set<std::string> seen;
  for (const char* t :
       {"/stepup.js", "/assets/style.css", "/assets/common.js", "/assets/login.js"}) {
    auto res = hosted_page(make_request(bhttp::verb::get, t));
    ASSERT_TRUE(res.has_value()) << t;
    EXPECT_TRUE(seen.insert(field(*res, "ETag")).second) << t;
  }
}

TEST(Pages, PagesAreNeverCachedNorRevalidated) {
  auto req = make_request(bhttp::verb::get, "/account");
  req.set(bhttp::field::if_none_match, "*");
  auto res = hosted_page(req);
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result(), bhttp::status::ok);
  EXPECT_EQ(field(*res, "Cache-Control"), "no-store");
  EXPECT_TRUE(field(*res, "ETag").empty());
}

// ---- the HTML itself ---------------------------------------------------------

TEST(PagesHtml, ThereAreThreePages) {
  auto pages = html_pages();
  std::sort(pages.begin(), pages.end());
  EXPECT_EQ(pages, (std::vector<std::string>{"account.html", "login.html", "step-up.html"}));
}

TEST(PagesHtml, NoInlineScriptOrStyle) {
  for (const auto& page : html_pages()) {
    const std::string doc = lower(std::string(asset(page)));
    // Every <script> has a src and nothing between its tags.
    const auto scripts = tags(doc, "script");
    EXPECT_FALSE(scripts.empty()) << page;
    for (const auto& s : scripts) EXPECT_FALSE(attr(s, "src").empty()) << page << ": " << s;
    const std::regex body("<script[^>]*>([^<]*)</script>");
    std::size_t closed = 0;
    for (auto it = std::sregex_iterator(doc.begin(), doc.end(), body); it != std::sregex_iterator();
         ++it) {
      ++closed;
      EXPECT_TRUE((*it)[1].str().find_first_not_of(" \t\r\n") == std::string::npos)
          << page << ": inline code in " << it->str();
    }
    EXPECT_EQ(closed, scripts.size()) << page << ": a <script> with content or unclosed";
    EXPECT_EQ(doc.find("<style"), std::string::npos) << page;
    EXPECT_FALSE(std::regex_search(doc, std::regex("\\sstyle\\s*=")))
        << page << ": style attribute";
    EXPECT_FALSE(std::regex_search(doc, std::regex("\\son[a-z]+\\s*=")))
        << page << ": event handler attribute";
    EXPECT_EQ(doc.find("javascript:"), std::string::npos) << page;
  }
}

TEST(PagesHtml, ScanCatchesInlineScript) {
  // The scanner above must be able to fail: feed it the shapes it rejects.
  const std::string bad = "<script>alert(1)</script><script src=\"a.js\"></script>";
  const auto scripts = tags(bad, "script");
  ASSERT_EQ(scripts.size(), 2u);
  EXPECT_TRUE(attr(scripts[0], "src").empty());
  EXPECT_TRUE(std::regex_search(std::string("<a onclick=\"x\">"), std::regex("\\son[a-z]+\\s*=")));
}

TEST(PagesHtml, NoExternalResources) {
  for (const auto& page : html_pages()) {
    const std::string doc = lower(std::string(asset(page)));
    EXPECT_FALSE(std::regex_search(doc, std::regex("(src|href|action)=\"(https?:)?//")))
        << page << ": external URL";
  }
  for (const auto& a : embedded_assets()) {
    if (!a.path.ends_with(".css")) continue;
    EXPECT_EQ(std::string(a.data).find("@import"), std::string::npos) << a.path;
    EXPECT_FALSE(std::regex_search(std::string(a.data), std::regex("url\\(\\s*['\"]?(https?:)?//")))
        << a.path;
  }
}

TEST(PagesHtml, EveryReferencedFileIsServed) {
  for (const auto& page : html_pages()) {
    const std::string doc(asset(page));
    const std::regex ref("\\s(src|href)=\"([^\"#][^\"]*)\"");
    std::size_t n = 0;
    for (auto it = std::sregex_iterator(doc.begin(), doc.end(), ref); it != std::sregex_iterator();
         ++it) {
      std::string target = (*it)[2].str();
      if (target.front() != '/') target = "/" + target;  // pages live at the root
      auto res = hosted_page(make_request(bhttp::verb::get, target));
      ASSERT_TRUE(res.has_value()) << page << " refers to " << target;
      EXPECT_EQ(res->result(), bhttp::status::ok) << page << " refers to " << target;
      ++n;
    }
    EXPECT_GE(n, 3u) << page;
  }
}

TEST(PagesHtml, EveryInputHasALabel) {
  for (const auto& page : html_pages()) {
    const std::string doc = lower(std::string(asset(page)));
    for (const auto& input : tags(doc, "input")) {
      const std::string id = attr(input, "id");
      ASSERT_FALSE(id.empty()) << page << ": " << input;
      EXPECT_NE(doc.find("for=\"" + id + "\""), std::string::npos)
          << page << ": no label for #" << id;
    }
  }
}

TEST(PagesHtml, PagesAreDeclaredAccessible) {
  for (const auto& page : html_pages()) {
    const std::string doc = lower(std::string(asset(page)));
    EXPECT_NE(doc.find("<html lang=\"en\">"), std::string::npos) << page;
    EXPECT_NE(doc.find("name=\"viewport\""), std::string::npos) << page;
    EXPECT_NE(doc.find("<main"), std::string::npos) << page;
    EXPECT_NE(doc.find("<h1"), std::string::npos) << page;
    // The error region is live, so screen readers announce failures.
    bool live_error = false;
    for (const auto& div : tags(doc, "div")) {
      if (attr(div, "id") == "error") {
        live_error = attr(div, "role") == "alert" && attr(div, "aria-live") == "assertive";
      }
    }
    EXPECT_TRUE(live_error) << page;
  }
}

// Element ids the browser tests and docs/hosted-pages.md promise.
TEST(PagesHtml, StableElementIds) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> want = {
      {"login.html",
       {"username", "password", "login-submit", "error", "login-form", "passkey-login"}},
      {"step-up.html",
       {"reason", "level-name", "verify-form", "totp-code", "verify-submit", "use-recovery",
        "use-totp", "recovery-code", "error", "cancel", "use-webauthn"}},
      {"account.html",
       {"sessions-list", "factors-list", "enroll-totp", "totp-qr", "totp-secret", "confirm-code",
        "confirm-submit", "regen-recovery", "recovery-codes-list", "recovery-done", "logout",
        "error", "status", "add-webauthn", "webauthn-name"}},
  };
  for (const auto& [page, ids] : want) {
    const std::string doc(asset(page));
    ASSERT_FALSE(doc.empty()) << page;
    for (const auto& id : ids) {
      EXPECT_NE(doc.find("id=\"" + id + "\""), std::string::npos) << page << " lacks #" << id;
    }
  }
}

// The phishing-resistant method comes first: on /step-up the key button
// precedes the code form; on /account adding a key precedes the app.
TEST(PagesHtml, SecurityKeyComesFirst) {
  const std::string step_up(asset("step-up.html"));
  ASSERT_NE(step_up.find("id=\"use-webauthn\""), std::string::npos);
  EXPECT_LT(step_up.find("id=\"use-webauthn\""), step_up.find("id=\"verify-form\""));
  EXPECT_LT(step_up.find("id=\"use-webauthn\""), step_up.find("id=\"totp-code\""));
  const std::string account(asset("account.html"));
  ASSERT_NE(account.find("id=\"add-webauthn\""), std::string::npos);
  EXPECT_LT(account.find("id=\"add-webauthn\""), account.find("id=\"enroll-totp\""));
  // The buttons are real buttons (keyboard, screen readers).
  for (const auto& [page, id] :
       std::vector<std::pair<std::string, std::string>>{{"step-up.html", "use-webauthn"},
                                                        {"login.html", "passkey-login"},
                                                        {"account.html", "add-webauthn"}}) {
    bool found = false;
    for (const auto& b : tags(asset(page), "button")) found = found || attr(b, "id") == id;
    EXPECT_TRUE(found) << page << " #" << id << " is not a <button>";
  }
  const std::string modal(asset("stepup.js"));
  EXPECT_NE(modal.find("stepup-modal-use-webauthn"), std::string::npos);
  EXPECT_NE(modal.find("form.append(keyBox, totpField"), std::string::npos)
      << "the key before the code";
}

// Every page that runs a ceremony loads the shared WebAuthn helpers before
// its own script (both are deferred, so document order is run order).
TEST(PagesHtml, WebAuthnHelpersLoadBeforeThePageScript) {
  for (const auto& [page, script] :
       std::vector<std::pair<std::string, std::string>>{{"login.html", "assets/login.js"},
                                                        {"step-up.html", "assets/step-up.js"},
                                                        {"account.html", "assets/account.js"}}) {
    std::vector<std::string> order;
    for (const auto& t : tags(asset(page), "script")) order.push_back(attr(t, "src"));
    auto helpers = std::find(order.begin(), order.end(), "assets/webauthn.js");
    auto own = std::find(order.begin(), order.end(), script);
    ASSERT_NE(helpers, order.end()) << page;
    ASSERT_NE(own, order.end()) << page;
    EXPECT_LT(helpers - order.begin(), own - order.begin()) << page;
  }
}

// The base64url the API speaks: no padding, URL alphabet, in both copies of
// the conversion (stepup.js works alone, so it has its own).
TEST(PagesScripts, WebAuthnConversionsUseBase64url) {
  for (const char* path : {"assets/webauthn.js", "stepup.js"}) {
    const std::string js(asset(path));
    ASSERT_FALSE(js.empty()) << path;
    EXPECT_NE(js.find(".replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '')"),
              std::string::npos)
        << path << " does not encode base64url without padding";
    EXPECT_NE(js.find(".replace(/-/g, '+').replace(/_/g, '/')"), std::string::npos)
        << path << " does not decode base64url";
    EXPECT_NE(js.find("navigator.credentials.get"), std::string::npos) << path;
  }
}

TEST(PagesHtml, OneTimeCodeInputsHelpTheKeyboard) {
  for (const auto& [page, id] : std::vector<std::pair<std::string, std::string>>{
           {"step-up.html", "totp-code"}, {"account.html", "confirm-code"}}) {
    const std::string doc = lower(std::string(asset(page)));
    bool found = false;
    for (const auto& input : tags(doc, "input")) {
      if (attr(input, "id") != id) continue;
      found = true;
      EXPECT_EQ(attr(input, "autocomplete"), "one-time-code") << page;
      EXPECT_EQ(attr(input, "inputmode"), "numeric") << page;
      EXPECT_EQ(attr(input, "pattern"), "[0-9]*") << page;
    }
    EXPECT_TRUE(found) << page << " #" << id;
  }
}

TEST(PagesHtml, PasswordFieldIsAPasswordField) {
  const std::string doc = lower(std::string(asset("login.html")));
  bool found = false;
  for (const auto& input : tags(doc, "input")) {
    if (attr(input, "id") != "password") continue;
    found = true;
    EXPECT_EQ(attr(input, "type"), "password");
    EXPECT_EQ(attr(input, "autocomplete"), "current-password");
  }
  EXPECT_TRUE(found);
  // A form submitted without script must not put the password in the URL.
  for (const auto& form : tags(doc, "form")) EXPECT_EQ(attr(form, "method"), "post") << form;
}

TEST(PagesScripts, NoHtmlInjectionSinks) {
  // Server text reaches the page through textContent only.
  for (const auto& a : embedded_assets()) {
    if (!a.path.ends_with(".js")) continue;
    const std::string js(a.data);
    for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                             "eval(", "new Function"}) {
      EXPECT_EQ(js.find(sink), std::string::npos) << a.path << " uses " << sink;
    }
  }
}

}  // namespace
}  // namespace stepup::http
