// scheduler/placement.h — choosing nodes for the replicas of a manifest.
//
// Promise: place() only picks nodes with room for one more replica (free memory and CPU
// after the replicas already placed in this call), spreads one replica per node while
// nodes last, then several per node; the result is deterministic for the same input.
// A pinned node is the only candidate. Fewer picks than replicas means "partial": the
// caller reports it and may retry the rest elsewhere.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace beemesh::scheduler {

struct Candidate {
  std::string node_id;
  std::string name;
  std::string rpc_endpoint;
  int64_t free_memory_bytes = 0;
  int64_t free_cpu_millis = 0;
};

struct Demand {  // per replica
  int64_t memory_bytes = 0;
  int64_t cpu_millis = 0;
};

struct PlacementRequest {
  int replicas = 1;
  Demand per_replica{};
  std::string pinned_node{};        // node id or name; empty = any
  std::set<std::string> exclude{};  // node ids not to use (e.g. failed on a previous try)
};

struct Pick {
  std::string node_id;
  std::string rpc_endpoint;
};

std::vector<Pick> place(const std::vector<Candidate>& candidates, const PlacementRequest& request);

}  // namespace beemesh::scheduler
