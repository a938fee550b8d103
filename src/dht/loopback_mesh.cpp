#include "dht/loopback_mesh.h"

#include "dht/epoll_socket.h"

#include <algorithm>
#include <random>
#include <set>
#include <thread>

namespace beemesh::dht {

Result<std::unique_ptr<LoopbackMesh>> LoopbackMesh::start(
    size_t nodes, uint32_t network_id, const std::function<void(DhtConfig&)>& tweak,
    int receive_nice, size_t loops) {
  std::unique_ptr<LoopbackMesh> mesh(new LoopbackMesh(network_id));
  mesh->seed_ = std::random_device{}();
  for (size_t i = 0; i < std::max<size_t>(1, loops); ++i) {
    auto loop = EpollLoop::start(receive_nice);
    if (!loop.ok()) return loop.error();
    mesh->loops_.push_back(std::move(loop).value());
  }
  for (size_t i = 0; i < nodes; ++i) {
    auto added = mesh->add_node(tweak);
    if (!added.ok()) return added.error();
  }
  return mesh;
}

LoopbackMesh::~LoopbackMesh() {
  for (auto& n : nodes_) n->shutdown();
}

std::vector<std::string> LoopbackMesh::bootstrap_for_new_node() {
  std::vector<std::string> peers;
  if (nodes_.empty()) return peers;
  peers.push_back(nodes_[0]->endpoint());
  std::mt19937_64 rng(seed_ + nodes_.size());
  std::set<size_t> picked{0};
  const size_t want = std::min<size_t>(3, nodes_.size());
  while (picked.size() < want) {
    size_t i = std::uniform_int_distribution<size_t>(0, nodes_.size() - 1)(rng);
    if (picked.insert(i).second) peers.push_back(nodes_[i]->endpoint());
  }
  return peers;
}

Result<size_t> LoopbackMesh::add_node(const std::function<void(DhtConfig&)>& tweak) {
  auto config = loopback_config(network_id_, bootstrap_for_new_node());
  if (tweak) tweak(config);
  auto node = OpenDht::start(config, loops_[nodes_.size() % loops_.size()]);
  if (!node.ok()) return node.error();
  nodes_.push_back(std::move(node).value());
  return nodes_.size() - 1;
}

std::chrono::microseconds LoopbackMesh::take_max_lateness() {
  std::chrono::microseconds most{0};
  for (auto& loop : loops_) most = std::max(most, loop->take_max_lateness());
  return most;
}

bool LoopbackMesh::wait_connected(size_t min_nodes, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    bool all = true;
    for (auto& n : nodes_) {
      const auto st = n->stats();
      if (st.good_nodes + st.dubious_nodes < min_nodes) {
        all = false;
        break;
      }
    }
    if (all) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace beemesh::dht
