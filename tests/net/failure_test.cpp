// How the transport fails: every failure is an Error with a stable code, promptly, and
// never a hang or a crash.
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include "net/frame.h"
#include "transport_fixture.h"

namespace beemesh::net::testing {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;

Error error_of(std::future<Result<Bytes>>& f) {
  if (f.wait_for(kHangDeadline) != std::future_status::ready) {
    return make_error("test_hang", "request did not complete");
  }
  auto r = f.get();
  if (r.ok()) return make_error("test_unexpected_success", S(*r));
  return r.error();
}

Error error_of(Result<Bytes> r) {
  if (r.ok()) return make_error("test_unexpected_success", S(*r));
  return r.error();
}

// A port nothing listens on: bound once, then released.
uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

TEST_F(TransportTest, RequestTimesOutWhenTheHandlerNeverAnswers) {
  Gate gate;
  ASSERT_TRUE(server
                  .handle("stuck",
                          [&gate](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_await gate.wait();
                            co_return Bytes{};
                          })
                  .ok());
  auto error = error_of(client.request_sync(endpoint, "stuck", B("x"), 100ms));
  EXPECT_EQ(error.code, "timeout") << error.to_string();
  gate.open();
}

TEST_F(TransportTest, ATimedOutRequestLeavesTheConnectionUsable) {
  Gate gate;
  ASSERT_TRUE(server
                  .handle("stuck",
                          [&gate](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_await gate.wait();
                            co_return B("late");
                          })
                  .ok());
  EXPECT_EQ(error_of(client.request_sync(endpoint, "stuck", B("x"), 50ms)).code, "timeout");
  gate.open();  // the late reply arrives and is dropped
  auto reply = client.request_sync(endpoint, "echo", B("next"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "next");
  EXPECT_EQ(server.accepted_connections(), 1u);
}

TEST_F(TransportTest, UnknownProtocolFailsWithUnknownProtocol) {
  auto error = error_of(client.request_sync(endpoint, "nosuch", B("x"), kHangDeadline));
  EXPECT_EQ(error.code, "unknown_protocol");
  EXPECT_NE(error.message.find("nosuch"), std::string::npos) << error.message;
}

TEST_F(TransportTest, HandlerErrorReachesTheClientWithCodeAndMessage) {
  ASSERT_TRUE(server
                  .handle("refuse",
                          [](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_return make_error("bad_signature",
                                                 "envelope signature does not verify");
                          })
                  .ok());
  auto error = error_of(client.request_sync(endpoint, "refuse", B("x"), kHangDeadline));
  EXPECT_EQ(error.code, "bad_signature");
  EXPECT_EQ(error.message, "envelope signature does not verify");
}

TEST_F(TransportTest, HandlerThatThrowsFailsWithHandlerFailed) {
  ASSERT_TRUE(server
                  .handle("throws",
                          [](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            throw std::runtime_error("boom");
                            co_return Bytes{};
                          })
                  .ok());
  auto error = error_of(client.request_sync(endpoint, "throws", B("x"), kHangDeadline));
  EXPECT_EQ(error.code, "handler_failed");
  EXPECT_NE(error.message.find("boom"), std::string::npos) << error.message;
}

TEST(Transport, UnreachableEndpointFailsWithUnreachable) {
  EventLoop loop;
  Client client(loop);
  auto endpoint = "127.0.0.1:" + std::to_string(closed_port());
  auto error = error_of(client.request_sync(endpoint, "echo", B("x"), kHangDeadline));
  EXPECT_EQ(error.code, "unreachable") << error.to_string();
}

TEST_F(TransportTest, PeerDisconnectingMidRequestFailsEveryPendingRequestAtOnce) {
  // A fake server that takes three requests and hangs up without answering.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto fake_endpoint = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  tcp::socket peer(io);
  Bytes received(3 * encode_frame(1, FrameKind::request, "echo", B("x")).size());
  acceptor.async_accept(peer, [&](const std::error_code& ec) {
    if (ec) return;
    asio::async_read(peer, asio::buffer(received),
                     [&](const std::error_code&, size_t) { peer.close(); });
  });
  std::thread fake([&] { io.run_for(kHangDeadline); });

  std::vector<std::future<Result<Bytes>>> pending;
  for (int i = 0; i < 3; ++i) {
    pending.push_back(client.request_future(fake_endpoint, "echo", B("x"), 60s));
  }
  for (auto& f : pending) EXPECT_EQ(error_of(f).code, "disconnected");
  io.stop();
  fake.join();
}

TEST_F(TransportTest, ServerShutdownFailsPendingRequests) {
  Gate gate;
  ASSERT_TRUE(server
                  .handle("stuck",
                          [&gate](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_await gate.wait();
                            co_return Bytes{};
                          })
                  .ok());
  std::vector<std::future<Result<Bytes>>> pending;
  for (int i = 0; i < 3; ++i) {
    pending.push_back(client.request_future(endpoint, "stuck", B("x"), 60s));
  }
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 3; }));
  server.stop();
  for (auto& f : pending) EXPECT_EQ(error_of(f).code, "disconnected");
  EXPECT_EQ(server.open_connections(), 0u);
  gate.open();  // the handlers finish; their replies are dropped
}

TEST_F(TransportTest, RequestsAfterServerShutdownFailWithUnreachable) {
  server.stop();
  auto error = error_of(client.request_sync(endpoint, "echo", B("x"), kHangDeadline));
  EXPECT_EQ(error.code, "unreachable") << error.to_string();
}

TEST_F(TransportTest, OversizedIncomingFrameClosesThatConnection) {
  asio::io_context io;
  tcp::socket raw(io);
  raw.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  // Claims a 4 GiB body; the server must hang up rather than wait for (or allocate) it.
  Bytes claim{0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 4, 'e', 'c', 'h', 'o'};
  asio::write(raw, asio::buffer(claim));
  std::error_code read_error;
  std::array<uint8_t, 64> sink{};
  raw.async_read_some(asio::buffer(sink),
                      [&](const std::error_code& ec, size_t) { read_error = ec; });
  io.run_for(kHangDeadline);
  EXPECT_TRUE(read_error == asio::error::eof || read_error == asio::error::connection_reset)
      << read_error.message();
}

TEST_F(TransportTest, AnOversizedFrameDoesNotDisturbOtherConnections) {
  ASSERT_TRUE(client.request_sync(endpoint, "echo", B("before"), kHangDeadline).ok());
  asio::io_context io;
  tcp::socket raw(io);
  raw.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  asio::write(raw, asio::buffer(Bytes{0xff, 0xff, 0xff, 0xff}));
  ASSERT_TRUE(eventually([&] { return server.open_connections() == 1; }));
  auto reply = client.request_sync(endpoint, "echo", B("after"), kHangDeadline);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(S(*reply), "after");
}

TEST(Transport, RequestTooLargeForAFrameIsRefusedBeforeSending) {
  EventLoop loop;
  Server server(loop);
  ASSERT_TRUE(server.handle("echo", echo_handler()).ok());
  ASSERT_TRUE(server.listen().ok());
  Client client(loop, ClientOptions{.max_frame_size = 1024});
  auto error = error_of(client.request_sync(server.endpoint(), "echo", Bytes(2000), kHangDeadline));
  EXPECT_EQ(error.code, "frame_too_large");
  EXPECT_EQ(server.accepted_connections(), 0u);
}

TEST(Transport, ReplyTooLargeForTheServersLimitFailsWithFrameTooLarge) {
  EventLoop loop;
  Server server(loop, ServerOptions{.max_frame_size = 1024});
  ASSERT_TRUE(server
                  .handle("big",
                          [](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_return Bytes(2000);
                          })
                  .ok());
  ASSERT_TRUE(server.listen().ok());
  Client client(loop);
  auto error = error_of(client.request_sync(server.endpoint(), "big", B("x"), kHangDeadline));
  EXPECT_EQ(error.code, "frame_too_large") << error.to_string();
}

TEST(Transport, ReplyTooLargeForTheClientsLimitFailsWithFrameTooLarge) {
  EventLoop loop;
  Server server(loop);
  ASSERT_TRUE(server
                  .handle("big",
                          [](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_return Bytes(2000);
                          })
                  .ok());
  ASSERT_TRUE(server.listen().ok());
  Client client(loop, ClientOptions{.max_frame_size = 1024});
  auto error = error_of(client.request_sync(server.endpoint(), "big", B("x"), kHangDeadline));
  EXPECT_EQ(error.code, "frame_too_large") << error.to_string();
}

TEST_F(TransportTest, InvalidProtocolIdIsRefused) {
  EXPECT_EQ(error_of(client.request_sync(endpoint, "Not Valid", B("x"), kHangDeadline)).code,
            "invalid_protocol");
}

TEST_F(TransportTest, InvalidEndpointIsRefused) {
  EXPECT_EQ(error_of(client.request_sync("127.0.0.1", "echo", B("x"), kHangDeadline)).code,
            "invalid_endpoint");
}

TEST_F(TransportTest, NonPositiveTimeoutIsRefused) {
  EXPECT_EQ(error_of(client.request_sync(endpoint, "echo", B("x"), 0ms)).code, "invalid_timeout");
}

TEST_F(TransportTest, BlockingRequestFromALoopThreadIsRefused) {
  ASSERT_TRUE(server
                  .handle("blocking",
                          [this](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                            co_return client.request_sync(endpoint, "echo", std::move(b), 1s);
                          })
                  .ok());
  EXPECT_EQ(error_of(client.request_sync(endpoint, "blocking", B("x"), kHangDeadline)).code,
            "wrong_thread");
}

TEST_F(TransportTest, ClientShutdownFailsPendingRequestsWithShutdown) {
  Gate gate;
  ASSERT_TRUE(server
                  .handle("stuck",
                          [&gate](const PeerInfo&, Bytes) -> asio::awaitable<Result<Bytes>> {
                            co_await gate.wait();
                            co_return Bytes{};
                          })
                  .ok());
  auto pending = client.request_future(endpoint, "stuck", B("x"), 60s);
  ASSERT_TRUE(eventually([&] { return gate.arrived() == 1; }));
  client.shutdown();
  EXPECT_EQ(error_of(pending).code, "shutdown");
  EXPECT_EQ(error_of(client.request_sync(endpoint, "echo", B("x"), kHangDeadline)).code,
            "shutdown");
  gate.open();
}

}  // namespace
}  // namespace beemesh::net::testing
