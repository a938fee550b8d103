// LivenessMonitor over an in-memory DHT with a manual clock: publishing, watching, checking,
// hostile heartbeats, a cut-off node, and discovery that leaves dead nodes out. (The same on
// real OpenDHT nodes: liveness_dht_test.)
#include "provider/liveness_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "crypto/heartbeat.h"
#include "crypto/membership.h"
#include "provider/fake_dht.h"
#include "provider/provider_manager.h"
#include "provider/records_util.h"

namespace beemesh::provider {
namespace {

using namespace std::chrono_literals;
using testing::FakeDht;
using testing::identity_n;

LivenessConfig fast() {
  LivenessConfig c;
  c.tick = 2ms;
  return c;  // period 2 s, validity 10 s, dead after 7 s, poll after 3 s (manual clock)
}

std::vector<protocol::Heartbeat> heartbeats(FakeDht& dht, const crypto::Identity& id) {
  std::vector<protocol::Heartbeat> out;
  for (const auto& v : dht.values(dht::liveness_key(id.node_id()))) {
    if (auto hb = crypto::open_heartbeat(v.data)) out.push_back(*hb);
  }
  return out;
}

protocol::Heartbeat heartbeat_of(const crypto::Identity& id, uint64_t seq, int64_t ts) {
  protocol::Heartbeat hb;
  hb.node_id = id.node_id();
  hb.signer_public_key = id.public_key();
  hb.timestamp_ms = ts;
  hb.validity_ms = 10'000;
  hb.sequence = seq;
  hb.credential = id.credential();
  return hb;
}

class LivenessMonitorTest : public ::testing::Test {
 protected:
  FakeDht dht;
  ManualClock clock;
  crypto::Identity alice = identity_n(1);
  crypto::Identity bob = identity_n(2);

  // Moves the manual clock in small steps and lets the workers run after each.
  void pass(std::chrono::milliseconds d, std::chrono::milliseconds step = 250ms) {
    for (auto t = 0ms; t < d; t += step) {
      clock.advance_ms(step.count());
      std::this_thread::sleep_for(10ms);
    }
  }
  template <typename Pred>
  bool within(std::chrono::milliseconds d, Pred pred) {
    for (auto t = 0ms; t <= d; t += 250ms) {
      if (pred()) return true;
      clock.advance_ms(250);
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }
  // A running monitor of `id` whose first heartbeat is in the DHT (a watch started before
  // it would find no heartbeat and, rightly, call the node dead until it appears).
  std::unique_ptr<LivenessMonitor> running(const crypto::Identity& id) {
    auto m = std::make_unique<LivenessMonitor>(dht, id, clock, fast());
    m->start();
    EXPECT_TRUE(within(1s, [&] { return m->stats().heartbeats_put >= 1; }));
    return m;
  }
  void put_heartbeat(const crypto::Identity& signer, const protocol::Heartbeat& hb) {
    dht.put_raw(dht::liveness_key(hb.node_id),
                {0, dht::ValueKind::heartbeat, crypto::sign_heartbeat(signer, hb)});
  }
};

TEST_F(LivenessMonitorTest, PublishesASignedHeartbeatUnderItsOwnKey) {
  const auto started = clock.now_ms();
  LivenessMonitor m(dht, alice, clock, fast());
  m.start();
  ASSERT_TRUE(within(1s, [&] { return !heartbeats(dht, alice).empty(); }));
  auto hb = heartbeats(dht, alice).back();
  EXPECT_EQ(hb.node_id, alice.node_id());
  EXPECT_EQ(hb.validity_ms, 10'000u);
  EXPECT_GE(hb.timestamp_ms, started);
  EXPECT_LE(hb.timestamp_ms, clock.now_ms());
}

TEST_F(LivenessMonitorTest, EveryPeriodPublishesAHigherSequence) {
  LivenessMonitor m(dht, alice, clock, fast());
  m.start();
  ASSERT_TRUE(within(1s, [&] { return m.stats().heartbeats_put >= 1; }));
  const auto first = heartbeats(dht, alice).back().sequence;
  pass(2s);
  ASSERT_TRUE(within(1s, [&] { return m.stats().heartbeats_put >= 2; }));
  EXPECT_GT(heartbeats(dht, alice).back().sequence, first);
}

// OpenDHT re-sends a plain put until all its storing nodes acknowledged it, however old: a
// heartbeat that cannot be acknowledged must be stopped, or a busy mesh re-sends ever more of
// them (docs/notes/liveness.md, "Heartbeat puts that never finish").
TEST_F(LivenessMonitorTest, HeartbeatPutUnacknowledgedWithinThePutTimeoutIsCancelled) {
  dht.hold_puts = true;
  LivenessMonitor m(dht, alice, clock, fast());  // put_timeout 4 s
  m.start();
  ASSERT_TRUE(within(1s, [&] { return dht.held_put_ids().size() == 1; }));
  const uint64_t first = dht.held_put_ids().front();
  pass(3500ms);
  EXPECT_TRUE(dht.cancelled_puts().empty());
  ASSERT_TRUE(within(1s, [&] { return !dht.cancelled_puts().empty(); }));
  EXPECT_EQ(dht.cancelled_puts().front(), first);
  EXPECT_EQ(m.stats().heartbeat_put_failures, 1u);
}

TEST_F(LivenessMonitorTest, OlderHeartbeatPutsInFlightAreCancelledOnceANewerOneIsAcknowledged) {
  dht.hold_puts = true;
  LivenessMonitor m(dht, alice, clock, fast());
  m.start();
  ASSERT_TRUE(within(3s, [&] { return dht.held_put_ids().size() == 2; }));
  const auto held = dht.held_put_ids();
  dht.ack_put(held[1]);
  ASSERT_TRUE(within(1s, [&] { return !dht.cancelled_puts().empty(); }));
  EXPECT_EQ(dht.cancelled_puts(), std::vector<uint64_t>{held[0]});
  EXPECT_EQ(m.stats().heartbeats_put, 1u);
  EXPECT_EQ(m.stats().heartbeat_put_failures, 0u);
}

TEST_F(LivenessMonitorTest, StopCancelsTheHeartbeatPutsStillInFlight) {
  dht.hold_puts = true;
  LivenessMonitor m(dht, alice, clock, fast());
  m.start();
  ASSERT_TRUE(within(1s, [&] { return dht.held_put_ids().size() == 1; }));
  const uint64_t first = dht.held_put_ids().front();
  m.stop();
  EXPECT_EQ(dht.cancelled_puts(), std::vector<uint64_t>{first});
}

// OpenDHT closes a search once its puts are acknowledged, then finds the storing nodes again
// for the next put; a publishing node keeps the search of its own key open with a permanent
// marker value.
TEST_F(LivenessMonitorTest, PublishingKeepsAnEmptyPermanentValueUnderItsOwnKeyUntilStop) {
  const auto own = dht::liveness_key(alice.node_id());
  LivenessMonitor m(dht, alice, clock, fast());
  m.start();
  ASSERT_EQ(dht.permanent_ids(own).size(), 1u);
  const auto values = dht.values(own);
  const auto marker = std::find_if(values.begin(), values.end(),
                                   [](const auto& v) { return v.kind == dht::ValueKind::raw; });
  ASSERT_NE(marker, values.end());
  EXPECT_TRUE(marker->data.empty());
  m.stop();
  EXPECT_TRUE(dht.permanent_ids(own).empty());
}

TEST_F(LivenessMonitorTest, AWatcherSkipsTheSearchMarkerUnderAHeartbeatKey) {
  auto a = running(alice);
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::alive);
  EXPECT_EQ(b.stats().records_rejected, 0u);
}

TEST_F(LivenessMonitorTest, WatchedNodeTurnsDeadWithinDeadAfterOfItsLastHeartbeat) {
  auto a = running(alice);
  LivenessMonitor b(dht, bob, clock, fast());
  std::mutex mu;
  std::vector<std::pair<std::string, NodeState>> changes;
  b.on_change([&](const std::string& id, NodeState s) {
    std::lock_guard lock(mu);
    changes.emplace_back(id, s);
  });
  b.start();
  ASSERT_TRUE(b.watch(alice.node_id()));
  ASSERT_TRUE(within(6s, [&] { return b.state(alice.node_id()) == NodeState::alive; }));
  pass(4s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::alive);
  a.reset();  // alice dies
  const auto died_ms = clock.now_ms();
  ASSERT_TRUE(within(10s, [&] { return b.state(alice.node_id()) == NodeState::dead; }));
  EXPECT_LE(clock.now_ms() - died_ms, 9'000);
  ASSERT_TRUE(within(1s, [&] {
    std::lock_guard lock(mu);
    return !changes.empty() && changes.back().second == NodeState::dead;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(changes.back().first, alice.node_id());
}

TEST_F(LivenessMonitorTest, WatchedNodeIsAliveAgainWhenItsHeartbeatsResume) {
  auto a = running(alice);
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.watch(alice.node_id());
  ASSERT_TRUE(within(6s, [&] { return b.state(alice.node_id()) == NodeState::alive; }));
  a.reset();
  ASSERT_TRUE(within(10s, [&] { return b.state(alice.node_id()) == NodeState::dead; }));
  a = running(alice);  // restarted
  EXPECT_TRUE(within(6s, [&] { return b.state(alice.node_id()) == NodeState::alive; }));
  EXPECT_EQ(b.stats().revivals, 1u);
}

TEST_F(LivenessMonitorTest, CheckMakesANodeWhoseNewestHeartbeatIsStaleDead) {
  put_heartbeat(alice, heartbeat_of(alice, 7, clock.now_ms() - 11'000));
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::dead);
}

TEST_F(LivenessMonitorTest, CheckMakesANodeWithAFreshHeartbeatAlive) {
  put_heartbeat(alice, heartbeat_of(alice, 7, clock.now_ms() - 2'000));
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::alive);
}

TEST_F(LivenessMonitorTest, CheckMakesANodeWithoutAnyHeartbeatDead) {
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::dead);
}

TEST_F(LivenessMonitorTest, CheckLeavesTheStateUnknownWhenTheDhtFails) {
  dht.fail_gets = true;
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::unknown);
  EXPECT_TRUE(b.alive(alice.node_id()));
}

TEST_F(LivenessMonitorTest, CheckWaitsNoLongerThanItsTimeout) {
  dht.hang_gets = true;
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  const auto t0 = std::chrono::steady_clock::now();
  b.check({alice.node_id()}, 200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::unknown);
}

TEST_F(LivenessMonitorTest, CheckReadThatAnswersAfterTheTimeoutStillSetsTheState) {
  dht.hold_gets(dht::liveness_key(alice.node_id()));  // no heartbeat of alice: dead once read
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 20ms);
  ASSERT_EQ(b.state(alice.node_id()), NodeState::unknown);
  dht.release(dht::liveness_key(alice.node_id()));
  EXPECT_EQ(b.state(alice.node_id()), NodeState::dead);
}

TEST_F(LivenessMonitorTest, CheckJoinsAReadOfTheSameNodeAlreadyInFlight) {
  dht.hold_gets(dht::liveness_key(alice.node_id()));
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 10ms);
  b.check({alice.node_id()}, 10ms);
  b.check({alice.node_id()}, 10ms);
  EXPECT_EQ(dht.held(), 1u);
  EXPECT_EQ(b.stats().reads, 1u);
}

TEST_F(LivenessMonitorTest, CheckReadsAgainWhenTheReadInFlightIsOlderThanTheGetTimeout) {
  dht.hold_gets(dht::liveness_key(alice.node_id()));
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 10ms);
  clock.advance_ms(fast().get_timeout.count());  // the first read may never answer
  b.check({alice.node_id()}, 10ms);
  EXPECT_EQ(dht.held(), 2u);
}

TEST_F(LivenessMonitorTest, CheckReadsAllUnknownNodesAtOnce) {
  crypto::Identity carol = identity_n(3);
  dht.hold_gets(dht::liveness_key(alice.node_id()));
  dht.hold_gets(dht::liveness_key(carol.node_id()));
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  const auto t0 = std::chrono::steady_clock::now();
  b.check({alice.node_id(), carol.node_id()}, 100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // one timeout, not one per node
  EXPECT_EQ(dht.held(), 2u);
}

TEST_F(LivenessMonitorTest, HeartbeatSignedByAnotherNodeIsIgnored) {
  auto forged = heartbeat_of(alice, 7, clock.now_ms());
  forged.signer_public_key = bob.public_key();
  put_heartbeat(bob, forged);  // bob signs a heartbeat naming alice
  crypto::Identity carol = identity_n(3);
  LivenessMonitor c(dht, carol, clock, fast());
  c.start();
  c.check({alice.node_id()}, 1s);
  EXPECT_EQ(c.state(alice.node_id()), NodeState::dead);
  EXPECT_GE(c.stats().records_rejected, 1u);
}

TEST_F(LivenessMonitorTest, HeartbeatWithAnOutOfRangeValidityIsIgnored) {
  auto hb = heartbeat_of(alice, 7, clock.now_ms());
  hb.validity_ms = 3'600'000;
  put_heartbeat(alice, hb);
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.check({alice.node_id()}, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::dead);
  EXPECT_EQ(b.stats().records_rejected, 1u);
}

TEST_F(LivenessMonitorTest, HeartbeatOfANonMemberIsIgnored) {
  crypto::Identity admin = identity_n(100);
  crypto::Membership membership{admin.public_key(), "prod", clock};
  put_heartbeat(alice, heartbeat_of(alice, 7, clock.now_ms()));  // no credential
  auto config = fast();
  config.membership = &membership;
  LivenessMonitor b(dht, bob, clock, config);
  b.start();
  b.check({alice.node_id()}, 1s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::dead);
  EXPECT_EQ(b.stats().records_rejected, 1u);
}

TEST_F(LivenessMonitorTest, NodeThatCannotPublishDeclaresNobodyDead) {
  auto a = running(alice);
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.watch(alice.node_id());
  ASSERT_TRUE(within(6s, [&] { return b.state(alice.node_id()) == NodeState::alive; }));
  dht.fail_puts = 1'000'000;  // bob (and alice) are cut off from the DHT
  a.reset();
  pass(12s);
  EXPECT_EQ(b.state(alice.node_id()), NodeState::unknown);
  EXPECT_TRUE(b.stats().cut_off);
  EXPECT_EQ(b.stats().deaths, 0u);
}

// A storing node that just died holds every put of ours unacknowledged until OpenDHT gives up
// on it (seconds): the newer heartbeats of a third node still show that we reach the DHT.
TEST_F(LivenessMonitorTest, WatcherWhosePutsHangButThatSeesNewHeartbeatsStillJudgesASilentNode) {
  crypto::Identity carol = identity_n(3);
  auto a = running(alice);
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.watch(alice.node_id());
  b.watch(carol.node_id());
  uint64_t carol_seq = 1;
  put_heartbeat(carol, heartbeat_of(carol, carol_seq, clock.now_ms()));
  ASSERT_TRUE(within(6s, [&] { return b.state(alice.node_id()) == NodeState::alive; }));
  dht.hold_puts = true;  // bob's puts are stored but never acknowledged
  a.reset();
  bool dead = false;
  for (int i = 0; i < 6 && !dead; ++i) {  // 12 s: carol keeps publishing
    put_heartbeat(carol, heartbeat_of(carol, ++carol_seq, clock.now_ms()));
    pass(2s);
    dead = b.state(alice.node_id()) == NodeState::dead;
  }
  EXPECT_TRUE(dead);
  EXPECT_EQ(b.state(carol.node_id()), NodeState::alive);
  EXPECT_FALSE(b.stats().cut_off);
}

TEST_F(LivenessMonitorTest, WatchedNodesAreBounded) {
  auto config = fast();
  config.max_watched = 2;
  LivenessMonitor b(dht, bob, clock, config);
  EXPECT_TRUE(b.watch("n1"));
  EXPECT_TRUE(b.watch("n2"));
  EXPECT_FALSE(b.watch("n3"));
  EXPECT_TRUE(b.watch("n1"));  // already watched
  EXPECT_EQ(b.stats().watched, 2u);
}

TEST_F(LivenessMonitorTest, WatchEndsWhenItsInterestRunsOut) {
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  b.watch(alice.node_id(), 5s);
  EXPECT_EQ(b.stats().watched, 1u);
  EXPECT_TRUE(within(7s, [&] { return b.stats().watched == 0; }));
}

TEST_F(LivenessMonitorTest, ThisNodeIsAlwaysAlive) {
  dht.fail_puts = 1'000'000;
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  pass(12s);
  EXPECT_EQ(b.state(bob.node_id()), NodeState::alive);
}

TEST_F(LivenessMonitorTest, NodesNamedByTheFollowSourceAreWatched) {
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  std::atomic<int> calls{0};
  b.follow(
      [&](std::stop_token) {
        ++calls;
        return std::vector<std::string>{alice.node_id(), bob.node_id()};
      },
      10ms);
  ASSERT_TRUE(within(1s, [&] { return calls > 0 && b.stats().watched == 1; }));
}

// A follow source makes one blocking call per manifest (a discovery); with thousands of
// manifests, stop() must not wait for all of them (a benchmark's shutdown hung 10 min).
TEST_F(LivenessMonitorTest, StopEndsAFollowSourceThatChecksItsTokenBetweenBlockingCalls) {
  LivenessMonitor b(dht, bob, clock, fast());
  b.start();
  std::atomic<bool> entered{false};
  std::atomic<int> calls_made{0};
  b.follow(
      [&](std::stop_token stop) {
        entered = true;
        for (int i = 0; i < 100'000 && !stop.stop_requested(); ++i) {
          std::this_thread::sleep_for(1ms);  // one "discovery"
          ++calls_made;
        }
        return std::vector<std::string>{};
      },
      10ms);
  ASSERT_TRUE(within(1s, [&] { return entered.load(); }));
  b.stop();
  EXPECT_LT(calls_made.load(), 100'000);
}

// ---- discovery ----

class LivenessDiscoveryTest : public LivenessMonitorTest {
 protected:
  ProviderConfig config_with(Liveness& liveness) {
    ProviderConfig c;
    c.early_reputs = {};
    c.discovery_timeout = 300ms;
    c.liveness = &liveness;
    c.liveness_passive = {"beemesh:nodes"};
    c.liveness_check_budget = 500ms;
    return c;
  }
  void announce(const crypto::Identity& id, const std::string& manifest) {
    dht.put_raw(dht::provider_key(manifest),
                {0, dht::ValueKind::provider_record,
                 testing::signed_provider_record(id, manifest, 1, clock.now_ms())});
  }
  static std::set<std::string> nodes_of(const std::vector<ProviderInfo>& ps) {
    std::set<std::string> out;
    for (const auto& p : ps) out.insert(p.metadata.node_id);
    return out;
  }
};

TEST_F(LivenessDiscoveryTest, ProvidersOfADeadNodeAreLeftOut) {
  crypto::Identity carol = identity_n(3);
  auto a = running(alice);
  auto c = running(carol);
  announce(alice, "m1");
  announce(carol, "m1");
  crypto::Identity viewer = identity_n(4);
  LivenessMonitor v(dht, viewer, clock, fast());
  v.start();
  ProviderManager providers(dht, viewer, clock, config_with(v));
  EXPECT_EQ(nodes_of(providers.discover("m1")),
            (std::set<std::string>{alice.node_id(), carol.node_id()}));
  a.reset();  // alice dies; its provider record stays in the DHT
  EXPECT_TRUE(within(12s, [&] {
    return nodes_of(providers.discover("m1")) == std::set<std::string>{carol.node_id()};
  }));
  EXPECT_GE(providers.dead_providers_filtered(), 1u);
}

TEST_F(LivenessDiscoveryTest, ProvidersWhoseNodeNeverHadAHeartbeatAreLeftOut) {
  announce(alice, "m1");  // alice announced, then died before any heartbeat reached the DHT
  LivenessMonitor v(dht, bob, clock, fast());
  v.start();
  ProviderManager providers(dht, bob, clock, config_with(v));
  EXPECT_TRUE(providers.discover("m1").empty());
}

// A Liveness that knows nothing and counts what it is asked.
class UnknownLiveness final : public Liveness {
 public:
  NodeState state(const std::string&) const override { return NodeState::unknown; }
  bool watch(const std::string&, std::chrono::milliseconds) override {
    ++watches;
    return true;
  }
  void unwatch(const std::string&) override {}
  void check(const std::vector<std::string>& ids, std::chrono::milliseconds) override {
    checked += static_cast<int>(ids.size());
  }
  uint64_t on_change(ChangeCallback) override { return 1; }
  void remove_callback(uint64_t) override {}
  int watches = 0;
  int checked = 0;
};

TEST_F(LivenessDiscoveryTest, ProvidersWhoseLivenessIsUnknownAreKept) {
  announce(alice, "m1");
  UnknownLiveness liveness;
  ProviderManager providers(dht, bob, clock, config_with(liveness));
  EXPECT_EQ(nodes_of(providers.discover("m1")), std::set<std::string>{alice.node_id()});
  EXPECT_EQ(liveness.checked, 1);
  EXPECT_EQ(liveness.watches, 1);
}

TEST_F(LivenessDiscoveryTest, ProviderWhoseLivenessReadOutlastsTheBudgetIsListedUntilFoundDead) {
  announce(alice, "m1");  // alice never had a heartbeat: dead once a read completes
  dht.hold_gets(dht::liveness_key(alice.node_id()));
  LivenessConfig lc = fast();
  lc.listen = false;  // only the reads tell
  LivenessMonitor v(dht, bob, clock, lc);
  v.start();
  ProviderConfig config = config_with(v);
  config.liveness_check_budget = ProviderConfig{}.liveness_check_budget;  // the default
  ProviderManager providers(dht, bob, clock, config);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(nodes_of(providers.discover("m1")), std::set<std::string>{alice.node_id()});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);  // not the DHT's 3 s
  dht.release(dht::liveness_key(alice.node_id()));
  EXPECT_TRUE(providers.discover("m1").empty());
  EXPECT_EQ(providers.dead_providers_filtered(), 1u);
}

TEST_F(LivenessDiscoveryTest, ThisNodeIsNeverCheckedNorLeftOut) {
  announce(bob, "m1");
  UnknownLiveness liveness;
  ProviderManager providers(dht, bob, clock, config_with(liveness));
  EXPECT_EQ(nodes_of(providers.discover("m1")), std::set<std::string>{bob.node_id()});
  EXPECT_EQ(liveness.checked, 0);
}

TEST_F(LivenessDiscoveryTest, PassiveIdsDoNotCheckNodesOfUnknownState) {
  announce(alice, "beemesh:nodes");  // no heartbeat of alice anywhere
  LivenessMonitor v(dht, bob, clock, fast());
  v.start();
  ProviderManager providers(dht, bob, clock, config_with(v));
  EXPECT_EQ(nodes_of(providers.discover("beemesh:nodes")), std::set<std::string>{alice.node_id()});
  EXPECT_EQ(v.stats().reads, 0u);
  EXPECT_EQ(v.stats().watched, 0u);
}

TEST_F(LivenessDiscoveryTest, PassiveIdsDropNodesKnownDead) {
  announce(alice, "beemesh:nodes");
  LivenessMonitor v(dht, bob, clock, fast());
  v.start();
  v.check({alice.node_id()}, 1s);
  ASSERT_EQ(v.state(alice.node_id()), NodeState::dead);
  ProviderManager providers(dht, bob, clock, config_with(v));
  EXPECT_TRUE(providers.discover("beemesh:nodes").empty());
}

}  // namespace
}  // namespace beemesh::provider
