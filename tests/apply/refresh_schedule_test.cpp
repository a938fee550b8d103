// When the node directory's refresher wakes next (apply/refresh_schedule.h): at every tick
// while there is something to follow, at its next shard read or joins event while at rest.
#include <gtest/gtest.h>

#include <chrono>

#include "apply/refresh_schedule.h"

namespace beemesh::apply {
namespace {

using namespace std::chrono_literals;

using Steady = std::chrono::steady_clock;
const Steady::time_point kNow = Steady::time_point{} + 1h;
constexpr std::chrono::milliseconds kTick = 2s;

RefreshPlan at_rest(Steady::time_point earliest_due, Steady::time_point next_event) {
  RefreshPlan p;
  p.earliest_due = earliest_due;
  p.next_event = next_event;
  return p;
}

TEST(RefreshSchedule, DueShardsLeftOverAreReadAfterTheBacklogPause) {
  RefreshPlan p = at_rest(kNow + 1h, kNow + 1h);
  p.backlog = true;
  p.busy = true;
  EXPECT_EQ(next_refresh(p, kNow, kTick), kNow + kBacklogPause);
}

TEST(RefreshSchedule, ABusyDirectoryTicksAtEveryTick) {
  RefreshPlan p = at_rest(kNow + 1h, kNow + 1h);
  p.busy = true;
  EXPECT_EQ(next_refresh(p, kNow, kTick), kNow + kTick);
}

TEST(RefreshSchedule, ADirectoryAtRestWakesForItsNextShardRead) {
  EXPECT_EQ(next_refresh(at_rest(kNow + 7s, kNow + 1h), kNow, kTick), kNow + 7s);
}

TEST(RefreshSchedule, ADirectoryAtRestWakesWhenTheJoinsBucketsChange) {
  EXPECT_EQ(next_refresh(at_rest(kNow + 1h, kNow + 5s), kNow, kTick), kNow + 5s);
}

TEST(RefreshSchedule, ADirectoryAtRestSleepsAtMostTheIdleRefresh) {
  EXPECT_EQ(
      next_refresh(at_rest(Steady::time_point::max(), Steady::time_point::max()), kNow, kTick),
      kNow + kIdleRefresh);
}

TEST(RefreshSchedule, ADirectoryAtRestNeverWakesSoonerThanItsTick) {
  EXPECT_EQ(next_refresh(at_rest(kNow + 300ms, kNow - 1s), kNow, kTick), kNow + kTick);
}

TEST(RefreshSchedule, ATickLongerThanTheIdleRefreshIsKept) {
  EXPECT_EQ(next_refresh(at_rest(Steady::time_point::max(), Steady::time_point::max()), kNow, 30s),
            kNow + 30s);
}

}  // namespace
}  // namespace beemesh::apply
