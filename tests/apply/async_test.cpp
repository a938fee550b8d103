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
#include "apply/share_batcher.h"
#include "apply/share_fetch.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/manifest_crypto.h"
#include "net/client.h"
#include "net/event_loop.h"
#include "net/protocols.h"
#include "net/server.h"

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

// What a holder answers to a KeyShareRequest: the share (index as asked, `secret`), sealed
// to the signer. The referenced arguments outlive the server.
asio::awaitable<Result<Bytes>> answer_single(
    const crypto::Identity& holder, crypto::EnvelopeVerifier& verifier,
    const std::array<uint8_t, crypto::kSymmetricKeySize>& secret, Bytes bytes) {
  auto req = crypto::open_message<protocol::KeyShareRequest>(verifier, bytes);
  if (!req) co_return req.error();
  auto recipient = crypto::x25519_of(req->envelope.signer);
  if (!recipient) co_return recipient.error();
  protocol::KeyShareResponse response;
  response.request_id = req->message.request_id;
  response.manifest_id = req->message.manifest_id;
  response.ok = true;
  response.share_index = req->message.share_index;
  response.sealed_share =
      crypto::seal_share(crypto::KeyShare(req->message.share_index, secret), *recipient);
  co_return crypto::sign_message(holder, response, system_clock());
}

// A holder that predates key-share batches serves only "keyshare": the batcher's request
// gets "unknown_protocol" and the share is asked for again with a single KeyShareRequest.
TEST(KeyShareBatcherFallback, HolderWithoutBatchesIsAskedWithASingleRequest) {
  net::EventLoop loop(2);
  const auto me = crypto::Identity::generate();
  const auto holder = crypto::Identity::generate();
  std::array<uint8_t, crypto::kSymmetricKeySize> secret{};
  secret.fill(0x5a);
  std::atomic<int> singles{0};
  net::Server server(loop);
  crypto::EnvelopeVerifier holder_verifier(system_clock());
  ASSERT_TRUE(server.handle(net::protocols::kKeyShare, [&](const net::PeerInfo&, Bytes bytes) {
    ++singles;
    return answer_single(holder, holder_verifier, secret, std::move(bytes));
  }));
  auto port = server.listen();
  ASSERT_TRUE(port) << port.error().to_string();

  crypto::EnvelopeVerifier verifier(system_clock());
  net::Client client(loop);
  KeyShareBatcher batcher(me, system_clock(), verifier, client);
  protocol::AppliedManifest applied;
  applied.manifest_id = "m";
  applied.threshold = 1;
  protocol::ShareHolder h;
  h.node_id = holder.node_id();
  h.node_public_key = holder.public_key();
  h.rpc_endpoint = "127.0.0.1:" + std::to_string(*port);
  h.share_index = 3;
  applied.share_holders.push_back(h);

  Result<std::vector<crypto::KeyShare>> got = make_error("not_run", "");
  const bool ended = run_on(loop, [&]() -> asio::awaitable<void> {
    auto fetching = fetch_key_shares(me, system_clock(), verifier, client, applied, {},
                                     std::chrono::seconds(10), {}, &batcher);
    got = co_await std::move(fetching);
  });
  ASSERT_TRUE(ended) << "the key-share fetch never returned";
  ASSERT_TRUE(got) << got.error().to_string();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].index, 3);
  EXPECT_EQ((*got)[0].data, secret);
  EXPECT_EQ(batcher.stats().batches, 1u) << "the batch was tried first";
  EXPECT_EQ(singles.load(), 1) << "then one single request";
  client.shutdown();
  loop.stop();
}

}  // namespace
}  // namespace beemesh::apply
