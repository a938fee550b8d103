// apply/async.h — coroutine helpers for the node's event loop.
//
// Promise: await_callback() turns an API that completes through a callback (possibly on
// another thread) into an awaitable that resumes on the awaiting coroutine's executor;
// gather() runs awaitables concurrently and returns every result in input order; Signal is a
// one-shot wake-up any thread may give. All three are correct on a loop of any number of
// threads: the tasks gather() spawns may run in parallel, and what they share is an atomic
// count and a Signal (a concurrent channel), never a timer or a container touched without a
// lock. (They once assumed a one-thread loop; the in-process scale bench runs its nodes on a
// 2-thread loop, where a lost wake-up hung applies and a timer cancelled from another thread
// corrupted the heap: docs/BENCHMARKS.md, "Heap corruption at 300 nodes".)
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/concurrent_channel.hpp>
#include <asio/thread_pool.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace beemesh::apply {

// A one-shot wake-up for one waiting coroutine. set() may be called from any thread, any
// number of times (after the first, until the wait has taken it, it does nothing); wait()
// returns once set() has been called (at once if it already was) and resumes on the awaiting
// coroutine's executor. Whatever a thread wrote before set() is visible after wait().
class Signal {
 public:
  explicit Signal(const asio::any_io_executor& ex) : channel_(ex, 1) {}
  void set() { channel_.try_send(asio::error_code{}, true); }
  asio::awaitable<void> wait() {
    co_await channel_.async_receive(asio::experimental::as_tuple(asio::use_awaitable));
  }

 private:
  // With a value: asio 1.24's channel of void(error_code) alone does not compile.
  asio::experimental::concurrent_channel<void(asio::error_code, bool)> channel_;
};

// `start` receives a callback that must be called exactly once with the result.
template <typename T>
asio::awaitable<T> await_callback(std::function<void(std::function<void(T)>)> start) {
  auto ex = co_await asio::this_coro::executor;
  struct State {
    explicit State(const asio::any_io_executor& e) : done(e) {}
    std::mutex mutex;
    std::optional<T> value;  // guarded by mutex
    Signal done;
  };
  auto state = std::make_shared<State>(ex);
  start([state](T value) {
    {
      std::lock_guard lock(state->mutex);
      state->value.emplace(std::move(value));
    }
    state->done.set();
  });
  co_await state->done.wait();
  auto take = [&state] {
    std::lock_guard lock(state->mutex);
    return std::move(*state->value);
  };
  T out = take();
  co_return out;
}

// Runs `tasks` concurrently; result i is empty only when task i threw.
template <typename T>
asio::awaitable<std::vector<std::optional<T>>> gather(std::vector<asio::awaitable<T>> tasks) {
  if (tasks.empty()) co_return std::vector<std::optional<T>>{};
  auto ex = co_await asio::this_coro::executor;
  struct State {
    State(const asio::any_io_executor& e, size_t n) : results(n), remaining(n), done(e) {}
    std::vector<std::optional<T>> results;  // element i: written by task i only
    std::atomic<size_t> remaining;
    Signal done;  // given by the last task to end
  };
  auto state = std::make_shared<State>(ex, tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(
        ex,
        [state, i, task = std::move(tasks[i])]() mutable -> asio::awaitable<void> {
          try {
            state->results[i].emplace(co_await std::move(task));
          } catch (const std::exception& e) {
            spdlog::error("concurrent task {} failed: {}", i, e.what());
          }
          if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) state->done.set();
        },
        asio::detached);
  }
  co_await state->done.wait();
  co_return std::move(state->results);
}

// Runs the blocking `fn` on `pool` and resumes with its result on the awaiting executor.
template <typename Fn>
auto run_blocking(asio::thread_pool& pool, Fn fn) -> asio::awaitable<decltype(fn())> {
  using T = decltype(fn());
  return await_callback<T>([&pool, fn = std::move(fn)](std::function<void(T)> done) mutable {
    asio::post(pool, [fn = std::move(fn), done = std::move(done)]() mutable { done(fn()); });
  });
}

}  // namespace beemesh::apply
