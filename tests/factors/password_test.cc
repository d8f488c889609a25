// Tests for the password factor: NIST SP 800-63B §3.1.1.2 rules, NFKC
// normalisation, Argon2id hashing through libsodium, and the worker pool.
#include "factors/password.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "factors/common_passwords.h"

namespace stepup::factors {
namespace {

using namespace std::string_literals;

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Small Argon2id cost so the suite stays fast (8 MiB, t=1).
PasswordParams fast_params() {
  PasswordParams p;
  p.memory_kib = 8 * 1024;
  p.iterations = 1;
  return p;
}

// ---------------------------------------------------------------------------
// normalize_nfkc

TEST(NormalizeNfkc, AsciiUnchanged) {
  EXPECT_EQ(normalize_nfkc("correct horse"), "correct horse");
  EXPECT_EQ(normalize_nfkc(""), "");
}

TEST(NormalizeNfkc, CompatibilityAndCompositionForms) {
  EXPECT_EQ(normalize_nfkc("\xEF\xBD\x90\xEF\xBD\x81\xEF\xBD\x93\xEF\xBD\x93"),
            "pass");                                         // fullwidth "ｐａｓｓ"
  EXPECT_EQ(normalize_nfkc("\xEF\xAC\x81"), "fi");           // U+FB01 LATIN SMALL LIGATURE FI
  EXPECT_EQ(normalize_nfkc("cafe\xCC\x81"), "caf\xC3\xA9");  // e + U+0301 -> U+00E9
  EXPECT_EQ(normalize_nfkc("\xE2\x84\xAB"), "\xC3\x85");     // U+212B ANGSTROM SIGN -> U+00C5
  EXPECT_EQ(normalize_nfkc("x\xC2\xB2"), "x2");              // superscript two
}

TEST(NormalizeNfkc, RejectsInvalidUtf8AndNul) {
  EXPECT_EQ(normalize_nfkc("\xFF"), std::nullopt);
  EXPECT_EQ(normalize_nfkc("abc\xC3\x28"), std::nullopt);       // bad continuation byte
  EXPECT_EQ(normalize_nfkc("\xC0\xAF"), std::nullopt);          // overlong "/"
  EXPECT_EQ(normalize_nfkc("\xED\xA0\x80"), std::nullopt);      // UTF-16 surrogate
  EXPECT_EQ(normalize_nfkc("\xF4\x90\x80\x80"), std::nullopt);  // above U+10FFFF
  EXPECT_EQ(normalize_nfkc("abc\xE2\x82"), std::nullopt);       // truncated sequence
  EXPECT_EQ(normalize_nfkc("abc\0def"s), std::nullopt);         // embedded NUL
}

// ---------------------------------------------------------------------------
// check_password_rules: table-driven

struct RuleCase {
  const char* name;
  std::string password;
  std::string username;
  std::optional<PasswordRuleError> want;  // nullopt = accepted
};

void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.name; }

class PasswordRules : public ::testing::TestWithParam<RuleCase> {};

TEST_P(PasswordRules, Table) {
  const RuleCase& c = GetParam();
  const auto got = check_password_rules(c.password, c.username, PasswordParams{});
  if (!c.want) {
    EXPECT_TRUE(got.has_value()) << c.name << ": rejected as " << to_string(got.error());
  } else {
    ASSERT_FALSE(got.has_value()) << c.name << ": accepted";
    EXPECT_EQ(got.error(), *c.want) << c.name << ": got " << to_string(got.error());
  }
}

const std::string kE = "\xC3\xA9";              // é, 2 bytes, 1 code point
const std::string kEDecomposed = "e\xCC\x81";   // e + combining acute: 2 code points, NFKC -> 1
const std::string kEuro = "\xE2\x82\xAC";       // €, 3 bytes
const std::string kEmoji = "\xF0\x9F\x98\x80";  // 😀, 4 bytes
const std::string kFi = "\xEF\xAC\x81";         // ﬁ ligature, NFKC -> "fi"

INSTANTIATE_TEST_SUITE_P(
    Nist, PasswordRules,
    ::testing::Values(
        RuleCase{"empty", "", "alice", PasswordRuleError::kTooShort},
        RuleCase{"seven_ascii", "vQ7#kz2", "alice", PasswordRuleError::kTooShort},
        RuleCase{"exactly_min_length", "vQ7#kz2p", "alice", std::nullopt},
        RuleCase{"no_composition_rules_all_lower", "purple monkey dishwasher", "alice",
                 std::nullopt},
        // 7 multibyte code points are 14 bytes but still too short.
        RuleCase{"seven_multibyte_short", repeat(kE, 7), "alice", PasswordRuleError::kTooShort},
        RuleCase{"eight_multibyte_ok", repeat(kE, 8), "alice", std::nullopt},
        RuleCase{"eight_emoji_ok", repeat(kEmoji, 8), "alice", std::nullopt},
        // 4 ligatures are 4 code points raw but 8 after NFKC ("fifififi").
        RuleCase{"ligature_counts_two", repeat(kFi, 4), "alice", std::nullopt},
        RuleCase{"ligature_still_short", repeat(kFi, 3) + "x", "alice",
                 PasswordRuleError::kTooShort},
        RuleCase{"max_64_multibyte", repeat(kE, 32) + repeat(kEuro, 16) + repeat(kEmoji, 16),
                 "alice", std::nullopt},
        RuleCase{"65_multibyte_too_long", repeat(kE, 33) + repeat(kEuro, 16) + repeat(kEmoji, 16),
                 "alice", PasswordRuleError::kTooLong},
        // 128 code points raw, 64 after NFKC composition: judged on the NFKC form.
        RuleCase{"decomposed_64_after_nfkc", repeat(kEDecomposed, 64), "alice", std::nullopt},
        RuleCase{"decomposed_65_after_nfkc", repeat(kEDecomposed, 65), "alice",
                 PasswordRuleError::kTooLong},
        RuleCase{"invalid_byte", "goodpass\xFFword", "alice", PasswordRuleError::kInvalidUtf8},
        RuleCase{"overlong", "goodpass\xC0\xAFword", "alice", PasswordRuleError::kInvalidUtf8},
        RuleCase{"embedded_nul", "goodpass\0word"s, "alice", PasswordRuleError::kInvalidUtf8},
        // Invalid beats too short: it is checked first.
        RuleCase{"invalid_and_short", "\xFF", "alice", PasswordRuleError::kInvalidUtf8},
        RuleCase{"equals_username", "CorrectHorse", "correcthorse",
                 PasswordRuleError::kContainsUsername},
        RuleCase{"contains_username_upper", "my-ALICE-pw-2931", "alice",
                 PasswordRuleError::kContainsUsername},
        RuleCase{"contains_username_mixed", "xxAlIcExx77", "ALICE",
                 PasswordRuleError::kContainsUsername},
        RuleCase{"contains_non_ascii_username", "J\xC3\x96RG-secret-77", "j\xC3\xB6rg",
                 PasswordRuleError::kContainsUsername},
        RuleCase{"fullwidth_username",
                 "zz\xEF\xBD\x81\xEF\xBD\x8C\xEF\xBD\x89\xEF\xBD\x83\xEF\xBD\x85zz9", "alice",
                 PasswordRuleError::kContainsUsername},
        RuleCase{"short_username_ignored", "abcdefgh-xyz-41", "ab", std::nullopt},
        RuleCase{"three_char_username_checked", "bobcat-tower-41", "bob",
                 PasswordRuleError::kContainsUsername},
        RuleCase{"empty_username_ignored", "tangerine-kettle", "", std::nullopt},
        RuleCase{"username_not_contained", "tangerine-kettle", "alice", std::nullopt},
        // Too long beats username; username beats common.
        RuleCase{"long_with_username", repeat("alice", 13), "alice", PasswordRuleError::kTooLong},
        RuleCase{"common_short", "123456", "alice", PasswordRuleError::kTooShort},
        RuleCase{"username_before_common", "password", "password",
                 PasswordRuleError::kContainsUsername},
        RuleCase{"common_password", "password", "alice", PasswordRuleError::kCommon},
        RuleCase{"common_upper", "PASSWORD1", "alice", PasswordRuleError::kCommon},
        RuleCase{"common_mixed", "IloveYou", "alice", PasswordRuleError::kCommon},
        RuleCase{"common_digits", "12345678", "alice", PasswordRuleError::kCommon},
        RuleCase{"common_walk", "Qwertyuiop", "alice", PasswordRuleError::kCommon},
        RuleCase{"common_walk2", "1q2w3e4r", "alice", PasswordRuleError::kCommon},
        RuleCase{"common_leet", "P@ssw0rd", "alice", PasswordRuleError::kCommon},
        RuleCase{
            "common_fullwidth",  // "ｐａｓｓｗｏｒｄ１"
            "\xEF\xBD\x90\xEF\xBD\x81\xEF\xBD\x93\xEF\xBD\x93\xEF\xBD\x97\xEF\xBD\x8F\xEF\xBD\x92"
            "\xEF\xBD\x84\xEF\xBC\x91",
            "alice", PasswordRuleError::kCommon},
        RuleCase{
            "common_fullwidth_upper",  // "ＬＥＴＭＥＩＮ１２３"
            "\xEF\xBC\xAC\xEF\xBC\xA5\xEF\xBC\xB4\xEF\xBC\xAD\xEF\xBC\xA5\xEF\xBC\xA9\xEF\xBC\xAE"
            "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93",
            "alice", PasswordRuleError::kCommon},
        RuleCase{"common_is_exact_match_only", "password-tangerine", "alice", std::nullopt}),
    [](const ::testing::TestParamInfo<RuleCase>& info) { return std::string(info.param.name); });

TEST(PasswordRulesParams, HonoursCustomLengths) {
  PasswordParams p;
  p.min_length = 12;
  p.max_length = 20;
  EXPECT_EQ(check_password_rules("tangerine-k", "", p).error(), PasswordRuleError::kTooShort);
  EXPECT_TRUE(check_password_rules("tangerine-ke", "", p).has_value());
  EXPECT_TRUE(check_password_rules(repeat(kEmoji, 20), "", p).has_value());
  EXPECT_EQ(check_password_rules(repeat(kEmoji, 21), "", p).error(), PasswordRuleError::kTooLong);
}

TEST(PasswordRulesErrors, CodesAndDescriptions) {
  const PasswordParams p;
  const PasswordRuleError all[] = {
      PasswordRuleError::kTooShort, PasswordRuleError::kTooLong, PasswordRuleError::kInvalidUtf8,
      PasswordRuleError::kContainsUsername, PasswordRuleError::kCommon};
  std::set<std::string> codes;
  for (PasswordRuleError e : all) {
    const std::string code = to_string(e);
    EXPECT_TRUE(std::all_of(code.begin(), code.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    })) << code;
    codes.insert(code);
    EXPECT_FALSE(describe(e, p).empty());
  }
  EXPECT_EQ(codes.size(), std::size(all));
  EXPECT_NE(describe(PasswordRuleError::kTooShort, p).find("8"), std::string::npos);
  EXPECT_NE(describe(PasswordRuleError::kTooLong, p).find("64"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Common list

TEST(CommonPasswords, ListIsLargeSortedLowerCaseAndFindsEntries) {
  const auto list = common_passwords();
  EXPECT_GE(list.size(), 300u);
  EXPECT_TRUE(std::is_sorted(list.begin(), list.end()));
  std::size_t long_entries = 0;
  for (std::string_view w : list) {
    EXPECT_TRUE(is_common_password(w)) << w;
    EXPECT_EQ(normalize_nfkc(w), std::string(w));
    EXPECT_TRUE(std::none_of(w.begin(), w.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) << w;
    if (w.size() >= 8) ++long_entries;
  }
  EXPECT_GE(long_entries, 200u);
  for (const char* w : {"123456", "password", "qwerty", "iloveyou", "letmein", "12345678",
                        "qwertyuiop", "1qaz2wsx", "trustno1", "summer2024"}) {
    EXPECT_TRUE(is_common_password(w)) << w;
  }
  EXPECT_FALSE(is_common_password("PASSWORD"));  // callers fold case first
  EXPECT_FALSE(is_common_password("tangerine-kettle"));
  EXPECT_FALSE(is_common_password(""));
}

// ---------------------------------------------------------------------------
// Hashing

TEST(PasswordHash, RoundTripArgon2id) {
  const PasswordParams p = fast_params();
  const std::string h = hash_password("tangerine-kettle", p);
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_NE(h.find("m=8192,t=1,p=1"), std::string::npos) << h;
  EXPECT_TRUE(verify_password("tangerine-kettle", h));
  EXPECT_FALSE(verify_password("tangerine-kettlf", h));
  EXPECT_FALSE(verify_password("Tangerine-kettle", h));
  EXPECT_FALSE(verify_password("", h));
}

TEST(PasswordHash, SaltedSoHashesDiffer) {
  const PasswordParams p = fast_params();
  const std::string a = hash_password("tangerine-kettle", p);
  const std::string b = hash_password("tangerine-kettle", p);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password("tangerine-kettle", a));
  EXPECT_TRUE(verify_password("tangerine-kettle", b));
}

TEST(PasswordHash, NfkcEquivalentPasswordsVerify) {
  const PasswordParams p = fast_params();
  // Fullwidth "ｔａｎｇｏ-４２-ｘｙｚ" vs ASCII.
  const std::string fullwidth =
      "\xEF\xBD\x94\xEF\xBD\x81\xEF\xBD\x8E\xEF\xBD\x87\xEF\xBD\x8F-\xEF\xBC\x94\xEF\xBC\x92-"
      "\xEF\xBD\x98\xEF\xBD\x99\xEF\xBD\x9A";
  const std::string h1 = hash_password(fullwidth, p);
  EXPECT_TRUE(verify_password("tango-42-xyz", h1));
  EXPECT_TRUE(verify_password(fullwidth, h1));

  // Decomposed vs precomposed "café-crème".
  const std::string h2 = hash_password("cafe\xCC\x81-cre\xCC\x80me", p);
  EXPECT_TRUE(verify_password("caf\xC3\xA9-cr\xC3\xA8me", h2));
  EXPECT_FALSE(verify_password("cafe-creme", h2));

  // The stored hash is of the NFKC form: libsodium alone agrees.
  ASSERT_GE(sodium_init(), 0);
  EXPECT_EQ(crypto_pwhash_str_verify(h1.c_str(), "tango-42-xyz", 12), 0);
}

TEST(PasswordHash, VerifyAcceptsPlainLibsodiumHash) {
  // A PHC string produced directly by libsodium (e.g. imported users) verifies.
  ASSERT_GE(sodium_init(), 0);
  char out[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str_alg(out, "tangerine-kettle", 16, 1, 8 * 1024 * 1024,
                                  crypto_pwhash_ALG_ARGON2ID13),
            0);
  EXPECT_TRUE(verify_password("tangerine-kettle", out));
  EXPECT_FALSE(verify_password("tangerine-kettle!", out));
}

TEST(PasswordHash, GarbageHashesFail) {
  const PasswordParams p = fast_params();
  const std::string good = hash_password("tangerine-kettle", p);
  ASSERT_TRUE(verify_password("tangerine-kettle", good));

  EXPECT_FALSE(verify_password("tangerine-kettle", ""));
  EXPECT_FALSE(verify_password("tangerine-kettle", "garbage"));
  EXPECT_FALSE(verify_password("tangerine-kettle", "$argon2id$"));
  EXPECT_FALSE(verify_password("tangerine-kettle", "$argon2id$v=19$m=8192,t=1,p=1$AAAA$BBBB"));
  EXPECT_FALSE(verify_password("tangerine-kettle", "tangerine-kettle"));
  EXPECT_FALSE(verify_password("tangerine-kettle", good.substr(0, good.size() - 4)));
  EXPECT_FALSE(verify_password("tangerine-kettle", good + "\0trailing"s));
  EXPECT_FALSE(verify_password("tangerine-kettle", good + repeat("A", 200)));

  // Flip one character of the digest (last field), then of the salt.
  std::string flipped = good;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_password("tangerine-kettle", flipped));
  std::string salt_flipped = good;
  const std::size_t salt_pos = good.rfind('$', good.rfind('$') - 1) + 1;
  salt_flipped[salt_pos] = salt_flipped[salt_pos] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_password("tangerine-kettle", salt_flipped));
}

TEST(PasswordHash, InvalidUtf8) {
  const PasswordParams p = fast_params();
  const std::string h = hash_password("tangerine-kettle", p);
  EXPECT_FALSE(verify_password("tangerine-kettle\xFF", h));
  EXPECT_FALSE(verify_password("tangerine-kettle\0"s, h));
  EXPECT_THROW(hash_password("bad\xFF", p), std::invalid_argument);
}

TEST(PasswordHash, ParamsOutOfRangeThrow) {
  PasswordParams p = fast_params();
  p.iterations = 0;
  EXPECT_THROW(hash_password("tangerine-kettle", p), std::runtime_error);
}

TEST(PasswordHash, DummyHashIsCachedPerParams) {
  const PasswordParams p = fast_params();
  const std::string& a = dummy_hash(p);
  const std::string& b = dummy_hash(p);
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.rfind("$argon2id$", 0), 0u);
  EXPECT_NE(a.find("m=8192,t=1,p=1"), std::string::npos) << a;
  EXPECT_FALSE(verify_password("", a));
  EXPECT_FALSE(verify_password("password", a));

  PasswordParams q = fast_params();
  q.iterations = 2;
  const std::string& c = dummy_hash(q);
  EXPECT_NE(&a, &c);
  EXPECT_NE(c.find("m=8192,t=2,p=1"), std::string::npos) << c;
}

TEST(PasswordHash, DummyHashConcurrentFirstUseYieldsOne) {
  PasswordParams p = fast_params();
  p.iterations = 3;  // a key no other test uses
  std::vector<const std::string*> seen(4);
  std::vector<std::thread> ts;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    ts.emplace_back([&, i] { seen[i] = &dummy_hash(p); });
  }
  for (auto& t : ts) t.join();
  for (const std::string* s : seen) EXPECT_EQ(s, seen[0]);
}

// ---------------------------------------------------------------------------
// PasswordPool

TEST(PasswordPool, RunsAllJobs) {
  std::atomic<int> ran{0};
  {
    PasswordPool pool(2, 1000);
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(pool.submit([&] { ran.fetch_add(1); }));
  }
  EXPECT_EQ(ran.load(), 200);
}

TEST(PasswordPool, RunsHashJobsAndReturnsResults) {
  const PasswordParams p = fast_params();
  std::promise<bool> result;
  auto fut = result.get_future();
  PasswordPool pool(2, 4);
  ASSERT_TRUE(pool.submit([&] {
    const std::string h = hash_password("tangerine-kettle", p);
    result.set_value(verify_password("tangerine-kettle", h));
  }));
  EXPECT_TRUE(fut.get());
}

TEST(PasswordPool, BackgroundWorkersRunUnderSchedIdleWithTheirName) {
  for (bool background : {true, false}) {
    std::promise<std::pair<int, std::string>> seen;
    {
      PasswordPool pool(1, 4, background, "stepup-hash");
      ASSERT_TRUE(pool.submit([&] {
        char name[16] = {};
        pthread_getname_np(pthread_self(), name, sizeof name);
        int policy = -1;
        sched_param param{};
        pthread_getschedparam(pthread_self(), &policy, &param);
        seen.set_value({policy, name});
      }));
    }
    auto [policy, name] = seen.get_future().get();
    EXPECT_EQ(policy, background ? SCHED_IDLE : SCHED_OTHER) << background;
    EXPECT_EQ(name, "stepup-hash");
  }
  // The caller's own policy is untouched.
  int policy = -1;
  sched_param param{};
  pthread_getschedparam(pthread_self(), &policy, &param);
  EXPECT_EQ(policy, SCHED_OTHER);
}

// A background pool whose queue fills up runs at the normal policy until it
// has drained to a quarter: decisions first, but not at the price of refusing
// sign-ins.
TEST(PasswordPool, BackgroundWorkersLeaveSchedIdleWhileTheQueueIsNearlyFull) {
  auto policy_now = [] {
    int policy = -1;
    sched_param param{};
    pthread_getschedparam(pthread_self(), &policy, &param);
    return policy;
  };
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<int> seen(8, -1);
  {
    PasswordPool pool(1, 8, true, "stepup-hash");
    // Job 0 blocks the only worker; jobs 1..6 wait (6 >= 3/4 of 8: boost).
    ASSERT_TRUE(pool.submit([&] {
      released.wait();
      seen[0] = policy_now();
    }));
    for (int i = 1; i <= 6; ++i) {
      ASSERT_TRUE(pool.submit([&, i] { seen[static_cast<std::size_t>(i)] = policy_now(); }));
    }
    release.set_value();
  }
  EXPECT_EQ(seen[0], SCHED_OTHER);  // boosted while it ran, by the 6th submit
  // Taking job 4 leaves 2 waiting (<= 8/4): back to SCHED_IDLE from then on.
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], SCHED_OTHER) << i;
  for (int i = 4; i <= 6; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], SCHED_IDLE) << i;
}

TEST(PasswordPool, RejectsWhenQueueFull) {
  constexpr int kWorkers = 2;
  constexpr int kMaxQueue = 3;
  std::latch started(kWorkers);
  std::latch release(1);
  std::atomic<int> ran{0};
  {
    PasswordPool pool(kWorkers, kMaxQueue);
    // Occupy every worker so nothing leaves the queue.
    for (int i = 0; i < kWorkers; ++i) {
      ASSERT_TRUE(pool.submit([&] {
        started.count_down();
        release.wait();
        ran.fetch_add(1);
      }));
    }
    started.wait();
    EXPECT_EQ(pool.queued(), 0);
    for (int i = 0; i < kMaxQueue; ++i) {
      EXPECT_TRUE(pool.submit([&] { ran.fetch_add(1); })) << i;
    }
    EXPECT_EQ(pool.queued(), kMaxQueue);
    EXPECT_FALSE(pool.submit([&] { ran.fetch_add(100); }));
    EXPECT_FALSE(pool.submit([&] { ran.fetch_add(100); }));
    EXPECT_EQ(pool.queued(), kMaxQueue);
    release.count_down();
  }
  EXPECT_EQ(ran.load(), kWorkers + kMaxQueue);
}

TEST(PasswordPool, AcceptsAgainAfterQueueDrains) {
  std::latch started(1);
  std::latch release(1);
  PasswordPool pool(1, 1);
  ASSERT_TRUE(pool.submit([&] {
    started.count_down();
    release.wait();
  }));
  started.wait();
  ASSERT_TRUE(pool.submit([] {}));
  EXPECT_FALSE(pool.submit([] {}));
  release.count_down();
  // The queue empties once the worker picks the second job up.
  // (Polls up to 30 s only as a hang guard; it ends as soon as the queue is empty.)
  for (int i = 0; i < 30000 && pool.queued() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(pool.queued(), 0);
  EXPECT_TRUE(pool.submit([] {}));
}

TEST(PasswordPool, DestructorDrainsQueuedJobs) {
  std::latch started(1);
  std::latch release(1);
  std::atomic<int> ran{0};
  auto pool = std::make_unique<PasswordPool>(1, 10);
  ASSERT_TRUE(pool->submit([&] {
    started.count_down();
    release.wait();
    ran.fetch_add(1);
  }));
  started.wait();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pool->submit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ran.fetch_add(1);
    }));
  }
  EXPECT_EQ(pool->queued(), 10);
  // Release the worker from another thread shortly after destruction starts,
  // so the destructor really finds a full queue to drain.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    release.count_down();
  });
  pool.reset();
  releaser.join();
  EXPECT_EQ(ran.load(), 11);
}

TEST(PasswordPool, ThrowingJobDoesNotKillWorker) {
  std::atomic<int> ran{0};
  {
    PasswordPool pool(1, 10);
    ASSERT_TRUE(pool.submit([] { throw std::runtime_error("boom (expected in test)"); }));
    ASSERT_TRUE(pool.submit([] { throw 42; }));
    ASSERT_TRUE(pool.submit([&] { ran.fetch_add(1); }));
    ASSERT_TRUE(pool.submit([&] { ran.fetch_add(1); }));
  }
  EXPECT_EQ(ran.load(), 2);
}

TEST(PasswordPool, RejectsEmptyJobAndClampsWorkers) {
  std::atomic<int> ran{0};
  {
    PasswordPool pool(0, 2);  // treated as one worker
    EXPECT_FALSE(pool.submit(std::function<void()>{}));
    EXPECT_TRUE(pool.submit([&] { ran.fetch_add(1); }));
  }
  EXPECT_EQ(ran.load(), 1);
  PasswordPool none(1, 0);
  EXPECT_FALSE(none.submit([] {}));
}

}  // namespace
}  // namespace stepup::factors
