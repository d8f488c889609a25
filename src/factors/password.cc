#include "factors/password.h"

#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistd.h>
#include <unistr.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "factors/common_passwords.h"

namespace stepup::factors {
namespace {

// Usernames shorter than this are not searched for inside passwords: a
// one- or two-letter name would reject a large share of good passwords.
constexpr std::size_t kMinUsernameCodePoints = 3;

// libunistring hands back malloc'd buffers.
struct FreeDeleter {
  void operator()(std::uint8_t* p) const noexcept { std::free(p); }
};
using UnistringBuffer = std::unique_ptr<std::uint8_t, FreeDeleter>;

const std::uint8_t* bytes(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

// libsodium must be initialised before use; sodium_init() is idempotent, the
// function-local static only saves repeated calls.
void ensure_sodium() {
  static const int kInit = sodium_init();
  if (kInit < 0) throw std::runtime_error("libsodium initialisation failed");
}

bool valid_utf8_without_nul(std::string_view s) {
  // NUL is valid UTF-8 but would be truncated by any C API downstream (and by
  // libsodium's PHC string handling), so two different inputs could collide.
  if (s.find('\0') != std::string_view::npos) return false;
  return u8_check(bytes(s), s.size()) == nullptr;
}

// Caseless form used for the username and common-list comparisons. Full case
// folding (not just lower-casing) so that e.g. "STRASSE" matches "straße";
// re-normalised to NFKC so both sides stay comparable byte for byte.
std::string casefold_nfkc(std::string_view nfkc) {
  if (nfkc.empty()) return {};
  std::size_t len = 0;
  UnistringBuffer out(u8_casefold(bytes(nfkc), nfkc.size(), nullptr, UNINORM_NFKC, nullptr, &len));
  if (!out) throw std::bad_alloc();  // input is already validated: only ENOMEM remains
  return std::string(reinterpret_cast<const char*>(out.get()), len);
}

std::size_t code_points(std::string_view valid_utf8) {
  return u8_mbsnlen(bytes(valid_utf8), valid_utf8.size());
}

}  // namespace

const char* to_string(PasswordRuleError e) {
  switch (e) {
    case PasswordRuleError::kTooShort:
      return "password_too_short";
    case PasswordRuleError::kTooLong:
      return "password_too_long";
    case PasswordRuleError::kInvalidUtf8:
      return "password_invalid_utf8";
    case PasswordRuleError::kContainsUsername:
      return "password_contains_username";
    case PasswordRuleError::kCommon:
      return "password_too_common";
  }
  return "password_unknown_error";
}

std::string describe(PasswordRuleError e, const PasswordParams& p) {
  switch (e) {
    case PasswordRuleError::kTooShort:
      return "The password must be at least " + std::to_string(p.min_length) + " characters long.";
    case PasswordRuleError::kTooLong:
      return "The password must be at most " + std::to_string(p.max_length) + " characters long.";
    case PasswordRuleError::kInvalidUtf8:
      return "The password is not valid UTF-8 text.";
    case PasswordRuleError::kContainsUsername:
      return "The password must not contain the username.";
    case PasswordRuleError::kCommon:
      return "The password is too common; choose a less predictable one.";
  }
  return "The password is not acceptable.";
}

std::optional<std::string> normalize_nfkc(std::string_view utf8) {
  if (!valid_utf8_without_nul(utf8)) return std::nullopt;
  if (utf8.empty()) return std::string();
  std::size_t len = 0;
  UnistringBuffer out(u8_normalize(UNINORM_NFKC, bytes(utf8), utf8.size(), nullptr, &len));
  if (!out) throw std::bad_alloc();  // validated above: the only failure left is ENOMEM
  return std::string(reinterpret_cast<const char*>(out.get()), len);
}

tl::expected<void, PasswordRuleError> check_password_rules(std::string_view password,
                                                           std::string_view username,
                                                           const PasswordParams& p) {
  const std::optional<std::string> pw = normalize_nfkc(password);
  if (!pw) return tl::unexpected(PasswordRuleError::kInvalidUtf8);

  // Length is judged on what will be hashed (the NFKC form), in code points,
  // so multibyte characters are not penalised and ligatures count as expanded.
  const std::size_t n = code_points(*pw);
  if (p.min_length > 0 && n < static_cast<std::size_t>(p.min_length)) {
    return tl::unexpected(PasswordRuleError::kTooShort);
  }
  if (p.max_length >= 0 && n > static_cast<std::size_t>(p.max_length)) {
    return tl::unexpected(PasswordRuleError::kTooLong);
  }

  const std::string folded = casefold_nfkc(*pw);

  // An invalid username cannot be compared meaningfully; it is not the
  // password's fault, so the check is skipped rather than failing.
  if (const std::optional<std::string> user = normalize_nfkc(username);
      user && code_points(*user) >= kMinUsernameCodePoints) {
    const std::string user_folded = casefold_nfkc(*user);
    if (folded.find(user_folded) != std::string::npos) {
      return tl::unexpected(PasswordRuleError::kContainsUsername);
    }
  }

  if (is_common_password(folded)) return tl::unexpected(PasswordRuleError::kCommon);
  return {};
}

std::string hash_password(std::string_view password, const PasswordParams& p) {
  ensure_sodium();
  std::optional<std::string> pw = normalize_nfkc(password);
  // Such a hash could never verify (verify_password rejects the same input),
  // so storing it would silently lock the user out.
  if (!pw) throw std::invalid_argument("hash_password: password is not valid UTF-8");
  if (p.memory_kib > std::numeric_limits<std::size_t>::max() / 1024) {
    throw std::invalid_argument("hash_password: memory_kib too large");
  }

  char out[crypto_pwhash_STRBYTES];
  const int rc = crypto_pwhash_str_alg(
      out, pw->data(), pw->size(), static_cast<unsigned long long>(p.iterations),
      static_cast<std::size_t>(p.memory_kib) * 1024, crypto_pwhash_ALG_ARGON2ID13);
  // The normalised copy held the plaintext; do not leave it in freed memory.
  sodium_memzero(pw->data(), pw->size());
  if (rc != 0) {
    throw std::runtime_error(
        "hash_password: Argon2id failed (out of memory or params out of range)");
  }
  return std::string(out);
}

namespace {
std::atomic<std::uint64_t> g_verifications{0};
}  // namespace

std::uint64_t password_verifications() { return g_verifications.load(std::memory_order_relaxed); }

bool verify_password(std::string_view password, std::string_view phc_hash) {
  ensure_sodium();
  // crypto_pwhash_str_verify reads a C string: an embedded NUL would make it
  // ignore trailing bytes, and an over-long string cannot be a valid hash.
  if (phc_hash.empty() || phc_hash.size() >= crypto_pwhash_STRBYTES ||
      phc_hash.find('\0') != std::string_view::npos) {
    return false;
  }
  std::optional<std::string> pw = normalize_nfkc(password);
  if (!pw) return false;
  const std::string hash(phc_hash);
  g_verifications.fetch_add(1, std::memory_order_relaxed);
  const bool ok = crypto_pwhash_str_verify(hash.c_str(), pw->data(), pw->size()) == 0;
  sodium_memzero(pw->data(), pw->size());
  return ok;
}

const std::string& dummy_hash(const PasswordParams& p) {
  static std::mutex mu;
  static std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> cache;
  // Held during the (one-off, ~80 ms) hash so concurrent first callers do not
  // each compute one; std::map nodes never move, so the reference stays valid.
  const std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(p.memory_kib, p.iterations);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  ensure_sodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char hex[2 * sizeof raw + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  std::string h = hash_password(hex, p);
  sodium_memzero(raw, sizeof raw);
  sodium_memzero(hex, sizeof hex);
  return cache.emplace(key, std::move(h)).first->second;
}

// ---------------------------------------------------------------------------
// PasswordPool

struct PasswordPool::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> queue;
  std::vector<std::thread> workers;
  std::size_t max_queue = 0;
  bool stopping = false;
  bool background = false;
  bool boosted = false;  // background workers temporarily at normal priority

  // Background pools: SCHED_IDLE while the queue has room, the normal policy
  // while it is nearly full. Decisions come first until sign-ins would be
  // refused; then sign-ins get their fair share of the CPU instead of 503s.
  std::size_t high_water() const { return std::max<std::size_t>(1, max_queue * 3 / 4); }
  std::size_t low_water() const { return max_queue / 4; }

  // Callers hold mu. Best effort: a policy that cannot be set (no permission
  // to leave SCHED_IDLE without privileges, say) leaves the worker as it was.
  void set_policy_locked(int policy) {
    sched_param none{};
    for (std::thread& t : workers) (void)::pthread_setschedparam(t.native_handle(), policy, &none);
  }

  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [this] { return stopping || !queue.empty(); });
        // Drain before exiting: accepted jobs carry a caller waiting on them.
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
        if (boosted && queue.size() <= low_water()) {
          boosted = false;
          set_policy_locked(SCHED_IDLE);
        }
      }
      // A throwing job must not take the worker (and with it the pool) down.
      try {
        job();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "stepup: password pool job threw: %s\n", e.what());
      } catch (...) {
        std::fprintf(stderr, "stepup: password pool job threw a non-standard exception\n");
      }
    }
  }

  void stop_and_join() {
    {
      const std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    cv.notify_all();
    for (std::thread& t : workers) {
      if (t.joinable()) t.join();
    }
  }
};

PasswordPool::PasswordPool(int workers, int max_queue, bool background, const char* thread_name)
    : impl_(new Impl) {
  impl_->max_queue = max_queue > 0 ? static_cast<std::size_t>(max_queue) : 0;
  impl_->background = background;
  // Zero workers would accept jobs that never run.
  const int n = workers > 0 ? workers : 1;
  try {
    impl_->workers.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      impl_->workers.emplace_back([impl = impl_, thread_name] {
        if (thread_name != nullptr) ::pthread_setname_np(::pthread_self(), thread_name);
        impl->run();
      });
    }
    if (background) {
      // Before any job can be submitted, so no boost can race with it.
      const std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->set_policy_locked(SCHED_IDLE);
    }
  } catch (...) {
    impl_->stop_and_join();
    delete impl_;
    throw;
  }
}

PasswordPool::~PasswordPool() {
  impl_->stop_and_join();
  delete impl_;
}

bool PasswordPool::submit(std::function<void()> job) {
  if (!job) return false;
  {
    const std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping || impl_->queue.size() >= impl_->max_queue) return false;
    impl_->queue.push_back(std::move(job));
    if (impl_->background && !impl_->boosted && impl_->queue.size() >= impl_->high_water()) {
      impl_->boosted = true;
      impl_->set_policy_locked(SCHED_OTHER);
    }
  }
  impl_->cv.notify_one();
  return true;
}

int PasswordPool::queued() const {
  const std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int>(impl_->queue.size());
}

}  // namespace stepup::factors
