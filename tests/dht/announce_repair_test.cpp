// The DHT watchdog's repair of a permanent put that skipped the nodes nearest its key
// (dht/opendht_dht.h "Announcements that skipped the nearest nodes", dht/announce_check.h), end
// to end: real OpenDHT nodes on 127.0.0.1, in a network namespace of this test's own, where
// iptables cuts the putting node off from the key's nearest nodes while it puts, as an
// overloaded mesh did at 1,000 nodes (docs/BENCHMARKS.md, session 30). Needs root and iptables
// (scripts/install-deps.sh); fails without them.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "dht/announce_check.h"
#include "dht/loopback_mesh.h"
#include "within.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

constexpr size_t kNodes = 24;
constexpr size_t kNearest = 8;  // OpenDHT's TARGET_NODES: where a get ends and a put lands

// The network namespace the calling thread is in ("" if unreadable).
std::string network_namespace() {
  std::error_code error;
  const auto link = std::filesystem::read_symlink("/proc/thread-self/ns/net", error);
  return error ? std::string() : link.string();
}

int run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

// The number of values `node` stores under `key` (OpenDHT's storage dump: "Storage <hash> <n>
// list., <k> values (<b> bytes)"; "" or no such line: none).
size_t stored(const OpenDht& node, const Key& key) {
  const std::string log = node.storage_log(key);
  const auto at = log.find(" list., ");
  if (at == std::string::npos) return 0;
  return std::strtoul(log.c_str() + at + 8, nullptr, 10);
}

// XOR distance of a node id (hex) to a key, comparable as bytes.
std::vector<uint8_t> distance(const std::string& node_id, const Key& key) {
  auto id = from_hex(node_id);
  std::vector<uint8_t> out(key.bytes.size(), 0xff);
  if (!id.ok() || id->size() != key.bytes.size()) return out;
  for (size_t i = 0; i < out.size(); ++i) out[i] = (*id)[i] ^ key.bytes[i];
  return out;
}

class AnnounceRepair : public ::testing::Test {
 protected:
  // Threads created after this (the mesh's) live in the new namespace; so do the commands.
  static void SetUpTestSuite() {
    machine_namespace_ = network_namespace();
    ASSERT_FALSE(machine_namespace_.empty()) << "/proc/thread-self/ns/net unreadable";
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0)
        << "unshare(CLONE_NEWNET): " << std::strerror(errno) << " (the test needs root)";
    ASSERT_EQ(run("ip link set lo up"), 0) << "ip link set lo up";
    ASSERT_EQ(run("iptables -S"), 0) << "iptables missing (scripts/install-deps.sh installs it)";
  }

  void SetUp() override {
    ASSERT_TRUE(own_namespace()) << "not in a network namespace of the test's own";
    auto started = LoopbackMesh::start(kNodes, 0x7e570031, [](DhtConfig& c) {
      c.bind_address6.clear();  // IPv4 only: one search per key, one family to cut
      c.announce_check = 1s;
    });
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    mesh_ = std::move(*started);
    // Every node pings every other (an idle mesh learns of nodes only through traffic), so
    // that each fills its routing table as far as its buckets allow (8 at least).
    for (size_t i = 0; i < kNodes; ++i) {
      std::vector<std::string> others;
      for (size_t j = 0; j < kNodes; ++j) {
        if (j != i) others.push_back(mesh_->node(j).endpoint());
      }
      mesh_->node(i).bootstrap(others);
    }
    ASSERT_TRUE(mesh_->wait_connected(kNearest, 30s));
  }

  void TearDown() override {
    if (own_namespace()) run("iptables -F INPUT");
  }

  // The `n` nodes nearest `key` other than `putter`, nearest first.
  std::vector<size_t> nearest(const Key& key, size_t putter, size_t n) {
    std::vector<size_t> others;
    for (size_t i = 0; i < mesh_->size(); ++i) {
      if (i != putter) others.push_back(i);
    }
    std::sort(others.begin(), others.end(), [&](size_t a, size_t b) {
      return distance(mesh_->node(a).node_id(), key) < distance(mesh_->node(b).node_id(), key);
    });
    others.resize(std::min(n, others.size()));
    return others;
  }

  // Drops every datagram between node a and node b (both ways).
  void cut(size_t a, size_t b) {
    const auto pa = std::to_string(mesh_->node(a).bound_port());
    const auto pb = std::to_string(mesh_->node(b).bound_port());
    for (const auto& [from, to] : {std::pair{pa, pb}, std::pair{pb, pa}}) {
      ASSERT_EQ(
          run("iptables -A INPUT -i lo -p udp --sport " + from + " --dport " + to + " -j DROP"), 0);
    }
  }

  // iptables runs only while this holds: never on the machine's own rules.
  static bool own_namespace() {
    const auto now = network_namespace();
    return !machine_namespace_.empty() && !now.empty() && now != machine_namespace_;
  }

  static inline std::string machine_namespace_;  // before unshare (SetUpTestSuite)
  std::unique_ptr<LoopbackMesh> mesh_;
};

TEST_F(AnnounceRepair, APutThatSkippedTheNearestNodesReachesThemOnceTheyAnswerAgain) {
  const Key key = Key::of("beemesh-test/announce-repair");
  const size_t putter = kNodes - 1;
  const auto near = nearest(key, putter, kNearest);
  for (size_t n : near) cut(putter, n);

  OpenDht& node = mesh_->node(putter);
  std::atomic<int> put_result{-1};
  node.put_permanent(key, Value{0, ValueKind::raw, to_bytes("announced")},
                     [&](Result<void> r) { put_result = r.ok() ? 1 : 0; });
  ASSERT_TRUE(within(30s, [&] { return put_result.load() == 1; })) << node.search_log(key);

  // What overload did at 1,000 nodes: the nearest nodes expired in the putter's search, the
  // value stored one ring out, where other nodes' gets do not look.
  for (size_t n : near) {
    ASSERT_EQ(stored(mesh_->node(n), key), 0u) << "node " << n << " is cut off and stores it";
  }
  size_t farther = 0;
  for (size_t i = 0; i < mesh_->size(); ++i) {
    if (std::find(near.begin(), near.end(), i) == near.end() && stored(mesh_->node(i), key) > 0) {
      ++farther;
    }
  }
  ASSERT_GT(farther, 0u) << node.search_log(key);
  // Their requests time out (three tries, ~3 s): marked expired, they are what the repair
  // reads.
  ASSERT_TRUE(within(15s, [&] {
    return skipped_nearer_nodes(node.search_log(key), kNearest).size() >= kNearest / 2;
  })) << node.search_log(key);
  std::this_thread::sleep_for(4s);  // the later ones' tries run out too
  // The cut nodes the putter's search holds (one it never heard of is not there, and no put
  // of it would reach that one either).
  std::vector<size_t> in_search;
  const std::string log = node.search_log(key);
  for (size_t n : near) {
    if (log.find(mesh_->node(n).endpoint() + "\n") != std::string::npos) in_search.push_back(n);
  }
  ASSERT_GE(in_search.size(), kNearest / 2) << log;

  ASSERT_EQ(run("iptables -F INPUT"), 0);  // the nodes answer again; they never write first
  EXPECT_TRUE(within(30s, [&] {
    return std::all_of(in_search.begin(), in_search.end(),
                       [&](size_t n) { return stored(mesh_->node(n), key) > 0; }) &&
           skipped_nearer_nodes(node.search_log(key), kNearest).empty();
  })) << node.search_log(key);
  const auto stats = node.stats();
  EXPECT_GE(stats.announce_pings, 1u);
  EXPECT_GE(stats.announce_reputs, 1u);
}

}  // namespace
}  // namespace beemesh::dht
