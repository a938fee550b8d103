// The outbound pool's bounds as bookkeeping, without sockets: peers that never run.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <asio/io_context.hpp>

#include "net/peer.h"
#include "net/pool.h"

namespace beemesh::net {
namespace {

class OutboundPoolTest : public ::testing::Test {
 protected:
  std::shared_ptr<Peer> peer(int i) {
    return std::make_shared<Peer>(io, "10.0.0." + std::to_string(i) + ":1",
                                  Endpoint{"10.0.0." + std::to_string(i), 1}, ClientOptions{}, pool,
                                  std::make_shared<BufferGauge>());
  }

  // Runs what the pool posted (grants no one waits for go back, evictions find nothing to
  // close) so that no peer outlives the context inside a pending handler.
  void TearDown() override { io.run(); }

  asio::io_context io;  // not run during a test: grants and evictions stay posted
  std::shared_ptr<OutboundPool> pool =
      std::make_shared<OutboundPool>(/*max_connections=*/3, /*max_connecting=*/2);
};

TEST_F(OutboundPoolTest, ConnectsBeyondTheConcurrencyBoundWait) {
  auto a = peer(1), b = peer(2), c = peer(3);
  EXPECT_TRUE(pool->acquire(a));
  EXPECT_TRUE(pool->acquire(b));
  EXPECT_FALSE(pool->acquire(c));
  EXPECT_EQ(pool->stats().connecting, 2u);
  EXPECT_EQ(pool->stats().waiting, 1u);
}

TEST_F(OutboundPoolTest, AFinishedConnectLetsTheNextPeerConnect) {
  auto a = peer(1), b = peer(2), c = peer(3);
  ASSERT_TRUE(pool->acquire(a));
  ASSERT_TRUE(pool->acquire(b));
  ASSERT_FALSE(pool->acquire(c));
  pool->connected(a.get());
  auto stats = pool->stats();
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_EQ(stats.open, 3u);
  EXPECT_EQ(stats.connecting, 2u);
}

TEST_F(OutboundPoolTest, SlotsNeverExceedTheBound) {
  std::vector<std::shared_ptr<Peer>> peers;
  for (int i = 0; i < 10; ++i) {
    peers.push_back(peer(i));
    (void)pool->acquire(peers.back());
    for (auto& p : peers) pool->connected(p.get());
  }
  EXPECT_EQ(pool->stats().open, 3u);
  EXPECT_EQ(pool->stats().peak_open, 3u);
  EXPECT_EQ(pool->stats().waiting, 7u);
}

TEST_F(OutboundPoolTest, AReleasedSlotGoesToTheFirstWaiter) {
  auto a = peer(1), b = peer(2), c = peer(3), d = peer(4);
  for (auto* p : {&a, &b}) {
    ASSERT_TRUE(pool->acquire(*p));
    pool->connected(p->get());
  }
  ASSERT_TRUE(pool->acquire(c));
  pool->connected(c.get());
  ASSERT_FALSE(pool->acquire(d));
  pool->release(a.get());
  EXPECT_EQ(pool->stats().waiting, 0u);
  EXPECT_EQ(pool->stats().open, 3u);
}

TEST_F(OutboundPoolTest, OnlyIdleHoldersAreAskedToMakeRoom) {
  auto a = peer(1), b = peer(2), c = peer(3), d = peer(4);
  for (auto* p : {&a, &b, &c}) {
    ASSERT_TRUE(pool->acquire(*p));
    pool->connected(p->get());
  }
  ASSERT_FALSE(pool->acquire(d));
  EXPECT_EQ(pool->stats().evicted, 0u);  // all busy (none reported idle)
  pool->touch(b.get(), /*idle=*/true);
  EXPECT_EQ(pool->stats().evicted, 1u);
}

}  // namespace
}  // namespace beemesh::net
