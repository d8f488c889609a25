// Beast/Asio implementation of the HTTP server core (see server.h).
//
// Shape, and why:
// - A Worker is one I/O thread's world: its io_context, its SO_REUSEPORT acceptor,
//   the list of its live sessions and its counters. Nothing on the request path
//   touches another worker, so I/O threads never contend with each other.
// - Sessions hold a shared_ptr to their Worker, so the io_context their socket
//   belongs to outlives them even when a Responder held by a foreign thread keeps
//   a session alive after the Server object is gone.
// - Responses coming from foreign threads go through the worker's "gate": a
//   mutex-protected flag that is open while the I/O thread still runs. Posting
//   only while the gate is open guarantees that no handler is ever queued into an
//   io_context nobody will run (which would leak the session it holds).
// - Each request is read in two steps: a plain read_some under the idle timeout
//   (waiting for the first byte), then the parser under the read timeout. That is
//   what gives "idle keep-alive wait" and "first byte to last byte" their own clocks.
//   When the first read brought the whole request (the usual case) it is parsed
//   right there, without another trip through the event loop.
// - Timeouts are deadlines stored in each session and checked by one coarse
//   sweep timer per worker (every kSweepEvery), not a timer armed per read and
//   write: a request costs no timer-queue work and no timerfd syscall.
// - Responses are serialized into one per-session buffer and written with one
//   send.
#include "http/server.h"

#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace stepup::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// First read of a request: big enough for a typical request in one syscall.
constexpr std::size_t kFirstReadBytes = 4096;
// After an error response the client may still be sending (e.g. an oversized
// body). Closing with unread data makes the kernel send RST, which can destroy the
// error response before the client reads it, so we read and discard for a while.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerMaxBytes = 1 << 20;
// A response buffer bigger than this is released after the write.
constexpr std::size_t kKeepOutBytes = 64 * 1024;
// Accept can fail transiently (EMFILE, ENFILE); back off instead of spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// How often each worker looks for sessions past their deadline: timeouts fire
// up to this much late.
constexpr auto kSweepEvery = std::chrono::milliseconds(100);
using Clock = std::chrono::steady_clock;

void log_error(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "stepup http: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
}

bool is_http_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

// A Host value is uri-host [":" port] (RFC 9112 §3.2, RFC 3986 §3.2.2): no
// spaces, no userinfo, no path. A comma would be a list of hosts, which no
// single request has.
bool is_host_value(std::string_view v) {
  for (const char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~%!$&'()*+;=:[]").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// RFC 9112 message framing checks Beast leaves to us, on a complete header.
// Returns what is wrong ("" when the header is fine). Every problem is a 400
// and the connection is closed after it: past a framing error we no longer
// know where the next request starts.
//
// Beast itself already refuses Transfer-Encoding after chunked, Content-Length
// after or before chunked, and Content-Length values that differ.
std::string framing_problem(const bhttp::request_header<>& h) {
  const std::size_t te = h.count(bhttp::field::transfer_encoding);
  if (te > 0) {
    // §6.1: only chunked is understood here, and it must be the only coding;
    // any other coding leaves the body length unknown, and Beast would read
    // the body as the next request (request smuggling).
    if (h.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
    if (te > 1) return "Transfer-Encoding sent more than once";
    if (!beast::iequals(h[bhttp::field::transfer_encoding], "chunked")) {
      return "Transfer-Encoding must be exactly \"chunked\"";
    }
    // §6.3: both framings at once is a smuggling attempt or a broken client.
    if (h.count(bhttp::field::content_length) > 0) {
      return "Transfer-Encoding together with Content-Length";
    }
  }
  const std::size_t hosts = h.count(bhttp::field::host);
  if (hosts > 1) return "Host sent more than once";
  if (hosts == 0 && h.version() >= 11) return "HTTP/1.1 request without Host";
  if (hosts == 1 && !is_host_value(h[bhttp::field::host])) return "invalid Host value";
  return {};
}

// Immutable after construction; shared by the server and every worker.
struct Config {
  ServerOptions opts;
  Handler handler;
};

class Session;

// One I/O thread: io_context, acceptor, live sessions, counters.
class Worker : public std::enable_shared_from_this<Worker> {
 public:
  explicit Worker(std::shared_ptr<const Config> cfg)
      : cfg_(std::move(cfg)),
        ioc_(1),
        acceptor_(ioc_),
        drain_timer_(ioc_),
        accept_retry_(ioc_),
        sweep_timer_(ioc_) {}

  const Config& config() const { return *cfg_; }
  asio::io_context& ioc() { return ioc_; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  // Throws boost::system::system_error.
  void bind(const tcp::endpoint& ep) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      throw boost::system::system_error(error_code(errno, boost::system::system_category()),
                                        "SO_REUSEPORT");
    }
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }
  std::uint16_t local_port() const { return acceptor_.local_endpoint().port(); }

  // Thread body.
  void run(int index) {
    char name[16];
    std::snprintf(name, sizeof name, "stepup-io-%d", index);
    ::pthread_setname_np(::pthread_self(), name);
    do_accept();
    arm_sweep();
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        // Our completion handlers catch what they call; this is a last resort so
        // one bad request cannot take the I/O thread down.
        log_error("I/O thread", e.what());
      }
    }
  }

  // Any thread.
  void request_drain() {
    asio::post(ioc_, [self = shared_from_this()] { self->on_drain_begin(); });
  }

  // Any thread: runs `fill` and posts `fn` only while the I/O thread still runs.
  template <class Fill, class Fn>
  bool post_if_open(Fill&& fill, Fn&& fn) {
    std::lock_guard lock(mu_);
    if (!open_) return false;
    fill();
    asio::post(ioc_, std::forward<Fn>(fn));
    return true;
  }

  // I/O thread (link) / any thread (unlink, from ~Session).
  void link(Session* s);
  void unlink(Session* s);

  void count_request() { requests_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  std::uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }

 private:
  void do_accept();
  void on_accept(const error_code& ec, tcp::socket socket);
  void on_drain_begin();
  void finish();
  void arm_sweep();
  bool sweep();  // false once the worker has finished
  std::vector<std::shared_ptr<Session>> live_sessions_locked();

  std::shared_ptr<const Config> cfg_;
  asio::io_context ioc_;  // declared first: destroyed after everything using it
  tcp::acceptor acceptor_;
  asio::steady_timer drain_timer_;
  asio::steady_timer accept_retry_;
  asio::steady_timer sweep_timer_;
  std::atomic<bool> draining_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> connections_{0};

  std::mutex mu_;     // guards open_, sessions_ (the list links)
  bool open_ = true;  // the gate: false once the I/O thread is finishing
  Session* sessions_ = nullptr;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Worker> worker, tcp::socket socket, ConnectionInfo conn)
      : worker_(std::move(worker)), stream_(std::move(socket)), conn_(std::move(conn)) {}
  ~Session() { worker_->unlink(this); }

  void start() { do_idle_read(); }

  // I/O thread: the server started draining.
  void on_drain() {
    // Only a connection waiting for its next request is cut; one reading or
    // handling a request finishes it and closes after the response.
    if (state_ == State::kIdle) close_now();
  }
  // I/O thread: drain timeout reached.
  void force_close() { close_now(); }
  // I/O thread (the sweep): closes the connection if its deadline passed.
  // Pending reads and writes then complete with an error and end the session.
  // A request being handled has no deadline (on_request clears it).
  void check_deadline(Clock::time_point now) {
    if (now >= deadline_) {
      deadline_ = Clock::time_point::max();
      close_now();
    }
  }

  // Intrusive list of the worker's sessions, guarded by Worker::mu_.
  Session* prev_ = nullptr;
  Session* next_ = nullptr;

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosing };

  const ServerOptions& opts() const { return worker_->config().opts; }

  void do_idle_read() {
    if (worker_->draining()) {
      close_now();
      return;
    }
    if (buffer_.size() > 0) {  // pipelined bytes already here
      begin_request();
      return;
    }
    state_ = State::kIdle;
    expires_after(opts().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) {
                                self->close_now();
                                return;
                              }
                              self->begin_request();
                            });
  }

  void begin_request() {
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(opts().max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(opts().max_body_bytes);
    expires_after(opts().read_timeout);
    framing_problem_.clear();
    // Parse what is already buffered; read more only if the header is not
    // complete (usually the first read brought the whole request).
    continue_header();
  }

  // Parses what is buffered and reads more until the header is complete. This
  // is not beast::http::async_read_header because the raw header block must be
  // screened (screen_raw_header) before the parser consumes it.
  void continue_header() {
    error_code ec;
    parse_buffered(ec);
    if (!framing_problem_.empty()) {
      send_error(bhttp::status::bad_request, "invalid_request",
                 std::exchange(framing_problem_, {}));
      return;
    }
    if (ec) {
      on_read_error(ec);
      return;
    }
    if (parser_->is_header_done()) {
      on_header(ec);
      return;
    }
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              self->buffer_.commit(n);
                              // EOF, timeout or reset in the middle of a
                              // header: nobody to answer.
                              if (ec) {
                                self->close_now();
                                return;
                              }
                              self->continue_header();
                            });
  }

  // Feeds the buffered bytes to the parser (as beast::http::read would). Stops
  // with framing_problem_ set when the header breaks RFC 9112 framing rules.
  void parse_buffered(error_code& ec) {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const bool header_was_done = parser_->is_header_done();
      if (!header_was_done && !screen_raw_header()) return;
      const std::size_t n = parser_->put(buffer_.data(), ec);
      buffer_.consume(n);
      if (ec == bhttp::error::need_more) {
        ec = {};
        return;
      }
      if (ec) return;
      if (!header_was_done && parser_->is_header_done()) {
        framing_problem_ = framing_problem(parser_->get());
        if (!framing_problem_.empty()) return;
      }
      if (n == 0) return;
    }
  }

  // Beast joins obs-fold continuation lines into the previous field's value,
  // so a fold is invisible once parsed. RFC 9112 §5.2 lets a server refuse it
  // with 400, and we do: a fold is read differently by different parsers, which
  // is what request smuggling lives on. Beast parses the whole header block in
  // one put() once its end is buffered, so the block is screened here while
  // it is still raw. False (with framing_problem_ set) on a fold.
  bool screen_raw_header() {
    const auto data = buffer_.data();
    const char* p = static_cast<const char*>(data.data());
    // Beyond the header limit the parser reports header_limit by itself.
    const std::size_t n = std::min(data.size(), opts().max_header_bytes + 4);
    const std::string_view block(p, n);
    const std::size_t end = block.find("\r\n\r\n");
    if (end == std::string_view::npos) return true;  // not complete yet
    for (std::size_t at = block.find("\r\n"); at < end; at = block.find("\r\n", at + 2)) {
      const char next = block[at + 2];
      if (next == ' ' || next == '\t') {
        framing_problem_ = "obsolete line folding (a header line starting with a space or tab)";
        return false;
      }
    }
    return true;
  }

  void on_header(const error_code& ec) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    if (parser_->is_done()) {
      on_request();
      return;
    }
    const auto& header = parser_->get();
    if (header.version() >= 11 && beast::iequals(header[bhttp::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body; the read deadline
      // keeps running, it covers the whole request.
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](const error_code& ec, std::size_t) {
                          if (ec) {
                            self->close_now();
                            return;
                          }
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec) {
                          self->on_read_error(ec);
                          return;
                        }
                        self->on_request();
                      });
  }

  void on_read_error(const error_code& ec) {
    if (is_http_error(ec)) {
      switch (static_cast<bhttp::error>(ec.value())) {
        case bhttp::error::end_of_stream:  // clean close between requests
        case bhttp::error::partial_message:
        case bhttp::error::short_read:
          close_now();
          return;
        case bhttp::error::header_limit:
          send_error(
              bhttp::status::request_header_fields_too_large, "request_header_fields_too_large",
              "request header exceeds " + std::to_string(opts().max_header_bytes) + " bytes");
          return;
        case bhttp::error::body_limit:
          send_error(bhttp::status::payload_too_large, "body_too_large",
                     "request body exceeds " + std::to_string(opts().max_body_bytes) + " bytes");
          return;
        case bhttp::error::bad_transfer_encoding:
          send_error(bhttp::status::bad_request, "invalid_request",
                     "Transfer-Encoding must be exactly \"chunked\", once, without "
                     "Content-Length");
          return;
        case bhttp::error::bad_content_length:
        case bhttp::error::multiple_content_length:
          send_error(bhttp::status::bad_request, "invalid_request",
                     "invalid Content-Length: " + ec.message());
          return;
        default:
          send_error(bhttp::status::bad_request, "bad_request",
                     "malformed request: " + ec.message());
          return;
      }
    }
    // Timeout, reset, abort: nobody to answer.
    close_now();
  }

  void send_error(bhttp::status status, std::string_view code, std::string description) {
    deadline_ = Clock::time_point::max();
    parser_.reset();
    Response res{status, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = json_error_body(code, description);
    res.keep_alive(false);
    req_head_ = false;
    req_version_ = 11;
    req_keep_alive_ = false;
    linger_after_write_ = true;
    res_ = std::move(res);
    worker_->count_request();
    start_write();
  }

  void on_request() {
    deadline_ = Clock::time_point::max();
    req_ = parser_->release();
    parser_.reset();
    req_head_ = req_.method() == bhttp::verb::head;
    req_version_ = req_.version();
    req_keep_alive_ = req_.keep_alive();
    linger_after_write_ = false;
    state_ = State::kHandling;
    const std::uint64_t seq = ++request_seq_;
    worker_->count_request();

    in_handler_ = true;
    inline_ready_ = false;
    try {
      worker_->config().handler(req_, conn_, make_responder(seq));
    } catch (const std::exception& e) {
      log_error("handler threw", e.what());
      fail_internal(seq);
    } catch (...) {
      log_error("handler threw", "unknown exception");
      fail_internal(seq);
    }
    in_handler_ = false;
    if (inline_ready_) {
      inline_ready_ = false;
      start_write();
    }
  }

  // Claims the answer for request `seq`; false if it was already given (a second
  // call, a stale copy of an old Responder, or the 500 after a throw).
  bool claim(std::uint64_t seq) {
    std::uint64_t expected = seq - 1;
    return answered_seq_.compare_exchange_strong(expected, seq, std::memory_order_acq_rel);
  }

  void fail_internal(std::uint64_t seq) {
    if (!claim(seq)) return;  // the Responder already answered (maybe from another thread)
    Response res{bhttp::status::internal_server_error, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = json_error_body("internal_error", "internal server error");
    res_ = std::move(res);
    inline_ready_ = true;
  }

  Responder make_responder(std::uint64_t seq) {
    return [self = shared_from_this(), seq](Response&& res) mutable {
      auto session = std::move(self);  // release the connection as early as possible
      if (session) session->deliver(std::move(res), seq, std::move(session));
    };
  }

  void deliver(Response&& res, std::uint64_t seq, std::shared_ptr<Session> self) {
    if (!claim(seq)) {
      log_error("responder", "called more than once for a request; ignored");
      return;
    }
    if (worker_->ioc().get_executor().running_in_this_thread()) {
      // On our I/O thread: no post needed. Inside the handler call we only stash
      // the response; on_request() writes it after the handler returns.
      res_ = std::move(res);
      if (in_handler_) {
        inline_ready_ = true;
      } else {
        start_write();
      }
      return;
    }
    // Foreign thread. The session is in kHandling and the I/O thread does not
    // touch res_ until the posted write runs, so filling it here is safe.
    worker_->post_if_open([&] { res_ = std::move(res); },
                          [s = std::move(self)] { s->start_write(); });
  }

  void finalize_response() {
    // With the handler's own version (11 by default) keep_alive() is false only
    // if it asked for Connection: close.
    const bool handler_keeps = res_.keep_alive();
    if (res_.find(bhttp::field::server) == res_.end()) res_.set(bhttp::field::server, "stepup");
    const bool keep = req_keep_alive_ && handler_keeps && !worker_->draining();
    res_.version(req_version_ == 10 ? 10 : 11);
    const unsigned code = res_.result_int();
    const bool no_body_status = (code >= 100 && code < 200) || code == 204 || code == 304;
    if (no_body_status) res_.body().clear();
    if (res_.find(bhttp::field::content_length) == res_.end() &&
        res_.find(bhttp::field::transfer_encoding) == res_.end()) {
      res_.prepare_payload();
    }
    res_.keep_alive(keep);
    close_after_write_ = !keep;
    // HEAD: headers (with the GET Content-Length) but no body bytes.
    if (req_head_) res_.body().clear();
  }

  void start_write() {
    if (state_ == State::kClosing) return;  // force-closed while the handler ran
    state_ = State::kWriting;
    finalize_response();
    expires_after(opts().write_timeout);
    if (res_.find(bhttp::field::transfer_encoding) != res_.end()) {
      // Chunked and friends: Beast's serializer knows them.
      bhttp::async_write(
          stream_, res_,
          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
      return;
    }
    serialize_response();
    asio::async_write(
        stream_, asio::buffer(out_),
        [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
  }

  // Status line, fields and body into out_ (capacity kept across requests),
  // byte for byte what Beast's serializer writes for a sized body.
  void serialize_response() {
    out_.clear();
    out_ += res_.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char code[4];
    const unsigned status = res_.result_int();
    code[0] = static_cast<char>('0' + status / 100 % 10);
    code[1] = static_cast<char>('0' + status / 10 % 10);
    code[2] = static_cast<char>('0' + status % 10);
    code[3] = ' ';
    out_.append(code, 4);
    const auto reason = res_.reason();
    out_.append(reason.data(), reason.size());
    out_ += "\r\n";
    for (const auto& f : res_) {
      const auto name = f.name_string();
      const auto value = f.value();
      out_.append(name.data(), name.size());
      out_ += ": ";
      out_.append(value.data(), value.size());
      out_ += "\r\n";
    }
    out_ += "\r\n";
    out_ += res_.body();
  }

  void on_write(const error_code& ec) {
    if (ec) {
      close_now();
      return;
    }
    res_ = Response{};
    req_ = Request{};
    if (out_.capacity() > kKeepOutBytes) std::string().swap(out_);
    if (close_after_write_) {
      if (linger_after_write_) {
        linger();
      } else {
        error_code ignored;
        stream_.shutdown(tcp::socket::shutdown_send, ignored);
        close_now();
      }
      return;
    }
    do_idle_read();
  }

  void linger() {
    state_ = State::kClosing;
    error_code ignored;
    stream_.shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.consume(buffer_.size());
    expires_after(std::min<Clock::duration>(opts().read_timeout, kLingerTimeout));
    linger_read();
  }

  void linger_read() {
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerMaxBytes) {
                                self->close_now();
                                return;
                              }
                              self->linger_read();
                            });
  }

  void close_now() {
    state_ = State::kClosing;
    error_code ignored;
    stream_.close(ignored);
  }

  void expires_after(Clock::duration d) {
    const auto now = Clock::now();
    deadline_ = d >= Clock::time_point::max() - now ? Clock::time_point::max() : now + d;
  }

  std::shared_ptr<Worker> worker_;  // first: the io_context outlives stream_
  tcp::socket stream_;
  Clock::time_point deadline_ = Clock::time_point::max();  // see Worker::sweep
  std::string out_;                                        // the serialized response
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request req_;
  Response res_;
  ConnectionInfo conn_;
  State state_ = State::kIdle;
  bool in_handler_ = false;
  bool inline_ready_ = false;
  bool req_head_ = false;
  bool req_keep_alive_ = false;
  unsigned req_version_ = 11;
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  std::string framing_problem_;  // set by parse_buffered; answered with 400
  std::size_t lingered_ = 0;
  std::uint64_t request_seq_ = 0;  // I/O thread only
  std::atomic<std::uint64_t> answered_seq_{0};
};

void Worker::link(Session* s) {
  std::lock_guard lock(mu_);
  s->next_ = sessions_;
  if (sessions_) sessions_->prev_ = s;
  sessions_ = s;
  connections_.fetch_add(1, std::memory_order_relaxed);
}

void Worker::unlink(Session* s) {
  std::lock_guard lock(mu_);
  if (s->prev_) {
    s->prev_->next_ = s->next_;
  } else {
    sessions_ = s->next_;
  }
  if (s->next_) s->next_->prev_ = s->prev_;
  connections_.fetch_sub(1, std::memory_order_relaxed);
  // The last connection of a draining worker is gone: finish early instead of
  // waiting for the drain timer. The gate being open means the I/O thread still
  // runs (the drain timer keeps it busy), so the posted handler will run.
  if (draining() && open_ && sessions_ == nullptr) {
    asio::post(ioc_, [self = shared_from_this()] { self->finish(); });
  }
}

std::vector<std::shared_ptr<Session>> Worker::live_sessions_locked() {
  std::vector<std::shared_ptr<Session>> live;
  for (Session* s = sessions_; s; s = s->next_) {
    // A session whose destructor is waiting on mu_ has no owners left: skip it.
    if (auto sp = s->weak_from_this().lock()) live.push_back(std::move(sp));
  }
  return live;
}

void Worker::do_accept() {
  acceptor_.async_accept(ioc_,
                         [self = shared_from_this()](const error_code& ec, tcp::socket socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void Worker::on_accept(const error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open() || draining()) return;
  if (ec) {
    log_error("accept", ec.message());
    accept_retry_.expires_after(kAcceptRetryDelay);
    accept_retry_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec && self->acceptor_.is_open()) self->do_accept();
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  ConnectionInfo conn;
  error_code ep_ec;
  const tcp::endpoint peer = socket.remote_endpoint(ep_ec);
  if (!ep_ec) {
    asio::ip::address addr = peer.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    }
    conn.remote_ip = addr.to_string();
    conn.remote_port = peer.port();
  }
  auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), std::move(conn));
  link(session.get());
  session->start();
  do_accept();
}

void Worker::on_drain_begin() {
  error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    draining_.store(true, std::memory_order_relaxed);
    if (!open_) return;
    live = live_sessions_locked();
  }
  if (live.empty()) {
    finish();
    return;
  }
  for (auto& s : live) s->on_drain();
  live.clear();  // may destroy sessions; the last one posts finish()
  drain_timer_.expires_after(config().opts.drain_timeout);
  drain_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->finish();
  });
}

void Worker::finish() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    if (!open_) return;
    open_ = false;  // from now on foreign Responders drop their response
    live = live_sessions_locked();
  }
  drain_timer_.cancel();
  accept_retry_.cancel();
  sweep_timer_.cancel();
  error_code ignored;
  acceptor_.close(ignored);
  // Anything still open now is either stuck in a handler or past the drain
  // timeout; cutting the sockets ends their pending operations so run() returns.
  for (auto& s : live) s->force_close();
}

void Worker::arm_sweep() {
  sweep_timer_.expires_after(kSweepEvery);
  sweep_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    // Cancelled, or fired just before finish() cancelled it: either way the
    // worker is finishing and must not re-arm, or run() would never return.
    if (ec) return;
    if (self->sweep()) self->arm_sweep();
  });
}

bool Worker::sweep() {
  // Under mu_ so the list cannot change; check_deadline only closes a socket
  // (completions are queued, never run inline), so holding the lock is fine.
  std::lock_guard lock(mu_);
  if (!open_) return false;
  const auto now = Clock::now();
  for (Session* s = sessions_; s; s = s->next_) {
    // A session whose destructor is waiting on mu_ is skipped.
    if (!s->weak_from_this().expired()) s->check_deadline(now);
  }
  return true;
}

// "host:port" / "[v6]:port" -> endpoint. Throws std::runtime_error.
tcp::endpoint parse_listen(const std::string& listen) {
  auto fail = [&](std::string_view reason) -> std::runtime_error {
    return std::runtime_error("cannot listen on " + listen + ": " + std::string(reason));
  };
  std::string_view s = listen;
  std::string_view host;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      throw fail("expected [address]:port");
    }
    host = s.substr(1, close - 1);
    port_text = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) throw fail("expected host:port");
    host = s.substr(0, colon);
    if (host.find(':') != std::string_view::npos) throw fail("IPv6 addresses must be in brackets");
    port_text = s.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    throw fail("invalid port");
  }
  if (host.empty()) host = "0.0.0.0";
  error_code addr_ec;
  auto addr = asio::ip::make_address(host, addr_ec);
  if (!addr_ec) return {addr, static_cast<std::uint16_t>(port)};
  // A name such as "localhost": resolve once at startup.
  asio::io_context resolver_ioc(1);
  tcp::resolver resolver(resolver_ioc);
  auto results = resolver.resolve(host, port_text, addr_ec);
  if (addr_ec || results.empty()) throw fail(addr_ec ? addr_ec.message() : "no address");
  return results.begin()->endpoint();
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions opts, Handler handler)
      : cfg_(std::make_shared<const Config>(Config{std::move(opts), std::move(handler)})) {}

  void start() {
    std::lock_guard lock(control_mu_);
    if (started_) throw std::logic_error("stepup::http::Server::start called twice");
    if (stopping_.load()) throw std::logic_error("stepup::http::Server::start after stop");
    const ServerOptions& opts = cfg_->opts;
    tcp::endpoint ep = parse_listen(opts.listen);
    int n = opts.io_threads > 0 ? opts.io_threads
                                : static_cast<int>(std::thread::hardware_concurrency());
    n = std::max(n, 1);

    std::vector<std::shared_ptr<Worker>> workers;
    try {
      for (int i = 0; i < n; ++i) {
        auto w = std::make_shared<Worker>(cfg_);
        w->bind(ep);
        // Port 0: the first bind picks the port, the others join it.
        if (i == 0) ep.port(w->local_port());
        workers.push_back(std::move(w));
      }
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot listen on " + opts.listen + ": " + e.code().message());
    }
    port_.store(ep.port());
    workers_ = std::move(workers);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([w = workers_[i], i] { w->run(i); });
    }
    started_ = true;
  }

  void stop() {
    if (stopping_.exchange(true)) return;
    {
      std::lock_guard lock(control_mu_);
      for (auto& w : workers_) w->request_drain();
    }
    std::lock_guard lock(signal_mu_);
    if (signal_ioc_) signal_ioc_->stop();
  }

  void wait() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(control_mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }

  void run_until_signal() {
    {
      std::unique_lock lock(control_mu_);
      const bool started = started_;
      lock.unlock();
      if (!started) start();
    }
    {
      asio::io_context sig_ioc(1);
      asio::signal_set signals(sig_ioc, SIGINT, SIGTERM);
      signals.async_wait([](const error_code&, int) {});
      bool run = false;
      {
        std::lock_guard lock(signal_mu_);
        if (!stopping_.load()) {
          signal_ioc_ = &sig_ioc;
          run = true;
        }
      }
      if (run) sig_ioc.run();  // returns on a signal or when stop() stops it
      std::lock_guard lock(signal_mu_);
      signal_ioc_ = nullptr;
    }
    stop();
    wait();
  }

  std::uint16_t port() const { return port_.load(); }

  std::uint64_t requests_total() const {
    std::lock_guard lock(control_mu_);
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += w->requests();
    return total;
  }

  std::uint64_t connections_open() const {
    std::lock_guard lock(control_mu_);
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += w->connections();
    return total;
  }

 private:
  std::shared_ptr<const Config> cfg_;
  mutable std::mutex control_mu_;  // guards workers_, threads_, started_
  std::vector<std::shared_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint16_t> port_{0};
  std::mutex signal_mu_;
  asio::io_context* signal_ioc_ = nullptr;
};

Server::Server(ServerOptions opts, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(handler))) {}

Server::~Server() {
  impl_->stop();
  impl_->wait();
}

void Server::start() { impl_->start(); }
std::uint16_t Server::port() const { return impl_->port(); }
void Server::stop() { impl_->stop(); }
void Server::wait() { impl_->wait(); }
void Server::run_until_signal() { impl_->run_until_signal(); }
std::uint64_t Server::requests_total() const { return impl_->requests_total(); }
std::uint64_t Server::connections_open() const { return impl_->connections_open(); }

namespace {

// Appends `in` as JSON string content. Invalid UTF-8 becomes U+FFFD so the body
// is always valid JSON, whatever a caller put in a description.
void append_json_escaped(std::string& out, std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Multi-byte sequence: validate length, continuation bytes, overlongs,
    // surrogates and the U+10FFFF ceiling.
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xc0) != 0x80) {
        ok = false;
      } else {
        cp = (cp << 6) | (cc & 0x3f);
      }
    }
    if (ok) {
      ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
           !(cp >= 0xd800 && cp <= 0xdfff);
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
}

}  // namespace

std::string json_error_body(std::string_view code, std::string_view description) {
  std::string out;
  out.reserve(40 + code.size() + description.size());
  out += R"({"error":")";
  append_json_escaped(out, code);
  out += R"(","error_description":")";
  append_json_escaped(out, description);
  out += "\"}";
  return out;
}

}  // namespace stepup::http
