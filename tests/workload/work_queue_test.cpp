// The bounded worker queue under the workload manager.
#include "workload/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace beemesh::workload {
namespace {

TEST(WorkQueue, RunsEveryAcceptedJob) {
  std::atomic<int> ran{0};
  {
    WorkQueue queue(3, 100);
    std::vector<std::future<void>> done;
    for (int i = 0; i < 20; ++i) {
      auto promise = std::make_shared<std::promise<void>>();
      done.push_back(promise->get_future());
      ASSERT_TRUE(queue.try_submit({[&ran, promise] {
                                      ++ran;
                                      promise->set_value();
                                    },
                                    {}}));
    }
    for (auto& f : done) f.get();
  }
  EXPECT_EQ(ran.load(), 20);
}

TEST(WorkQueue, RefusesBeyondTheBoundAndCancelsWaitingJobsOnShutdown) {
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  bool started = false;
  int cancelled = 0;
  auto cancel = [&] {
    std::lock_guard lock(mutex);
    ++cancelled;
    cv.notify_all();
  };
  WorkQueue queue(1, 2);
  auto blocker = [&] {
    std::unique_lock lock(mutex);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  ASSERT_TRUE(queue.try_submit({blocker, cancel}));
  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return started; });
  }
  EXPECT_TRUE(queue.try_submit({[] {}, cancel}));
  EXPECT_TRUE(queue.try_submit({[] {}, cancel}));
  EXPECT_FALSE(queue.try_submit({[] {}, cancel}));
  EXPECT_EQ(queue.queued(), 2u);
  EXPECT_EQ(queue.running(), 1u);

  std::thread stopper([&] { queue.shutdown(); });
  {
    // The waiting jobs are cancelled while the running one still blocks shutdown().
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return cancelled == 2; });
    release = true;
  }
  cv.notify_all();
  stopper.join();
  EXPECT_EQ(cancelled, 2);
  EXPECT_FALSE(queue.try_submit({[] {}, {}}));
}

}  // namespace
}  // namespace beemesh::workload
