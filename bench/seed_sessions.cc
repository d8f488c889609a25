// stepup_bench_seed: puts N live sessions of one user straight into the store
// of a config (no sign-in, no Argon2) and writes their cookie values, one per
// line. bench/http/run uses it for "RSS with 100k live sessions" and for the
// rotating-cookie load. With --tokens it then issues M access tokens
// (service::Sessions::issue, the code sign-in and refresh use, with the
// deployment's own signing key), one per seeded session in turn, for the
// rotating-token load: M distinct tokens of up to M distinct sessions. With
// --refresh it issues R refresh tokens the same way (one per session, each
// the head of its own rotation chain). Run it before the server starts (it
// creates the signing key on a fresh store).
//
//   stepup_bench_seed --config FILE --user NAME --count N --cookies OUT
//                     [--tokens M --tokens-out OUT] [--refresh R --refresh-out OUT]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "service/clock.h"
#include "service/runtime.h"

int main(int argc, char** argv) {
  std::string config_path, user_name, cookies_path, tokens_path, refresh_path;
  long count = 0;
  long tokens = 0;
  long refresh = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    if (k == "--config")
      config_path = argv[i + 1];
    else if (k == "--user")
      user_name = argv[i + 1];
    else if (k == "--count")
      count = std::strtol(argv[i + 1], nullptr, 10);
    else if (k == "--cookies")
      cookies_path = argv[i + 1];
    else if (k == "--tokens")
      tokens = std::strtol(argv[i + 1], nullptr, 10);
    else if (k == "--tokens-out")
      tokens_path = argv[i + 1];
    else if (k == "--refresh")
      refresh = std::strtol(argv[i + 1], nullptr, 10);
    else if (k == "--refresh-out")
      refresh_path = argv[i + 1];
  }
  if (config_path.empty() || user_name.empty() || cookies_path.empty() || count <= 0 ||
      (tokens > 0 && tokens_path.empty()) || (refresh > 0 && refresh_path.empty()) ||
      refresh > count) {
    std::cerr << "usage: stepup_bench_seed --config FILE --user NAME --count N --cookies OUT"
                 " [--tokens M --tokens-out OUT] [--refresh R --refresh-out OUT] (R <= N)\n";
    return 2;
  }
  try {
    const auto cfg = stepup::config::load_config(config_path);
    std::vector<stepup::store::Session> seeded;
    {
      auto store = stepup::service::open_store(cfg);
      auto user = store->find_user(user_name);
      if (!user) {
        std::cerr << "no such user: " << user_name << "\n";
        return 1;
      }
      std::ofstream out(cookies_path);
      const auto now = stepup::service::SystemClock().now();
      for (long i = 0; i < count; ++i) {
        // Same shape as service::Sessions::create: 32-byte random id, only its
        // SHA-256 stored.
        const std::string cookie = stepup::crypto::random_token(32);
        stepup::store::Session s;
        s.id_hash = stepup::crypto::sha256_hex(cookie);
        s.public_id = stepup::crypto::random_token(12);
        s.user_id = user->id;
        s.subject = user->username;
        s.methods = {{"pwd", now}};
        s.created_at = now;
        s.last_seen_at = now;
        s.expires_at = now + cfg.sessions.absolute_timeout;
        s.idle_expires_at = std::min(now + cfg.sessions.idle_timeout, s.expires_at);
        s.ip = "127.0.0.1";
        s.user_agent = "stepup-bench-seed";
        if (!store->create_session(s)) {
          std::cerr << "create_session failed at " << i << "\n";
          return 1;
        }
        out << cookie << '\n';
        if (static_cast<long>(seeded.size()) < std::max(tokens, refresh)) seeded.push_back(s);
      }
    }  // the store closes before the runtime opens it again
    if (tokens > 0 || refresh > 0) {
      stepup::service::Runtime rt(cfg);
      std::ofstream rout(refresh_path.empty() ? "/dev/null" : refresh_path);
      for (long i = 0; i < refresh; ++i) {
        auto t = rt.sessions().issue(seeded[static_cast<std::size_t>(i)], true);
        if (!t) {
          std::cerr << "issue failed at " << i << "\n";
          return 1;
        }
        rout << t->refresh_token << '\n';
      }
      std::ofstream tout(tokens_path.empty() ? "/dev/null" : tokens_path);
      for (long i = 0; i < tokens; ++i) {
        auto t = rt.sessions().issue(seeded[static_cast<std::size_t>(i) % seeded.size()], false);
        if (!t) {
          std::cerr << "issue failed at " << i << "\n";
          return 1;
        }
        tout << t->access_token << '\n';
      }
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
