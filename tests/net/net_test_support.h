// tests/net/net_test_support.h — helpers for transport tests: a gate handlers wait on, a
// polling wait with a hang deadline, and a raw TCP peer for misbehaving-peer cases.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace beemesh::net::testing {

// Deadline for things that must happen eventually: only a hang ever reaches it.
inline constexpr std::chrono::milliseconds kHangDeadline{10'000};

// Polls `pred` until it holds or the hang deadline passes; returns its last value.
inline bool eventually(const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + kHangDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

// Handlers co_await wait(); they stay there until the test calls open(). Counts arrivals and
// how many waited at once. Must be destroyed before the EventLoop its waiters ran on.
class Gate {
 public:
  asio::awaitable<void> wait() {
    auto executor = co_await asio::this_coro::executor;
    auto timer =
        std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
    {
      std::lock_guard lock(mutex_);
      ++arrived_;
      ++waiting_;
      max_waiting_ = std::max(max_waiting_, waiting_);
      if (open_) {
        --waiting_;
        co_return;
      }
      timers_.push_back(timer);
    }
    std::error_code ignored;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    // Nothing touches `this` after resuming: the gate may be gone by then.
  }

  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    for (auto& t : timers_) {
      --waiting_;
      asio::post(t->get_executor(), [t] { t->cancel(); });
    }
    timers_.clear();
  }

  size_t arrived() const {
    std::lock_guard lock(mutex_);
    return arrived_;
  }
  size_t max_waiting() const {
    std::lock_guard lock(mutex_);
    return max_waiting_;
  }

 private:
  mutable std::mutex mutex_;
  bool open_ = false;
  size_t arrived_ = 0;
  size_t waiting_ = 0;
  size_t max_waiting_ = 0;
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
};

}  // namespace beemesh::net::testing
