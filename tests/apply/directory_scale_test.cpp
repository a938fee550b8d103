// The sharded node directory and sampled placement on a 120-node in-process mesh: real
// OpenDHT nodes (dht::LoopbackMesh), a real ProviderManager and NodeDirectory per node, and
// apply::place_by_sampling — the candidate choice the Publisher runs for an apply and a
// re-placement; only the capacity RPC is replaced by answers made up here.
#include <gtest/gtest.h>

#include <asio.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "apply/directory.h"
#include "apply/sampling.h"
#include "common/clock.h"
#include "crypto/identity.h"
#include "dht/loopback_mesh.h"
#include "directory_entry.h"
#include "provider/provider_manager.h"

namespace beemesh::apply {
namespace {

using namespace std::chrono_literals;

constexpr size_t kNodes = 120;
constexpr size_t kLegacyView = 50;  // what one "beemesh:nodes" provider list could show

struct Mesh {
  std::unique_ptr<dht::LoopbackMesh> dht;
  std::vector<crypto::Identity> ids;
  std::vector<std::unique_ptr<provider::ProviderManager>> providers;
  std::vector<std::unique_ptr<NodeDirectory>> directories;

  ~Mesh() {
    directories.clear();
    providers.clear();
  }
};

// Runs an awaitable to completion on a single-threaded loop (like the daemon's event loop).
template <typename T>
T run(asio::awaitable<T> task) {
  asio::io_context io;
  auto result = asio::co_spawn(io, std::move(task), asio::use_future);
  io.run();
  return result.get();
}

// Capacity answers: every node asked accepts, with a random amount of free memory.
AskCapacity random_room(std::mt19937_64& rng) {
  return
      [&rng](std::vector<NodeEntry> nodes) -> asio::awaitable<std::vector<scheduler::Candidate>> {
        std::vector<scheduler::Candidate> out;
        std::uniform_int_distribution<int64_t> gib(1, 64);
        for (const auto& n : nodes) {
          out.push_back({n.node_id, n.name, n.rpc_endpoint, gib(rng) << 30, 8000});
        }
        co_return out;
      };
}

class DirectoryScale : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mesh_ = std::make_unique<Mesh>();
    auto started = dht::LoopbackMesh::start(kNodes, 0x0bee5ca1);
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    mesh_->dht = std::move(*started);
    ASSERT_TRUE(mesh_->dht->wait_connected(8, 60s));
    mesh_->ids.reserve(kNodes);  // managers keep references
    for (size_t i = 0; i < kNodes; ++i) {
      mesh_->ids.push_back(crypto::Identity::generate());
      mesh_->providers.push_back(std::make_unique<provider::ProviderManager>(
          mesh_->dht->node(i), mesh_->ids[i], system_clock(), provider::ProviderConfig{}));
      mesh_->directories.push_back(std::make_unique<NodeDirectory>(
          *mesh_->providers[i], test_support::directory_entry(mesh_->ids[i], i, 20000), 3600s));
      mesh_->directories[i]->announce_self();
    }
    // Directories read only after every node's first put was acknowledged.
    auto stored = [] {
      size_t n = 0;
      for (const auto& p : mesh_->providers) n += p->stats().puts_ok > 0 ? 1 : 0;
      return n;
    };
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (stored() < kNodes && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(stored(), kNodes) << "not every node's directory record was stored";
  }
  static void TearDownTestSuite() { mesh_.reset(); }
  void SetUp() override { ASSERT_NE(mesh_, nullptr); }

  static std::unique_ptr<Mesh> mesh_;
};
std::unique_ptr<Mesh> DirectoryScale::mesh_;

TEST(DirectoryShard, IsTheNodeIdsSixLeadingBits) {
  std::set<size_t> seen;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    crypto::PublicKey key{};
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    auto id = crypto::node_id_of(key);
    auto shard = directory_shard(id);
    ASSERT_TRUE(shard.has_value());
    ASSERT_LT(*shard, kDirectoryShards);
    seen.insert(*shard);
  }
  EXPECT_EQ(seen.size(), kDirectoryShards) << "2,000 random node ids cover every shard";
  EXPECT_FALSE(directory_shard("not-a-node-id").has_value());
  EXPECT_EQ(directory_shard_id(7), "beemesh:nodes:7");
  EXPECT_TRUE(is_directory_id("beemesh:nodes:63"));
  EXPECT_FALSE(is_directory_id("beemesh:nodes:64"));
  EXPECT_FALSE(is_directory_id("beemesh:nodes"));
}

TEST_F(DirectoryScale, EveryNodeIsInTheViewOfANodeThatReadEveryShard) {
  auto& dir = *mesh_->directories[0];
  dir.refresh();
  auto nodes = dir.nodes();
  EXPECT_EQ(nodes.size(), kNodes) << "more than the " << kLegacyView << " one key could list";
  EXPECT_EQ(nodes.front().node_id, mesh_->ids[0].node_id()) << "self first";
}

TEST_F(DirectoryScale, APassReadsEveryShardAndEstimatesTheMeshSize) {
  auto& dir = *mesh_->directories[1];
  const auto before = dir.stats().shard_reads;
  dir.refresh();
  const auto st = dir.stats();
  EXPECT_EQ(st.shard_reads - before, kDirectoryShards);
  ASSERT_EQ(dir.nodes().size(), kNodes);
  EXPECT_DOUBLE_EQ(st.entries_per_shard, double(kNodes) / double(kDirectoryShards));
}

// The early re-reads (60-480 s) come after a first pass: a directory is before its steady
// period on every shard until they are over (apply/shard_rereads.h).
TEST_F(DirectoryScale, EveryShardIsBeforeItsSteadyPeriodUntilTheEarlyReReadsAreOver) {
  auto& dir = *mesh_->directories[6];
  EXPECT_EQ(dir.stats().shards_before_steady, kDirectoryShards) << "nothing read yet";
  dir.refresh();
  EXPECT_EQ(dir.stats().shards_before_steady, kDirectoryShards)
      << "a first pass, then early re-reads";
}

TEST_F(DirectoryScale, AStartedDirectoryListsEveryNodeAfterItsFirstPass) {
  auto& dir = *mesh_->directories[5];
  const auto t0 = std::chrono::steady_clock::now();
  dir.start(200ms);
  while (dir.nodes().size() < kNodes && std::chrono::steady_clock::now() - t0 < 20s) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(dir.nodes().size(), kNodes);
  std::printf("a started directory listed all %zu nodes after %lld ms\n", kNodes,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));
  dir.stop();
}

TEST_F(DirectoryScale, FindResolvesEveryNodeFromADirectoryThatReadNothing) {
  auto& dir = *mesh_->directories[kNodes - 1];  // never refreshed
  size_t resolved = 0;
  for (size_t i = 0; i < kNodes; ++i) {
    auto found = dir.find(mesh_->ids[i].node_id());
    ASSERT_TRUE(found.has_value()) << "node " << i << " not found";
    EXPECT_EQ(found->public_key, mesh_->ids[i].public_key());
    ++resolved;
  }
  EXPECT_EQ(resolved, kNodes);
  EXPECT_FALSE(dir.find(crypto::Identity::generate().node_id()).has_value())
      << "a node id nobody announced";
}

TEST_F(DirectoryScale, SampleIsDistinctAndLeavesOutExcludedNodes) {
  auto& dir = *mesh_->directories[1];
  dir.refresh();
  std::set<std::string> exclude;
  for (size_t i = 0; i < 60; ++i) exclude.insert(mesh_->ids[i].node_id());
  for (int round = 0; round < 50; ++round) {
    auto sample = dir.sample(10, exclude);
    ASSERT_EQ(sample.size(), 10u);
    std::set<std::string> ids;
    for (const auto& n : sample) {
      EXPECT_FALSE(exclude.count(n.node_id)) << n.node_id << " was excluded";
      ids.insert(n.node_id);
    }
    EXPECT_EQ(ids.size(), sample.size()) << "a node drawn twice";
  }
  EXPECT_EQ(dir.sample(1000, exclude).size(), kNodes - exclude.size());
}

TEST_F(DirectoryScale, PlacementsLandOnNodesAFiftyEntryViewNeverSees) {
  // 200 applies of 3 replicas, from 4 entry nodes, each asking a bounded sample.
  std::mt19937_64 rng(42);
  std::map<std::string, int> replicas_on;
  size_t most_asked = 0;
  for (size_t entry = 0; entry < 4; ++entry) {
    auto& dir = *mesh_->directories[10 + entry];
    dir.refresh();
    for (int apply = 0; apply < 50; ++apply) {
      scheduler::PlacementRequest req{3, {1 << 20, 100}, "", {}};
      auto placed = run(
          place_by_sampling(dir, req, std::nullopt, capacity_sample_size(3, 5), random_room(rng)));
      ASSERT_EQ(placed.picks.size(), 3u);
      EXPECT_FALSE(placed.widened) << "every node asked has room";
      most_asked = std::max(most_asked, placed.asked.size());
      for (const auto& p : placed.picks) ++replicas_on[p.node_id];
    }
  }
  RecordProperty("distinct_nodes", static_cast<int>(replicas_on.size()));
  std::printf("600 replicas over 200 applies landed on %zu distinct nodes of %zu\n",
              replicas_on.size(), kNodes);
  EXPECT_LE(most_asked, capacity_sample_size(3, 5)) << "one apply asks a bounded sample";
  EXPECT_GT(replicas_on.size(), kLegacyView);
  EXPECT_GE(replicas_on.size(), 100u)
      << "placements on " << replicas_on.size() << " of " << kNodes << " nodes";
}

TEST_F(DirectoryScale, ASampleWithoutRoomIsWidenedOnceWithFreshNodes) {
  auto& dir = *mesh_->directories[2];
  dir.refresh();
  int asks = 0;
  std::set<std::string> first_asked;
  AskCapacity ask =
      [&](std::vector<NodeEntry> nodes) -> asio::awaitable<std::vector<scheduler::Candidate>> {
    std::vector<scheduler::Candidate> out;
    if (++asks == 1) {
      for (const auto& n : nodes) first_asked.insert(n.node_id);
      co_return out;  // nobody in the first sample has room
    }
    for (const auto& n : nodes) out.push_back({n.node_id, n.name, n.rpc_endpoint, 1 << 30, 1000});
    co_return out;
  };
  auto placed = run(place_by_sampling(dir, {2, {1 << 20, 100}, "", {}}, std::nullopt, 4, ask));
  EXPECT_EQ(asks, 2);
  EXPECT_TRUE(placed.widened);
  EXPECT_EQ(placed.asked.size(), 8u);
  ASSERT_EQ(placed.picks.size(), 2u);
  for (const auto& p : placed.picks) EXPECT_FALSE(first_asked.count(p.node_id));
}

TEST_F(DirectoryScale, APinnedNodeFoundByIdIsTheOnlyPick) {
  auto& dir = *mesh_->directories[3];
  const auto& target = mesh_->ids[97];
  auto pinned = dir.find(target.node_id());
  ASSERT_TRUE(pinned.has_value());
  std::mt19937_64 rng(7);
  auto placed = run(place_by_sampling(dir, {1, {1 << 20, 100}, target.node_id(), {}}, pinned,
                                      capacity_sample_size(1, 5), random_room(rng)));
  ASSERT_EQ(placed.picks.size(), 1u);
  EXPECT_EQ(placed.picks[0].node_id, target.node_id());
  EXPECT_EQ(placed.asked.front().node_id, target.node_id());
}

}  // namespace
}  // namespace beemesh::apply
