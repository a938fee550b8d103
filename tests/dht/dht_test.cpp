// The OpenDHT backend on real nodes over loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dht/loopback_mesh.h"
#include "dht/opendht_dht.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kNet = 0x7e570001;

Value value_of(std::string_view s, ValueKind kind = ValueKind::provider_record) {
  return Value{0, kind, to_bytes(s)};
}

// Polls `get` on `node` until `pred(values)` holds or the deadline passes.
template <typename Pred>
bool eventually_get(Dht& node, const Key& key, Pred pred, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto r = node.get_blocking(key, 5s);
    if (r.ok() && pred(*r)) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

bool contains(const std::vector<Value>& values, std::string_view data) {
  for (const auto& v : values) {
    if (as_string(v.data) == data) return true;
  }
  return false;
}

TEST(KeyTest, IsTheSha1OfTheNamespacedName) {
  // SHA-1("beemesh/provider/m1") as OpenDHT's InfoHash::get computes it.
  EXPECT_EQ(provider_key("m1"), Key::of("beemesh/provider/m1"));
  EXPECT_NE(provider_key("m1"), peer_key("m1"));
  EXPECT_EQ(Key::of("abc").to_hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(OpenDhtTest, StartsOnAnEphemeralPortAndReportsIt) {
  auto node = OpenDht::start(loopback_config(kNet));
  ASSERT_TRUE(node.ok()) << node.error().to_string();
  EXPECT_NE((*node)->bound_port(), 0);
  EXPECT_NE((*node)->bound_port6(), 0);
  EXPECT_EQ((*node)->endpoint(), "127.0.0.1:" + std::to_string((*node)->bound_port()));
  EXPECT_EQ((*node)->stats().bound_port, (*node)->bound_port());
}

TEST(OpenDhtTest, FailsToStartOnAnAddressItCannotBind) {
  auto config = loopback_config(kNet);
  config.bind_address = "192.0.2.1";  // TEST-NET-1, not local
  auto node = OpenDht::start(config);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.error().code, "dht_start_failed");
}

TEST(OpenDhtTest, RejectsValuesOver64KiBAtOnce) {
  auto node = OpenDht::start(loopback_config(kNet));
  ASSERT_TRUE(node.ok());
  Value big{0, ValueKind::raw, Bytes(kMaxValueSize + 1, 'x')};
  const auto start = std::chrono::steady_clock::now();
  auto r = (*node)->put_blocking(Key::of("big"), big, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "value_too_large");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ((*node)->put_permanent(Key::of("big"), big), 0u);
}

TEST(OpenDhtTest, CallsAfterShutdownFailWithDhtStopped) {
  auto node = OpenDht::start(loopback_config(kNet));
  ASSERT_TRUE(node.ok());
  (*node)->shutdown();
  (*node)->shutdown();  // idempotent
  auto put = (*node)->put_blocking(Key::of("k"), value_of("v"), 1s);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, "dht_stopped");
  auto get = (*node)->get_blocking(Key::of("k"), 1s);
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, "dht_stopped");
  EXPECT_EQ((*node)->node_count(), 0u);
}

// Re-puts `value` from `putter` until every node in `observers` gets it: the first put after
// start may land on nodes that are not yet the closest to the key.
bool put_until_visible(Dht& putter, const Key& key, const Value& value,
                       const std::vector<Dht*>& observers, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  const auto want = as_string(value.data);
  std::vector<bool> seen(observers.size(), false);
  while (std::chrono::steady_clock::now() < until) {
    (void)putter.put_blocking(key, value, 5s);
    bool all = true;
    for (size_t i = 0; i < observers.size(); ++i) {
      if (seen[i]) continue;
      auto r = observers[i]->get_blocking(key, 5s);
      seen[i] = r.ok() && contains(*r, want);
      all = all && seen[i];
    }
    if (all) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

class MeshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = LoopbackMesh::start(6, kNet);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    mesh = std::move(m).value();
  }
  std::vector<Dht*> all_nodes() {
    std::vector<Dht*> v;
    for (size_t i = 0; i < mesh->size(); ++i) v.push_back(&mesh->node(i));
    return v;
  }
  std::unique_ptr<LoopbackMesh> mesh;
};

TEST_F(MeshTest, AValuePutOnOneNodeIsFoundFromEveryOther) {
  const auto key = Key::of("beemesh/test/put-get");
  EXPECT_TRUE(mesh->node(1).put_blocking(key, value_of("hello"), 10s).ok());
  EXPECT_TRUE(put_until_visible(mesh->node(1), key, value_of("hello"), all_nodes(), 30s));
}

TEST_F(MeshTest, GetKeepsTheValueKindAndId) {
  const auto key = Key::of("beemesh/test/kind");
  Value v{12345, ValueKind::peer_record, to_bytes("peer")};
  ASSERT_TRUE(put_until_visible(mesh->node(2), key, v, {&mesh->node(4)}, 30s));
  std::vector<Value> got;
  ASSERT_TRUE(eventually_get(
      mesh->node(4), key,
      [&](const auto& vs) {
        got = vs;
        return !vs.empty();
      },
      20s));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 12345u);
  EXPECT_EQ(got[0].kind, ValueKind::peer_record);
  EXPECT_EQ(as_string(got[0].data), "peer");
}

// A mesh larger than a key's 8 storing nodes (so some nodes answer from the storing nodes'
// replies, not their own store), shared by the reads by value id. Values of 700 bytes: a get
// carries each in a datagram of its own; ids of 64 bits, the high bit set too, as the
// backend picks them.
class WideMeshTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = LoopbackMesh::start(14, kNet);
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    mesh_ = std::move(started).value();
    // Every node pings every other: the precondition of these tests is a mesh where each node
    // knows 8 others. Left to OpenDHT, a node that started early learns the later ones only
    // from their own searches or its next bucket refresh (minutes): in one CI run of 2 cores
    // a node still knew fewer than 8 after 30 s (it takes ~4.5 s here). Pings lost on a loaded
    // machine are sent again: once more every 5 s (a CI run with tests beside it, 2026-12-02,
    // still had a node below 8 after one round and 30 s).
    std::vector<std::string> all;
    for (size_t i = 0; i < mesh_->size(); ++i) all.push_back(mesh_->node(i).endpoint());
    bool connected = false;
    for (int round = 0; round < 12 && !connected; ++round) {
      for (size_t i = 0; i < mesh_->size(); ++i) mesh_->node(i).bootstrap(all);
      connected = mesh_->wait_connected(8, 5s);
    }
    ASSERT_TRUE(connected) << "a node of the 14 knew fewer than 8 others after 60 s";
  }
  static void TearDownTestSuite() { mesh_.reset(); }
  void SetUp() override { ASSERT_TRUE(mesh_) << "the 14-node mesh did not start"; }

  // Puts a value of each id under `key` from node `from` until every node gets it.
  static void put_everywhere(const Key& key, const std::vector<uint64_t>& ids, size_t from) {
    std::vector<Dht*> readers;
    for (size_t i = 0; i < mesh_->size(); ++i) readers.push_back(&mesh_->node(i));
    for (auto id : ids) {
      Value v{id, ValueKind::raw, Bytes(700, static_cast<uint8_t>(id))};
      ASSERT_TRUE(put_until_visible(mesh_->node(from), key, v, readers, 60s));
    }
  }
  static std::vector<uint64_t> sorted_ids(Dht& node, const Key& key) {
    auto r = node.get_ids_blocking(key, 10s);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) return {};
    auto got = *r;
    std::sort(got.begin(), got.end());
    return got;
  }

  static std::unique_ptr<LoopbackMesh> mesh_;
};
std::unique_ptr<LoopbackMesh> WideMeshTest::mesh_;

TEST_F(WideMeshTest, GetIdsListsTheIdsOfEveryValueOfTheKeyFromEveryNode) {
  const auto key = Key::of("beemesh/test/ids");
  const std::vector<uint64_t> ids{101, 0x8000000000000202ULL, 0xfedcba9876543210ULL};
  put_everywhere(key, ids, 1);
  for (size_t i = 0; i < mesh_->size(); ++i) {
    EXPECT_EQ(sorted_ids(mesh_->node(i), key), ids) << "node " << i;
  }
}

// As a directory re-reads a shard: a get first, then reads by ids. OpenDHT keeps one search
// per key, with the nodes' answers to the get's own id query in it: each later read must
// still reach the storing nodes.
TEST_F(WideMeshTest, RepeatedReadsByIdsAfterAGetListEveryIdEachTime) {
  const auto key = Key::of("beemesh/test/ids-again");
  const std::vector<uint64_t> ids{7, 0x8000000000000008ULL, 0xffffffffffffff09ULL};
  put_everywhere(key, ids, 3);
  for (size_t i = 0; i < mesh_->size(); ++i) {
    ASSERT_TRUE(mesh_->node(i).get_blocking(key, 10s).ok());
    for (int round = 0; round < 3; ++round) {
      EXPECT_EQ(sorted_ids(mesh_->node(i), key), ids) << "node " << i << " round " << round;
    }
  }
}

// As a re-read fetches a record it has not read: the storing nodes apply the id, and every
// node finds that value alone.
TEST_F(WideMeshTest, GetValueFindsTheValueWithThatIdAloneFromEveryNode) {
  const auto key = Key::of("beemesh/test/value-by-id");
  constexpr uint64_t kWanted = 0xf000000000000022ULL;
  put_everywhere(key, {11, kWanted}, 2);
  for (size_t i = 0; i < mesh_->size(); ++i) {
    std::optional<Result<std::vector<Value>>> got;
    std::mutex mu;
    std::condition_variable cv;
    mesh_->node(i).get_value(key, kWanted, [&](Result<std::vector<Value>> r) {
      std::lock_guard lock(mu);
      got.emplace(std::move(r));
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return got.has_value(); })) << "node " << i;
    ASSERT_TRUE(got->ok()) << "node " << i << ": " << got->error().to_string();
    ASSERT_EQ((*got)->size(), 1u) << "node " << i;
    EXPECT_EQ((*got)->front().id, kWanted);
    EXPECT_EQ((*got)->front().data.size(), 700u);
  }
}

TEST_F(MeshTest, GetIdsOfAKeyWithoutValuesIsEmpty) {
  auto r = mesh->node(2).get_ids_blocking(Key::of("beemesh/test/no-ids"), 10s);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->empty());
}

TEST_F(MeshTest, ListenDeliversNewValuesUntilCancelled) {
  const auto key = Key::of("beemesh/test/listen");
  std::mutex mu;
  std::vector<std::string> seen;
  auto token = mesh->node(3).listen(key, [&](const std::vector<Value>& vs, bool expired) {
    if (expired) return;
    std::lock_guard lock(mu);
    for (const auto& v : vs) seen.emplace_back(as_string(v.data));
  });
  EXPECT_NE(token, 0u);
  auto seen_has = [&](std::string_view s) {
    std::lock_guard lock(mu);
    return std::find(seen.begin(), seen.end(), s) != seen.end();
  };
  // Re-put until the listener got it: the first put may land before routing tables fill.
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!seen_has("first") && std::chrono::steady_clock::now() < until) {
    (void)mesh->node(5).put_blocking(key, Value{777, ValueKind::raw, to_bytes("first")}, 5s);
    for (int i = 0; i < 20 && !seen_has("first"); ++i) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(seen_has("first"));

  mesh->node(3).cancel_listen(key, token);
  // The value is in the DHT (a get sees it) but the cancelled listener never gets it.
  ASSERT_TRUE(put_until_visible(mesh->node(5), key, value_of("second", ValueKind::raw),
                                {&mesh->node(3)}, 30s));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(seen_has("second"));
}

TEST_F(MeshTest, PermanentPutKeepsTheValueAndCancelStopsRefreshing) {
  const auto key = Key::of("beemesh/test/permanent");
  const auto id = mesh->node(1).put_permanent(key, value_of("perm", ValueKind::raw));
  EXPECT_NE(id, 0u);
  EXPECT_TRUE(eventually_get(
      mesh->node(4), key, [](const auto& vs) { return contains(vs, "perm"); }, 30s));
  mesh->node(1).cancel_permanent(key, id);  // no observable effect before expiry; must not crash
}

// As the node directory's joins: a permanent put, cancelled when its window ends.
TEST(BriefRecordTest, ACancelledBriefRecordLeavesTheStoringNodesAtItsExpiry) {
  auto m = LoopbackMesh::start(4, 0x7e57000c, [](DhtConfig& c) { c.brief_record_expiry = 3s; });
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto& mesh = **m;
  const Key key = Key::of("brief-test");
  const uint64_t brief = mesh.node(0).put_permanent(
      key, Value{0x1001, ValueKind::brief_provider_record, to_bytes("join")});
  const uint64_t lasting =
      mesh.node(0).put_permanent(key, Value{0x1002, ValueKind::provider_record, to_bytes("shard")});
  ASSERT_NE(brief, 0u);
  ASSERT_NE(lasting, 0u);
  auto both = [](const std::vector<Value>& v) {
    return contains(v, "join") && contains(v, "shard");
  };
  ASSERT_TRUE(eventually_get(mesh.node(1), key, both, 20s));
  // Kept while its owner refreshes it, past its expiry.
  std::this_thread::sleep_for(5s);
  ASSERT_TRUE(eventually_get(mesh.node(1), key, both, 5s));
  mesh.node(0).cancel_permanent(key, brief);
  const auto cancelled = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually_get(
      mesh.node(1), key,
      [](const std::vector<Value>& v) { return !contains(v, "join") && contains(v, "shard"); },
      15s));
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled, 10s);
}

TEST(NetworkIdTest, MeshesWithDifferentNetworkIdsNeverSeeEachOther) {
  auto a = LoopbackMesh::start(3, 0x7e57000a);
  ASSERT_TRUE(a.ok());
  // Mesh b bootstraps to mesh a's nodes too: the network id must keep them apart.
  auto b = LoopbackMesh::start(3, 0x7e57000b, [&](DhtConfig& c) {
    c.bootstrap.push_back((*a)->node(0).endpoint());
    c.bootstrap.push_back((*a)->node(1).endpoint());
  });
  ASSERT_TRUE(b.ok());
  const auto key = Key::of("beemesh/test/netid");
  ASSERT_TRUE(put_until_visible((*a)->node(1), key, value_of("only-a", ValueKind::raw),
                                {&(*a)->node(0), &(*a)->node(2)}, 30s));
  // Mesh b works on its own...
  ASSERT_TRUE(put_until_visible((*b)->node(1), key, value_of("only-b", ValueKind::raw),
                                {&(*b)->node(0), &(*b)->node(2)}, 30s));
  // ...and neither mesh ever sees the other's value or nodes.
  for (size_t i = 0; i < 3; ++i) {
    auto rb = (*b)->node(i).get_blocking(key, 5s);
    ASSERT_TRUE(rb.ok());
    EXPECT_FALSE(contains(*rb, "only-a")) << "mesh b node " << i;
    auto ra = (*a)->node(i).get_blocking(key, 5s);
    ASSERT_TRUE(ra.ok());
    EXPECT_FALSE(contains(*ra, "only-b")) << "mesh a node " << i;
    EXPECT_LE((*b)->node(i).node_count(), 2u) << "mesh b node " << i << " knows a foreign node";
  }
}

}  // namespace
}  // namespace beemesh::dht
