// PeerBudgets: each peer's token bucket and in-flight count, alone (no sockets, a fixed clock).
#include "net/peer_budget.h"

#include <gtest/gtest.h>

#include <chrono>

namespace beemesh::net {
namespace {

using namespace std::chrono_literals;
using Clock = PeerBudgets::Clock;
using Wait = PeerBudgets::Wait;

class PeerBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    budgets.attach("a");
    budgets.attach("b");
    t0 = Clock::now();  // the buckets were filled at attach()
  }
  // Takes `n` requests for `peer` at `at`; how many were granted.
  int take_n(const std::string& peer, int n, Clock::time_point at) {
    int granted = 0;
    for (int i = 0; i < n; ++i) granted += budgets.take(peer, at) == Wait::zero() ? 1 : 0;
    return granted;
  }

  Clock::time_point t0;
  PeerBudgets budgets{{.max_in_flight = 2, .rate = 10, .burst = 5}};
};

TEST_F(PeerBudgetTest, AQuietPeerMaySendItsWholeBurstAtOnce) {
  EXPECT_EQ(take_n("a", 5, t0), 5);
}

TEST_F(PeerBudgetTest, APeerOverItsBurstWaitsForTheNextToken) {
  take_n("a", 5, t0);
  Wait wait = budgets.take("a", t0);
  EXPECT_GT(wait, Wait::zero());
  EXPECT_LE(wait, Wait(100ms));  // one token at 10 a second
}

TEST_F(PeerBudgetTest, TheBudgetRefillsAtItsRateUpToTheBurst) {
  take_n("a", 5, t0);
  EXPECT_EQ(take_n("a", 5, t0 + 200ms), 2);  // 0.2 s at 10/s: two tokens
  EXPECT_EQ(take_n("a", 10, t0 + 10s), 5);   // a long quiet spell saves up the burst only
}

TEST_F(PeerBudgetTest, OnePeerSpendingItsBudgetLeavesAnothersWhole) {
  take_n("a", 20, t0);
  EXPECT_EQ(take_n("b", 5, t0), 5);
}

TEST_F(PeerBudgetTest, APeerAtItsInFlightCapWaitsUntilOneOfItsRequestsEnds) {
  budgets.begin("a");
  budgets.begin("a");
  int woken = 0;
  EXPECT_GT(budgets.take("a", t0, 7, [&] { ++woken; }), Wait::zero());
  EXPECT_EQ(budgets.take("b", t0), Wait::zero());  // another peer is not held up
  budgets.release("a");
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(budgets.take("a", t0), Wait::zero());
}

TEST_F(PeerBudgetTest, AWaitingConnectionIsWokenOnceHoweverOftenItAsked) {
  budgets.begin("a");
  budgets.begin("a");
  int woken = 0;
  for (int i = 0; i < 3; ++i) budgets.take("a", t0, 7, [&] { ++woken; });
  budgets.release("a");
  budgets.release("a");
  EXPECT_EQ(woken, 1);
}

TEST_F(PeerBudgetTest, APeerIsForgottenOnceItHasNoConnectionAndNothingInFlight) {
  budgets.begin("a");
  budgets.detach("a");
  EXPECT_EQ(budgets.peers(), 2u);  // a request of "a" still runs
  budgets.release("a");
  EXPECT_EQ(budgets.peers(), 1u);
  budgets.detach("b");
  EXPECT_EQ(budgets.peers(), 0u);
}

TEST(PeerBudgetLimits, ZeroRateAndZeroInFlightCapMeanUnlimited) {
  PeerBudgets budgets({.max_in_flight = 0, .rate = 0, .burst = 0});
  budgets.attach("a");
  auto now = Clock::now();
  for (int i = 0; i < 10'000; ++i) {
    budgets.begin("a");
    ASSERT_EQ(budgets.take("a", now), Wait::zero());
  }
}

}  // namespace
}  // namespace beemesh::net
