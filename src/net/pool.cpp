#include "net/pool.h"

#include <algorithm>

#include <asio/post.hpp>

#include "net/peer.h"

namespace beemesh::net {

OutboundPool::OutboundPool(size_t max_connections, size_t max_connecting)
    : max_connections_(std::max<size_t>(1, max_connections)),
      max_connecting_(std::max<size_t>(1, max_connecting)) {}

bool OutboundPool::acquire(const std::shared_ptr<Peer>& peer) {
  std::lock_guard lock(mutex_);
  if (holders_.contains(peer.get())) return true;
  if (waiters_.empty() && holders_.size() < max_connections_ && connecting_ < max_connecting_) {
    holders_[peer.get()] = Holder{peer, true, false, false, std::chrono::steady_clock::now()};
    ++connecting_;
    peak_open_ = std::max(peak_open_, holders_.size());
    return true;
  }
  waiters_.push_back(Waiter{peer.get(), peer});
  pump();
  return false;
}

void OutboundPool::connected(const Peer* peer) {
  std::lock_guard lock(mutex_);
  auto it = holders_.find(peer);
  if (it == holders_.end() || !it->second.connecting) return;
  it->second.connecting = false;
  it->second.last_used = std::chrono::steady_clock::now();
  --connecting_;
  pump();
}

void OutboundPool::release(const Peer* peer) {
  std::lock_guard lock(mutex_);
  auto it = holders_.find(peer);
  if (it != holders_.end()) {
    if (it->second.connecting) --connecting_;
    holders_.erase(it);
  } else {
    std::erase_if(waiters_, [peer](const Waiter& w) { return w.key == peer; });
  }
  pump();
}

void OutboundPool::touch(const Peer* peer, bool idle) {
  std::lock_guard lock(mutex_);
  auto it = holders_.find(peer);
  if (it == holders_.end()) return;
  it->second.idle = idle;
  it->second.last_used = std::chrono::steady_clock::now();
  if (idle) pump();
}

void OutboundPool::eviction_declined(const Peer* peer) {
  std::lock_guard lock(mutex_);
  auto it = holders_.find(peer);
  if (it == holders_.end()) return;
  it->second.evicting = false;
  it->second.idle = false;
  pump();
}

void OutboundPool::pump() {
  while (!waiters_.empty() && holders_.size() < max_connections_ && connecting_ < max_connecting_) {
    auto waiter = std::move(waiters_.front());
    waiters_.pop_front();
    auto peer = waiter.peer.lock();
    if (!peer) continue;
    holders_[waiter.key] = Holder{peer, true, false, false, std::chrono::steady_clock::now()};
    ++connecting_;
    peak_open_ = std::max(peak_open_, holders_.size());
    asio::post(peer->executor(), [peer] { peer->slot_granted(); });
  }
  if (waiters_.empty() || holders_.size() < max_connections_) return;
  // Every slot is taken: make room by closing the least recently used idle connections, one
  // per waiting peer (minus those already being closed).
  size_t closing = static_cast<size_t>(std::count_if(
      holders_.begin(), holders_.end(), [](const auto& h) { return h.second.evicting; }));
  while (closing < waiters_.size()) {
    Holder* victim = nullptr;
    for (auto& [key, holder] : holders_) {
      if (holder.connecting || !holder.idle || holder.evicting) continue;
      if (!victim || holder.last_used < victim->last_used) victim = &holder;
    }
    if (!victim) return;
    auto peer = victim->peer.lock();
    if (!peer) return;
    victim->evicting = true;
    ++closing;
    ++evicted_;
    asio::post(peer->executor(), [peer] { peer->evict_if_idle(); });
  }
}

PoolStats OutboundPool::stats() const {
  std::lock_guard lock(mutex_);
  return {.open = holders_.size(),
          .connecting = connecting_,
          .waiting = waiters_.size(),
          .peak_open = peak_open_,
          .evicted = evicted_};
}

}  // namespace beemesh::net
