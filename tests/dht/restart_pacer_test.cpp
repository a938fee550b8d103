// RestartPacer: how often the rejoin watchdog may restart a node's runner.
#include "dht/restart_pacer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMin = 30'000;
constexpr int64_t kMax = 600'000;

RestartPacer pacer(uint64_t seed = 1) {
  return RestartPacer(30s, 600s, seed);
}

TEST(RestartPacer, TheFirstRestartIsAllowedAtOnce) {
  const RestartPacer p = pacer();
  EXPECT_TRUE(p.allows(0));
  EXPECT_TRUE(p.allows(5));
  EXPECT_EQ(p.last_ms(), 0);
}

TEST(RestartPacer, TheNextRestartWaitsAtLeastTheMinimumGap) {
  RestartPacer p = pacer();
  p.restarted(1'000);
  EXPECT_GE(p.gap_ms(), kMin);
  EXPECT_FALSE(p.allows(1'000 + kMin - 1));
  EXPECT_TRUE(p.allows(1'000 + p.gap_ms()));
  EXPECT_EQ(p.last_ms(), 1'000);
}

TEST(RestartPacer, EachRestartSoonAfterTheLastDoublesTheGapWithinItsJitter) {
  RestartPacer p = pacer();
  int64_t now = 1'000;
  int64_t base = kMin;
  for (int streak = 1; base < kMax; ++streak) {
    p.restarted(now);
    EXPECT_EQ(p.streak(), streak);
    EXPECT_GE(p.gap_ms(), base) << "restart " << streak;
    EXPECT_LT(p.gap_ms(), base * 3 / 2 + 1) << "restart " << streak;
    now += p.gap_ms();
    base *= 2;
  }
}

TEST(RestartPacer, TheGapNeverExceedsTheMaximum) {
  RestartPacer p = pacer();
  int64_t now = 1'000;
  for (int i = 0; i < 40; ++i) {
    p.restarted(now);
    EXPECT_LE(p.gap_ms(), kMax);
    now += p.gap_ms();
  }
  EXPECT_EQ(p.gap_ms(), kMax);
  EXPECT_EQ(p.streak(), 40);  // a restart every max gap continues the streak
}

TEST(RestartPacer, ARestartLongAfterTheLastStartsAStreakAtTheMinimumGap) {
  RestartPacer p = pacer();
  int64_t now = 1'000;
  for (int i = 0; i < 6; ++i) {
    p.restarted(now);
    now += p.gap_ms();
  }
  ASSERT_GT(p.gap_ms(), 4 * kMin);
  now = p.last_ms() + 2 * kMax;
  p.restarted(now);
  EXPECT_EQ(p.streak(), 1);
  EXPECT_LT(p.gap_ms(), kMin * 3 / 2 + 1);
}

TEST(RestartPacer, NodesSeededApartRestartApart) {
  std::set<int64_t> gaps;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    RestartPacer p = pacer(seed);
    p.restarted(1'000);
    gaps.insert(p.gap_ms());
  }
  EXPECT_GE(gaps.size(), 15u);
}

TEST(RestartPacer, AMaximumBelowTheMinimumMeansEveryGapIsTheMinimum) {
  RestartPacer p(30s, 10s, 7);
  p.restarted(0);
  EXPECT_EQ(p.gap_ms(), kMin);
  p.restarted(kMin);
  EXPECT_EQ(p.gap_ms(), kMin);
}

TEST(RestartPacer, AResetAllowsTheNextRestartAtOnceAndStartsAStreak) {
  RestartPacer p = pacer();
  p.restarted(1'000);
  p.restarted(1'000 + p.gap_ms());
  ASSERT_EQ(p.streak(), 2);
  p.reset();
  EXPECT_TRUE(p.allows(1'001 + kMin));
  EXPECT_EQ(p.last_ms(), 0);
  p.restarted(2'000 + kMin);
  EXPECT_EQ(p.streak(), 1);
  EXPECT_LT(p.gap_ms(), kMin * 3 / 2 + 1);
}

}  // namespace
}  // namespace beemesh::dht
