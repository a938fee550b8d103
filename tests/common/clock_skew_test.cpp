#include "common/clock_skew.h"

#include <gtest/gtest.h>

#include <limits>

namespace beemesh {
namespace {

TEST(ClockSkew, RecordsPeerMinusLocalTime) {
  ManualClock clock;
  ClockSkewTable table(clock);
  table.record("n1", clock.now_ms() + 2'500);
  table.record("n2", clock.now_ms() - 700);
  EXPECT_EQ(table.get("n1")->skew_ms, 2'500);
  EXPECT_EQ(table.get("n2")->skew_ms, -700);
  EXPECT_EQ(table.get("n1")->measured_at_ms, clock.now_ms());
  EXPECT_FALSE(table.get("n3"));
}

TEST(ClockSkew, LatestSampleReplacesTheEarlierOne) {
  ManualClock clock;
  ClockSkewTable table(clock);
  table.record("n1", clock.now_ms() + 5'000);
  clock.advance_ms(1'000);
  table.record("n1", clock.now_ms() + 100);
  EXPECT_EQ(table.get("n1")->skew_ms, 100);
  EXPECT_EQ(table.size(), 1u);
}

TEST(ClockSkew, WithinTenSecondsIsNotWarned) {
  ManualClock clock;
  ClockSkewTable table(clock);
  EXPECT_EQ(table.record("n1", clock.now_ms() + 10'000), ClockSkewTable::Logged::nothing);
  EXPECT_EQ(table.record("n1", clock.now_ms() - 10'000), ClockSkewTable::Logged::nothing);
}

TEST(ClockSkew, BeyondTenSecondsIsWarnedEitherWay) {
  ManualClock clock;
  ClockSkewTable table(clock);
  EXPECT_EQ(table.record("ahead", clock.now_ms() + 10'001), ClockSkewTable::Logged::warning);
  EXPECT_EQ(table.record("behind", clock.now_ms() - 12'000), ClockSkewTable::Logged::warning);
}

TEST(ClockSkew, WarningRepeatsAtMostOncePerMinutePerPeer) {
  ManualClock clock;
  ClockSkewTable table(clock);
  EXPECT_EQ(table.record("n1", clock.now_ms() + 20'000), ClockSkewTable::Logged::warning);
  clock.advance_ms(59'000);
  EXPECT_EQ(table.record("n1", clock.now_ms() + 20'000), ClockSkewTable::Logged::nothing);
  EXPECT_EQ(table.record("n2", clock.now_ms() + 20'000), ClockSkewTable::Logged::warning);
  clock.advance_ms(1'000);
  EXPECT_EQ(table.record("n1", clock.now_ms() + 20'000), ClockSkewTable::Logged::warning);
}

TEST(ClockSkew, ComingBackWithinTheThresholdIsLoggedOnce) {
  ManualClock clock;
  ClockSkewTable table(clock);
  table.record("n1", clock.now_ms() + 20'000);
  EXPECT_EQ(table.record("n1", clock.now_ms() + 50), ClockSkewTable::Logged::recovered);
  EXPECT_EQ(table.record("n1", clock.now_ms() + 50), ClockSkewTable::Logged::nothing);
  EXPECT_EQ(table.record("n1", clock.now_ms() + 20'000), ClockSkewTable::Logged::warning);
}

TEST(ClockSkew, ExtremeTimestampsSaturate) {
  ManualClock clock;
  ClockSkewTable table(clock);
  table.record("max", std::numeric_limits<int64_t>::max());
  table.record("min", std::numeric_limits<int64_t>::min());
  EXPECT_GT(table.get("max")->skew_ms, 0);
  EXPECT_EQ(table.get("min")->skew_ms, std::numeric_limits<int64_t>::min());
}

TEST(ClockSkew, OldestPeerIsDroppedAtCapacity) {
  ManualClock clock;
  ClockSkewTable table(clock, {.max_peers = 2});
  table.record("a", clock.now_ms());
  clock.advance_ms(1);
  table.record("b", clock.now_ms());
  clock.advance_ms(1);
  table.record("c", clock.now_ms());
  EXPECT_EQ(table.size(), 2u);
  EXPECT_FALSE(table.get("a"));
  EXPECT_TRUE(table.get("c"));
}

TEST(ClockSkew, DescribesDirection) {
  EXPECT_EQ(describe_skew(12'345), "12.3 s ahead");
  EXPECT_EQ(describe_skew(-40'000), "40.0 s behind");
}

}  // namespace
}  // namespace beemesh
