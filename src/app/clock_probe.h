// app/clock_probe.h — keeps the clock-skew table current when nothing else is exchanged.
//
// Promise: after start(), every `interval` (30 s) it sends a signed capacity request (the
// cheapest signed exchange) to every other node in the directory, with `timeout` (2 s)
// each. The reply goes through the envelope verifier, which records the peer's clock
// (common/clock_skew.h) and warns when it is more than 10 s off; the peer records ours
// from the request. Results are otherwise ignored. It runs on the event loop and never
// blocks it; the destructor stops the timer (in-flight requests end with the loop).
#pragma once

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <memory>

#include "apply/directory.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "net/client.h"

namespace beemesh::app {

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
             std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ~ClockProbe();
  ClockProbe(const ClockProbe&) = delete;
  ClockProbe& operator=(const ClockProbe&) = delete;

  void start();

 private:
  void arm_timer();
  void probe_all();

  Parts p_;
  asio::any_io_executor executor_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds timeout_;
  asio::steady_timer timer_;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace beemesh::app
