// The happy paths of the request-response transport: round trips, concurrency, connection
// reuse, pipelining, and handlers that make requests of their own.
#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "net/protocols.h"
#include "transport_fixture.h"

namespace beemesh::net::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(TransportTest, RoundTripReturnsTheHandlerReply) {
  auto reply = client.request_sync(endpoint, "echo", B("hello"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "hello");
}

TEST_F(TransportTest, EmptyPayloadsTravelBothWays) {
  auto reply = client.request_sync(endpoint, "echo", Bytes{}, kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_TRUE(reply->empty());
}

TEST_F(TransportTest, AwaitableRequestWorksInsideTheLoop) {
  std::promise<Result<Bytes>> promise;
  auto done = promise.get_future();
  asio::co_spawn(
      loop.executor(),
      [&]() -> asio::awaitable<void> {
        promise.set_value(
            co_await client.request(endpoint, "echo", B("from a coroutine"), kHangDeadline));
      },
      asio::detached);
  ASSERT_EQ(done.wait_for(kHangDeadline), std::future_status::ready);
  auto reply = done.get();
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "from a coroutine");
}

TEST_F(TransportTest, HandlerSeesTheRequestingPeer) {
  ASSERT_TRUE(server
                  .handle("whoami",
                          [](const PeerInfo& peer, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_return B(peer.address);
                          })
                  .ok());
  auto reply = client.request_sync(endpoint, "whoami", {}, kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply).rfind("127.0.0.1:", 0), 0u) << S(*reply);
}

TEST_F(TransportTest, ManyConcurrentRequestsEachGetTheirOwnReply) {
  std::vector<std::future<Result<Bytes>>> futures;
  for (int i = 0; i < 1000; ++i) {
    futures.push_back(
        client.request_future(endpoint, "echo", B("req-" + std::to_string(i)), kHangDeadline));
  }
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(futures[i].wait_for(kHangDeadline), std::future_status::ready);
    auto reply = futures[i].get();
    ASSERT_TRUE(reply.ok()) << reply.error().to_string();
    EXPECT_EQ(S(*reply), "req-" + std::to_string(i));
  }
}

TEST(Transport, ManyThreadsShareOneClientOnAMultiThreadedLoop) {
  EventLoop loop(4);
  Server server(loop);
  ASSERT_TRUE(server.handle("echo", echo_handler()).ok());
  ASSERT_TRUE(server.listen().ok());
  Client client(loop);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        auto reply = client.request_sync(server.endpoint(), "echo", B(body), kHangDeadline);
        if (!reply.ok() || S(*reply) != body) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(TransportTest, RequestsToOnePeerReuseOneConnection) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.request_sync(endpoint, "echo", B("sequential"), kHangDeadline).ok());
  }
  std::vector<std::future<Result<Bytes>>> futures;
  for (int i = 0; i < 50; ++i) {
    futures.push_back(client.request_future(endpoint, "echo", B("concurrent"), kHangDeadline));
  }
  for (auto& f : futures) ASSERT_TRUE(f.get().ok());
  EXPECT_EQ(server.accepted_connections(), 1u);
  EXPECT_EQ(client.stats(endpoint).connections_opened, 1u);
}

TEST_F(TransportTest, ASlowRequestDoesNotHoldUpLaterOnesOnTheSameConnection) {
  Gate gate;
  ASSERT_TRUE(server
                  .handle("slow",
                          [&gate](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                            co_await gate.wait();
                            co_return std::move(b);
                          })
                  .ok());
  auto slow = client.request_future(endpoint, "slow", B("slow"), kHangDeadline);
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));

  auto fast = client.request_sync(endpoint, "echo", B("fast"), kHangDeadline);
  ASSERT_TRUE(fast.ok()) << fast.error().to_string();
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout);  // still held by the gate

  gate.open();
  ASSERT_EQ(slow.wait_for(kHangDeadline), std::future_status::ready);
  auto reply = slow.get();
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "slow");
  EXPECT_EQ(server.accepted_connections(), 1u);
}

TEST_F(TransportTest, HandlerMayAwaitItsOwnOutgoingRequest) {
  // With one loop thread, this only completes if serving never blocks the loop.
  ASSERT_TRUE(server
                  .handle(protocols::kApply,
                          [this](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                            auto share = co_await client.request(endpoint, "echo", std::move(b),
                                                                 kHangDeadline);
                            if (!share.ok()) co_return share.error();
                            Bytes out = B("deployed with ");
                            out.insert(out.end(), share->begin(), share->end());
                            co_return out;
                          })
                  .ok());
  auto reply =
      client.request_sync(endpoint, std::string(protocols::kApply), B("share"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "deployed with share");
}

TEST_F(TransportTest, ClientReconnectsAfterTheConnectionBreaks) {
  ASSERT_TRUE(client.request_sync(endpoint, "echo", B("first"), kHangDeadline).ok());
  uint16_t port = server.port();
  server.stop();
  ASSERT_TRUE(eventually([&] { return !client.stats(endpoint).connected; }));

  Server restarted(loop, ServerOptions{.port = port});
  ASSERT_TRUE(restarted.handle("echo", echo_handler()).ok());
  ASSERT_TRUE(restarted.listen().ok());
  auto reply = client.request_sync(endpoint, "echo", B("second"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "second");
  EXPECT_EQ(client.stats(endpoint).connections_opened, 2u);
}

}  // namespace
}  // namespace beemesh::net::testing
