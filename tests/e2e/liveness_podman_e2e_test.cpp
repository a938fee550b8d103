// Liveness end to end (issue 13): six `beemesh machine` processes on 127.0.0.1 with real
// Podman; examples/web.yaml runs 3 replicas. After kill -9 of a daemon that runs a replica,
// `beemesh get providers` stops listing it within 15 s on every other node — nodes that
// asked before (warm caches) and a node that asks for the first time after the kill (the
// harness cannot add a node while one is dead: the directory no longer lists the dead one,
// and a node joining after the kill is covered by liveness_dht_test) — although its provider
// records stay in the DHT for their 3600 s TTL; restarted, it is listed again.
// Needs what tests/e2e/mesh_podman_e2e_test.cpp needs (Podman, root, BEEMESH_BINARY).
#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "api/json.h"
#include "e2e/mesh.h"
#include "e2e/suite.h"

namespace beemesh::e2e {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

const std::string kWebYaml = std::string(BEEMESH_SOURCE_DIR) + "/examples/web.yaml";

class LivenessOnPodman : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    MeshOptions options;
    options.nodes = 6;
    auto mesh = start_mesh_on_podman(options);
    if (!mesh) {
      setup_error_ = mesh.error().message;
      return;
    }
    mesh_ = std::move(*mesh);
    auto outcome = apply_and_track(*mesh_, 0, kWebYaml, 3);
    if (!outcome) {
      setup_error_ = outcome.error().message;
      return;
    }
    manifest_id_ = outcome->manifest_id;
    for (const auto& p : outcome->placements) {
      if (p.ok) replica_nodes_.insert(p.node_id);
    }
  }
  static void TearDownTestSuite() { mesh_.reset(); }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
  void TearDown() override {
    if (HasFailure() && mesh_) std::cerr << log_tails(*mesh_, 40);
  }

  // Node ids `get providers` lists through node i; nullopt when the command failed.
  static std::optional<std::set<std::string>> provider_nodes(int i) {
    auto r = mesh_->cli(i, {"get", "providers", manifest_id_, "-o", "json"}, 20s);
    if (!r || !r->success()) return std::nullopt;
    auto j = api::parse_json(r->out);
    if (!j) return std::nullopt;
    auto providers = api::providers_from_json(*j);
    if (!providers) return std::nullopt;
    std::set<std::string> out;
    for (const auto& p : *providers) out.insert(p.metadata.node_id);
    return out;
  }

  // A replica node other than node 0 (every node bootstraps to node 0).
  static int replica_to_kill() {
    for (int i = 1; i < mesh_->size(); ++i) {
      if (replica_nodes_.count(mesh_->node(i).node_id)) return i;
    }
    return -1;
  }

  static inline std::unique_ptr<Mesh> mesh_;
  static inline std::string setup_error_;
  static inline std::string manifest_id_;
  static inline std::set<std::string> replica_nodes_;
};

// A node that runs no replica and is not node 0: it asks only after the kill.
int fresh_node(const std::set<std::string>& replicas, Mesh& mesh) {
  for (int i = mesh.size() - 1; i >= 1; --i) {
    if (!replicas.count(mesh.node(i).node_id)) return i;
  }
  return -1;
}

TEST_F(LivenessOnPodman, KilledReplicaNodeLeavesGetProvidersOnEveryNodeWithinFifteenSeconds) {
  ASSERT_EQ(replica_nodes_.size(), 3u);
  const int fresh = fresh_node(replica_nodes_, *mesh_);
  ASSERT_GE(fresh, 1);
  // Every other node has asked once: warm caches.
  for (int i = 0; i < mesh_->size(); ++i) {
    if (i == fresh) continue;
    EXPECT_TRUE(eventually([&] { return provider_nodes(i) == replica_nodes_; }, 30s, 500ms))
        << mesh_->node(i).name << " does not list the 3 replicas";
  }
  const int victim = replica_to_kill();
  ASSERT_GE(victim, 1);
  const std::string dead = mesh_->node(victim).node_id;
  auto survivors = replica_nodes_;
  survivors.erase(dead);

  const auto killed_at = Steady::now();
  mesh_->kill9(victim);
  std::map<int, std::chrono::milliseconds> gone_after;
  std::set<int> pending;
  for (int i = 0; i < mesh_->size(); ++i) {
    if (i != victim) pending.insert(i);
  }
  std::optional<std::set<std::string>> fresh_first;  // the fresh node's first answer
  while (!pending.empty() && Steady::now() < killed_at + 20s) {
    for (auto it = pending.begin(); it != pending.end();) {
      auto seen = provider_nodes(*it);
      if (*it == fresh && !fresh_first) fresh_first = seen;
      // The dead node gone and the survivors still there (the reconcile loop may already
      // list a replacement beside them).
      if (seen && !seen->count(dead) &&
          std::includes(seen->begin(), seen->end(), survivors.begin(), survivors.end())) {
        gone_after[*it] =
            std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - killed_at);
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  for (int i = 0; i < mesh_->size(); ++i) {
    if (i == victim) continue;
    ASSERT_TRUE(gone_after.count(i)) << mesh_->node(i).name << " still lists the killed node";
    EXPECT_LE(gone_after[i], 15s) << mesh_->node(i).name;
    std::cout << "[ liveness ] " << mesh_->node(i).name << (i == fresh ? " (fresh)" : "")
              << ": killed node gone from get providers after " << gone_after[i].count() << " ms\n";
  }
  std::cout << "[ liveness ] first answer of the fresh node: "
            << ::testing::PrintToString(fresh_first) << "\n";

  // Restarted, the node is alive again (its pod kept running). With the replacement the
  // reconcile loop placed meanwhile there are 4 replicas: the mesh converges to 3 again, the
  // same 3 listed by every node.
  auto restarted = mesh_->restart(victim);
  ASSERT_TRUE(restarted) << restarted.error().to_string();
  for (int i = 0; i < mesh_->size(); ++i) {
    EXPECT_TRUE(eventually(
        [&] {
          auto seen = provider_nodes(i);
          return seen && seen->size() == 3 && seen == provider_nodes(0);
        },
        60s, 500ms))
        << mesh_->node(i).name << " does not list the same 3 replicas as the others";
  }
}

}  // namespace
}  // namespace beemesh::e2e
