#include "factors/recovery_codes.h"

#include <set>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace stepup::factors {
namespace {

constexpr int kSymbols = 16;    // 16 x 5 bits = 80 bits
constexpr int kGroupSize = 4;   // "xxxx-xxxx-xxxx-xxxx"
constexpr int kMaxCount = 100;  // a set is ~10 codes; bound the work per call
// Loose typing adds at most a few separators; longer input is not a code.
constexpr std::size_t kMaxInput = 64;

static_assert(kRecoveryCodeAlphabet.size() == 32, "5 bits per symbol needs 32 symbols");

std::string new_code() {
  std::string code;
  code.reserve(kSymbols + kSymbols / kGroupSize - 1);
  for (int i = 0; i < kSymbols; ++i) {
    if (i > 0 && i % kGroupSize == 0) code.push_back('-');
    // random_uniform rejects and retries, so every symbol is exactly uniform.
    code.push_back(kRecoveryCodeAlphabet[crypto::random_uniform(32)]);
  }
  return code;
}

}  // namespace

std::vector<std::string> generate_recovery_codes(int count) {
  std::vector<std::string> codes;
  if (count <= 0) return codes;
  if (count > kMaxCount) count = kMaxCount;
  codes.reserve(static_cast<std::size_t>(count));
  // A repeat within one set (odds ~2^-80) would make two codes share one
  // stored hash; checking costs nothing, so a set is always distinct.
  std::set<std::string> seen;
  while (codes.size() < static_cast<std::size_t>(count)) {
    std::string code = new_code();
    if (seen.insert(code).second) codes.push_back(std::move(code));
  }
  return codes;
}

std::optional<std::string> normalize_recovery_code(std::string_view input) {
  if (input.size() > kMaxInput) return std::nullopt;
  std::string out;
  out.reserve(kSymbols);
  for (char c : input) {
    if (c == ' ' || c == '-' || c == '\t') continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == 'o') c = '0';  // the alphabet has no 'o': the user meant zero
    if (kRecoveryCodeAlphabet.find(c) == std::string_view::npos) return std::nullopt;
    out.push_back(c);
  }
  if (out.size() != static_cast<std::size_t>(kSymbols)) return std::nullopt;
  return out;
}

std::string recovery_code_hash(std::string_view normalized) {
  return crypto::sha256_hex(normalized);
}

}  // namespace stepup::factors
