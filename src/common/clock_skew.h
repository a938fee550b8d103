// common/clock_skew.h — how far other nodes' clocks are from this one.
//
// Usage:
//   ClockSkewTable skew(clock);                      // one per node, shared, thread-safe
//   skew.record(peer_node_id, envelope.timestamp_ms);  // on every verified exchange
//   if (auto s = skew.get(peer_node_id)) ... s->skew_ms  // > 0: the peer is ahead of us
//
// Promise:
//  * record() stores skew = peer timestamp − our clock's now for that peer, replacing the
//    previous value, and returns what it logged. A signed timestamp is taken when the
//    peer signs, and we read our clock when it arrives, so the value is low by the
//    one-way delay (milliseconds on a LAN; the threshold is seconds).
//  * |skew| > warn_ms logs a warning naming the peer, how far off it is and what breaks at
//    the signature window; at most once per warn_every_ms per peer while it stays off.
//    When a warned peer comes back within warn_ms an info line says so.
//  * At most max_peers peers are kept (the oldest measurement is dropped first).
//  * Arithmetic on the (untrusted) timestamp saturates; it never overflows.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace beemesh {

class ClockSkewTable {
 public:
  struct Options {
    int64_t warn_ms = 10'000;        // peers further off than this are warned about
    int64_t window_ms = 30'000;      // the envelope window (named in the warning)
    int64_t warn_every_ms = 60'000;  // per peer, while it stays off
    size_t max_peers = 4096;
  };
  struct Sample {
    int64_t skew_ms = 0;         // peer clock − our clock; > 0: the peer is ahead
    int64_t measured_at_ms = 0;  // our clock
  };
  enum class Logged { nothing, warning, recovered };

  explicit ClockSkewTable(const Clock& clock) : ClockSkewTable(clock, Options{}) {}
  ClockSkewTable(const Clock& clock, Options options) : clock_(clock), options_(options) {}
  ClockSkewTable(const ClockSkewTable&) = delete;
  ClockSkewTable& operator=(const ClockSkewTable&) = delete;

  Logged record(std::string_view peer, int64_t peer_timestamp_ms);
  std::optional<Sample> get(std::string_view peer) const;
  size_t size() const;
  const Options& options() const { return options_; }

 private:
  struct Entry {
    Sample sample;
    int64_t warned_at_ms = 0;  // 0: not warned (or back within warn_ms since)
  };
  const Clock& clock_;
  const Options options_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> peers_;  // GUARDED_BY(mutex_)
};

// "12.3 s ahead", "40.0 s behind".
std::string describe_skew(int64_t skew_ms);

}  // namespace beemesh
