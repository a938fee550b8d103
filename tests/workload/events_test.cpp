// The workload event bus: ordered delivery, RAII subscriptions, a bounded replay ring.
#include "workload/events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"

namespace beemesh::workload {
namespace {

TEST(EventBus, SubscribersReceiveEventsInPublishOrderWithIncreasingSequence) {
  ManualClock clock;
  EventBus bus(clock);
  std::vector<WorkloadEvent> seen;
  auto subscription = bus.subscribe([&](const WorkloadEvent& e) { seen.push_back(e); });

  bus.publish(EventKind::Deploying, "w1", "m1", "engine mock");
  bus.publish(EventKind::Deployed, "w1", "m1");

  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, EventKind::Deploying);
  EXPECT_EQ(seen[0].workload_id, "w1");
  EXPECT_EQ(seen[0].manifest_id, "m1");
  EXPECT_EQ(seen[0].reason, "engine mock");
  EXPECT_EQ(seen[1].kind, EventKind::Deployed);
  EXPECT_LT(seen[0].sequence, seen[1].sequence);
}

TEST(EventBus, PublishStampsTheClocksTimeWhenTheEventHasNone) {
  ManualClock clock(1'234'000);
  EventBus bus(clock);
  EXPECT_EQ(bus.publish(EventKind::Removed, "w", "m").time_ms, 1'234'000);
  WorkloadEvent with_time;
  with_time.time_ms = 42;
  EXPECT_EQ(bus.publish(with_time).time_ms, 42);
}

TEST(EventBus, EveryCurrentSubscriberGetsEachEvent) {
  EventBus bus(system_clock());
  int a = 0;
  int b = 0;
  auto sa = bus.subscribe([&](const WorkloadEvent&) { ++a; });
  auto sb = bus.subscribe([&](const WorkloadEvent&) { ++b; });
  bus.publish(EventKind::Unhealthy, "w", "m");
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
}

TEST(EventBus, DestroyedSubscriptionReceivesNothingMore) {
  EventBus bus(system_clock());
  int calls = 0;
  {
    auto subscription = bus.subscribe([&](const WorkloadEvent&) { ++calls; });
    bus.publish(EventKind::Deployed, "w", "m");
    EXPECT_EQ(bus.subscriber_count(), 1u);
  }
  bus.publish(EventKind::Removed, "w", "m");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(bus.subscriber_count(), 0u);
}

TEST(EventBus, ResetFromInsideItsOwnCallbackStopsDelivery) {
  EventBus bus(system_clock());
  int calls = 0;
  EventBus::Subscription subscription;
  subscription = bus.subscribe([&](const WorkloadEvent&) {
    ++calls;
    subscription.reset();
  });
  bus.publish(EventKind::Deployed, "w", "m");
  bus.publish(EventKind::Removed, "w", "m");
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(subscription.active());
}

TEST(EventBus, MovedSubscriptionStaysSubscribed) {
  EventBus bus(system_clock());
  int calls = 0;
  auto first = bus.subscribe([&](const WorkloadEvent&) { ++calls; });
  EventBus::Subscription second = std::move(first);
  EXPECT_FALSE(first.active());  // NOLINT(bugprone-use-after-move): moved-from is inactive
  bus.publish(EventKind::Deployed, "w", "m");
  EXPECT_EQ(calls, 1);
  second.reset();
  bus.publish(EventKind::Deployed, "w", "m");
  EXPECT_EQ(calls, 1);
}

TEST(EventBus, CallbacksMayPublishFurtherEvents) {
  EventBus bus(system_clock());
  std::vector<EventKind> seen;
  auto subscription = bus.subscribe([&](const WorkloadEvent& e) {
    seen.push_back(e.kind);
    if (e.kind == EventKind::Deployed) bus.publish(EventKind::Announced, e.workload_id, "m");
  });
  bus.publish(EventKind::Deployed, "w", "m");
  EXPECT_EQ(seen, (std::vector<EventKind>{EventKind::Deployed, EventKind::Announced}));
}

TEST(EventBus, RecentReplaysABoundedRingOldestFirst) {
  EventBus bus(system_clock(), 3);
  for (int i = 0; i < 5; ++i) bus.publish(EventKind::Deployed, "w" + std::to_string(i), "m");
  auto all = bus.recent();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].workload_id, "w2");
  EXPECT_EQ(all[2].workload_id, "w4");
  auto after = bus.recent(all[1].sequence);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].workload_id, "w4");
}

TEST(EventBus, ConcurrentPublishersDeliverEveryEventExactlyOnceInSequenceOrder) {
  EventBus bus(system_clock(), 0);
  std::vector<uint64_t> sequences;  // written only under the bus's delivery lock
  auto subscription =
      bus.subscribe([&](const WorkloadEvent& e) { sequences.push_back(e.sequence); });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) bus.publish(EventKind::Deployed, "w", "m");
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(sequences.size(), 1000u);
  for (size_t i = 1; i < sequences.size(); ++i) EXPECT_EQ(sequences[i], sequences[i - 1] + 1);
}

TEST(EventBus, KindNamesRoundTrip) {
  for (auto kind :
       {EventKind::Deploying, EventKind::Deployed, EventKind::DeployFailed, EventKind::Announced,
        EventKind::Unhealthy, EventKind::Recovered, EventKind::Removed}) {
    EXPECT_EQ(event_kind_from_string(to_string(kind)), kind);
  }
  EXPECT_EQ(event_kind_from_string("Exploded"), std::nullopt);
}

}  // namespace
}  // namespace beemesh::workload
