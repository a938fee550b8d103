#include "net/admission.h"

namespace beemesh::net {

bool Admission::evict_oldest_pending(const std::string* address, Decision& decision) {
  for (const auto& [id, entry] : connections_) {
    if (!entry.pending || (address && entry.address != *address)) continue;
    uint64_t victim = id;  // copy: remove() invalidates the reference
    decision.evict.push_back(victim);
    remove(victim);
    return true;
  }
  return false;
}

Admission::Decision Admission::admit(uint64_t id, const std::string& address) {
  Decision d;
  auto count = per_address_.find(address);
  if (count != per_address_.end() && count->second >= limits_.max_per_address &&
      !evict_oldest_pending(&address, d)) {
    d.refusal = std::to_string(limits_.max_per_address) +
                " established connections from this address, the per-address limit";
    return d;
  }
  if (pending_ >= limits_.max_pending && !evict_oldest_pending(nullptr, d)) {
    d.refusal = "no pending connections allowed";
    return d;
  }
  if (connections_.size() >= limits_.max_connections && !evict_oldest_pending(nullptr, d)) {
    d.refusal = std::to_string(connections_.size()) + " established connections open, the limit";
    return d;
  }
  connections_.emplace(id, Entry{address, true});
  ++per_address_[address];
  ++pending_;
  d.admitted = true;
  return d;
}

bool Admission::establish(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end() || !it->second.pending) return false;
  it->second.pending = false;
  --pending_;
  return true;
}

void Admission::remove(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (it->second.pending) --pending_;
  auto count = per_address_.find(it->second.address);
  if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
  connections_.erase(it);
}

}  // namespace beemesh::net
