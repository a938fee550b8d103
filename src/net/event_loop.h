// net/event_loop.h — the owner of the asio io_context that all networking runs on.
//
// Promise: an EventLoop runs its io_context on N worker threads (default 1) from
// construction until stop() or destruction; stop() is idempotent, makes run() return, and
// joins every worker (except the calling one, if a worker calls it). Handlers that throw are
// logged and do not kill a worker. Clients and servers built on a loop must be destroyed
// before it. Destroying the loop destroys whatever coroutines are still suspended on it.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

namespace beemesh::net {

class EventLoop {
 public:
  explicit EventLoop(size_t threads = 1);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  asio::io_context& context() { return io_; }
  asio::any_io_executor executor() { return io_.get_executor(); }
  size_t thread_count() const { return threads_.size(); }

  // True on one of this loop's worker threads (blocking calls must not be made there).
  bool running_in_this_thread() const;
  // True once stop() has joined the workers: nothing runs on the loop any more.
  bool stopped() const { return joined_.load(); }

  void stop();

  // Runs fn on `ex` and waits for it. From a worker thread it only dispatches (no wait);
  // once the loop is stopped it runs fn inline. For shutdown paths of clients and servers.
  void run_and_wait(const asio::any_io_executor& ex, std::function<void()> fn);

 private:
  void run_worker();

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex stop_mutex_;
  std::atomic<bool> joined_{false};
};

}  // namespace beemesh::net
