// HTTP/1.1 server core: accepts connections, parses requests with hard limits,
// hands each complete request to a Handler and writes the Response it produces.
//
// Model: one io_context per I/O thread, each with its own acceptor bound to the
// same address with SO_REUSEPORT, so I/O threads share no lock on the hot path.
// A connection lives on one I/O thread for its whole life; its requests are
// handled strictly in order (the next request is read only after the previous
// response was written).
//
// The Handler runs on the connection's I/O thread. It must not block: slow work
// (password hashing, store round trips) goes to another thread, which later calls
// the Responder exactly once. The Responder is safe to call from any thread and
// after the client went away (the response is then dropped).
//
// Errors produced by the server itself (parse errors, limits, handler throwing)
// use the contract's JSON error body, see json_error_body().
//
// Thread-safety: start(), wait() and run_until_signal() are called from one
// controlling thread; stop(), port(), requests_total() and connections_open() may
// be called from any thread. Do not call wait() from a Handler (it would join the
// thread it runs on).
//
// Beast/Asio stay inside src/http/; this header only pulls in the message types.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace stepup::http {

namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Who is on the other end of the connection (the TCP peer, not X-Forwarded-For).
struct ConnectionInfo {
  std::string remote_ip;  // IPv4-mapped IPv6 addresses are shown as plain IPv4
  std::uint16_t remote_port = 0;
};

// Delivers the response for one request. Must be called exactly once, from any
// thread (e.g. a password-hashing worker). Calls after the first are ignored.
using Responder = std::function<void(Response&&)>;

// Called on an I/O thread for each complete request. May respond inline (call
// `respond` before returning) or later from any thread. `req` stays valid until
// the response has been delivered. Exceptions thrown here become a 500
// `internal_error` (if the Responder was not called yet) and are logged.
using Handler = std::function<void(Request& req, const ConnectionInfo& conn, Responder respond)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port", "[::1]:port"; port 0 = pick a free one
  int io_threads = 0;                     // 0 = std::thread::hardware_concurrency()
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds read_timeout{10};  // from first byte of a request to its last byte
  std::chrono::seconds idle_timeout{60};  // keep-alive wait for the next request
  std::chrono::seconds drain_timeout{10};
  std::chrono::seconds write_timeout{10};  // writing one response (a client that stops reading)
};

class Server {
 public:
  Server(ServerOptions opts, Handler handler);
  ~Server();  // stop() + wait()

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the I/O threads. Throws std::runtime_error("cannot listen on
  // <listen>: <reason>") when the address is invalid or cannot be bound, and
  // std::logic_error when called twice.
  void start();
  // The bound port (useful with port 0); 0 before start().
  std::uint16_t port() const;
  // Any thread, idempotent: stop accepting, let in-flight requests finish (up to
  // drain_timeout), close idle keep-alive connections. Returns immediately.
  void stop();
  // Blocks until stopped and all I/O threads are joined.
  void wait();
  // start() if needed, block until SIGINT/SIGTERM (or stop() from elsewhere),
  // then stop() + wait().
  void run_until_signal();

  // Counters for /metrics.
  std::uint64_t requests_total() const;    // requests answered (including 4xx from the parser)
  std::uint64_t connections_open() const;  // connections currently open

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The contract's error body: {"error":"<code>","error_description":"<text>"},
// properly JSON-escaped (invalid UTF-8 becomes U+FFFD).
std::string json_error_body(std::string_view code, std::string_view description);

}  // namespace stepup::http
