// Provider announcements and discovery on real OpenDHT nodes over loopback.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <set>
#include <thread>

#include "crypto/records.h"
#include "dht/loopback_mesh.h"
#include "provider/provider_manager.h"
#include "provider/records_util.h"

namespace beemesh::provider {
namespace {

using namespace std::chrono_literals;
using testing::identity_n;
using testing::signed_provider_record;
using Clock_ = std::chrono::steady_clock;

// A distinct network id per mesh, so meshes of different tests can never mix.
uint32_t fresh_network_id() {
  static std::atomic<uint32_t> next{0x7e580000 + static_cast<uint32_t>(::getpid() % 0x1000) * 16};
  return next++;
}

ProviderConfig test_config() {
  ProviderConfig c;
  c.early_reputs = {500ms, 1s, 2s, 4s, 8s};
  c.retry_initial = 200ms;
  c.retry_max = 2s;
  c.discovery_timeout = 5s;
  c.cleanup_interval = 1s;
  return c;
}

ProviderMetadata meta(const crypto::Identity& id, int port = 7401) {
  return {id.node_id(), "127.0.0.1:" + std::to_string(port), "mock", {{"zone", "test"}}};
}

std::set<std::string> node_ids(const std::vector<ProviderInfo>& providers) {
  std::set<std::string> out;
  for (const auto& p : providers) out.insert(p.metadata.node_id);
  return out;
}

// Polls discover() until `pred` holds or the deadline passes; returns the last result.
template <typename Pred>
std::optional<std::vector<ProviderInfo>> discover_until(Discoverer& d, const std::string& manifest,
                                                        Pred pred,
                                                        std::chrono::milliseconds deadline) {
  const auto until = Clock_::now() + deadline;
  while (true) {
    auto found = d.discover(manifest);
    if (pred(found)) return found;
    if (Clock_::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(50ms);
  }
}

// A mesh of N nodes, each with a provider manager of its own identity (identity_n(i + 1)).
class ProviderMesh {
 public:
  ProviderMesh(size_t n, ProviderConfig config = test_config(),
               const std::function<void(dht::DhtConfig&)>& tweak = {},
               const Clock& clock = system_clock()) {
    auto m = dht::LoopbackMesh::start(n, fresh_network_id(), tweak);
    if (!m.ok()) {
      ADD_FAILURE() << m.error().to_string();
      return;
    }
    mesh = std::move(m).value();
    for (size_t i = 0; i < n; ++i) ids.push_back(identity_n(static_cast<uint8_t>(i + 1)));
    for (size_t i = 0; i < n; ++i) {
      managers.push_back(std::make_unique<ProviderManager>(mesh->node(i), ids[i], clock, config));
    }
  }
  ~ProviderMesh() {
    managers.clear();  // before the nodes they use
    mesh.reset();
  }
  ProviderManager& pm(size_t i) { return *managers.at(i); }
  std::string id(size_t i) const { return ids.at(i).node_id(); }
  // Stops node i the hard way: no withdraw, the DHT node leaves.
  void kill(size_t i) {
    managers.at(i).reset();
    mesh->kill(i);
  }

  std::unique_ptr<dht::LoopbackMesh> mesh;
  std::vector<crypto::Identity> ids;
  std::vector<std::unique_ptr<ProviderManager>> managers;
};

TEST(ProviderDhtTest, EveryOtherNodeDiscoversExactlyTheThreeAnnouncers) {
  ProviderMesh net(10);
  const std::vector<size_t> announcers{2, 5, 8};
  std::set<std::string> expected;
  for (auto i : announcers) {
    net.pm(i).announce("web", meta(net.ids[i], 7400 + static_cast<int>(i)), 600s);
    expected.insert(net.id(i));
  }
  for (size_t j = 0; j < 10; ++j) {
    if (std::find(announcers.begin(), announcers.end(), j) != announcers.end()) continue;
    auto found = discover_until(
        net.pm(j), "web", [&](const auto& f) { return node_ids(f) == expected; }, 30s);
    ASSERT_TRUE(found.has_value()) << "node " << j << " did not find exactly the 3 announcers";
    for (const auto& p : *found) {
      EXPECT_EQ(p.manifest_id, "web");
      EXPECT_EQ(p.metadata.engine, "mock");
      EXPECT_EQ(p.ttl_s, 600);
    }
    for (size_t k = 1; k < found->size(); ++k) {
      EXPECT_GE((*found)[k - 1].timestamp_ms, (*found)[k].timestamp_ms) << "freshest first";
    }
  }
}

TEST(ProviderDhtTest, ForgedAndMismatchedRecordsAreIgnored) {
  ProviderMesh net(10);
  auto& dht3 = net.mesh->node(3);
  const auto key = dht::provider_key("api");
  const auto now = system_clock().now_ms();
  const auto& victim = net.ids[1];
  auto mallory = identity_n(66);
  // 1. Signed by mallory, naming node 1 (signer/node mismatch).
  auto claim = testing::provider_record(mallory, "api", 1, now);
  claim.node_id = net.id(1);
  const Bytes mismatched = crypto::sign_provider_record(mallory, claim);
  // 2. Node 1's name and key, but the signature does not verify (body altered after signing).
  Bytes bad_sig = signed_provider_record(victim, "api", 1, now);
  bad_sig[bad_sig.size() / 2] ^= 0x20;
  // 3. Garbage.
  const Bytes junk = to_bytes("definitely not a record");
  // 4. One honest record of another identity, written raw too.
  auto honest = identity_n(77);
  const Bytes good = signed_provider_record(honest, "api", 1, now);

  const std::vector<Bytes> raw{mismatched, bad_sig, junk, good};
  // Re-put until node 7 sees all four raw values with a plain DHT get.
  const auto until = Clock_::now() + 30s;
  bool all_visible = false;
  while (!all_visible && Clock_::now() < until) {
    uint64_t id = 100;
    for (const auto& v : raw) {
      (void)dht3.put_blocking(key, {++id, dht::ValueKind::provider_record, v}, 5s);
    }
    auto got = net.mesh->node(7).get_blocking(key, 5s);
    all_visible = got.ok() && got->size() >= raw.size();
  }
  ASSERT_TRUE(all_visible);
  auto found = net.pm(7).discover("api");
  EXPECT_EQ(node_ids(found), std::set<std::string>{honest.node_id()});
  EXPECT_GE(net.pm(7).stats().records_rejected, 3u);
}

TEST(ProviderDhtTest, AWithdrawalIsSeenByEveryOtherNodeWithinFiveSeconds) {
  ProviderMesh net(10);
  net.pm(4).announce("db", meta(net.ids[4]), 600s);
  for (size_t j = 0; j < 10; ++j) {
    if (j == 4) continue;
    ASSERT_TRUE(
        discover_until(
            net.pm(j), "db", [&](const auto& f) { return node_ids(f).count(net.id(4)); }, 30s)
            .has_value())
        << "node " << j;
  }
  // Every node now holds a cache entry for "db"; the withdrawal must get past those too.
  const auto withdrawn_at = Clock_::now();
  net.pm(4).withdraw("db");
  for (size_t j = 0; j < 10; ++j) {
    if (j == 4) continue;
    const auto left =
        5s - std::chrono::duration_cast<std::chrono::milliseconds>(Clock_::now() - withdrawn_at);
    auto gone = discover_until(
        net.pm(j), "db", [](const auto& f) { return f.empty(); },
        std::max<std::chrono::milliseconds>(left, 0ms));
    EXPECT_TRUE(gone.has_value()) << "node " << j
                                  << " still lists the withdrawn provider after 5 s";
  }
}

TEST(ProviderDhtTest, AKilledProviderDisappearsAfterItsTtl) {
  // Short TTL: the record says 3 s and the storing nodes keep provider values 3 s too.
  ProviderMesh net(10, test_config(),
                   [](dht::DhtConfig& c) { c.provider_record_expiry = std::chrono::seconds(3); });
  net.pm(6).announce("cron", meta(net.ids[6]), 3s);
  for (size_t j : {0, 3, 9}) {
    ASSERT_TRUE(
        discover_until(
            net.pm(j), "cron", [&](const auto& f) { return node_ids(f).count(net.id(6)); }, 30s)
            .has_value())
        << "node " << j;
  }
  net.kill(6);  // no withdraw: only the TTL can remove it
  // Right after the kill its last record is still within its TTL, so it is still listed.
  EXPECT_EQ(node_ids(net.pm(0).discover("cron")).count(net.id(6)), 1u);
  for (size_t j : {0, 3, 9}) {
    auto gone = discover_until(
        net.pm(j), "cron", [](const auto& f) { return f.empty(); }, 15s);
    EXPECT_TRUE(gone.has_value()) << "node " << j;
  }
  // And it stays gone.
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(net.pm(0).discover("cron").empty());
}

TEST(ProviderDhtTest, ARepeatedDiscoveryIsServedFromTheCache) {
  ProviderMesh net(6);
  net.pm(1).announce("cache-me", meta(net.ids[1]), 600s);
  auto first = discover_until(
      net.pm(2), "cache-me", [](const auto& f) { return f.size() == 1; }, 30s);
  ASSERT_TRUE(first.has_value());
  const auto before = net.pm(2).stats();
  auto second = net.pm(2).discover("cache-me");
  const auto after = net.pm(2).stats();
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  EXPECT_EQ(after.cache_misses, before.cache_misses);
  EXPECT_EQ(node_ids(second), node_ids(*first));
  EXPECT_GT(after.dht_nodes, 0u);
}

TEST(ProviderDhtTest, AnUnreachableDhtGivesEmptyWithinTheTimeout) {
  // A node whose only bootstrap peer is gone.
  auto gone = dht::OpenDht::start(dht::loopback_config(fresh_network_id()));
  ASSERT_TRUE(gone.ok());
  const auto dead_peer = (*gone)->endpoint();
  (*gone)->shutdown();
  auto lonely = dht::OpenDht::start(dht::loopback_config(fresh_network_id(), {dead_peer}));
  ASSERT_TRUE(lonely.ok());
  auto config = test_config();
  config.discovery_timeout = 1s;
  auto me = identity_n(1);
  ProviderManager pm(**lonely, me, system_clock(), config);
  const auto start = Clock_::now();
  EXPECT_TRUE(pm.discover("anything").empty());
  EXPECT_LT(Clock_::now() - start, 3s);
}

TEST(ProviderDhtTest, WhenTheDhtIsGoneDiscoveryReturnsTheCachedProviders) {
  ManualClock clock(system_clock().now_ms());
  ProviderMesh net(6, test_config(), {}, clock);
  net.pm(1).announce("stale", meta(net.ids[1]), 3600s);
  ASSERT_TRUE(discover_until(
                  net.pm(0), "stale", [](const auto& f) { return f.size() == 1; }, 30s)
                  .has_value());
  for (size_t i = 1; i < 6; ++i) net.kill(i);
  clock.advance_ms(std::chrono::milliseconds(6min).count());  // past the cache TTL
  auto found = net.pm(0).discover("stale");
  EXPECT_EQ(node_ids(found), std::set<std::string>{net.id(1)});
  EXPECT_EQ(net.pm(0).stats().cache_hits, 0u);  // it was not a fresh hit
}

TEST(ProviderDhtTest, MeshesWithDifferentNetworkIdsNeverSeeEachOthersProviders) {
  ProviderMesh a(5);
  // b's nodes also bootstrap to a's: only the network id keeps them apart.
  const auto a0 = a.mesh->node(0).endpoint();
  const auto a1 = a.mesh->node(1).endpoint();
  ProviderMesh b(5, test_config(), [&](dht::DhtConfig& c) {
    c.bootstrap.push_back(a0);
    c.bootstrap.push_back(a1);
  });
  // Same identities on both sides would be confusing: b's announcer uses a distinct one.
  auto b_identity = identity_n(200);
  ProviderManager b_announcer(b.mesh->node(2), b_identity, system_clock(), test_config());
  a.pm(2).announce("shared", meta(a.ids[2]), 600s);
  b_announcer.announce("shared", meta(b_identity), 600s);
  ASSERT_TRUE(discover_until(
                  a.pm(4), "shared",
                  [&](const auto& f) { return node_ids(f) == std::set<std::string>{a.id(2)}; }, 30s)
                  .has_value());
  ASSERT_TRUE(
      discover_until(
          b.pm(4), "shared",
          [&](const auto& f) { return node_ids(f) == std::set<std::string>{b_identity.node_id()}; },
          30s)
          .has_value());
  std::this_thread::sleep_for(2s);  // give a leak the chance to show
  for (size_t i : {0, 1, 3}) {
    EXPECT_FALSE(node_ids(a.pm(i).discover("shared")).count(b_identity.node_id())) << i;
    EXPECT_FALSE(node_ids(b.pm(i).discover("shared")).count(a.id(2))) << i;
  }
}

TEST(ProviderDhtTest, MoreThanFiftyProvidersAreCappedAtFifty) {
  ProviderMesh net(10);
  std::vector<crypto::Identity> ids;
  std::vector<std::unique_ptr<ProviderManager>> announcers;
  for (int i = 0; i < 55; ++i) ids.push_back(identity_n(static_cast<uint8_t>(100 + i)));
  for (int i = 0; i < 55; ++i) {
    announcers.push_back(std::make_unique<ProviderManager>(net.mesh->node(i % 10), ids[i],
                                                           system_clock(), test_config()));
    announcers.back()->announce("popular", meta(ids[i]), 600s);
  }
  // All 55 records are in the DHT...
  const auto key = dht::provider_key("popular");
  const auto until = Clock_::now() + 30s;
  size_t visible = 0;
  while (visible < 55 && Clock_::now() < until) {
    auto got = net.mesh->node(0).get_blocking(key, 5s);
    std::set<std::string> nodes;
    if (got.ok()) {
      for (const auto& v : *got) {
        auto r = crypto::open_provider_record(v.data);
        if (r.ok()) nodes.insert(r->node_id);
      }
    }
    visible = nodes.size();
    if (visible < 55) std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(visible, 55u);
  // ...but discovery returns the freshest 50.
  auto found = net.pm(0).discover("popular");
  ASSERT_EQ(found.size(), 50u);
  EXPECT_EQ(node_ids(found).size(), 50u);
  for (size_t k = 1; k < found.size(); ++k) {
    EXPECT_GE(found[k - 1].timestamp_ms, found[k].timestamp_ms);
  }
  announcers.clear();
}

// A child process running provider_node_helper, talked to over pipes.
class Child {
 public:
  static std::unique_ptr<Child> spawn(std::vector<std::string> args) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return nullptr;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return nullptr;
    if (pid == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    return std::unique_ptr<Child>(new Child(pid, in[1], out[0]));
  }

  ~Child() {
    if (to_child_ >= 0) ::close(to_child_);  // EOF on stdin: the helper quits
    const auto until = Clock_::now() + 5s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock_::now() >= until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    ::close(from_child_);
  }

  void send(const std::string& line) {
    const std::string l = line + "\n";
    ASSERT_EQ(::write(to_child_, l.data(), l.size()), static_cast<ssize_t>(l.size()));
  }

  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto until = Clock_::now() + timeout;
    while (true) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock_::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{from_child_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[512];
      const auto n = ::read(from_child_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  Child(pid_t pid, int to_child, int from_child)
      : pid_(pid), to_child_(to_child), from_child_(from_child) {}
  pid_t pid_;
  int to_child_;
  int from_child_;
  std::string buffer_;
};

TEST(ProviderDhtTest, ProvidersInOtherProcessesAreDiscoveredAndTheirWithdrawalSeen) {
  ProviderMesh net(5);
  std::vector<std::unique_ptr<Child>> children;
  std::vector<std::string> child_ids;
  for (int c = 0; c < 2; ++c) {
    std::vector<std::string> args{BEEMESH_PROVIDER_NODE_HELPER,
                                  "--network",
                                  std::to_string(net.mesh->network_id()),
                                  "--manifest",
                                  "multi",
                                  "--seed",
                                  std::to_string(150 + c),
                                  "--ttl",
                                  "600"};
    for (size_t b : {0, 1, 2}) {
      args.push_back("--bootstrap");
      args.push_back(net.mesh->node(b).endpoint());
    }
    auto child = Child::spawn(args);
    ASSERT_NE(child, nullptr);
    auto ready = child->read_line(10s);
    ASSERT_TRUE(ready.has_value());
    ASSERT_EQ(ready->rfind("ready ", 0), 0u) << *ready;
    child_ids.push_back(ready->substr(6, ready->find(' ', 6) - 6));
    children.push_back(std::move(child));
  }
  for (auto& child : children) {
    auto announced = child->read_line(35s);
    ASSERT_EQ(announced.value_or("<nothing>"), "announced");
  }
  const std::set<std::string> both{child_ids[0], child_ids[1]};
  ASSERT_TRUE(discover_until(
                  net.pm(3), "multi", [&](const auto& f) { return node_ids(f) == both; }, 30s)
                  .has_value());

  children[0]->send("withdraw");
  ASSERT_EQ(children[0]->read_line(35s).value_or("<nothing>"), "withdrawn");
  const std::set<std::string> second_only{child_ids[1]};
  EXPECT_TRUE(discover_until(
                  net.pm(3), "multi", [&](const auto& f) { return node_ids(f) == second_only; }, 5s)
                  .has_value());
  for (auto& child : children) child->send("quit");
}

}  // namespace
}  // namespace beemesh::provider
