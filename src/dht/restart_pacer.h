// dht/restart_pacer.h — when the rejoin watchdog may restart a node's runner again.
//
// Why: a restart re-gets, re-listens and re-puts everything of its node. When a whole process
// (or a whole site) is overloaded, puts fail and routing tables thin out on many nodes at
// once; a fixed 30-s gap then lets each of them restart twice a minute, and those restarts
// feed the overload that caused them (docs/BENCHMARKS.md: 1,548 restarts in one census of a
// 1,000-node start). OpenDHT's own stale search, which a restart cures, ends by itself within
// 10 min: waiting longer than that between restarts never helps.
//
// Promise:
//  * allows(now) is true before the first restart, then once `gap()` has passed since the
//    last one.
//  * restarted(now) records a restart. A restart less than 2 × `max_gap` after the previous one
//    continues a streak, any other starts one. The gap after the s-th restart of a streak is
//    `min_gap` × 2^(s-1) × a factor drawn in [1, 1.5) from `seed`, never more than `max_gap`:
//    at least `min_gap` always, and nodes of one process (seeded apart) restart apart.
//  * last_ms() is the time of the last restart (0 before any).
//  * reset() forgets every restart: the next is allowed at once and starts a streak.
//  * The watchdog paces a second thing with one: an isolated node's re-bootstraps while its loop
//    is behind (dht/opendht_dht.h DhtConfig::rejoin_check), "restart" read as "re-bootstrap".
//  * Not thread-safe: one watchdog thread owns it. Times are a steady clock's milliseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace beemesh::dht {

class RestartPacer {
 public:
  RestartPacer(std::chrono::milliseconds min_gap, std::chrono::milliseconds max_gap, uint64_t seed);

  bool allows(int64_t now_ms) const;
  void restarted(int64_t now_ms);
  void reset();
  int64_t gap_ms() const { return gap_ms_; }
  int64_t last_ms() const { return last_ms_; }
  int streak() const { return streak_; }

 private:
  int64_t min_gap_ms_;
  int64_t max_gap_ms_;
  std::mt19937_64 random_;
  int64_t last_ms_ = 0;
  int streak_ = 0;  // 0: no restart yet
  int64_t gap_ms_;
};

}  // namespace beemesh::dht
