// When the node directory reads a shard again (apply/shard_rereads.h): the steady period,
// longer in a larger mesh so that a node at rest reads about the same number of directory
// entries per kShardRefresh whatever the size of the mesh, and the schedule that leads to it.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "apply/shard_rereads.h"

namespace beemesh::apply {
namespace {

using namespace std::chrono_literals;

// Entries a node reads per kShardRefresh when every shard holds `entries_per_shard`.
double entries_read_per_refresh(double entries_per_shard) {
  const double period_ms = static_cast<double>(steady_shard_refresh(entries_per_shard).count());
  const double refresh_ms = static_cast<double>(std::chrono::milliseconds(kShardRefresh).count());
  return static_cast<double>(kDirectoryShards) * entries_per_shard * refresh_ms / period_ms;
}

TEST(SteadyShardRefresh, IsKShardRefreshInAMeshOfUpTo128Nodes) {
  EXPECT_EQ(steady_shard_refresh(0), kShardRefresh) << "nothing read yet";
  EXPECT_EQ(steady_shard_refresh(1), kShardRefresh) << "64 nodes";
  EXPECT_EQ(steady_shard_refresh(2), kShardRefresh) << "128 nodes";
}

TEST(SteadyShardRefresh, GrowsInProportionToTheEntriesPerShardAbove128Nodes) {
  EXPECT_EQ(steady_shard_refresh(4), 2 * kShardRefresh) << "256 nodes";
  EXPECT_EQ(steady_shard_refresh(8), 4 * kShardRefresh) << "512 nodes";
  EXPECT_EQ(steady_shard_refresh(3), std::chrono::milliseconds(720'000)) << "192 nodes: 12 min";
}

TEST(SteadyShardRefresh, ReadsAboutKRereadEntriesPerPeriodEntriesPerKShardRefresh) {
  for (double e : {2.0, 3.0, 4.7, 7.5, 10.0, 15.6}) {
    EXPECT_NEAR(entries_read_per_refresh(e), double(kRereadEntriesPerPeriod), 0.01) << e;
  }
}

TEST(SteadyShardRefresh, IsCappedAtKShardRefreshMax) {
  EXPECT_EQ(steady_shard_refresh(16), kShardRefreshMax) << "1,024 nodes";
  EXPECT_EQ(steady_shard_refresh(50), kShardRefreshMax) << "full shards (max_providers)";
  EXPECT_EQ(steady_shard_refresh(1e300), kShardRefreshMax);
}

using Steady = std::chrono::steady_clock;
const Steady::time_point kT0 = Steady::time_point{} + 1h;
constexpr double kFewEntries = 1.5;  // ~100 nodes

// Reads a shard each time it comes due, from kT0; returns the periods between the reads.
std::vector<std::chrono::milliseconds> periods_on_schedule(ShardRereads& s, int reads,
                                                           double entries) {
  std::vector<std::chrono::milliseconds> out;
  auto now = kT0;
  for (int i = 0; i < reads; ++i) {
    const auto due = s.after_read(now, entries);
    out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(due - now));
    now = due;
  }
  return out;
}

TEST(ShardRereads, TheEarlyReReadsDoubleFromSixtySecondsToKShardRefresh) {
  ShardRereads s;
  const std::vector<std::chrono::milliseconds> want{60s, 120s, 240s, 480s, 480s};
  EXPECT_EQ(periods_on_schedule(s, 5, kFewEntries), want);
}

TEST(ShardRereads, AfterTheEarlyReReadsThePeriodIsTheSteadyPeriodOfTheEstimate) {
  ShardRereads s;
  const auto periods = periods_on_schedule(s, 6, 4.7);  // ~300 nodes
  EXPECT_EQ(periods[3], kShardRefresh);
  EXPECT_EQ(periods[4], steady_shard_refresh(4.7));
  EXPECT_EQ(periods[5], steady_shard_refresh(4.7));
}

TEST(ShardRereads, TheSteadyPeriodFollowsTheEstimateAtEachReadOnSchedule) {
  ShardRereads s;
  auto now = kT0;
  for (int i = 0; i < 5; ++i) now = s.after_read(now, 4.0);
  EXPECT_EQ(s.period(), steady_shard_refresh(4.0));
  s.after_read(now, 8.0);  // the mesh grew
  EXPECT_EQ(s.period(), steady_shard_refresh(8.0));
}

// A mass start: joins-gap passes read every shard again seconds after the first pass; the
// early re-read must still come 60 s after the last of them, not 240 s.
TEST(ShardRereads, AReadForcedBeforeTheShardIsDueKeepsThePeriod) {
  ShardRereads s;
  s.after_read(kT0, kFewEntries);
  s.after_read(kT0 + 10s, kFewEntries);
  const auto due = s.after_read(kT0 + 20s, kFewEntries);
  EXPECT_EQ(due, kT0 + 20s + 60s);
  EXPECT_EQ(s.period(), 60s);
}

TEST(ShardRereads, AReadAfterTheShardCameDueTakesTheNextStep) {
  ShardRereads s;
  const auto due = s.after_read(kT0, kFewEntries);
  const auto late = due + 30s;  // e.g. a slow tick, or a failed read retried on its backoff
  EXPECT_EQ(s.after_read(late, kFewEntries), late + 120s);
}

// A node joining a running mesh: its first pass found the members, the joins key brings
// the newcomers, so the 60 s re-read lists nothing new and the early re-reads end there.
TEST(ShardRereads, AReadOnScheduleThatFoundNothingNewTakesTheSteadyPeriod) {
  ShardRereads s;
  const auto due = s.after_read(kT0, 15.6);  // ~1,000 nodes
  EXPECT_EQ(s.after_read(due, 15.6, 1.0, false), due + steady_shard_refresh(15.6));
}

TEST(ShardRereads, EarlyReReadsGoOnWhileReadsOnScheduleFindNewMembers) {
  ShardRereads s;
  auto now = s.after_read(kT0, kFewEntries);
  now = s.after_read(now, kFewEntries, 1.0, true);
  EXPECT_EQ(s.period(), 120s);
  now = s.after_read(now, kFewEntries, 1.0, true);
  EXPECT_EQ(s.period(), 240s);
  s.after_read(now, kFewEntries, 1.0, false);
  EXPECT_EQ(s.period(), kShardRefresh) << "steady (8 min at ~100 nodes)";
}

TEST(ShardRereads, AForcedReadThatFoundNothingNewKeepsThePeriod) {
  ShardRereads s;
  s.after_read(kT0, kFewEntries);
  EXPECT_EQ(s.after_read(kT0 + 10s, kFewEntries, 1.0, false), kT0 + 10s + 60s);
}

// A node that joined a running mesh (apply/directory.h) reads its shards once, then at the
// steady period.
TEST(ShardRereads, SkippingTheEarlyReReadsTakesTheSteadyPeriodFromNow) {
  ShardRereads s;
  s.after_read(kT0, 15.6);
  EXPECT_EQ(s.skip_early(kT0 + 5s, 15.6), kT0 + 5s + steady_shard_refresh(15.6));
  EXPECT_EQ(s.period(), steady_shard_refresh(15.6));
  const auto due = kT0 + 5s + steady_shard_refresh(15.6);
  EXPECT_EQ(s.after_read(due, 15.6), due + steady_shard_refresh(15.6)) << "and stays there";
}

TEST(ShardRereads, TheSpreadScalesThePeriod) {
  ShardRereads s;
  EXPECT_EQ(s.after_read(kT0, kFewEntries, 0.75), kT0 + 45s);
  EXPECT_EQ(s.period(), 60s) << "the period itself is not spread";
}

TEST(ShardRereads, IsSteadyOnlyOnceTheReadAfterTheLastEarlyReReadScheduledTheSteadyPeriod) {
  ShardRereads s;
  EXPECT_FALSE(s.steady()) << "never read";
  auto now = kT0;
  for (int i = 0; i < 4; ++i) {
    now = s.after_read(now, kFewEntries);
    EXPECT_FALSE(s.steady()) << "read " << i << " scheduled an early re-read";
  }
  EXPECT_EQ(s.period(), kShardRefresh) << "the 480 s early re-read is still ahead";
  s.after_read(now, kFewEntries);
  EXPECT_TRUE(s.steady());
}

TEST(ShardRereads, IsSteadyAfterAReadOnScheduleThatFoundNothingNew) {
  ShardRereads s;
  const auto due = s.after_read(kT0, kFewEntries);
  s.after_read(due, kFewEntries, 1.0, false);
  EXPECT_TRUE(s.steady());
}

TEST(ShardRereads, IsSteadyAfterSkippingTheEarlyReReads) {
  ShardRereads s;
  s.after_read(kT0, 15.6);
  s.skip_early(kT0 + 5s, 15.6);
  EXPECT_TRUE(s.steady());
}

}  // namespace
}  // namespace beemesh::apply
