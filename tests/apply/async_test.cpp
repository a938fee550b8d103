// apply/async.h and fetch_key_shares() on an event loop of several threads: what runs
// concurrently there (gather's tasks, callbacks from a thread pool, holders' answers) shares
// nothing unguarded and no wake-up is lost. Each case repeats its race many times; a lost
// wake-up shows as a round that never ends (the case fails after kDeadline, not a hang).
#include <gtest/gtest.h>

#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <vector>

#include "apply/async.h"
#include "apply/share_fetch.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "net/client.h"
#include "net/event_loop.h"

namespace beemesh::apply {
namespace {

constexpr auto kDeadline = std::chrono::seconds(60);
constexpr size_t kLoopThreads = 4;

// Runs `body` on `loop` and waits for it (at most kDeadline); false when it did not end.
template <typename Body>
bool run_on(net::EventLoop& loop, Body body) {
  std::promise<void> ended;
  auto future = ended.get_future();
  asio::co_spawn(
      loop.executor(),
      [&body, &ended]() -> asio::awaitable<void> {
        co_await body();
        ended.set_value();
      },
      asio::detached);
  return future.wait_for(kDeadline) == std::future_status::ready;
}

// A task that ends on another thread of the loop: it hops through `pool` first.
asio::awaitable<size_t> hop_and_return(asio::thread_pool& pool, size_t value) {
  auto hopping = await_callback<size_t>([&pool, value](std::function<void(size_t)> done) {
    asio::post(pool, [done = std::move(done), value] { done(value); });
  });
  co_return co_await std::move(hopping);
}

TEST(AsyncOnAMultiThreadLoop, GatherReturnsEveryResultInOrder) {
  net::EventLoop loop(kLoopThreads);
  asio::thread_pool pool(4);
  size_t wrong = 0;
  const bool ended = run_on(loop, [&]() -> asio::awaitable<void> {
    for (int round = 0; round < 1000; ++round) {
      std::vector<asio::awaitable<size_t>> tasks;
      for (size_t i = 0; i < 16; ++i) tasks.push_back(hop_and_return(pool, i));
      auto gathering = gather(std::move(tasks));
      auto results = co_await std::move(gathering);
      for (size_t i = 0; i < results.size(); ++i) {
        if (!results[i] || *results[i] != i) ++wrong;
      }
    }
  });
  ASSERT_TRUE(ended) << "a gather never returned";
  EXPECT_EQ(wrong, 0u);
  loop.stop();
}

TEST(AsyncOnAMultiThreadLoop, AwaitCallbackResumesWhenTheCallbackRacesTheWait) {
  net::EventLoop loop(kLoopThreads);
  asio::thread_pool pool(4);
  size_t sum = 0;
  const bool ended = run_on(loop, [&]() -> asio::awaitable<void> {
    for (size_t round = 0; round < 10000; ++round) {
      auto waiting = hop_and_return(pool, round);
      sum += co_await std::move(waiting);
    }
  });
  ASSERT_TRUE(ended) << "an await_callback never resumed";
  EXPECT_EQ(sum, 10000u * 9999u / 2);
  loop.stop();
}

TEST(AsyncOnAMultiThreadLoop, SignalGivenBeforeTheWaitIsNotLost) {
  net::EventLoop loop(kLoopThreads);
  const bool ended = run_on(loop, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Signal signal(ex);
    signal.set();
    signal.set();  // a second set before the wait does nothing more
    co_await signal.wait();
  });
  EXPECT_TRUE(ended);
  loop.stop();
}

TEST(AsyncOnAMultiThreadLoop, KeySharesAnsweredOnSeveralThreadsAreAllCountedOnce) {
  net::EventLoop loop(kLoopThreads);
  asio::thread_pool pool(4);
  const auto me = crypto::Identity::generate();
  crypto::EnvelopeVerifier verifier(system_clock());
  net::Client client(loop);
  protocol::AppliedManifest applied;
  applied.manifest_id = "m";
  applied.threshold = 5;
  for (uint8_t i = 1; i <= 8; ++i) {
    protocol::ShareHolder h;
    h.node_id = "holder-" + std::to_string(i);
    h.node_public_key = me.public_key();  // every holder is this node: read by `own`
    h.share_index = i;
    applied.share_holders.push_back(h);
  }
  // Odd holders answer with their share, even ones fail; all answer from the pool's threads.
  OwnShareReader own =
      [&pool](const protocol::ShareHolder& h) -> asio::awaitable<Result<crypto::KeyShare>> {
    auto reading = await_callback<Result<crypto::KeyShare>>(
        [&pool, index = h.share_index](std::function<void(Result<crypto::KeyShare>)> done) {
          asio::post(pool, [done = std::move(done), index] {
            if (index % 2 == 1) {
              done(crypto::KeyShare(index, {}));
            } else {
              done(make_error("not_found", "no share"));
            }
          });
        });
    co_return co_await std::move(reading);
  };
  size_t too_few = 0;
  size_t wrong_count = 0;
  const bool ended = run_on(loop, [&]() -> asio::awaitable<void> {
    for (int round = 0; round < 1000; ++round) {
      // Threshold 5 of 4 good shares: every holder must be heard, then too_few_shares.
      auto fetching = fetch_key_shares(me, system_clock(), verifier, client, applied, {},
                                       std::chrono::seconds(5), own);
      auto got = co_await std::move(fetching);
      if (!got && got.error().code == "too_few_shares" &&
          got.error().message.find("got 4 of 5") != std::string::npos) {
        ++too_few;
      } else if (got) {
        ++wrong_count;
      }
    }
  });
  ASSERT_TRUE(ended) << "a key-share fetch never returned";
  EXPECT_EQ(too_few, 1000u);
  EXPECT_EQ(wrong_count, 0u);
  client.shutdown();
  loop.stop();
}

}  // namespace
}  // namespace beemesh::apply
