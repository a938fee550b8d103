// A late batch of datagrams is handled at the times it arrived (dht/opendht_arrival_fix.h):
// a reply that came before its request's timeout is read before that timeout runs.
#include "dht/opendht_arrival_fix.h"

#include <gtest/gtest.h>
#include <opendht.h>
#include <opendht/node.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dht/epoll_socket.h"
#include "dht/within.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

TEST(OpenDhtArrivalFix, TheLibrarysPeriodicBindsTheDefinitionThatUsesArrivalTimes) {
  EXPECT_TRUE(opendht_arrival_order_fixed());
}

TEST(OpenDhtArrivalFix, APacketIsHandledAtItsArrivalWithinTheWindow) {
  const auto now = Steady::now();
  EXPECT_EQ(handling_time(now - 300ms, now, Steady::time_point::min()), now - 300ms);
}

TEST(OpenDhtArrivalFix, APacketOlderThanTheWindowIsHandledAtTheWindowsStart) {
  const auto now = Steady::now();
  EXPECT_EQ(handling_time(now - 5s, now, Steady::time_point::min()), now - kArrivalWindow);
}

TEST(OpenDhtArrivalFix, TheWindowIsShorterThanOpenDhtsFirstRequestTimeout) {
  // A request's first timeout: half of Node::MAX_RESPONSE_TIME, doubled at its first send
  // (src/network_engine.cpp requestStep), plus a random quarter at most.
  EXPECT_LT(kArrivalWindow, ::dht::Node::MAX_RESPONSE_TIME);
}

TEST(OpenDhtArrivalFix, APacketIsNeverHandledAfterTheRunnersTime) {
  const auto now = Steady::now();
  EXPECT_EQ(handling_time(now + 1s, now, Steady::time_point::min()), now);
}

TEST(OpenDhtArrivalFix, ANodesSchedulerTimeNeverRunsBack) {
  const auto now = Steady::now();
  EXPECT_EQ(handling_time(now - 300ms, now, now - 100ms), now - 100ms);
}

TEST(OpenDhtArrivalFix, TheKernelsStampBecomesTheSameAgeOnTheSteadyClock) {
  const auto real_now = std::chrono::system_clock::now();
  const auto steady_now = Steady::now();
  const auto sent = real_now - 250ms;
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(sent.time_since_epoch()).count();
  const timespec stamp{static_cast<time_t>(ns / 1'000'000'000), ns % 1'000'000'000};
  EXPECT_EQ(kernel_arrival(stamp, real_now, steady_now), steady_now - 250ms);
}

TEST(OpenDhtArrivalFix, AStampInTheFutureOrLongAgoCountsAsNow) {
  const auto real_now = std::chrono::system_clock::now();
  const auto steady_now = Steady::now();
  for (auto t : {real_now + 1s, real_now - 2min}) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
    const timespec stamp{static_cast<time_t>(ns.count() / 1'000'000'000),
                         ns.count() % 1'000'000'000};
    EXPECT_EQ(kernel_arrival(stamp, real_now, steady_now), steady_now);
  }
}

TEST(ArrivalNotes, ANoteIsTakenOnceByItsBuffer) {
  ArrivalNotes notes;
  const std::vector<uint8_t> buffer(64);
  const auto t = Steady::now();
  EXPECT_FALSE(notes.note(buffer.data(), t, t));
  EXPECT_EQ(notes.take(buffer.data()), t);
  EXPECT_EQ(notes.take(buffer.data()), std::nullopt);
}

TEST(ArrivalNotes, ABufferNotedAgainKeepsItsLatestArrival) {
  ArrivalNotes notes;
  const std::vector<uint8_t> buffer(64);
  const auto t = Steady::now();
  notes.note(buffer.data(), t, t);
  EXPECT_FALSE(notes.note(buffer.data(), t + 1s, t + 1s));
  EXPECT_EQ(notes.take(buffer.data()), t + 1s);
}

TEST(ArrivalNotes, ABufferNeverNotedHasNoArrival) {
  ArrivalNotes notes;
  const std::vector<uint8_t> buffer(64);
  EXPECT_EQ(notes.take(buffer.data()), std::nullopt);
}

// More live notes than slots: a note whose slots all hold another buffer's live note replaces
// one, whose buffer then has none (its packet is handled at the runner's time), and no buffer
// ever gets another's arrival.
TEST(ArrivalNotes, ANoteWithEverySlotLiveReplacesAnotherAndNeverLendsItsTime) {
  ArrivalNotes notes;
  std::vector<std::vector<uint8_t>> buffers(2 * kArrivalSlots, std::vector<uint8_t>(16));
  const auto t0 = Steady::now();
  size_t replaced = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    const auto t = t0 + std::chrono::microseconds(i);
    replaced += notes.note(buffers[i].data(), t, t0) ? 1 : 0;
  }
  EXPECT_GT(replaced, 0u);
  size_t kept = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (auto at = notes.take(buffers[i].data())) {
      EXPECT_EQ(*at, t0 + std::chrono::microseconds(i));
      ++kept;
    }
  }
  EXPECT_EQ(kept + replaced, buffers.size());
}

// Packets OpenDHT dropped unhandled leave their notes; kNoteLifetime after their read those
// notes are stale, and new packets' notes take their slots without replacing a live one.
TEST(ArrivalNotes, NotesOfPacketsNeverHandledGiveTheirSlotsUpOnceStale) {
  ArrivalNotes notes;
  std::vector<std::vector<uint8_t>> dropped(kArrivalSlots, std::vector<uint8_t>(16));
  std::vector<std::vector<uint8_t>> later(256, std::vector<uint8_t>(16));
  const auto t0 = Steady::now();
  for (auto& b : dropped) notes.note(b.data(), t0, t0);
  const auto read_later = t0 + kNoteLifetime;
  size_t replaced = 0;
  for (size_t i = 0; i < later.size(); ++i) {
    const auto t = read_later - std::chrono::microseconds(i);
    replaced += notes.note(later[i].data(), t, read_later) ? 1 : 0;
  }
  EXPECT_EQ(replaced, 0u);
  for (size_t i = 0; i < later.size(); ++i) {
    EXPECT_EQ(notes.take(later[i].data()), read_later - std::chrono::microseconds(i));
  }
}

// One OpenDHT node on an epoll loop, driven by it as OpenDht does (no thread of its own).
struct LoopNode {
  std::shared_ptr<EpollLoop> loop;
  ::dht::DhtRunner runner;
  uint64_t driver = 0;

  explicit LoopNode(std::shared_ptr<EpollLoop> l) : loop(std::move(l)) {
    driver = loop->drive([this] { return runner.loop(); });
    auto sock = EpollSocket::open(loop, ::dht::SockAddr::resolve("127.0.0.1", "0").front(),
                                  ::dht::SockAddr(), driver);
    EXPECT_TRUE(sock.ok());
    ::dht::DhtRunner::Config config;
    config.threaded = false;
    config.dht_config.node_config.network = 0x7a31;
    config.dht_config.node_config.max_req_per_sec = -1;
    config.dht_config.node_config.max_peer_req_per_sec = -1;
    ::dht::DhtRunner::Context context;
    context.sock = std::move(sock).value();
    runner.run(config, std::move(context));
    loop->poke(driver);
  }
  ~LoopNode() {
    loop->undrive(driver);
    runner.join();
  }
  void bootstrap(const LoopNode& to) {
    runner.bootstrap(
        ::dht::SockAddr::resolve("127.0.0.1", std::to_string(to.runner.getBoundPort())).front());
    loop->poke(driver);
  }
  // `get` requests this node received since the previous call.
  unsigned gets_received() { return runner.getNodeMessageStats(true)[2]; }
};

// Node A's loop is kept busy for 1.3 s right after A sent its gets; the peers (on another loop)
// answer at once, so every reply waits in A's socket while the gets' first timeouts (1.0-1.25 s
// after sending) pass. With OpenDHT's own order, the first reply handled runs the timeouts of
// the others and A sends them again (each peer receives 2 gets; checked with the library's
// periodic bound instead). Handled at their arrival times, the replies answer the gets first.
TEST(OpenDhtArrivalFix, RepliesThatWaitedOutALateLoopAreReadBeforeTheirTimeoutsRun) {
  auto peers_loop = EpollLoop::start();
  auto a_loop = EpollLoop::start();
  ASSERT_TRUE(peers_loop.ok() && a_loop.ok());
  std::vector<std::unique_ptr<LoopNode>> peers;
  for (int i = 0; i < 5; ++i) {
    peers.push_back(std::make_unique<LoopNode>(*peers_loop));
    if (i > 0) peers.back()->bootstrap(*peers.front());
  }
  LoopNode a(*a_loop);
  for (auto& p : peers) a.bootstrap(*p);  // an idle mesh learns nodes only through traffic
  ASSERT_TRUE(within(30s, [&] { return a.runner.getNodesStats(AF_INET).good_nodes >= 5; }))
      << "A knows " << a.runner.getNodesStats(AF_INET).good_nodes << " good nodes";
  std::this_thread::sleep_for(2s);  // A's own lookups of its start are answered
  for (auto& p : peers) p->gets_received();

  std::atomic<bool> stall{false};
  const uint64_t staller = (*a_loop)->drive([&stall] {
    if (stall.exchange(false)) std::this_thread::sleep_for(1300ms);
    return Steady::time_point::max();
  });
  std::promise<bool> done;
  const uint64_t early_before = opendht_packets_handled_early();
  const uint64_t unnoted_before = opendht_packets_handled_unnoted();
  a.runner.get(
      ::dht::InfoHash::get("arrival-order"),
      [](const std::vector<std::shared_ptr<::dht::Value>>&) { return true; },
      [&done](bool ok) { done.set_value(ok); });
  stall = true;
  (*a_loop)->poke(a.driver);  // A's step sends the gets, then the staller holds the loop
  (*a_loop)->poke(staller);
  auto finished = done.get_future();
  ASSERT_EQ(finished.wait_for(20s), std::future_status::ready);
  std::this_thread::sleep_for(1s);  // a get sent again would have been sent by now
  (*a_loop)->undrive(staller);

  unsigned asked = 0;
  for (size_t i = 0; i < peers.size(); ++i) {
    const unsigned gets = peers[i]->gets_received();
    EXPECT_LE(gets, 1u) << "peer " << i << " was asked again";
    asked += gets > 0 ? 1 : 0;
  }
  EXPECT_GE(asked, 2u) << "the batch after the stall held fewer than two replies";
  EXPECT_GT(opendht_packets_handled_early(), early_before);
  EXPECT_EQ(opendht_packets_handled_unnoted(), unnoted_before) << "a packet lost its note";
}

}  // namespace
}  // namespace beemesh::dht
