// app/clock_probe.h — keeps the clock-skew table current when nothing else is exchanged.
//
// Promise: after start(), every `interval` (30 s) it sends a signed capacity request (the
// cheapest signed exchange) to at most `per_round` (8) other nodes of the directory, drawn
// at random each round (clock_probe_targets), with `timeout` (2 s) each: O(1) per round
// whatever the mesh size, and every node of the view is probed now and then. Nodes this
// node exchanges with for work (applies, deletes, shares) get their clock recorded anyway. The
// reply goes through the envelope verifier, which records the peer's clock (common/clock_skew.h)
// and warns when it is more than 10 s off; the peer records ours from the request. Results are
// otherwise ignored. It runs on the event loop and never blocks it; the destructor stops the timer
// (in-flight requests end with the loop).
#pragma once

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "apply/directory.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "net/client.h"

namespace beemesh::app {

inline constexpr size_t kClockProbesPerRound = 8;

// At most `k` entries of `nodes` other than `self`, drawn uniformly at random (no repeats).
std::vector<apply::NodeEntry> clock_probe_targets(const std::vector<apply::NodeEntry>& nodes,
                                                  const std::string& self, size_t k,
                                                  std::mt19937_64& random);

class ClockProbe {
 public:
  struct Parts {
    const crypto::Identity& identity;
    const Clock& clock;
    crypto::EnvelopeVerifier& verifier;
    net::Client& client;
    apply::NodeDirectory& directory;
  };
  ClockProbe(Parts parts, asio::any_io_executor executor,
             std::chrono::milliseconds interval = std::chrono::seconds(30),
             std::chrono::milliseconds timeout = std::chrono::seconds(2),
             size_t per_round = kClockProbesPerRound);
  ~ClockProbe();
  ClockProbe(const ClockProbe&) = delete;
  ClockProbe& operator=(const ClockProbe&) = delete;

  void start();

 private:
  void arm_timer();
  void probe_some();

  Parts p_;
  asio::any_io_executor executor_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds timeout_;
  const size_t per_round_;
  std::mt19937_64 random_{std::random_device{}()};
  asio::steady_timer timer_;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace beemesh::app
