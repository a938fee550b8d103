// fetch_key_shares(): which holders a deploying node asks. It asks k of the n holders, the
// next one in place of each that fails, and every other one once the first have been silent
// for the hedge delay. Every holder here is this node (read by `own`, no RPC), so what is
// asked, in which order, and what it answers is under the test's control.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <set>
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

using std::chrono::milliseconds;

constexpr auto kDeadline = std::chrono::seconds(30);
constexpr auto kNoHedge = std::chrono::seconds(600);  // longer than any case here

enum class Answer { kShare, kFailure, kSilent };

class ShareFetch : public ::testing::Test {
 protected:
  ~ShareFetch() override {
    release_silent();
    client_.shutdown();
    loop_.stop();
  }

  // n holders (share indexes 1..n), all this node; `answers[i]` is what holder i + 1 does.
  Result<std::vector<crypto::KeyShare>> fetch(std::vector<Answer> answers, size_t threshold,
                                              milliseconds hedge) {
    protocol::AppliedManifest applied;
    applied.manifest_id = "m";
    applied.threshold = static_cast<uint32_t>(threshold);
    for (size_t i = 0; i < answers.size(); ++i) {
      protocol::ShareHolder h;
      h.node_id = "holder-" + std::to_string(i + 1);
      h.node_public_key = me_.public_key();
      h.share_index = static_cast<uint8_t>(i + 1);
      applied.share_holders.push_back(h);
    }
    OwnShareReader own =
        [this,
         answers](const protocol::ShareHolder& h) -> asio::awaitable<Result<crypto::KeyShare>> {
      const Answer answer = answers[h.share_index - 1];
      auto answering = await_callback<Result<crypto::KeyShare>>(
          [this, answer,
           index = h.share_index](std::function<void(Result<crypto::KeyShare>)> done) {
            std::lock_guard lock(mutex_);
            asked_.push_back(index);
            if (answer == Answer::kShare) {
              done(crypto::KeyShare(index, {}));
            } else if (answer == Answer::kFailure) {
              done(make_error("not_found", "no share"));
            } else {
              silent_.push_back(std::move(done));  // answers when the test ends
            }
          });
      co_return co_await std::move(answering);
    };
    std::promise<Result<std::vector<crypto::KeyShare>>> result;
    auto future = result.get_future();
    asio::co_spawn(
        loop_.executor(),
        [&]() -> asio::awaitable<void> {
          auto fetching = fetch_key_shares(me_, system_clock(), verifier_, client_, applied, {},
                                           std::chrono::seconds(5), own, nullptr, hedge);
          result.set_value(co_await std::move(fetching));
        },
        asio::detached);
    if (future.wait_for(kDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "the fetch did not end";
      return make_error("test", "the fetch did not end");
    }
    return future.get();
  }

  std::vector<uint8_t> asked() {
    std::lock_guard lock(mutex_);
    return asked_;
  }

  // The holders asked, sorted: the first k are asked at once from a multi-thread loop, so the
  // order in which they record themselves is not the order the fetch chose them in.
  std::vector<uint8_t> asked_sorted() {
    auto order = asked();
    std::sort(order.begin(), order.end());
    return order;
  }

 private:
  void release_silent() {
    std::vector<std::function<void(Result<crypto::KeyShare>)>> silent;
    {
      std::lock_guard lock(mutex_);
      silent.swap(silent_);
    }
    for (auto& done : silent) done(make_error("timeout", "released by the test"));
  }

  net::EventLoop loop_{2};
  crypto::Identity me_ = crypto::Identity::generate();
  crypto::EnvelopeVerifier verifier_{system_clock()};
  net::Client client_{loop_};
  std::mutex mutex_;
  std::vector<uint8_t> asked_;                                         // guarded by mutex_
  std::vector<std::function<void(Result<crypto::KeyShare>)>> silent_;  // guarded by mutex_
};

TEST_F(ShareFetch, OnlyKHoldersAreAskedWhenTheyAllAnswer) {
  auto got = fetch({Answer::kShare, Answer::kShare, Answer::kShare, Answer::kShare, Answer::kShare},
                   3, kNoHedge);

  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->size(), 3u);
  EXPECT_EQ(asked_sorted(), (std::vector<uint8_t>{1, 2, 3}));
}

TEST_F(ShareFetch, AHolderThatFailsIsReplacedByTheNextOne) {
  auto got =
      fetch({Answer::kShare, Answer::kFailure, Answer::kShare, Answer::kShare, Answer::kShare}, 3,
            kNoHedge);

  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->size(), 3u);
  EXPECT_EQ(asked_sorted(), (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST_F(ShareFetch, HoldersSilentUntilTheHedgeAreJoinedByEveryOtherHolder) {
  // Without the hedge the fetch would wait for holders 1 and 2 until their timeout.
  auto got =
      fetch({Answer::kSilent, Answer::kSilent, Answer::kShare, Answer::kShare, Answer::kShare}, 3,
            milliseconds(50));

  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->size(), 3u);
  const auto order = asked();
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(std::set<uint8_t>(order.begin(), order.begin() + 3), (std::set<uint8_t>{1, 2, 3}));
  EXPECT_EQ(std::set<uint8_t>(order.begin() + 3, order.end()), (std::set<uint8_t>{4, 5}));
}

TEST_F(ShareFetch, TooFewSharesOnceEveryHolderFailedNamesEachFailure) {
  auto got =
      fetch({Answer::kFailure, Answer::kShare, Answer::kFailure, Answer::kFailure}, 2, kNoHedge);

  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, "too_few_shares");
  EXPECT_NE(got.error().message.find("got 1 of 2"), std::string::npos) << got.error().message;
  EXPECT_NE(got.error().message.find("holder-4"), std::string::npos) << got.error().message;
  EXPECT_EQ(asked().size(), 4u);
}

}  // namespace
}  // namespace beemesh::apply
