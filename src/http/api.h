// The stepup HTTP API (docs/api.md): a router from (method, path) to thin
// handlers that parse, call a service, render. Knows nothing about sockets:
// make_api() returns a Handler for http::Server. Thread-safe.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>

#include "http/server.h"
#include "service/runtime.h"

namespace stepup::http {

struct Metrics {
  std::atomic<std::uint64_t> decisions_allow{0};
  std::atomic<std::uint64_t> decisions_step_up{0};
  std::atomic<std::uint64_t> decisions_login{0};
  std::atomic<std::uint64_t> decisions_deny{0};
  std::atomic<std::uint64_t> decisions_error{0};
  std::atomic<std::uint64_t> logins_ok{0};
  std::atomic<std::uint64_t> logins_failed{0};
  std::atomic<std::uint64_t> refreshes{0};
  // Filled by the server owner so /metrics can show them.
  std::function<std::uint64_t()> requests_total;
  std::function<std::uint64_t()> connections_open;
};

Handler make_api(service::Runtime& rt, Metrics& metrics);

}  // namespace stepup::http
