// The stepup HTTP API (docs/api.md): a router from (method, path) to thin
// handlers that parse, call a service, render. Knows nothing about sockets:
// make_api() returns a Handler for http::Server. Thread-safe.
#pragma once
#include "http/metrics.h"
#include "http/server.h"
#include "service/runtime.h"

namespace stepup::http {

Handler make_api(service::Runtime& rt, Metrics& metrics);

}  // namespace stepup::http
