#include "crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <thread>
#include <vector>

#include "crypto/encoding.h"

namespace stepup::crypto {
namespace {

TEST(Random, BytesHaveRequestedLengthAndDiffer) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(1).size(), 1u);
  const std::string a = random_bytes(32);
  const std::string b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);  // 2^-256 chance of a false failure
}

TEST(Random, TokenIsBase64UrlOfRequestedBytes) {
  const std::string t = random_token();
  EXPECT_EQ(t.size(), 43u);
  const auto raw = base64url_decode(t);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 32u);
  EXPECT_EQ(random_token(16).size(), 22u);
}

TEST(Random, UniformStaysInRangeAndCoversIt) {
  std::array<int, 10> seen{};
  for (int i = 0; i < 2000; ++i) {
    const auto v = random_uniform(10);
    ASSERT_LT(v, 10u);
    ++seen[v];
  }
  // Each bucket expects 200; below 100 would be a ~1e-15 event for a fair source.
  for (int count : seen) EXPECT_GT(count, 100);
  EXPECT_EQ(random_uniform(1), 0u);
}

TEST(Random, SafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<std::string> out(8);
  for (int i = 0; i < 8; ++i) threads.emplace_back([&out, i] { out[i] = random_token(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(out.begin(), out.end()).size(), out.size());
}

}  // namespace
}  // namespace stepup::crypto
