// net/peer_budget.h — internal: each peer's share of a server (requests in flight, request rate).
//
// Promise: PeerBudgets keeps, per peer key (the TLS-verified public key of a member node, or
// the remote address of a plain TCP connection), a count of requests in flight and a token
// bucket (`rate` tokens a second, at most `burst` saved up). take() lets a connection read
// one more request — spending a token, when the peer has fewer than max_in_flight requests
// being handled — or says how long to wait before asking again; it never blocks. begin() /
// release() count a request being handled. A caller refused for a full in-flight count is
// also woken (its `wake` called once) when one of that peer's requests ends. Since take()
// and begin() are apart (the frame is read in between), a peer reading on k connections at
// once may have up to max_in_flight + k - 1 requests in flight. Entries exist only while the peer
// has a connection or a request in flight, so memory is bounded by the server's connection and
// handler caps. rate 0 turns the bucket off; max_in_flight 0 turns the in-flight cap off.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace beemesh::net {

struct PeerBudgetLimits {
  size_t max_in_flight = 0;  // requests of one peer being handled at once, all its connections
  double rate = 0;           // requests a second, sustained
  double burst = 0;          // requests at once after a quiet spell (bucket size, >= 1)
};

class PeerBudgets {
 public:
  using Clock = std::chrono::steady_clock;
  using Wait = std::chrono::nanoseconds;

  explicit PeerBudgets(PeerBudgetLimits limits) : limits_(limits) {}

  // A connection of `peer` opened / closed.
  void attach(const std::string& peer);
  // `waiter`: the closing connection's id, whose wake-up is dropped.
  void detach(const std::string& peer, uint64_t waiter = 0);

  // Zero: granted (one token spent).
  // Otherwise how long to wait before asking again; when the in-flight count is what is full,
  // `wake` is kept (one per `waiter`, a connection id) and called once, from the thread that
  // releases, when a slot frees.
  Wait take(const std::string& peer, Clock::time_point now, uint64_t waiter = 0,
            std::function<void()> wake = {});
  void begin(const std::string& peer);
  void release(const std::string& peer);

  size_t peers() const;
  size_t in_flight(const std::string& peer) const;

 private:
  struct Entry {
    size_t connections = 0;
    size_t in_flight = 0;
    double tokens = 0;
    Clock::time_point refilled{};
    std::unordered_map<uint64_t, std::function<void()>> waiters;
  };
  void forget_if_unused(std::unordered_map<std::string, Entry>::iterator it);

  const PeerBudgetLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace beemesh::net
