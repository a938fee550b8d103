// When the node directory reads a shard again (apply/shard_rereads.h): the early re-reads,
// and the steady period that follows them (kShardRefresh whatever the size of the mesh).
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "apply/shard_rereads.h"

namespace beemesh::apply {
namespace {

using namespace std::chrono_literals;

using Steady = std::chrono::steady_clock;
const Steady::time_point kT0 = Steady::time_point{} + 1h;

// Reads a shard each time it comes due, from kT0; returns the periods between the reads.
std::vector<std::chrono::milliseconds> periods_on_schedule(ShardRereads& s, int reads) {
  std::vector<std::chrono::milliseconds> out;
  auto now = kT0;
  for (int i = 0; i < reads; ++i) {
    const auto due = s.after_read(now);
    out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(due - now));
    now = due;
  }
  return out;
}

TEST(ShardRereads, TheEarlyReReadsDoubleFromSixtySecondsToKShardRefresh) {
  ShardRereads s;
  const std::vector<std::chrono::milliseconds> want{60s, 120s, 240s, 480s, 480s};
  EXPECT_EQ(periods_on_schedule(s, 5), want);
}

TEST(ShardRereads, AfterTheEarlyReReadsThePeriodStaysKShardRefresh) {
  ShardRereads s;
  const auto periods = periods_on_schedule(s, 8);
  for (size_t i = 3; i < periods.size(); ++i) EXPECT_EQ(periods[i], kShardRefresh) << i;
}

// A mass start: joins-gap passes read every shard again seconds after the first pass; the
// early re-read must still come 60 s after the last of them, not 240 s.
TEST(ShardRereads, AReadForcedBeforeTheShardIsDueKeepsThePeriod) {
  ShardRereads s;
  s.after_read(kT0);
  s.after_read(kT0 + 10s);
  const auto due = s.after_read(kT0 + 20s);
  EXPECT_EQ(due, kT0 + 20s + 60s);
  EXPECT_EQ(s.period(), 60s);
}

TEST(ShardRereads, AReadAfterTheShardCameDueTakesTheNextStep) {
  ShardRereads s;
  const auto due = s.after_read(kT0);
  const auto late = due + 30s;  // e.g. a slow tick, or a failed read retried on its backoff
  EXPECT_EQ(s.after_read(late), late + 120s);
}

// A node joining a running mesh: its first pass found the members, the joins key brings
// the newcomers, so the 60 s re-read lists nothing new and the early re-reads end there.
TEST(ShardRereads, AReadOnScheduleThatFoundNothingNewTakesTheSteadyPeriod) {
  ShardRereads s;
  const auto due = s.after_read(kT0);  // ~1,000 nodes
  EXPECT_EQ(s.after_read(due, 1.0, false), due + kShardRefresh);
}

TEST(ShardRereads, EarlyReReadsGoOnWhileReadsOnScheduleFindNewMembers) {
  ShardRereads s;
  auto now = s.after_read(kT0);
  now = s.after_read(now, 1.0, true);
  EXPECT_EQ(s.period(), 120s);
  now = s.after_read(now, 1.0, true);
  EXPECT_EQ(s.period(), 240s);
  s.after_read(now, 1.0, false);
  EXPECT_EQ(s.period(), kShardRefresh) << "steady";
}

TEST(ShardRereads, AForcedReadThatFoundNothingNewKeepsThePeriod) {
  ShardRereads s;
  s.after_read(kT0);
  EXPECT_EQ(s.after_read(kT0 + 10s, 1.0, false), kT0 + 10s + 60s);
}

// A node that joined a running mesh (apply/directory.h) reads its shards once, then at the
// steady period.
TEST(ShardRereads, SkippingTheEarlyReReadsTakesTheSteadyPeriodFromNow) {
  ShardRereads s;
  s.after_read(kT0);
  EXPECT_EQ(s.skip_early(kT0 + 5s), kT0 + 5s + kShardRefresh);
  EXPECT_EQ(s.period(), kShardRefresh);
  const auto due = kT0 + 5s + kShardRefresh;
  EXPECT_EQ(s.after_read(due), due + kShardRefresh) << "and stays there";
}

TEST(ShardRereads, TheSpreadScalesThePeriod) {
  ShardRereads s;
  EXPECT_EQ(s.after_read(kT0, 0.75), kT0 + 45s);
  EXPECT_EQ(s.period(), 60s) << "the period itself is not spread";
}

TEST(ShardRereads, IsSteadyOnlyOnceTheReadAfterTheLastEarlyReReadScheduledTheSteadyPeriod) {
  ShardRereads s;
  EXPECT_FALSE(s.steady()) << "never read";
  auto now = kT0;
  for (int i = 0; i < 4; ++i) {
    now = s.after_read(now);
    EXPECT_FALSE(s.steady()) << "read " << i << " scheduled an early re-read";
  }
  EXPECT_EQ(s.period(), kShardRefresh) << "the 480 s early re-read is still ahead";
  s.after_read(now);
  EXPECT_TRUE(s.steady());
}

TEST(ShardRereads, IsSteadyAfterAReadOnScheduleThatFoundNothingNew) {
  ShardRereads s;
  const auto due = s.after_read(kT0);
  s.after_read(due, 1.0, false);
  EXPECT_TRUE(s.steady());
}

TEST(ShardRereads, IsSteadyAfterSkippingTheEarlyReReads) {
  ShardRereads s;
  s.after_read(kT0);
  s.skip_early(kT0 + 5s);
  EXPECT_TRUE(s.steady());
}

}  // namespace
}  // namespace beemesh::apply
