// apply/shard_rereads.h — when the node directory reads a shard again (apply/directory.h).
//
// Promise:
//  * The steady re-read period is kShardRefresh (8 min) whatever the size of the mesh: a
//    re-read of a shard asks for its value ids and fetches only records it does not know
//    (provider::ProviderManager::discover_once with a ReadMemory, seeded from the joins), so
//    its cost does not grow with the entries of the shard, and neither does the period.
//  * ShardRereads: the period schedule of one shard. Each read that found what it could
//    (the directory decides: not a failure, not an untrusted empty answer) asks after_read()
//    when to read again. A read that comes when the schedule made the shard due (or later)
//    takes the next step: 60 s, 120 s, 240 s, 480 s (the early re-reads: they find members
//    whose records were not stored yet when a mass start was read), then the steady period.
//    A read forced before that (a joins-gap pass, a revocation, a find(), refresh()) keeps
//    the step: the schedule starts again from it with the same period, so forced passes
//    during a mass start do not use up the early re-reads.
//    A read on schedule that found no entry new to the shard (`found_new` false: every
//    member it lists was listed already, e.g. brought in by the joins key) ends the early
//    re-reads at once: the shard takes the steady period. So a node that joins a running
//    mesh (staggered starts, a fleet that grows) pays one early re-read per shard instead of
//    four, while a mass start, whose early re-reads keep finding members, keeps them.
//    skip_early() leaves the early re-reads out altogether (the steady period from now).
//    steady() tells whether the early re-reads are over (what a benchmark waits for before
//    it measures a mesh at rest).
//    `spread` (the caller draws it from [0.75, 1.25], so that reads spread) scales the period.
//    Plain value; no clock of its own (the caller passes `now`).
#pragma once

#include <chrono>
#include <cstddef>

namespace beemesh::apply {

// A mesh-wide constant: every node must use the same (a node is looked for in its shard).
inline constexpr size_t kDirectoryShards = 64;
inline constexpr std::chrono::seconds kShardRefreshFirst{60};
inline constexpr std::chrono::minutes kShardRefresh{8};

class ShardRereads {
 public:
  using Steady = std::chrono::steady_clock;
  // When to read the shard again after a read at `now` (see the promise).
  Steady::time_point after_read(Steady::time_point now, double spread = 1.0, bool found_new = true);
  // Skips the early re-reads: the next read comes the steady period (× spread) after `now`,
  // and so do the reads on schedule after it. For a node that joined a running mesh
  // (apply/directory.h): its first pass read records stored long before.
  Steady::time_point skip_early(Steady::time_point now, double spread = 1.0);
  // The period the last after_read() scheduled (before its spread).
  std::chrono::milliseconds period() const { return period_; }
  // Whether the early re-reads are over: the last after_read() (or skip_early()) scheduled
  // the steady period.
  bool steady() const { return steady_; }

 private:
  std::chrono::milliseconds period_{0};  // 0: never scheduled
  bool steady_ = false;
  Steady::time_point due_{};
};

}  // namespace beemesh::apply
