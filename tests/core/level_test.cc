// LevelTable::attainments / highest: which levels a session's proofs hold.
#include "core/level.h"

#include <gtest/gtest.h>

#include <vector>

namespace stepup::core {
namespace {

constexpr Seconds kMinute = 60;

// The default ladder: aal1 by password, aal2 by password + any second factor
// for 15 minutes, aal3 by password + hardware key + user verification for 5.
LevelTable ladder() {
  return LevelTable({
      Level{"aal1", "aal1", {{"pwd"}}, std::nullopt},
      Level{"aal2", "urn:stepup:aal2", {{"pwd", "otp"}, {"pwd", "hwk"}}, 15 * kMinute},
      Level{"aal3", "aal3", {{"pwd", "hwk", "user"}}, 5 * kMinute},
  });
}

TEST(LevelTable, FindByNameOrAcr) {
  LevelTable t = ladder();
  EXPECT_EQ(t.size(), 3);
  EXPECT_EQ(t.find("aal1"), 0);
  EXPECT_EQ(t.find("aal2"), 1);
  EXPECT_EQ(t.find("urn:stepup:aal2"), 1);
  EXPECT_EQ(t.find("aal3"), 2);
  EXPECT_EQ(t.find("AAL1"), std::nullopt);  // names are exact
  EXPECT_EQ(t.find(""), std::nullopt);
  EXPECT_EQ(t.at(1).name, "aal2");
}

TEST(LevelTable, NameWinsOverAnotherLevelsAcr) {
  LevelTable t({Level{"low", "high", {{"pwd"}}, std::nullopt},
                Level{"high", "x", {{"pwd", "otp"}}, std::nullopt}});
  EXPECT_EQ(t.find("high"), 1);
}

TEST(LevelTable, NoProofsNoLevels) {
  EXPECT_TRUE(ladder().attainments({}, 1000).empty());
  EXPECT_EQ(ladder().highest({}, 1000), std::nullopt);
}

TEST(LevelTable, PasswordOnlyHoldsBaseForever) {
  std::vector<MethodProof> proofs = {{"pwd", 1000}};
  auto held = ladder().attainments(proofs, 1000 + 365 * 86400);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].level, 0);
  EXPECT_EQ(held[0].reached_at, 1000);
  EXPECT_EQ(held[0].until, kNever);
}

TEST(LevelTable, SecondFactorReachesAal2AtTheLaterProof) {
  std::vector<MethodProof> proofs = {{"pwd", 1000}, {"otp", 1500}};
  auto held = ladder().attainments(proofs, 1600);
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].level, 0);
  EXPECT_EQ(held[1].level, 1);
  EXPECT_EQ(held[1].reached_at, 1500);  // max of the set's proof times
  EXPECT_EQ(held[1].until, 1500 + 15 * kMinute);
}

TEST(LevelTable, ElevationLapsesExactlyAtUntil) {
  std::vector<MethodProof> proofs = {{"pwd", 1000}, {"otp", 2000}};
  const UnixTime until = 2000 + 15 * kMinute;
  auto before = ladder().highest(proofs, until - 1);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->level, 1);
  EXPECT_EQ(before->until, until);
  // At now == until the level is no longer held: the session falls back.
  auto at = ladder().highest(proofs, until);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->level, 0);
  EXPECT_EQ(ladder().attainments(proofs, until).size(), 1u);
}

TEST(LevelTable, BestSetIsTheLatestOne) {
  // otp long ago (elevation lapsed), hwk recently: aal2 is held via hwk.
  std::vector<MethodProof> proofs = {{"pwd", 1000}, {"otp", 1100}, {"hwk", 5000}};
  auto held = ladder().attainments(proofs, 5100);
  ASSERT_GE(held.size(), 2u);
  EXPECT_EQ(held[1].level, 1);
  EXPECT_EQ(held[1].reached_at, 5000);
  EXPECT_EQ(held[1].until, 5000 + 15 * kMinute);
}

TEST(LevelTable, RepeatedMethodUsesLatestProof) {
  std::vector<MethodProof> proofs = {{"pwd", 1000}, {"otp", 3000}, {"otp", 1200}};
  auto top = ladder().highest(proofs, 3001);
  ASSERT_TRUE(top);
  EXPECT_EQ(top->level, 1);
  EXPECT_EQ(top->reached_at, 3000);
}

TEST(LevelTable, IncompleteSetDoesNotCount) {
  std::vector<MethodProof> proofs = {{"otp", 1000}, {"hwk", 1000}, {"user", 1000}};
  EXPECT_TRUE(ladder().attainments(proofs, 1001).empty());  // no pwd anywhere
}

TEST(LevelTable, HighestIsLargestIndexAndHeldOrdered) {
  std::vector<MethodProof> proofs = {{"pwd", 100}, {"hwk", 200}, {"user", 200}};
  auto held = ladder().attainments(proofs, 250);
  ASSERT_EQ(held.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(held[i].level, i);
  EXPECT_EQ(ladder().highest(proofs, 250)->level, 2);
  // aal3 (5 min) lapses before aal2 (15 min).
  auto later = ladder().highest(proofs, 200 + 5 * kMinute);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->level, 1);
}

TEST(LevelTable, HigherLevelHeldWithoutLowerOneWhenSetsDiffer) {
  // A passwordless aal2 (hardware key alone) is held even though aal1 needs pwd.
  LevelTable t({Level{"aal1", "aal1", {{"pwd"}}, std::nullopt},
                Level{"aal2", "aal2", {{"hwk"}}, std::nullopt}});
  std::vector<MethodProof> proofs = {{"hwk", 10}};
  auto held = t.attainments(proofs, 20);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].level, 1);
  EXPECT_EQ(held[0].until, kNever);
}

TEST(LevelTable, EmptySetNeverSatisfied) {
  LevelTable t({Level{"aal1", "aal1", {{}}, std::nullopt}});
  std::vector<MethodProof> proofs = {{"pwd", 10}};
  EXPECT_TRUE(t.attainments(proofs, 20).empty());
}

TEST(LevelTable, HugeElevationSaturatesInsteadOfWrapping) {
  LevelTable t({Level{"x", "x", {{"pwd"}}, std::numeric_limits<Seconds>::max()}});
  std::vector<MethodProof> proofs = {{"pwd", 1000}};
  auto top = t.highest(proofs, 2000);
  ASSERT_TRUE(top);
  EXPECT_EQ(top->until, kNever);
}

}  // namespace
}  // namespace stepup::core
