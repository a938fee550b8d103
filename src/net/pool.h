// net/pool.h — internal: the bound on a Client's outbound connections across all its peers.
//
// Promise: at most max_connections outbound connections are open or being opened at once,
// and at most max_connecting of them are still connecting. A Peer asks for a slot before it
// connects; acquire() grants it at once when both bounds allow, else queues the peer (FIFO)
// and later posts Peer::slot_granted() to the peer's strand. While peers wait because every
// slot is taken, the pool asks the least recently used idle peer (nothing in flight) to close
// its connection (Peer::evict_if_idle(), posted to its strand); a peer with requests in
// flight is never asked. Every granted slot comes back through release() exactly once.
// Thread-safe; it never calls a Peer inline, so a Peer may call it from its strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace beemesh::net {

class Peer;

struct PoolStats {
  size_t open = 0;        // slots held: connections open or being opened
  size_t connecting = 0;  // of those, still connecting
  size_t waiting = 0;     // peers waiting for a slot
  size_t peak_open = 0;   // the most slots ever held at once
  uint64_t evicted = 0;   // idle connections the pool asked to close
};

class OutboundPool {
 public:
  OutboundPool(size_t max_connections, size_t max_connecting);

  // True: the slot is the peer's now (as connecting). False: queued.
  bool acquire(const std::shared_ptr<Peer>& peer);
  // The peer's connect succeeded: its slot no longer counts as connecting.
  void connected(const Peer* peer);
  // Gives back the peer's slot, or takes it off the queue.
  void release(const Peer* peer);
  // Bookkeeping for eviction: the peer started (idle=false) or finished (idle=true) its work.
  void touch(const Peer* peer, bool idle);
  // An evict_if_idle() found the peer busy after all.
  void eviction_declined(const Peer* peer);

  PoolStats stats() const;

 private:
  struct Holder {
    std::weak_ptr<Peer> peer;
    bool connecting = true;
    bool idle = false;
    bool evicting = false;
    std::chrono::steady_clock::time_point last_used;
  };
  struct Waiter {
    const Peer* key;
    std::weak_ptr<Peer> peer;
  };
  void pump();  // with mutex_ held

  const size_t max_connections_;
  const size_t max_connecting_;
  mutable std::mutex mutex_;
  std::unordered_map<const Peer*, Holder> holders_;
  std::deque<Waiter> waiters_;
  size_t connecting_ = 0;
  size_t peak_open_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace beemesh::net
