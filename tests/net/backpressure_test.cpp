// Bounds: in-flight requests per peer on the client, handlers per connection on the server.
#include <future>
#include <vector>

#include "transport_fixture.h"

namespace beemesh::net::testing {
namespace {

using namespace std::chrono_literals;

Handler gated(Gate& gate) {
  return [&gate](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
    co_await gate.wait();
    co_return std::move(b);
  };
}

class BoundedClientTest : public TransportTest {
 protected:
  void SetUp() override {
    TransportTest::SetUp();
    ASSERT_TRUE(server.handle("gated", gated(gate)).ok());
  }
  void TearDown() override { gate.open(); }

  Gate gate;
  Client bounded{loop, ClientOptions{.max_in_flight_per_peer = 2, .max_queued_per_peer = 3}};
};

TEST_F(BoundedClientTest, RequestsBeyondTheInFlightLimitWaitForASlot) {
  std::vector<std::future<Result<Bytes>>> futures;
  for (int i = 0; i < 5; ++i) {
    futures.push_back(bounded.request_future(endpoint, "gated", B(std::to_string(i)), 60s));
  }
  ASSERT_TRUE(
      eventually([&] { return gate.arrived() == 2 && bounded.stats(endpoint).queued == 3; }));
  EXPECT_EQ(bounded.stats(endpoint).in_flight, 2u);

  gate.open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(futures[i].wait_for(kHangDeadline), std::future_status::ready);
    auto reply = futures[i].get();
    ASSERT_TRUE(reply.ok()) << reply.error().to_string();
    EXPECT_EQ(S(*reply), std::to_string(i));
  }
  EXPECT_EQ(gate.max_waiting(), 2u);  // never more than two at the server at once
}

TEST_F(BoundedClientTest, RequestsBeyondTheQueueLimitFailWithBusy) {
  std::vector<std::future<Result<Bytes>>> admitted;
  for (int i = 0; i < 5; ++i)
    admitted.push_back(bounded.request_future(endpoint, "gated", B("x"), 60s));
  ASSERT_TRUE(
      eventually([&] { return gate.arrived() == 2 && bounded.stats(endpoint).queued == 3; }));

  auto refused = bounded.request_sync(endpoint, "gated", B("x"), 60s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "busy");

  gate.open();
  for (auto& f : admitted) EXPECT_TRUE(f.get().ok());
}

TEST_F(BoundedClientTest, AQueuedRequestTimesOutWhileWaitingForASlot) {
  std::vector<std::future<Result<Bytes>>> holding;
  for (int i = 0; i < 2; ++i)
    holding.push_back(bounded.request_future(endpoint, "gated", B("x"), 60s));
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 2; }));

  auto queued = bounded.request_sync(endpoint, "gated", B("x"), 50ms);
  ASSERT_FALSE(queued.ok());
  EXPECT_EQ(queued.error().code, "timeout");
  EXPECT_EQ(bounded.stats(endpoint).queued, 0u);
  gate.open();
}

TEST_F(BoundedClientTest, TheLimitIsPerPeer) {
  Server other(loop);
  ASSERT_TRUE(other.handle("echo", echo_handler()).ok());
  ASSERT_TRUE(other.listen().ok());
  std::vector<std::future<Result<Bytes>>> holding;
  for (int i = 0; i < 2; ++i)
    holding.push_back(bounded.request_future(endpoint, "gated", B("x"), 60s));
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 2; }));

  auto reply = bounded.request_sync(other.endpoint(), "echo", B("elsewhere"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  gate.open();
}

TEST(Transport, ServerRunsAtMostTheConfiguredHandlersPerConnection) {
  EventLoop loop;
  Gate gate;
  Server server(loop, ServerOptions{.max_concurrent_requests_per_connection = 3});
  ASSERT_TRUE(server.handle("gated", gated(gate)).ok());
  ASSERT_TRUE(server.listen().ok());
  Client client(loop);
  std::vector<std::future<Result<Bytes>>> futures;
  for (int i = 0; i < 8; ++i) {
    futures.push_back(client.request_future(server.endpoint(), "gated", B("x"), 60s));
  }
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 3; }));
  ASSERT_TRUE(eventually([&] { return client.stats(server.endpoint()).in_flight == 8; }));

  gate.open();
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(kHangDeadline), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  EXPECT_EQ(gate.max_waiting(), 3u);
}

TEST(Transport, ConnectionsBeyondTheServersLimitAreClosed) {
  EventLoop loop;
  Server server(loop, ServerOptions{.max_connections = 1});
  ASSERT_TRUE(server.handle("echo", echo_handler()).ok());
  ASSERT_TRUE(server.listen().ok());
  Client first(loop);
  ASSERT_TRUE(first.request_sync(server.endpoint(), "echo", B("x"), kHangDeadline).ok());

  Client second(loop);
  auto refused = second.request_sync(server.endpoint(), "echo", B("x"), kHangDeadline);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "disconnected");
  EXPECT_EQ(server.open_connections(), 1u);
}

}  // namespace
}  // namespace beemesh::net::testing
