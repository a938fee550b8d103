// The epoll loop runs DHT nodes as drivers: when their socket received, when the time their step
// asked for comes, when poked; never two at once; never after undrive().
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dht/epoll_socket.h"
#include "dht/opendht_dht.h"

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;
using Clock = EpollLoop::Clock;

constexpr uint32_t kNet = 0x7e570e02;

// Polls `done` every millisecond for up to `deadline`.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds deadline = 5s) {
  const auto until = Clock::now() + deadline;
  while (!done()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::shared_ptr<EpollLoop> started_loop() {
  auto loop = EpollLoop::start();
  EXPECT_TRUE(loop.ok()) << loop.error().to_string();
  return loop.ok() ? std::move(loop).value() : nullptr;
}

// A sender and a receiver on 127.0.0.1; the receiver opened for `driver` (0: none).
struct SocketPair {
  std::unique_ptr<EpollSocket> sender;
  std::unique_ptr<EpollSocket> receiver;
  bool ok() const { return sender && receiver; }
  // Sends {"a": {}} (shaped like a DHT message) to the receiver; 0 or an errno value.
  int send() {
    static const std::string msg(
        "\x81\xa1"
        "a\x80",
        4);
    return sender->sendTo(receiver->getBound(AF_INET), reinterpret_cast<const uint8_t*>(msg.data()),
                          msg.size(), false);
  }
};

SocketPair socket_pair(const std::shared_ptr<EpollLoop>& loop, uint64_t driver = 0) {
  const auto v4 = ::dht::SockAddr::resolve("127.0.0.1", "0").front();
  auto sender = EpollSocket::open(loop, v4, {});
  auto receiver = EpollSocket::open(loop, v4, {}, driver);
  if (!sender.ok() || !receiver.ok()) return {};
  return {std::move(sender).value(), std::move(receiver).value()};
}

// A step that counts its runs and asks for nothing more (step()), or to run again after
// `period` (every()).
struct Counter {
  std::atomic<int> runs{0};
  EpollLoop::Step step() {
    return [this] {
      ++runs;
      return Clock::time_point::max();
    };
  }
  EpollLoop::Step every(std::chrono::milliseconds period) {
    return [this, period] {
      ++runs;
      return Clock::now() + period;
    };
  }
};

TEST(EpollDriverTest, ADriverDoesNotRunUntilPoked) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  Counter c;
  const uint64_t d = loop->drive(c.step());
  EXPECT_NE(d, 0u);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(c.runs, 0);
  loop->poke(d);
  EXPECT_TRUE(eventually([&] { return c.runs == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(c.runs, 1) << "time_point::max(): not again until woken";
  loop->undrive(d);
}

TEST(EpollDriverTest, ADriverRunsAfterASocketOpenedForItReceives) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  Counter c;
  const uint64_t d = loop->drive(c.step());
  auto sockets = socket_pair(loop, d);
  ASSERT_TRUE(sockets.ok());
  std::atomic<int> delivered{0};
  std::atomic<int> runs_at_delivery{-1};
  sockets.receiver->setOnReceive([&](::dht::net::PacketList&& packets) {
    runs_at_delivery = c.runs.load();
    delivered += static_cast<int>(packets.size());
    return ::dht::net::PacketList{};
  });
  ASSERT_EQ(sockets.send(), 0);
  EXPECT_TRUE(eventually([&] { return c.runs == 1; }));
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(runs_at_delivery, 0) << "the step runs after the datagrams were handed over";
  loop->undrive(d);
}

TEST(EpollDriverTest, ADriverRunsAgainWhenTheTimeItReturnedComes) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  std::atomic<int> runs{0};
  std::atomic<int64_t> late_ms{-1};
  Clock::time_point asked{};
  const uint64_t d = loop->drive([&] {
    const auto now = Clock::now();
    if (++runs == 2) {
      late_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - asked).count();
    }
    if (runs >= 2) return Clock::time_point::max();
    asked = now + 100ms;
    return asked;
  });
  loop->poke(d);
  EXPECT_TRUE(eventually([&] { return runs == 2; }));
  EXPECT_GE(late_ms, 0) << "never before its time";
  loop->undrive(d);
}

TEST(EpollDriverTest, ADriverAskingForAPastTimeRunsAgainButNotInABusyLoop) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  std::atomic<int> runs{0};
  const uint64_t d = loop->drive([&] {
    ++runs;
    return Clock::time_point{};  // "now", forever
  });
  loop->poke(d);
  std::this_thread::sleep_for(200ms);
  loop->undrive(d);
  EXPECT_GE(runs, 2);
  EXPECT_LE(runs, 200 / kMinStepGap.count() + 1);
}

TEST(EpollDriverTest, APokeFromManyThreadsRunsTheStepAndNeverTwoStepsAtOnce) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> runs{0};
  const auto step = [&] {
    if (++inside > 1) ++overlaps;
    std::this_thread::sleep_for(100us);
    --inside;
    ++runs;
    return Clock::time_point::max();
  };
  const uint64_t a = loop->drive(step);
  const uint64_t b = loop->drive(step);
  std::vector<std::thread> pokers;
  for (int t = 0; t < 4; ++t) {
    pokers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) loop->poke((t + i) % 2 ? a : b);
    });
  }
  for (auto& t : pokers) t.join();
  const int before = runs;
  loop->poke(a);
  EXPECT_TRUE(eventually([&] { return runs > before; })) << "a poke after the others is never lost";
  EXPECT_EQ(overlaps, 0);
  loop->undrive(a);
  loop->undrive(b);
}

TEST(EpollDriverTest, AfterUndriveTheStepIsNotRunningAndNeverRunsAgain) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  std::promise<void> entered;
  std::atomic<bool> finished{false};
  std::atomic<int> runs{0};
  const uint64_t d = loop->drive([&] {
    if (++runs == 1) {
      entered.set_value();
      std::this_thread::sleep_for(100ms);
      finished = true;
    }
    return Clock::now();  // again at once, were it still driven
  });
  loop->poke(d);
  ASSERT_EQ(entered.get_future().wait_for(5s), std::future_status::ready);
  loop->undrive(d);
  EXPECT_TRUE(finished) << "undrive() waited for the running step";
  const int after = runs;
  loop->poke(d);  // an unknown id now: ignored
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(runs, after);
  EXPECT_EQ(loop->drivers(), 0u);
}

TEST(EpollDriverTest, ASocketThatBecomesReadableDuringALongTurnIsDrainedBeforeItsLaterSteps) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  std::mutex mutex;
  std::vector<std::string> order;
  const auto note = [&](const std::string& what) {
    std::lock_guard lock(mutex);
    order.push_back(what);
  };
  const auto at = Clock::now() + 200ms;  // both steps due in the same turn
  std::promise<void> slow_entered;
  std::atomic<int> slow_runs{0};
  const uint64_t slow = loop->drive([&] {
    if (++slow_runs == 2) {
      note("slow step");
      slow_entered.set_value();
      std::this_thread::sleep_for(100ms);  // a long step: a datagram arrives meanwhile
    }
    return slow_runs == 1 ? at : Clock::time_point::max();
  });
  std::atomic<int> next_runs{0};
  const uint64_t next = loop->drive([&] {
    if (++next_runs == 2) note("next step");
    return next_runs == 1 ? at : Clock::time_point::max();
  });
  ASSERT_LT(slow, next) << "due at the same time: queued in id order";
  auto sockets = socket_pair(loop);
  ASSERT_TRUE(sockets.ok());
  sockets.receiver->setOnReceive([&](::dht::net::PacketList&&) {
    note("received");
    return ::dht::net::PacketList{};
  });
  loop->poke(slow);
  loop->poke(next);
  ASSERT_EQ(slow_entered.get_future().wait_for(5s), std::future_status::ready);
  ASSERT_EQ(sockets.send(), 0);
  EXPECT_TRUE(eventually([&] { return next_runs == 2; }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<std::string>{"slow step", "received", "next step"}));
  loop->undrive(slow);
  loop->undrive(next);
}

// Under steady traffic a turn never ends (its sockets keep becoming readable between steps):
// a poke must still be served in it, not after the traffic stops.
TEST(EpollDriverTest, APokeIsServedWhileSteadyTrafficKeepsATurnGoing) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  std::atomic<int> busy_steps{0};
  const uint64_t busy = loop->drive([&] {
    std::this_thread::sleep_for(2ms);  // each datagram's step takes a while
    ++busy_steps;
    return Clock::time_point::max();
  });
  std::atomic<bool> poked_ran{false};
  std::atomic<int> busy_steps_before_it{-1};
  const uint64_t poked = loop->drive([&] {
    busy_steps_before_it = busy_steps.load();
    poked_ran = true;
    return Clock::time_point::max();
  });
  auto sockets = socket_pair(loop, busy);
  ASSERT_TRUE(sockets.ok());
  sockets.receiver->setOnReceive([](::dht::net::PacketList&&) { return ::dht::net::PacketList{}; });
  std::atomic<bool> flooding{true};
  std::thread flood([&] {
    while (flooding) {
      sockets.send();
      std::this_thread::sleep_for(200us);  // faster than the steps: the turn goes on
    }
  });
  std::this_thread::sleep_for(100ms);  // the turn is under way
  const int busy_at_poke = busy_steps;
  loop->poke(poked);
  const bool served = eventually([&] { return poked_ran.load(); }, 5s);
  flooding = false;
  flood.join();
  ASSERT_TRUE(served);
  // Collected at the next drain between steps, queued behind the busy node at most once.
  EXPECT_LE(busy_steps_before_it - busy_at_poke, 3) << "the poke waited behind the traffic";
  loop->undrive(busy);
  loop->undrive(poked);
}

// A step that holds the loop makes the next deadline run late: the loop is behind.
TEST(EpollDriverTest, AStepRunKLoopBehindAfterItsDeadlineMarksTheLoopBehind) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  Counter ticker;
  const uint64_t t = loop->drive(ticker.every(10ms));
  const uint64_t blocker = loop->drive([] {
    std::this_thread::sleep_for(kLoopBehind + 200ms);
    return Clock::time_point::max();
  });
  loop->poke(t);
  ASSERT_TRUE(eventually([&] { return ticker.runs >= 3; }));
  EXPECT_EQ(loop->last_behind(), Clock::time_point{});
  const auto before = Clock::now();
  loop->poke(blocker);
  ASSERT_TRUE(eventually([&] { return loop->last_behind() != Clock::time_point{}; }));
  EXPECT_GE(loop->last_behind(), before + kLoopBehind);
  EXPECT_GE(loop->take_max_lateness(), kLoopBehind);
  EXPECT_LT(loop->take_max_lateness(), kLoopBehind);  // taken: from zero again
  loop->undrive(t);
  loop->undrive(blocker);
}

// Deadlines run on time (within the timer slack): the loop is not behind.
TEST(EpollDriverTest, ALoopThatRunsItsDeadlinesOnTimeIsNotBehind) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  Counter ticker;
  const uint64_t t = loop->drive(ticker.every(20ms));
  loop->poke(t);
  ASSERT_TRUE(eventually([&] { return ticker.runs >= 20; }));
  EXPECT_EQ(loop->last_behind(), Clock::time_point{});
  EXPECT_LT(loop->take_max_lateness(), kLoopBehind);
  loop->undrive(t);
}

TEST(EpollDriverTest, AStepThatThrowsRunsAgainLater) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  std::atomic<int> runs{0};
  const uint64_t d = loop->drive([&]() -> Clock::time_point {
    if (++runs == 1) throw std::runtime_error("first run fails");
    return Clock::time_point::max();
  });
  loop->poke(d);
  EXPECT_TRUE(eventually([&] { return runs == 2; }, 5s));
  loop->undrive(d);
}

TEST(EpollDriverTest, EachOpenDhtNodeIsADriverOfItsLoopUntilShutDown) {
  auto loop = started_loop();
  ASSERT_TRUE(loop);
  auto first = OpenDht::start(loopback_config(kNet), loop);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  auto second = OpenDht::start(loopback_config(kNet, {(*first)->endpoint()}), loop);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(loop->drivers(), 2u);
  EXPECT_TRUE(eventually([&] { return (*second)->node_count() >= 1; }, 10s))
      << "the nodes found each other with no thread of their own";
  (*second)->shutdown();
  EXPECT_EQ(loop->drivers(), 1u);
  (*first)->shutdown();
  EXPECT_EQ(loop->drivers(), 0u);
}

}  // namespace
}  // namespace beemesh::dht
