// apply/async.h — coroutine helpers for the node's event loop.
//
// Promise: await_callback() turns an API that completes through a callback (possibly on
// another thread) into an awaitable that resumes on the awaiting coroutine's executor;
// gather() runs awaitables concurrently and returns every result in input order. Both
// assume the executor is a single-threaded loop (the daemon's net::EventLoop(1)).
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/thread_pool.hpp>

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace beemesh::apply {

// `start` receives a callback that must be called exactly once with the result.
template <typename T>
asio::awaitable<T> await_callback(std::function<void(std::function<void(T)>)> start) {
  auto ex = co_await asio::this_coro::executor;
  struct State {
    explicit State(asio::any_io_executor e) : timer(e) {}
    asio::steady_timer timer;
    std::optional<T> value;
  };
  auto state = std::make_shared<State>(ex);
  state->timer.expires_at(asio::steady_timer::time_point::max());
  start([state, ex](T value) {
    asio::post(ex, [state, value = std::move(value)]() mutable {
      state->value = std::move(value);
      state->timer.cancel();
    });
  });
  while (!state->value) {
    co_await state->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  co_return std::move(*state->value);
}

// Runs `tasks` concurrently; result i is empty only when task i threw.
template <typename T>
asio::awaitable<std::vector<std::optional<T>>> gather(std::vector<asio::awaitable<T>> tasks) {
  auto ex = co_await asio::this_coro::executor;
  struct State {
    State(asio::any_io_executor e, size_t n) : timer(e), results(n), remaining(n) {}
    asio::steady_timer timer;
    std::vector<std::optional<T>> results;
    size_t remaining;
  };
  auto state = std::make_shared<State>(ex, tasks.size());
  state->timer.expires_at(asio::steady_timer::time_point::max());
  for (size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(
        ex,
        [state, i, task = std::move(tasks[i])]() mutable -> asio::awaitable<void> {
          try {
            state->results[i].emplace(co_await std::move(task));
          } catch (const std::exception& e) {
            spdlog::error("concurrent task {} failed: {}", i, e.what());
          }
          if (--state->remaining == 0) state->timer.cancel();
        },
        asio::detached);
  }
  while (state->remaining > 0) {
    co_await state->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
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
