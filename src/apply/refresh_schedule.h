// apply/refresh_schedule.h — when the node directory's refresher wakes next (apply/directory.h).
//
// Promise:
//  * next_refresh(plan, now, tick) is the moment of the next tick:
//      - with due shards left over (`backlog`): now + kBacklogPause;
//      - while there is something to follow at every tick (`busy`: joiners in the watched
//        joins buckets, an answer not fresh yet, passes owed to a joins gap): now + tick;
//      - otherwise (a directory at rest) the earliest of `earliest_due` (the next shard read
//        on schedule) and `next_event` (the joins buckets to watch change, the join window
//        ends), but not before now + tick (reads stay on the tick's grain, as while busy) and
//        not after now + kIdleRefresh. The refresher is woken earlier when a join arrives in a
//        watched bucket (apply/directory.h).
//    Why: a 2-s tick on every node woke ~500 threads a second in a 1,000-node bench process
//    for nothing (145 ms of CPU per second at rest, docs/BENCHMARKS.md); a daemon at rest
//    wakes for its shard re-reads and bucket changes, and at least every kIdleRefresh.
//  * Plain function; no clock of its own (the caller passes `now`).
#pragma once

#include <chrono>

namespace beemesh::apply {

inline constexpr std::chrono::milliseconds kBacklogPause{100};
// The longest a directory at rest sleeps: bounds how late it notices a new revocation list
// installed in its membership and a joins bucket answer whose cache entry went stale.
inline constexpr std::chrono::seconds kIdleRefresh{10};

struct RefreshPlan {
  using Steady = std::chrono::steady_clock;
  bool backlog = false;
  bool busy = false;
  Steady::time_point earliest_due = Steady::time_point::max();
  Steady::time_point next_event = Steady::time_point::max();
};

RefreshPlan::Steady::time_point next_refresh(const RefreshPlan& plan,
                                             RefreshPlan::Steady::time_point now,
                                             std::chrono::milliseconds tick);

}  // namespace beemesh::apply
