#include "net/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include <asio/post.hpp>

#include "net_test_support.h"

namespace beemesh::net {
namespace {

TEST(EventLoop, RunsPostedWorkOnItsOwnThreads) {
  EventLoop loop(2);
  std::promise<bool> on_loop;
  asio::post(loop.executor(), [&] { on_loop.set_value(loop.running_in_this_thread()); });
  auto f = on_loop.get_future();
  ASSERT_EQ(f.wait_for(testing::kHangDeadline), std::future_status::ready);
  EXPECT_TRUE(f.get());
  EXPECT_FALSE(loop.running_in_this_thread());
}

TEST(EventLoop, StopIsIdempotentAndJoinsTheWorkers) {
  EventLoop loop;
  loop.stop();
  loop.stop();
  EXPECT_TRUE(loop.stopped());
}

TEST(EventLoop, AThrowingHandlerDoesNotKillTheWorker) {
  EventLoop loop;
  asio::post(loop.executor(), [] { throw std::runtime_error("handler bug"); });
  std::promise<void> after;
  asio::post(loop.executor(), [&] { after.set_value(); });
  EXPECT_EQ(after.get_future().wait_for(testing::kHangDeadline), std::future_status::ready);
}

TEST(EventLoop, RunAndWaitRunsInlineOnceStopped) {
  EventLoop loop;
  loop.stop();
  bool ran = false;
  loop.run_and_wait(loop.executor(), [&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(EventLoop, RunAndWaitWaitsForTheWorkOnTheLoop) {
  EventLoop loop;
  std::atomic<bool> ran_on_loop{false};
  loop.run_and_wait(loop.executor(), [&] { ran_on_loop = loop.running_in_this_thread(); });
  EXPECT_TRUE(ran_on_loop.load());
}

}  // namespace
}  // namespace beemesh::net
