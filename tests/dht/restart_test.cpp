// Gets, puts and id queries made on a node while its runner restarts in place (what the
// rejoin watchdog does after an isolation): real OpenDHT nodes on loopback. Every operation is
// reported once, and never on the thread that made it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dht/opendht_dht.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kNet = 0x7e570014;

// Set while this thread is inside a call of the node: a callback that sees it set runs on the
// caller's thread.
thread_local bool in_call = false;

class RestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a_config = loopback_config(kNet);
    a_config.rejoin_check = 0ms;  // restarts come from the test alone
    auto a = OpenDht::start(a_config);
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    node = std::move(a).value();
    auto p_config = loopback_config(kNet, {node->endpoint()});
    p_config.rejoin_check = 0ms;
    auto p = OpenDht::start(p_config);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    peer = std::move(p).value();
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (node->node_count() == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_GT(node->node_count(), 0u);
  }

  // One operation's reports: how many, and how many on the caller's thread.
  struct Reports {
    std::atomic<int> count{0};
    std::atomic<int> on_caller{0};
    void report() {
      ++count;
      if (in_call) ++on_caller;
    }
  };

  // Makes `n` operations (get, put, get_ids in turn) while `restarts` restarts run on another
  // thread; returns each operation's reports once every one was reported or 30 s passed.
  std::vector<std::shared_ptr<Reports>> operate_across_restarts(int n, int restarts) {
    std::atomic<bool> done{false};
    std::thread restarter([&] {
      for (int i = 0; i < restarts && !done; ++i) {
        EXPECT_TRUE(node->restart());
        std::this_thread::sleep_for(20ms);
      }
    });
    std::vector<std::shared_ptr<Reports>> all;
    for (int i = 0; i < n; ++i) {
      auto r = std::make_shared<Reports>();
      all.push_back(r);
      const Key key = Key::of("beemesh/test/restart/" + std::to_string(i % 16));
      in_call = true;
      switch (i % 3) {
        case 0:
          node->get(key, [r](Result<std::vector<Value>>) { r->report(); });
          break;
        case 1:
          node->put(key, Value{0, ValueKind::raw, to_bytes("v" + std::to_string(i))},
                    [r](Result<void>) { r->report(); });
          break;
        default:
          node->get_ids(key, [r](Result<std::vector<uint64_t>>) { r->report(); });
      }
      in_call = false;
      std::this_thread::sleep_for(1ms);
    }
    restarter.join();
    done = true;
    const auto until = std::chrono::steady_clock::now() + 30s;
    auto all_reported = [&] {
      for (const auto& r : all) {
        if (r->count == 0) return false;
      }
      return true;
    };
    while (!all_reported() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(50ms);
    }
    return all;
  }

  std::unique_ptr<OpenDht> node;
  std::unique_ptr<OpenDht> peer;
};

TEST_F(RestartTest, EveryOperationMadeAcrossRestartsIsReportedExactlyOnce) {
  const auto all = operate_across_restarts(600, 25);
  int never = 0;
  int twice = 0;
  for (const auto& r : all) {
    never += r->count == 0 ? 1 : 0;
    twice += r->count > 1 ? 1 : 0;
  }
  EXPECT_EQ(never, 0) << "of " << all.size() << " operations, across "
                      << node->stats().runner_restarts << " restarts";
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(node->stats().runner_restarts, 25u);
}

TEST_F(RestartTest, NoOperationIsReportedOnTheThreadThatMadeIt) {
  const auto all = operate_across_restarts(600, 25);
  int on_caller = 0;
  for (const auto& r : all) on_caller += r->on_caller;
  EXPECT_EQ(on_caller, 0);
}

TEST_F(RestartTest, AGetAfterTheRestartsFindsWhatWasPutBefore) {
  ASSERT_TRUE(node->put_blocking(Key::of("beemesh/test/restart/kept"),
                                 Value{0, ValueKind::raw, to_bytes("kept")}, 5s)
                  .ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(node->restart());
  auto got = peer->get_blocking(Key::of("beemesh/test/restart/kept"), 5s);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(as_string((*got)[0].data), "kept");
}

TEST_F(RestartTest, RestartAfterShutdownDoesNothing) {
  node->shutdown();
  EXPECT_TRUE(node->restart());
  EXPECT_EQ(node->stats().runner_restarts, 0u);
}

}  // namespace
}  // namespace beemesh::dht
