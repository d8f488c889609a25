// stepup serve --config FILE
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "http/api.h"
#include "http/metrics.h"
#include "http/server.h"
#include "service/housekeeping.h"
#include "service/runtime.h"

namespace stepup::cli {

namespace {
struct ServeOptions {
  std::string config = "stepup.yaml";
};

void setup_logging(const config::LogConfig& log) {
  auto logger = spdlog::stderr_color_mt("stepup");
  if (log.json) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(log.level));
  spdlog::set_default_logger(logger);
}

int run_serve(const ServeOptions& o) {
  auto cfg = load_or_exit(o.config);
  setup_logging(cfg.log);
  try {
    service::Runtime rt(cfg);
    // Expired challenges are deleted every minute, in bounded batches.
    service::Housekeeping housekeeping(rt.store(), rt.clock());
    http::Metrics metrics;
    http::ServerOptions so;
    so.listen = cfg.server.listen;
    so.io_threads = cfg.server.io_threads;
    so.max_body_bytes = cfg.server.max_body_bytes;
    so.read_timeout = std::chrono::seconds(cfg.server.read_timeout);
    so.idle_timeout = std::chrono::seconds(cfg.server.idle_timeout);
    so.drain_timeout = std::chrono::seconds(cfg.server.drain_timeout);
    http::Server server(so, http::make_api(rt, metrics));
    metrics.requests_total = [&server] { return server.requests_total(); };
    metrics.connections_open = [&server] { return server.connections_open(); };
    // /metrics on its own listener (server.metrics_listen): one thread, small
    // limits. Declared after `server` so it is gone before the counters it
    // reads from `server` are.
    std::unique_ptr<http::Server> metrics_server;
    if (!cfg.server.metrics_listen.empty()) {
      http::ServerOptions mo;
      mo.listen = cfg.server.metrics_listen;
      mo.io_threads = 1;
      mo.max_body_bytes = 1024;
      mo.max_header_bytes = 8 * 1024;
      mo.read_timeout = so.read_timeout;
      mo.idle_timeout = so.idle_timeout;
      mo.drain_timeout = std::chrono::seconds(1);
      metrics_server = std::make_unique<http::Server>(mo, http::make_metrics_handler(rt, metrics));
    }
    if (metrics_server) metrics_server->start();
    server.start();
    spdlog::info("stepup listening on {} (port {}), public URL {}, store {}", cfg.server.listen,
                 server.port(), cfg.server.public_url, cfg.storage.path);
    const char* token_note = cfg.server.metrics_token.empty() ? "" : ", bearer token required";
    if (metrics_server) {
      spdlog::info("metrics on {} (port {}){}", cfg.server.metrics_listen, metrics_server->port(),
                   token_note);
    } else if (!cfg.server.metrics_token.empty()) {
      spdlog::info("metrics on the main listener{}", token_note);
    } else {
      spdlog::info(
          "metrics served only to direct requests from this machine (loopback, no proxy "
          "headers): set server.metrics_listen or server.metrics_token_file to scrape "
          "/metrics from elsewhere");
    }
    server.run_until_signal();
    spdlog::info("stepup stopped");
    return 0;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}
}  // namespace

void setup_serve(CLI::App& app) {
  auto opt = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Run the HTTP server");
  cmd->add_option("--config,-c", opt->config, "Config file")->required();
  cmd->callback([opt] { exit_status() = run_serve(*opt); });
}

}  // namespace stepup::cli
