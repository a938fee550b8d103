// The server against peers that misbehave on purpose: huge claims, stalls, floods of
// connections. Memory stays bounded by what arrived, time by the deadlines, connections by
// the caps — and legitimate peers keep being served.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "raw_peer.h"
#include "transport_fixture.h"

namespace beemesh::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr size_t kKiB = 1024;

// A loop and a server with an "echo" handler and a "verify" handler that vouches for its peer.
class HostileTest : public ::testing::Test {
 protected:
  void start(ServerOptions options) {
    server = std::make_unique<Server>(loop, std::move(options));
    ASSERT_TRUE(server->handle("echo", echo_handler()).ok());
    ASSERT_TRUE(server
                    ->handle("verify",
                             [](const PeerInfo& peer, Bytes) -> asio::awaitable<Result<Bytes>> {
                               peer.mark_verified();
                               co_return Bytes{};
                             })
                    .ok());
    ASSERT_TRUE(server->listen().ok());
  }
  ServerStats stats() const { return server->stats(); }

  EventLoop loop;
  std::unique_ptr<Server> server;
};

TEST_F(HostileTest, APeerThatNeverReadsItsRepliesStopsBeingRead) {
  // Each answer is 256 KiB; the peer sends 200 requests and reads nothing. The server stops
  // taking requests once 1 MiB of answers waits (plus what the sockets' buffers hold).
  server = std::make_unique<Server>(loop, ServerOptions{.max_unsent_bytes = 1024 * kKiB});
  std::atomic<int> answered{0};
  ASSERT_TRUE(server
                  ->handle("big",
                           [&answered](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                             ++answered;
                             co_return Bytes(256 * kKiB, 'a');
                           })
                  .ok());
  ASSERT_TRUE(server->listen().ok());
  RawPeer raw(server->port());
  Bytes requests;
  for (int i = 0; i < 200; ++i) {
    auto frame = encode_frame(static_cast<uint64_t>(i) + 1, FrameKind::request, "big", {});
    requests.insert(requests.end(), frame.begin(), frame.end());
  }
  ASSERT_FALSE(raw.send(requests));
  ASSERT_TRUE(eventually([&] { return answered.load() > 0; }));
  std::this_thread::sleep_for(500ms);
  // Socket buffers on loopback hold a few MiB at most: far fewer than 200 answers.
  EXPECT_LT(answered.load(), 60) << answered.load()
                                 << " answers produced for a peer that reads none";
}

TEST_F(HostileTest, AHalfSentHugeFrameHoldsOnlyWhatArrived) {
  start({});
  RawPeer raw(server->port());
  ASSERT_FALSE(raw.send(RawPeer::header("echo", kDefaultMaxUnverifiedFrameSize - 64)));
  ASSERT_FALSE(raw.send(Bytes(1000, 'x')));
  ASSERT_TRUE(eventually([&] { return stats().unverified_buffered_bytes > 0; }));
  // One read buffer and one 64 KiB receive chunk, nowhere near the 1.5 MiB claimed.
  EXPECT_LE(stats().buffered_bytes, 128 * kKiB);
}

TEST_F(HostileTest, ReceiveMemoryIsReturnedWhenTheConnectionCloses) {
  start({});
  {
    RawPeer raw(server->port());
    ASSERT_FALSE(raw.send(RawPeer::header("echo", 512 * kKiB)));
    ASSERT_FALSE(raw.send(Bytes(200 * kKiB, 'x')));
    ASSERT_TRUE(eventually([&] { return stats().buffered_bytes >= 200 * kKiB; }));
  }
  EXPECT_TRUE(eventually([&] { return stats().buffered_bytes == 0; }));
  EXPECT_EQ(stats().unverified_buffered_bytes, 0u);
}

TEST_F(HostileTest, AFrameClaimingMoreThanTheUnverifiedLimitClosesTheConnection) {
  start({});
  RawPeer raw(server->port());
  ASSERT_FALSE(raw.send(RawPeer::header("echo", kDefaultMaxUnverifiedFrameSize)));
  EXPECT_TRUE(raw.closed_by_server());
}

TEST_F(HostileTest, AVerifiedConnectionTakesFramesUpToTheFullLimit) {
  start({.max_unverified_frame_size = 1024});
  Client client(loop);
  auto big = Bytes(4000, 'x');
  ASSERT_TRUE(client.request_sync(server->endpoint(), "verify", {}, kHangDeadline).ok());
  auto reply = client.request_sync(server->endpoint(), "echo", big, kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(reply->size(), big.size());
}

TEST_F(HostileTest, AnUnverifiedConnectionIsRefusedAFrameOverItsLimit) {
  start({.max_unverified_frame_size = 1024});
  Client client(loop);
  auto reply = client.request_sync(server->endpoint(), "echo", Bytes(4000, 'x'), kHangDeadline);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "disconnected") << reply.error().to_string();
}

TEST_F(HostileTest, UnverifiedFramesBeyondTheServerWideBudgetCloseTheirConnection) {
  start({.max_unverified_buffered_bytes = 100 * kKiB});
  RawPeer raw(server->port());
  ASSERT_FALSE(raw.send(RawPeer::header("echo", 1024 * kKiB)));
  (void)raw.send(Bytes(300 * kKiB, 'x'));  // the server hangs up somewhere in here
  EXPECT_TRUE(raw.closed_by_server());
  EXPECT_TRUE(eventually([&] { return stats().unverified_buffered_bytes == 0; }));
}

TEST_F(HostileTest, AStalledFrameIsClosedAfterTheFrameTimeout) {
  start({.frame_timeout = 200ms});
  RawPeer raw(server->port());
  ASSERT_FALSE(raw.send(RawPeer::header("echo", 1000)));
  ASSERT_FALSE(raw.send(Bytes(10, 'x')));
  EXPECT_TRUE(raw.closed_by_server());
  EXPECT_TRUE(eventually([&] { return server->open_connections() == 0; }));
}

TEST_F(HostileTest, AConnectionWithNothingToDoIsClosedAfterTheIdleTimeout) {
  start({.idle_timeout = 200ms});
  Client client(loop);
  ASSERT_TRUE(client.request_sync(server->endpoint(), "echo", B("x"), kHangDeadline).ok());
  EXPECT_TRUE(eventually([&] { return server->open_connections() == 0; }));
  EXPECT_TRUE(eventually([&] { return !client.stats(server->endpoint()).connected; }));
}

TEST_F(HostileTest, ARunningHandlerKeepsItsConnectionFromIdlingOut) {
  start({.idle_timeout = 100ms});
  Gate gate;
  ASSERT_TRUE(server
                  ->handle("slow",
                           [&gate](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                             co_await gate.wait();
                             co_return std::move(b);
                           })
                  .ok());
  Client client(loop);
  auto slow = client.request_future(server->endpoint(), "slow", B("done"), 60s);
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));
  std::this_thread::sleep_for(500ms);  // several idle timeouts
  gate.open();
  ASSERT_EQ(slow.wait_for(kHangDeadline), std::future_status::ready);
  auto reply = slow.get();
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "done");
}

TEST_F(HostileTest, ConnectionsBeyondThePerAddressCapAreRefused) {
  start({.max_connections_per_address = 2});
  std::vector<std::unique_ptr<RawPeer>> established;
  for (int i = 0; i < 2; ++i) {
    established.push_back(std::make_unique<RawPeer>(server->port()));
    ASSERT_TRUE(established.back()->round_trip("echo", B("x")));
  }
  RawPeer third(server->port());
  EXPECT_TRUE(third.closed_by_server());
  EXPECT_EQ(stats().refused, 1u);
  EXPECT_EQ(server->open_connections(), 2u);
}

TEST_F(HostileTest, APendingConnectionOverTheCapEvictsTheOldestPendingOne) {
  start({.max_pending_connections = 2});
  RawPeer oldest(server->port());
  ASSERT_TRUE(eventually([&] { return stats().pending == 1; }));
  RawPeer second(server->port());
  ASSERT_TRUE(eventually([&] { return stats().pending == 2; }));
  RawPeer third(server->port());
  EXPECT_TRUE(oldest.closed_by_server());
  EXPECT_EQ(stats().evicted, 1u);
  EXPECT_EQ(stats().pending, 2u);
}

TEST_F(HostileTest, ALegitimatePeerIsServedWhilePendingConnectionsFlood) {
  start({.max_pending_connections = 4});
  std::vector<std::unique_ptr<RawPeer>> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(std::make_unique<RawPeer>(server->port()));
  Client client(loop);
  auto reply = client.request_sync(server->endpoint(), "echo", B("served"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "served");
}

TEST_F(HostileTest, AnEstablishedConnectionIsNeverEvicted) {
  start({.max_pending_connections = 1});
  Client client(loop);
  ASSERT_TRUE(client.request_sync(server->endpoint(), "echo", B("x"), kHangDeadline).ok());
  std::vector<std::unique_ptr<RawPeer>> flood;
  for (int i = 0; i < 10; ++i) flood.push_back(std::make_unique<RawPeer>(server->port()));
  ASSERT_TRUE(eventually([&] { return stats().evicted >= 9; }));
  ASSERT_TRUE(client.request_sync(server->endpoint(), "echo", B("y"), kHangDeadline).ok());
  EXPECT_EQ(client.stats(server->endpoint()).connections_opened, 1u);
}

}  // namespace
}  // namespace beemesh::net::testing
