#include "scheduler/placement.h"

#include <algorithm>

namespace beemesh::scheduler {

namespace {

bool fits(const Candidate& c, const Demand& d) {
  return c.free_memory_bytes >= d.memory_bytes && c.free_cpu_millis >= d.cpu_millis;
}

std::vector<Candidate> eligible(const std::vector<Candidate>& candidates,
                                const PlacementRequest& request) {
  std::vector<Candidate> out;
  for (const auto& c : candidates) {
    if (request.exclude.count(c.node_id) != 0) continue;
    if (!request.pinned_node.empty() && c.node_id != request.pinned_node &&
        c.name != request.pinned_node) {
      continue;
    }
    out.push_back(c);
  }
  // Most free memory first, then most free CPU, then node id: deterministic order.
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    if (a.free_memory_bytes != b.free_memory_bytes) {
      return a.free_memory_bytes > b.free_memory_bytes;
    }
    if (a.free_cpu_millis != b.free_cpu_millis) return a.free_cpu_millis > b.free_cpu_millis;
    return a.node_id < b.node_id;
  });
  return out;
}

}  // namespace

std::vector<Pick> place(const std::vector<Candidate>& candidates, const PlacementRequest& request) {
  std::vector<Candidate> nodes = eligible(candidates, request);
  std::vector<Pick> picks;
  // Rounds: each round gives at most one replica to each node that still has room, so
  // replicas spread across nodes before any node gets a second one.
  while (static_cast<int>(picks.size()) < request.replicas) {
    bool placed_this_round = false;
    for (auto& node : nodes) {
      if (static_cast<int>(picks.size()) >= request.replicas) break;
      if (!fits(node, request.per_replica)) continue;
      node.free_memory_bytes -= request.per_replica.memory_bytes;
      node.free_cpu_millis -= request.per_replica.cpu_millis;
      picks.push_back({node.node_id, node.rpc_endpoint});
      placed_this_round = true;
    }
    if (!placed_this_round) break;
  }
  return picks;
}

}  // namespace beemesh::scheduler
