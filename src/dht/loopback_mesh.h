// dht/loopback_mesh.h — N OpenDHT nodes on 127.0.0.1/::1 in one process (tests, benchmarks,
// local experiments).
//
// Promise: node i > 0 bootstraps to node 0 and to up to 2 other random earlier nodes (a
// mesh bootstrapped to node 0 alone can split its ID space); all nodes share `network_id`
// and run without a per-IP request limit. The nodes share `loops` EpollLoops (node i on loop
// i mod loops): each loop's one thread receives for, and runs, its nodes (dht/epoll_socket.h),
// and descriptor numbers past 1024 are fine (raise RLIMIT_NOFILE).
// wait_connected() polls until every node knows at least `min_nodes` nodes (good or dubious: idle
// nodes are confirmed only by traffic) or the deadline passes. The destructor shuts all nodes down.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "dht/opendht_dht.h"

namespace beemesh::dht {

class LoopbackMesh {
 public:
  // `tweak` (optional) adjusts each node's config before start (e.g. record expiries).
  // `receive_nice`: the loop threads' nice value (EpollLoop::start). `loops`: at least 1.
  static Result<std::unique_ptr<LoopbackMesh>> start(
      size_t nodes, uint32_t network_id, const std::function<void(DhtConfig&)>& tweak = {},
      int receive_nice = 0, size_t loops = 1);
  ~LoopbackMesh();

  size_t size() const { return nodes_.size(); }
  OpenDht& node(size_t i) { return *nodes_.at(i); }
  // Starts one more node bootstrapped like the others; returns its index.
  Result<size_t> add_node(const std::function<void(DhtConfig&)>& tweak = {});
  // Shuts node i down (it stays in the vector, stopped).
  void kill(size_t i) { nodes_.at(i)->shutdown(); }
  std::vector<std::string> bootstrap_for_new_node();
  bool wait_connected(size_t min_nodes, std::chrono::milliseconds deadline);
  uint32_t network_id() const { return network_id_; }
  // The loops' largest step lateness since the previous call (EpollLoop::take_max_lateness).
  std::chrono::microseconds take_max_lateness();

 private:
  explicit LoopbackMesh(uint32_t network_id) : network_id_(network_id) {}
  uint32_t network_id_;
  uint64_t seed_ = 0;
  std::vector<std::shared_ptr<EpollLoop>> loops_;  // before nodes_: outlive them
  std::vector<std::unique_ptr<OpenDht>> nodes_;
};

}  // namespace beemesh::dht
