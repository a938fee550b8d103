// Liveness on real OpenDHT nodes over loopback: nodes that share a manifest see a killed one
// dead within 10 s, and its providers leave discovery on warm and fresh nodes within 15 s,
// while its provider records stay in the DHT.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <set>
#include <thread>

#include "dht/loopback_mesh.h"
#include "provider/liveness_monitor.h"
#include "provider/provider_manager.h"
#include "provider/records_util.h"

namespace beemesh::provider {
namespace {

using namespace std::chrono_literals;
using testing::identity_n;
using Steady = std::chrono::steady_clock;

uint32_t fresh_network_id() {
  static std::atomic<uint32_t> next{0x7e5a0000 + static_cast<uint32_t>(::getpid() % 0x1000) * 16};
  return next++;
}

std::set<std::string> node_ids(const std::vector<ProviderInfo>& providers) {
  std::set<std::string> out;
  for (const auto& p : providers) out.insert(p.metadata.node_id);
  return out;
}

// One node: its identity, liveness monitor and provider manager over mesh node i.
struct Node {
  crypto::Identity id;
  std::unique_ptr<LivenessMonitor> liveness;
  std::unique_ptr<ProviderManager> providers;

  Node(dht::Dht& dht, uint8_t n) : id(identity_n(n)) {
    liveness = std::make_unique<LivenessMonitor>(dht, id, system_clock(), LivenessConfig{});
    liveness->start();
    ProviderConfig pc;
    pc.early_reputs = {500ms, 1s, 2s, 4s};
    pc.discovery_timeout = 5s;
    pc.liveness = liveness.get();
    providers = std::make_unique<ProviderManager>(dht, id, system_clock(), pc);
  }
  void kill() {
    providers.reset();
    liveness.reset();
  }
};

class LivenessMesh : public ::testing::Test {
 protected:
  static constexpr size_t kNodes = 10;
  const std::string manifest = "m-liveness";

  void SetUp() override {
    auto m = dht::LoopbackMesh::start(kNodes, fresh_network_id());
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    mesh = std::move(m).value();
    mesh->wait_connected(3, 10s);
    for (size_t i = 0; i < kNodes; ++i) {
      nodes.push_back(std::make_unique<Node>(mesh->node(i), static_cast<uint8_t>(i + 1)));
    }
    // Nodes 1, 2, 3 run the manifest's three replicas and watch each other.
    for (size_t i : replicas) {
      nodes[i]->providers->announce(manifest,
                                    {nodes[i]->id.node_id(), "127.0.0.1:7401", "mock", {}}, 3600s);
    }
    for (size_t i : replicas) {
      for (size_t j : replicas) {
        if (i != j) nodes[i]->liveness->watch(nodes[j]->id.node_id());
      }
    }
  }
  void TearDown() override {
    nodes.clear();
    mesh.reset();
  }

  std::set<std::string> ids_of(std::initializer_list<size_t> which) {
    std::set<std::string> out;
    for (size_t i : which) out.insert(nodes[i]->id.node_id());
    return out;
  }
  // Polls until node i discovers exactly `expected` or `deadline` passes.
  bool discovers(size_t i, const std::set<std::string>& expected, Steady::duration deadline) {
    const auto until = Steady::now() + deadline;
    while (true) {
      if (node_ids(nodes[i]->providers->discover(manifest)) == expected) return true;
      if (Steady::now() >= until) return false;
      std::this_thread::sleep_for(200ms);
    }
  }
  void kill_node(size_t i) {
    nodes[i]->kill();
    mesh->kill(i);
  }

  std::unique_ptr<dht::LoopbackMesh> mesh;
  std::vector<std::unique_ptr<Node>> nodes;
  const std::vector<size_t> replicas{1, 2, 3};
};

TEST_F(LivenessMesh, CoProvidersSeeAKilledNodeDeadWithinTenSecondsAndNobodyElse) {
  ASSERT_TRUE(discovers(5, ids_of({1, 2, 3}), 30s));
  for (size_t i : replicas) {
    for (size_t j : replicas) {
      if (i == j) continue;
      const auto& other = nodes[j]->id.node_id();
      const auto until = Steady::now() + 15s;
      while (nodes[i]->liveness->state(other) != NodeState::alive && Steady::now() < until) {
        std::this_thread::sleep_for(100ms);
      }
      ASSERT_EQ(nodes[i]->liveness->state(other), NodeState::alive) << i << " watching " << j;
    }
  }
  // A watch that starts before the watched node's newest heartbeat has reached it can see
  // one short "dead" right after start (docs/notes/liveness.md, start-up blip): the quiet
  // period counts from a settled mesh.
  std::this_thread::sleep_for(3s);
  std::vector<uint64_t> deaths_before;
  for (size_t i : replicas) deaths_before.push_back(nodes[i]->liveness->stats().deaths);
  std::this_thread::sleep_for(10s);  // a quiet period: no live node may be judged dead
  for (size_t k = 0; k < replicas.size(); ++k) {
    EXPECT_EQ(nodes[replicas[k]]->liveness->stats().deaths, deaths_before[k])
        << "node " << replicas[k];
  }

  const auto killed_at = Steady::now();
  kill_node(2);
  for (size_t i : {size_t{1}, size_t{3}}) {
    while (nodes[i]->liveness->state(nodes[2]->id.node_id()) != NodeState::dead &&
           Steady::now() < killed_at + 12s) {
      std::this_thread::sleep_for(100ms);
    }
    const auto took = Steady::now() - killed_at;
    EXPECT_EQ(nodes[i]->liveness->state(nodes[2]->id.node_id()), NodeState::dead);
    std::cout << "[ liveness ] node " << i << " saw the killed node dead after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
    EXPECT_LE(took, 10s) << "node " << i << " took "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms";
  }
  EXPECT_EQ(nodes[1]->liveness->state(nodes[3]->id.node_id()), NodeState::alive);
  EXPECT_EQ(nodes[3]->liveness->state(nodes[1]->id.node_id()), NodeState::alive);
}

TEST_F(LivenessMesh, KilledNodesProvidersLeaveDiscoveryOnWarmAndFreshNodesWithinFifteenSeconds) {
  // Warm: nodes 0 and 5 discovered the manifest before the kill (cache + watches).
  ASSERT_TRUE(discovers(0, ids_of({1, 2, 3}), 30s));
  ASSERT_TRUE(discovers(5, ids_of({1, 2, 3}), 30s));
  const auto killed_at = Steady::now();
  kill_node(2);
  const auto survivors = ids_of({1, 3});
  for (size_t i : {size_t{0}, size_t{5}, size_t{1}}) {
    EXPECT_TRUE(discovers(i, survivors, 15s - (Steady::now() - killed_at)))
        << "warm node " << i << " still lists the killed node";
  }
  // Fresh: a node that joins after the kill, and one that never asked before (node 7).
  auto added = mesh->add_node();
  ASSERT_TRUE(added.ok()) << added.error().to_string();
  nodes.push_back(std::make_unique<Node>(mesh->node(*added), static_cast<uint8_t>(*added + 1)));
  EXPECT_TRUE(discovers(*added, survivors,
                        std::max<Steady::duration>(15s - (Steady::now() - killed_at), 5s)))
      << "fresh node lists the killed node";
  EXPECT_TRUE(discovers(7, survivors, 5s)) << "node 7 lists the killed node";
  // The records stay: only liveness hides them.
  auto raw = mesh->node(0).get_blocking(dht::provider_key(manifest), 5s);
  ASSERT_TRUE(raw.ok());
  EXPECT_GE(raw->size(), 3u);
}

}  // namespace
}  // namespace beemesh::provider
