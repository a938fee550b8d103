#include "net/peer_budget.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace beemesh::net {

namespace {
// A peer waiting for an in-flight slot asks again at least this often (a missed wake-up
// costs at most this much).
constexpr std::chrono::milliseconds kSlotRecheck{1000};
}  // namespace

void PeerBudgets::attach(const std::string& peer) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(peer);
  if (inserted) {
    it->second.tokens = std::max(1.0, limits_.burst);
    it->second.refilled = Clock::now();
  }
  ++it->second.connections;
}

void PeerBudgets::detach(const std::string& peer, uint64_t waiter) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(peer);
  if (it == entries_.end()) return;
  it->second.waiters.erase(waiter);
  if (it->second.connections > 0) --it->second.connections;
  forget_if_unused(it);
}

PeerBudgets::Wait PeerBudgets::take(const std::string& peer, Clock::time_point now, uint64_t waiter,
                                    std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(peer);
  if (it == entries_.end()) {
    // Not attached (a caller's bug): treat as a fresh peer rather than refuse forever.
    it = entries_.try_emplace(peer).first;
    it->second.tokens = std::max(1.0, limits_.burst);
    it->second.refilled = now;
    it->second.connections = 1;
  }
  Entry& e = it->second;
  if (limits_.max_in_flight > 0 && e.in_flight >= limits_.max_in_flight) {
    if (wake) e.waiters.insert_or_assign(waiter, std::move(wake));
    return kSlotRecheck;
  }
  if (limits_.rate > 0) {
    if (now > e.refilled) {
      double elapsed = std::chrono::duration<double>(now - e.refilled).count();
      e.tokens = std::min(std::max(1.0, limits_.burst), e.tokens + elapsed * limits_.rate);
      e.refilled = now;
    }
    if (e.tokens < 1.0) {
      double seconds = (1.0 - e.tokens) / limits_.rate;
      return std::max(Wait(1),
                      std::chrono::duration_cast<Wait>(std::chrono::duration<double>(seconds)));
    }
    e.tokens -= 1.0;
  }
  return Wait::zero();
}

void PeerBudgets::begin(const std::string& peer) {
  std::lock_guard lock(mutex_);
  ++entries_[peer].in_flight;
}

void PeerBudgets::release(const std::string& peer) {
  std::unordered_map<uint64_t, std::function<void()>> wake;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(peer);
    if (it == entries_.end()) return;
    if (it->second.in_flight > 0) --it->second.in_flight;
    wake.swap(it->second.waiters);
    forget_if_unused(it);
  }
  for (auto& [id, w] : wake) w();
}

size_t PeerBudgets::peers() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

size_t PeerBudgets::in_flight(const std::string& peer) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(peer);
  return it == entries_.end() ? 0 : it->second.in_flight;
}

void PeerBudgets::forget_if_unused(std::unordered_map<std::string, Entry>::iterator it) {
  if (it->second.connections == 0 && it->second.in_flight == 0) entries_.erase(it);
}

}  // namespace beemesh::net
