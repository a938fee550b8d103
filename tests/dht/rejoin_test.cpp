// A node whose only peer went away (its routing table expired: the cut link of
// docs/notes/dht.md "Rejoin after a cut link") and then came back: real OpenDHT nodes on
// loopback. The rejoin restarts its runner in place; what it listened to and put permanently
// works again, and it still stores what it stored for the network.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dht/epoll_socket.h"
#include "dht/opendht_dht.h"
#include "within.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kNet = 0x7e570013;

bool contains(const std::vector<Value>& values, std::string_view data) {
  return std::any_of(values.begin(), values.end(),
                     [&](const Value& v) { return as_string(v.data) == data; });
}

class RejoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a_config = loopback_config(kNet);
    a_config.rejoin_check = 200ms;
    auto a = OpenDht::start(a_config);
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    node_a = std::move(a).value();
    peer_config = loopback_config(kNet, {node_a->endpoint()});
    peer_config.rejoin_check = 0ms;
    start_peer();

    listen_token = node_a->listen(listened, [this](const std::vector<Value>& vs, bool expired) {
      if (expired) return;
      std::lock_guard lock(mu);
      for (const auto& v : vs) heard.emplace_back(as_string(v.data));
    });
    permanent_id =
        node_a->put_permanent(permanent_key, Value{0, ValueKind::raw, to_bytes("permanent")});
    ASSERT_TRUE(within(20s, [&] {
      (void)node_a->put_blocking(put_key, Value{0, ValueKind::raw, to_bytes("before")}, 2s);
      auto r = peer->get_blocking(put_key, 2s);
      return r.ok() && contains(*r, "before");
    }));
    // A value the peer puts once: acknowledged, so node A (the peer's only node) stores it.
    ASSERT_TRUE(within(20s, [&] {
      return peer->put_blocking(held_key, Value{0, ValueKind::raw, to_bytes("held")}, 2s).ok();
    }));

    // The peer goes; node A's requests to it time out until its routing table is empty.
    peer_config.port = peer->bound_port();
    peer_config.port6 = peer->bound_port6();
    peer.reset();
    ASSERT_TRUE(within(60s, [&] {
      (void)node_a->put_blocking(put_key, Value{0, ValueKind::raw, to_bytes("alone")}, 1s);
      return node_a->node_count() == 0;
    })) << "node A never noticed its peer was gone";
    // Still alone for a while: the watchdog re-bootstraps from the peer it knew, which puts
    // the dead peer back in the routing table for a moment. That is no rejoin: no restart.
    std::this_thread::sleep_for(2s);
    ASSERT_EQ(node_a->stats().runner_restarts, 0u);
    start_peer();  // the same address and port again: the link is healed
  }

  void start_peer() {
    auto p = OpenDht::start(peer_config);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    peer = std::move(p).value();
  }

  bool heard_has(std::string_view s) {
    std::lock_guard lock(mu);
    return std::find(heard.begin(), heard.end(), s) != heard.end();
  }

  const Key put_key = Key::of("beemesh/test/rejoin/put");
  const Key listened = Key::of("beemesh/test/rejoin/listen");
  const Key permanent_key = Key::of("beemesh/test/rejoin/permanent");
  const Key held_key = Key::of("beemesh/test/rejoin/held");
  std::unique_ptr<OpenDht> node_a;
  DhtConfig peer_config;
  std::unique_ptr<OpenDht> peer;
  ListenToken listen_token = 0;
  uint64_t permanent_id = 0;
  std::mutex mu;
  std::vector<std::string> heard;
};

// The first node of a mesh is alone until the second arrives: starting, not isolated, so the
// second node's arrival is no rejoin and restarts nothing (CI caught the fixture's node A
// alone at its first check once, before its peer had bootstrapped from it).
TEST(RejoinWatchdog, TheFirstNodeOfAMeshDoesNotRestartWhenItsFirstPeerArrives) {
  auto a_config = loopback_config(kNet);
  a_config.rejoin_check = 200ms;
  auto a = OpenDht::start(a_config);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  std::this_thread::sleep_for(1s);  // alone at five checks
  auto peer_config = loopback_config(kNet, {(*a)->endpoint()});
  peer_config.rejoin_check = 0ms;
  auto peer = OpenDht::start(peer_config);
  ASSERT_TRUE(peer.ok()) << peer.error().to_string();
  ASSERT_TRUE(within(20s, [&] { return (*a)->node_count() > 0; }));
  std::this_thread::sleep_for(2s);  // a rejoin is confirmed 1 s after good nodes are seen
  EXPECT_EQ((*a)->stats().runner_restarts, 0u);
}

TEST_F(RejoinTest, TheRejoinedNodeRestartsItsRunnerOnceAndItsPutsReachThePeer) {
  ASSERT_TRUE(within(20s, [&] { return node_a->stats().runner_restarts > 0; }));
  EXPECT_TRUE(within(20s, [&] {
    (void)node_a->put_blocking(put_key, Value{0, ValueKind::raw, to_bytes("after")}, 2s);
    auto r = peer->get_blocking(put_key, 2s);
    return r.ok() && contains(*r, "after");
  }));
  EXPECT_EQ(node_a->stats().runner_restarts, 1u);
  EXPECT_EQ(node_a->stats().restarts_for_failing_puts, 0u);  // it restarted for the rejoin
}

TEST_F(RejoinTest, AListenMadeBeforeTheIsolationHearsValuesPutAfterTheRejoin) {
  EXPECT_TRUE(within(20s, [&] {
    (void)peer->put_blocking(listened, Value{4242, ValueKind::raw, to_bytes("heard")}, 2s);
    return heard_has("heard");
  }));
}

TEST_F(RejoinTest, APermanentValuePutBeforeTheIsolationIsFoundByTheNewPeer) {
  EXPECT_TRUE(within(20s, [&] {
    auto r = peer->get_blocking(permanent_key, 2s);
    return r.ok() && contains(*r, "permanent");
  }));
}

// The peer came back as a new node (new id, empty store): only node A can answer for the key,
// and only from what its new runner took over from the old one.
TEST_F(RejoinTest, ARestartedStoringNodeStillAnswersWithTheValuesItStored) {
  ASSERT_TRUE(within(20s, [&] { return node_a->stats().runner_restarts == 1; }));
  EXPECT_TRUE(within(20s, [&] {
    auto r = peer->get_blocking(held_key, 2s);
    return r.ok() && contains(*r, "held");
  }));
  EXPECT_GT(node_a->stats().values_kept_on_restart, 0u);
}

TEST_F(RejoinTest, ACancelledListenIsNotMadeAgainByTheRestart) {
  node_a->cancel_listen(listened, listen_token);
  ASSERT_TRUE(within(20s, [&] { return node_a->stats().runner_restarts == 1; }));
  ASSERT_TRUE(within(20s, [&] {
    (void)peer->put_blocking(listened, Value{4343, ValueKind::raw, to_bytes("unheard")}, 2s);
    auto r = node_a->get_blocking(listened, 2s);
    return r.ok() && contains(*r, "unheard");
  }));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(heard_has("unheard"));
}

// Node A with the given check interval (its watchdog under test) and one peer without a
// watchdog, bootstrapped from A.
struct WatchedPair {
  std::unique_ptr<OpenDht> a;
  std::unique_ptr<OpenDht> peer;
};

WatchedPair start_watched_pair(std::chrono::milliseconds rejoin_check) {
  WatchedPair pair;
  auto a_config = loopback_config(kNet);
  a_config.rejoin_check = rejoin_check;
  auto a = OpenDht::start(a_config);
  EXPECT_TRUE(a.ok()) << a.error().to_string();
  if (!a.ok()) return pair;
  pair.a = std::move(a).value();
  auto peer_config = loopback_config(kNet, {pair.a->endpoint()});
  peer_config.rejoin_check = 0ms;
  auto peer = OpenDht::start(peer_config);
  EXPECT_TRUE(peer.ok()) << peer.error().to_string();
  if (peer.ok()) pair.peer = std::move(peer).value();
  return pair;
}

// A connected node whose puts succeed has nothing to watch: its watchdog sleeps, waking only
// to copy its routing table every 30 s (at 1,000 nodes of one process, 0.5 checks per node
// per second were ~80 ms of CPU per second).
TEST(RejoinWatchdog, AConnectedNodeWhosePutsSucceedIsNotCheckedAtEveryInterval) {
  auto [a, peer] = start_watched_pair(100ms);
  ASSERT_TRUE(a && peer);
  const Key key = Key::of("beemesh/test/rejoin/sleeps");
  ASSERT_TRUE(within(20s, [&] {
    return a->node_count() > 0 &&
           a->put_blocking(key, Value{0, ValueKind::raw, to_bytes("ok")}, 2s).ok();
  }));
  ASSERT_TRUE(within(5s, [&] { return a->stats().watchdog_checks > 0; }));
  std::this_thread::sleep_for(300ms);  // the check that saw it connected has ended
  const size_t before = a->stats().watchdog_checks;
  std::this_thread::sleep_for(2s);  // 20 intervals
  EXPECT_LE(a->stats().watchdog_checks - before, 1u);
}

// The node's loss of its last good node wakes the watchdog then, not at its next interval.
TEST(RejoinWatchdog, LosingTheLastGoodNodeWakesTheWatchdogAtOnce) {
  auto [a, peer] = start_watched_pair(600s);  // no check by the clock during the test
  ASSERT_TRUE(a && peer);
  ASSERT_TRUE(within(20s, [&] { return a->node_count() > 0; }));
  const size_t before = a->stats().watchdog_checks;
  peer.reset();
  const Key key = Key::of("beemesh/test/rejoin/wakes");
  ASSERT_TRUE(within(60s, [&] {
    (void)a->put_blocking(key, Value{0, ValueKind::raw, to_bytes("alone")}, 1s);
    return a->node_count() == 0;
  })) << "node A never noticed its peer was gone";
  EXPECT_TRUE(within(5s, [&] { return a->stats().watchdog_checks > before; }));
}

// While it lives, a step holds `loop` kLoopBehind + 200 ms every second, and a ticker due every
// 10 ms runs that late: the loop is behind (EpollLoop::last_behind), as in a process of too many
// nodes.
class LoopLag {
 public:
  explicit LoopLag(EpollLoop& loop) : loop_(loop) {
    ticker_ = loop_.drive([] { return EpollLoop::Clock::now() + 10ms; });
    blocker_ = loop_.drive([this] {
      if (!on_) return EpollLoop::Clock::time_point::max();
      std::this_thread::sleep_for(kLoopBehind + 200ms);
      return EpollLoop::Clock::now() + 1s;
    });
    loop_.poke(ticker_);
    loop_.poke(blocker_);
  }
  ~LoopLag() {
    loop_.undrive(blocker_);
    loop_.undrive(ticker_);
  }
  void stop() { on_ = false; }

 private:
  EpollLoop& loop_;
  std::atomic<bool> on_{true};
  uint64_t ticker_ = 0;
  uint64_t blocker_ = 0;
};

// A node alone whose loop keeps up re-bootstraps at every check (the first node of a mesh
// waiting for its first peer, or a node cut off from the network).
TEST(RejoinWatchdog, ANodeAloneWhoseLoopKeepsUpReBootstrapsAtEveryCheck) {
  auto config = loopback_config(kNet);
  config.rejoin_check = 100ms;
  auto a = OpenDht::start(config);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  std::this_thread::sleep_for(2s);  // 20 checks
  EXPECT_GE((*a)->stats().rebootstraps, 10u);
  EXPECT_EQ((*a)->stats().rebootstraps_deferred, 0u);
}

// A node alone whose loop is behind re-bootstraps at gaps doubling from the check interval:
// each re-bootstrap pings every node it knew, and hundreds of isolated nodes of one process
// doing so at every check kept their loop behind (docs/BENCHMARKS.md, session 22's 1,000-node
// collapse).
TEST(RejoinWatchdog, ANodeAloneWhoseLoopIsBehindReBootstrapsAtDoublingGaps) {
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok()) << loop.error().to_string();
  auto config = loopback_config(kNet);
  config.rejoin_check = 100ms;
  auto started = OpenDht::start(config, *loop);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  auto a = std::move(started).value();
  LoopLag lag(**loop);
  ASSERT_TRUE(
      within(10s, [&] { return (*loop)->last_behind() != EpollLoop::Clock::time_point{}; }));
  const DhtStats before = a->stats();
  std::this_thread::sleep_for(4s);  // 40 checks; gaps of 0.1-0.15, 0.2-0.3, ... 1.6-2.4 s
  const DhtStats after = a->stats();
  EXPECT_LE(after.rebootstraps - before.rebootstraps, 7u);
  EXPECT_GE(after.rebootstraps_deferred - before.rebootstraps_deferred, 20u);
}

// A node whose loop was behind while it lost its last good node (the loop runs many nodes, or
// the machine is overloaded: replies wait unread while requests time out) rejoins without
// restarting its runner: the isolation was its own, and in a process of many nodes every one
// of them would restart at once (docs/BENCHMARKS.md, the restart storms at ~760 nodes).
TEST(RejoinWatchdog, ANodeWhoseLoopWasBehindDuringItsIsolationRejoinsWithoutARestart) {
  using Clock = EpollLoop::Clock;
  auto loop = EpollLoop::start();
  ASSERT_TRUE(loop.ok()) << loop.error().to_string();
  auto a_config = loopback_config(kNet);
  a_config.rejoin_check = 200ms;
  auto started = OpenDht::start(a_config, *loop);
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  auto a = std::move(started).value();
  auto peer_config = loopback_config(kNet, {a->endpoint()});
  peer_config.rejoin_check = 0ms;
  auto peer = OpenDht::start(peer_config);
  ASSERT_TRUE(peer.ok()) << peer.error().to_string();
  const Key key = Key::of("beemesh/test/rejoin/behind");
  ASSERT_TRUE(within(20s, [&] {
    return a->node_count() > 0 &&
           a->put_blocking(key, Value{0, ValueKind::raw, to_bytes("ok")}, 2s).ok();
  }));

  LoopLag lag(**loop);
  peer_config.port = (*peer)->bound_port();
  peer_config.port6 = (*peer)->bound_port6();
  peer->reset();
  ASSERT_TRUE(within(60s, [&] {
    (void)a->put_blocking(key, Value{0, ValueKind::raw, to_bytes("alone")}, 1s);
    return a->node_count() == 0;
  })) << "node A never noticed its peer was gone";
  std::this_thread::sleep_for(1s);  // isolated, at checks that find the loop behind
  ASSERT_NE((*loop)->last_behind(), Clock::time_point{});
  lag.stop();

  auto back = OpenDht::start(peer_config);  // the same ports: the link is back
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(within(20s, [&] { return a->stats().restarts_skipped_behind == 1; }));
  EXPECT_EQ(a->stats().runner_restarts, 0u);
}

}  // namespace
}  // namespace beemesh::dht
