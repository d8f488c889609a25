// Reading requests and writing responses for the API handlers: JSON bodies
// with limits, the contract's error JSON, credentials, client facts.
// Pure functions of a request; no sockets. Thread-safe.
#pragma once
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "http/server.h"
#include "service/error.h"
#include "service/sessions.h"

namespace stepup::http {

// A response mirroring the request's version and keep-alive.
Response make_response(const Request& req, bhttp::status status);
Response json_response(const Request& req, bhttp::status status, std::string body);
Response error_response(const Request& req, int status, std::string_view code,
                        std::string_view description);
Response error_response(const Request& req, const service::Error& e);
// 200/401/403 with Content-Length: 0 (nginx keeps upstream keep-alive).
Response empty_response(const Request& req, bhttp::status status);

// The request body as a JSON object. Checks Content-Type (415), UTF-8 and
// syntax (400), nesting depth (400). The error is a ready response.
tl::expected<boost::json::object, Response> read_json_object(const Request& req);

// Field readers with precise 400 messages. `max_len` in bytes.
tl::expected<std::string, Response> require_string(const Request& req, const boost::json::object& o,
                                                   std::string_view key, std::size_t max_len);
tl::expected<std::optional<std::string>, Response> optional_string(const Request& req,
                                                                   const boost::json::object& o,
                                                                   std::string_view key,
                                                                   std::size_t max_len);

std::string_view header(const Request& req, std::string_view name);
std::string_view bearer_token(const Request& req);  // empty when absent
std::string_view path_of(std::string_view target);  // strips ?query
service::ClientInfo client_info(const Request& req, const ConnectionInfo& conn,
                                bool trust_forwarded_for);
bool wants_html(const Request& req);  // a browser navigation, not an API call

// URL helpers
std::string url_encode(std::string_view s);
std::optional<std::string> url_decode(std::string_view s, bool plus_is_space);
// Value of `key` in an application/x-www-form-urlencoded body.
std::optional<std::string> form_value(std::string_view body, std::string_view key);
// scheme://host[:port] of an absolute URL ("" if not absolute http(s)).
std::string origin_of(std::string_view url);

boost::json::object session_view_json(const service::SessionView& v);

}  // namespace stepup::http
