// RunnerOps: the operations a DHT node handed to its runner, through a restart of the runner.
#include "dht/runner_ops.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

// What happened to the operations of a test, in order.
struct Log {
  std::vector<std::string> events;
  RunnerOps::Fail fail(const std::string& name) {
    return [this, name](const Error& e) { events.push_back(name + " failed: " + e.code); };
  }
  RunnerOps::Send send(const std::string& name) {
    return [this, name] { events.push_back(name + " sent"); };
  }
  // Begins an operation and submits it (sent now, or held while down).
  uint64_t start(RunnerOps& ops, const std::string& name) {
    const uint64_t id = ops.begin(fail(name));
    ops.submit(id, send(name));
    return id;
  }
};

TEST(RunnerOps, ASendRunsAtOnceWhileTheRunnerIsUp) {
  RunnerOps ops;
  Log log;
  log.start(ops, "get");
  EXPECT_EQ(log.events, std::vector<std::string>{"get sent"});
  EXPECT_EQ(ops.registered(), 1u);
  EXPECT_EQ(ops.held(), 0u);
}

TEST(RunnerOps, ASendMadeWhileDownIsHeldUntilUpInTheOrderTheyCame) {
  RunnerOps ops;
  Log log;
  ops.down();
  const uint64_t first = ops.begin(log.fail("first"));
  log.start(ops, "second");  // submitted before the first, begun after it
  ops.submit(first, log.send("first"));
  EXPECT_TRUE(log.events.empty());
  EXPECT_EQ(ops.held(), 2u);
  ops.up();
  EXPECT_EQ(log.events, (std::vector<std::string>{"first sent", "second sent"}));
  EXPECT_EQ(ops.held(), 0u);
  EXPECT_EQ(ops.registered(), 2u);  // sent, not answered yet
}

TEST(RunnerOps, FailSentFailsWhatTheOldRunnerTookAndKeepsTheHeldOnes) {
  RunnerOps ops;
  Log log;
  const uint64_t taken = log.start(ops, "taken");
  ops.down();
  const uint64_t waiting = log.start(ops, "waiting");
  EXPECT_EQ(ops.fail_sent(make_error("dht_restarted", "restart")), 1u);
  EXPECT_EQ(log.events, (std::vector<std::string>{"taken sent", "taken failed: dht_restarted"}));
  EXPECT_FALSE(ops.finish(taken));  // the old runner's late answer is not reported again
  ops.up();
  EXPECT_EQ(log.events.back(), "waiting sent");
  EXPECT_TRUE(ops.finish(waiting));
}

TEST(RunnerOps, AnOperationIsReportedOnceWhoeverComesFirst) {
  RunnerOps ops;
  Log log;
  const uint64_t id = log.start(ops, "put");
  EXPECT_TRUE(ops.finish(id));
  EXPECT_FALSE(ops.finish(id));
  EXPECT_EQ(ops.fail_sent(make_error("dht_restarted", "restart")), 0u);
  EXPECT_EQ(log.events, std::vector<std::string>{"put sent"});
}

TEST(RunnerOps, FailHeldFailsWhatARestartCouldNotSend) {
  RunnerOps ops;
  Log log;
  ops.down();
  log.start(ops, "get");
  EXPECT_EQ(ops.fail_held(make_error("dht_restart_failed", "no runner")), 1u);
  EXPECT_EQ(log.events, std::vector<std::string>{"get failed: dht_restart_failed"});
  EXPECT_EQ(ops.registered(), 0u);
  ops.up();  // nothing left to send
  EXPECT_EQ(log.events.size(), 1u);
}

TEST(RunnerOps, ASendThatThrowsWhenHeldFailsItsOperationAndTheOthersAreStillSent) {
  RunnerOps ops;
  Log log;
  ops.down();
  const uint64_t bad = ops.begin(log.fail("bad"));
  ops.submit(bad, [] { throw std::runtime_error("no memory"); });
  log.start(ops, "good");
  ops.up();
  EXPECT_EQ(log.events, (std::vector<std::string>{"good sent", "bad failed: dht_failed"}));
  EXPECT_FALSE(ops.finish(bad));
}

TEST(RunnerOps, ClearForgetsEverythingWithoutAReportAndSendsNothingMore) {
  RunnerOps ops;
  Log log;
  const uint64_t sent = log.start(ops, "sent");
  ops.down();
  log.start(ops, "held");
  ops.clear();
  ops.up();
  log.start(ops, "late");
  EXPECT_EQ(log.events, std::vector<std::string>{"sent sent"});
  EXPECT_EQ(ops.registered(), 0u);
  EXPECT_FALSE(ops.finish(sent));
}

TEST(RunnerOps, DownReturnsOnlyAfterASendInProgressReturned) {
  RunnerOps ops;
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  std::atomic<bool> down_returned{false};
  const uint64_t id = ops.begin({});
  std::thread sender([&] {
    ops.submit(id, [&] {
      entered = true;
      while (!release) std::this_thread::sleep_for(1ms);
    });
  });
  while (!entered) std::this_thread::sleep_for(1ms);
  std::thread stopper([&] {
    ops.down();
    down_returned = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(down_returned) << "down() returned while a send was still in the runner";
  release = true;
  sender.join();
  stopper.join();
  EXPECT_TRUE(down_returned);
}

}  // namespace
}  // namespace beemesh::dht
