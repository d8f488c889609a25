// Passwords: NIST SP 800-63B rules and Argon2id hashing (libsodium).
//
// check_password_rules() is pure. hash/verify are slow on purpose (~80 ms at
// the defaults) and must run on a PasswordPool worker, never on an I/O thread.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

namespace stepup::factors {

struct PasswordParams {
  int min_length = 8;   // in Unicode code points, after NFKC
  int max_length = 64;  // must allow at least 64
  std::uint64_t memory_kib = 19 * 1024;
  std::uint64_t iterations = 2;  // Argon2id t; parallelism is 1 (libsodium)
};

enum class PasswordRuleError {
  kTooShort,          // fewer code points than min_length
  kTooLong,           // more than max_length
  kInvalidUtf8,       // not valid UTF-8 (or contains NUL)
  kContainsUsername,  // equal to or contains the username (case-insensitive)
  kCommon,            // on the built-in list of very common passwords
};
const char* to_string(PasswordRuleError e);                          // snake_case code
std::string describe(PasswordRuleError e, const PasswordParams& p);  // human sentence

// NFKC normalisation (libunistring). nullopt for invalid UTF-8.
std::optional<std::string> normalize_nfkc(std::string_view utf8);

// Checks a new password; returns nothing when acceptable.
tl::expected<void, PasswordRuleError> check_password_rules(std::string_view password,
                                                           std::string_view username,
                                                           const PasswordParams& p);

// Argon2id PHC string of the NFKC-normalised password. Throws std::runtime_error
// only when out of memory (or params outside libsodium's limits, e.g.
// memory_kib < 8 or iterations < 1), and std::invalid_argument when `password`
// is not valid UTF-8 (run check_password_rules() first).
std::string hash_password(std::string_view password, const PasswordParams& p);
// Constant-time verify; false on any mismatch or malformed hash.
bool verify_password(std::string_view password, std::string_view phc_hash);
// How many times verify_password ran Argon2id in this process (a counter for
// /metrics: unknown and known users must cost one verification each).
std::uint64_t password_verifications();
// A valid hash of a random password with the same params, computed once, used
// to spend the same time on unknown users.
const std::string& dummy_hash(const PasswordParams& p);

// Bounded worker pool for Argon2id work. submit() returns false at once when
// the queue is full (the caller answers 503); otherwise `job` runs on a worker.
// submit() also returns false for an empty std::function. max_queue counts jobs
// waiting, not running; queued() reports that number. A job that throws is
// logged to stderr and the worker carries on. workers < 1 is treated as 1.
// Destruction finishes queued jobs then joins. Thread-safe.
//
// `background` (Linux) runs the workers under SCHED_IDLE while the queue has
// room: Argon2id hashing then only gets CPU time that request handling
// leaves, and any request thread that wakes up preempts it at once, so a
// burst of sign-ins does not raise decision latency. When the queue is three
// quarters full the workers switch to the normal policy (sign-ins would
// otherwise be refused), and back to SCHED_IDLE once it is down to a quarter.
class PasswordPool {
 public:
  PasswordPool(int workers, int max_queue, bool background = false,
               const char* thread_name = nullptr);
  ~PasswordPool();
  PasswordPool(const PasswordPool&) = delete;
  PasswordPool& operator=(const PasswordPool&) = delete;
  bool submit(std::function<void()> job);
  int queued() const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace stepup::factors
