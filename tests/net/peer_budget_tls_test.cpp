// The server's per-peer budget over real TLS links: a member node over its budget is read
// more slowly (never refused), while another member on the same server is served at once.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/client.h"
#include "net/event_loop.h"
#include "net/server.h"
#include "net_test_support.h"
#include "tls_test_mesh.h"

namespace beemesh::net {
namespace {

using namespace std::chrono_literals;
using crypto::Identity;
using testing::eventually;
using testing::Gate;
using testing::TestMesh;
using SteadyClock = std::chrono::steady_clock;

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

class PeerBudgetServer : public ::testing::Test {
 protected:
  void start(ServerOptions options) {
    options.tls = mesh_.member_tls(server_id_);
    server_ = std::make_unique<Server>(loop_, std::move(options));
    ASSERT_TRUE(server_
                    ->handle("echo",
                             [](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                               co_return b;
                             })
                    .ok());
    ASSERT_TRUE(server_
                    ->handle("gated",
                             [this](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                               co_await gate_.wait();
                               co_return b;
                             })
                    .ok());
    ASSERT_TRUE(server_->listen().ok());
  }
  void TearDown() override { gate_.open(); }

  std::unique_ptr<Client> member_client() {
    return std::make_unique<Client>(
        loop_, ClientOptions{.connect_timeout = 3s, .tls = mesh_.member_tls(Identity::generate())});
  }
  static std::vector<std::future<Result<Bytes>>> send(Client& client, const std::string& endpoint,
                                                      const std::string& protocol, int n) {
    std::vector<std::future<Result<Bytes>>> futures;
    for (int i = 0; i < n; ++i) {
      futures.push_back(client.request_future(endpoint, protocol, bytes_of("x"), 30s));
    }
    return futures;
  }

  TestMesh mesh_;
  Identity server_id_ = Identity::generate();
  EventLoop loop_{1};
  Gate gate_;
  std::unique_ptr<Server> server_;
};

TEST_F(PeerBudgetServer, APeerOverItsRateIsReadMoreSlowlyAndStillAnswered) {
  start({.peer_request_rate = 20, .peer_request_burst = 5});
  auto client = member_client();
  auto began = SteadyClock::now();
  for (auto& f : send(*client, server_->endpoint(), "echo", 25)) {
    auto reply = f.get();
    ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  }
  // 5 at once, then 20 at 20 a second.
  EXPECT_GE(SteadyClock::now() - began, 900ms);
  EXPECT_GT(server_->stats().budget_waits, 0u);
}

TEST_F(PeerBudgetServer, AnotherPeerIsServedPromptlyWhileOneIsOverItsRate) {
  start({.peer_request_rate = 5, .peer_request_burst = 1});
  auto flooder = member_client();
  auto flood = send(*flooder, server_->endpoint(), "echo", 60);  // 12 s of budget
  ASSERT_TRUE(eventually([&] { return server_->stats().budget_waits > 0; }));

  auto other = member_client();
  auto began = SteadyClock::now();
  auto reply = other->request_sync(server_->endpoint(), "echo", bytes_of("me"), 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_LT(SteadyClock::now() - began, 1s);
  flooder->shutdown();
}

TEST_F(PeerBudgetServer, APeerAtItsInFlightCapIsNotReadUntilOneOfItsRequestsEnds) {
  start({.max_in_flight_per_peer = 2});
  auto client = member_client();
  auto held = send(*client, server_->endpoint(), "gated", 4);
  ASSERT_TRUE(eventually([&] { return gate_.arrived() == 2; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(gate_.arrived(), 2u);  // the other two wait unread

  auto other = member_client();
  auto reply = other->request_sync(server_->endpoint(), "echo", bytes_of("me"), 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();

  gate_.open();
  for (auto& f : held) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
  EXPECT_EQ(gate_.arrived(), 4u);
}

TEST_F(PeerBudgetServer, ThePeersEntryIsForgottenWhenItsConnectionCloses) {
  start({});
  auto client = member_client();
  ASSERT_TRUE(client->request_sync(server_->endpoint(), "echo", bytes_of("x"), 5s).ok());
  EXPECT_EQ(server_->stats().budget_peers, 1u);
  client->shutdown();
  EXPECT_TRUE(eventually([&] { return server_->stats().budget_peers == 0; }));
}

}  // namespace
}  // namespace beemesh::net
