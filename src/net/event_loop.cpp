#include "net/event_loop.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <future>
#include <memory>

#include <asio/dispatch.hpp>
#include <asio/post.hpp>

namespace beemesh::net {

EventLoop::EventLoop(size_t threads) : work_(asio::make_work_guard(io_)) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run_worker(); });
    ::pthread_setname_np(threads_.back().native_handle(), "net-loop");
  }
}

EventLoop::~EventLoop() {
  stop();
}

void EventLoop::run_worker() {
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("component=net event=handler_exception what=\"{}\"", e.what());
    } catch (...) {
      spdlog::error("component=net event=handler_exception what=unknown");
    }
  }
}

bool EventLoop::running_in_this_thread() const {
  auto self = std::this_thread::get_id();
  for (const auto& t : threads_) {
    if (t.get_id() == self) return true;
  }
  return false;
}

void EventLoop::stop() {
  std::lock_guard lock(stop_mutex_);
  if (joined_.load()) return;
  work_.reset();
  io_.stop();
  auto self = std::this_thread::get_id();
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    if (t.get_id() == self) {
      t.detach();  // a worker stopping its own loop: it returns from run() right after
      continue;
    }
    t.join();
  }
  joined_.store(true);
}

void EventLoop::run_and_wait(const asio::any_io_executor& ex, std::function<void()> fn) {
  if (joined_.load()) {
    fn();
    return;
  }
  if (running_in_this_thread()) {
    asio::dispatch(ex, std::move(fn));
    return;
  }
  struct Shared {
    std::atomic<bool> claimed{false};
    std::promise<void> done;
    std::function<void()> fn;
  };
  auto shared = std::make_shared<Shared>();
  shared->fn = std::move(fn);
  auto finished = shared->done.get_future();
  asio::post(ex, [shared] {
    if (shared->claimed.exchange(true)) return;
    shared->fn();
    shared->done.set_value();
  });
  while (finished.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (joined_.load()) {
      // The loop stopped before running fn; the workers are gone, so run it here.
      if (!shared->claimed.exchange(true)) shared->fn();
      return;
    }
  }
}

}  // namespace beemesh::net
