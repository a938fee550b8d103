#include "provider/liveness_table.h"

namespace beemesh::provider {

std::string_view to_string(NodeState state) {
  switch (state) {
    case NodeState::unknown:
      return "unknown";
    case NodeState::alive:
      return "alive";
    case NodeState::dead:
      return "dead";
  }
  return "unknown";
}

bool LivenessTable::observe(const HeartbeatSeen& hb, int64_t now_ms) {
  auto [it, inserted] = entries_.try_emplace(hb.node_id);
  Entry& e = it->second;
  e.last_observed_ms = now_ms;
  if (e.has_heartbeat && hb.sequence <= e.sequence) return false;
  if (e.has_heartbeat) {
    e.advanced = true;
    e.last_advance_ms = now_ms;
  } else {
    e.first_seen_ms = now_ms;
  }
  e.has_heartbeat = true;
  e.sequence = hb.sequence;
  e.timestamp_ms = hb.timestamp_ms;
  e.validity_ms = hb.validity_ms;
  return true;
}

void LivenessTable::observe_missing(const std::string& node_id, int64_t now_ms) {
  entries_[node_id].last_observed_ms = now_ms;
}

NodeState LivenessTable::state(const std::string& node_id, int64_t now_ms) const {
  auto it = entries_.find(node_id);
  if (it == entries_.end()) return NodeState::unknown;
  const Entry& e = it->second;
  if (!e.has_heartbeat) return NodeState::dead;
  if (e.advanced) {
    return now_ms - e.last_advance_ms <= dead_after_ms_ ? NodeState::alive : NodeState::dead;
  }
  const bool fresh = now_ms - e.timestamp_ms <= e.validity_ms;
  const bool recent = now_ms - e.first_seen_ms <= dead_after_ms_;
  return fresh && recent ? NodeState::alive : NodeState::dead;
}

std::optional<int64_t> LivenessTable::last_sign_of_life(const std::string& node_id) const {
  auto it = entries_.find(node_id);
  if (it == entries_.end() || !it->second.has_heartbeat) return std::nullopt;
  return it->second.advanced ? it->second.last_advance_ms : it->second.first_seen_ms;
}

bool LivenessTable::dead_by_record(const std::string& node_id, int64_t now_ms) const {
  auto it = entries_.find(node_id);
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  if (!e.has_heartbeat) return true;
  return !e.advanced && now_ms - e.timestamp_ms > e.validity_ms;
}

std::optional<int64_t> LivenessTable::last_observed(const std::string& node_id) const {
  auto it = entries_.find(node_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.last_observed_ms;
}

std::vector<std::string> LivenessTable::nodes() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

}  // namespace beemesh::provider
