// The client's outbound pool: bounded, idle connections closed, least recently used evicted
// when full, busy connections never taken away, forgotten endpoints not hoarded.
#include <future>
#include <memory>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "transport_fixture.h"

namespace beemesh::net::testing {
namespace {

using namespace std::chrono_literals;

// A port nothing listens on: bound once, then released.
uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io,
                                   asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

class PoolTest : public ::testing::Test {
 protected:
  void start_servers(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      auto& s = servers.emplace_back(std::make_unique<Server>(loop));
      ASSERT_TRUE(s->handle("echo", echo_handler()).ok());
      ASSERT_TRUE(s->listen().ok());
    }
  }
  size_t open_at_servers() const {
    size_t open = 0;
    for (const auto& s : servers) open += s->open_connections();
    return open;
  }

  EventLoop loop;
  std::vector<std::unique_ptr<Server>> servers;
};

TEST_F(PoolTest, AnIdleConnectionIsClosedAfterTheIdleTimeout) {
  start_servers(1);
  Client client(loop, ClientOptions{.idle_timeout = 100ms});
  auto endpoint = servers[0]->endpoint();
  ASSERT_TRUE(client.request_sync(endpoint, "echo", B("x"), kHangDeadline).ok());
  EXPECT_TRUE(eventually([&] { return !client.stats(endpoint).connected; }));
  EXPECT_TRUE(eventually([&] { return servers[0]->open_connections() == 0; }));
  EXPECT_EQ(client.pool_stats().open, 0u);
}

TEST_F(PoolTest, AClosedIdleConnectionIsReopenedByTheNextRequest) {
  start_servers(1);
  Client client(loop, ClientOptions{.idle_timeout = 50ms});
  auto endpoint = servers[0]->endpoint();
  ASSERT_TRUE(client.request_sync(endpoint, "echo", B("x"), kHangDeadline).ok());
  ASSERT_TRUE(eventually([&] { return !client.stats(endpoint).connected; }));
  auto reply = client.request_sync(endpoint, "echo", B("again"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(client.stats(endpoint).connections_opened, 2u);
}

TEST_F(PoolTest, ThePoolNeverExceedsItsBound) {
  start_servers(6);
  Client client(loop, ClientOptions{.max_connections = 2});
  std::vector<std::future<Result<Bytes>>> replies;
  for (int round = 0; round < 3; ++round) {
    for (const auto& s : servers) {
      replies.push_back(client.request_future(s->endpoint(), "echo", B("x"), kHangDeadline));
    }
  }
  for (auto& f : replies) {
    ASSERT_EQ(f.wait_for(kHangDeadline), std::future_status::ready);
    auto reply = f.get();
    EXPECT_TRUE(reply.ok()) << reply.error().to_string();
  }
  EXPECT_LE(client.pool_stats().peak_open, 2u);
  EXPECT_LE(open_at_servers(), 2u);
}

TEST_F(PoolTest, WhenFullTheLeastRecentlyUsedIdleConnectionIsEvicted) {
  start_servers(3);
  Client client(loop, ClientOptions{.max_connections = 2});
  auto a = servers[0]->endpoint(), b = servers[1]->endpoint(), c = servers[2]->endpoint();
  ASSERT_TRUE(client.request_sync(a, "echo", B("x"), kHangDeadline).ok());
  ASSERT_TRUE(client.request_sync(b, "echo", B("x"), kHangDeadline).ok());
  ASSERT_TRUE(client.request_sync(a, "echo", B("x"), kHangDeadline).ok());  // b is now older
  ASSERT_TRUE(client.request_sync(c, "echo", B("x"), kHangDeadline).ok());
  EXPECT_TRUE(client.stats(a).connected);
  EXPECT_FALSE(client.stats(b).connected);
  EXPECT_EQ(client.pool_stats().evicted, 1u);
}

TEST_F(PoolTest, AConnectionWithARequestInFlightIsNeverEvicted) {
  start_servers(2);
  Gate gate;
  ASSERT_TRUE(servers[0]
                  ->handle("slow",
                           [&gate](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                             co_await gate.wait();
                             co_return std::move(b);
                           })
                  .ok());
  Client client(loop, ClientOptions{.max_connections = 1});
  auto slow = client.request_future(servers[0]->endpoint(), "slow", B("kept"), 60s);
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));

  auto other = client.request_sync(servers[1]->endpoint(), "echo", B("x"), 200ms);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "timeout");
  EXPECT_NE(other.error().message.find("connection slot"), std::string::npos)
      << other.error().message;

  gate.open();
  ASSERT_EQ(slow.wait_for(kHangDeadline), std::future_status::ready);
  auto reply = slow.get();
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "kept");
}

TEST_F(PoolTest, ARequestWaitingForASlotGetsOneWhenABusyConnectionGoesIdle) {
  start_servers(2);
  Gate gate;
  ASSERT_TRUE(servers[0]
                  ->handle("slow",
                           [&gate](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                             co_await gate.wait();
                             co_return std::move(b);
                           })
                  .ok());
  Client client(loop, ClientOptions{.max_connections = 1});
  auto slow = client.request_future(servers[0]->endpoint(), "slow", B("x"), 60s);
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));
  auto waiting = client.request_future(servers[1]->endpoint(), "echo", B("next"), 60s);
  ASSERT_TRUE(eventually([&] { return client.pool_stats().waiting == 1; }));

  gate.open();
  ASSERT_EQ(waiting.wait_for(kHangDeadline), std::future_status::ready);
  auto reply = waiting.get();
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "next");
  EXPECT_TRUE(slow.get().ok());
}

TEST_F(PoolTest, EndpointsThatCannotBeReachedAreNotHoarded) {
  Client client(loop, ClientOptions{.max_connections = 4});
  auto port = std::to_string(closed_port());
  // Many distinct endpoint strings (as a peer naming share holders could produce).
  for (int i = 0; i < 600; ++i) {
    auto endpoint =
        "127.0." + std::to_string(i / 200) + "." + std::to_string(1 + i % 200) + ":" + port;
    auto reply = client.request_sync(endpoint, "echo", B("x"), kHangDeadline);
    ASSERT_FALSE(reply.ok());
  }
  auto stats = client.pool_stats();
  EXPECT_EQ(stats.open, 0u);
  EXPECT_LE(stats.endpoints, 256u);
}

}  // namespace
}  // namespace beemesh::net::testing
