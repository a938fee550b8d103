// The promises of runtime/runtime.h, one case each, run on every engine: Mock, Podman,
// Podman's Docker-compatible service (the Docker engine) and a real dockerd (the Docker
// engine). The real daemons run on private sockets (tests/runtime_docker/real_daemons.h);
// a daemon that cannot start makes the tests FAIL. Where an engine does not keep a promise
// the exception is named in engines_under_test.h, documented in docs/notes/runtime.md, and
// the case checks what the engine does instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engines_under_test.h"
#include "real_daemons_env.h"
#include "runtime/mock/mock_engine.h"
#include "runtime/runtime.h"
#include "test_support.h"

namespace beemesh::runtime {
namespace {

using namespace std::chrono_literals;
using test::eventually;
using test::Exception;

constexpr const char* kImage = "localhost/busybox:latest";

std::string container(const std::string& name, const std::string& script,
                      const std::string& image = kImage, const std::string& extra = "") {
  return "  - name: " + name + "\n    image: " + image + "\n    command: [\"sh\", \"-c\", \"" +
         script + "\"]\n" + extra;
}

std::string pod(const std::string& name, const std::string& containers,
                const std::string& restart_policy = "Always") {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\nspec:\n  restartPolicy: " + restart_policy + "\n  containers:\n" + containers;
}

std::string sleeper(const std::string& name) {
  return pod(name, container("main", "exec sleep 3600"));
}

bool has_id(const std::vector<WorkloadInfo>& list, const std::string& id) {
  return std::any_of(list.begin(), list.end(), [&](const auto& w) { return w.id == id; });
}

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    engine_spec_ = test::engine_under_test(GetParam());
    if (GetParam() != "mock") {
      ASSERT_NE(test::daemons(), nullptr) << test::daemons_error();
    }
    engine_ = engine_spec_.make();
    ASSERT_TRUE(engine_->is_available()) << GetParam() << " is not available";
  }

  void TearDown() override {
    if (!engine_) return;
    for (const auto& id : deployed_) {
      auto removed = engine_->remove(id);
      EXPECT_TRUE(removed.ok()) << removed.error().to_string();
    }
  }

  DeploymentConfig config(const std::string& manifest) {
    DeploymentConfig c;
    c.manifest_id = "conformance-" + manifest;
    c.workload_id = new_workload_id();
    if (test::daemons() != nullptr) c.labels["beemesh.io/test-run"] = test::daemons()->run_id();
    return c;
  }

  Result<WorkloadInfo> deploy(const std::string& yaml, const DeploymentConfig& c) {
    deployed_.push_back(c.workload_id);  // removed in TearDown even when the deploy failed
    return engine_->deploy(yaml, c);
  }

  // Everything the workload's containers printed, once `needle` shows up (or after 15 s).
  std::string logs_with(const std::string& id, const std::string& needle) {
    std::string text;
    eventually(
        [&] {
          auto logs = engine_->logs(id, 0);
          text = logs ? *logs : logs.error().to_string();
          return text.find(needle) != std::string::npos;
        },
        15s);
    return text;
  }

  MockEngine& mock() { return dynamic_cast<MockEngine&>(*engine_); }

  test::EngineUnderTest engine_spec_;
  std::shared_ptr<RuntimeEngine> engine_;
  std::vector<std::string> deployed_;
};

TEST_P(Conformance, DeployReturnsARunningWorkloadThatListFinds) {
  auto c = config("deploy");
  auto info = deploy(sleeper("deploy"), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->id, c.workload_id);
  EXPECT_EQ(info->manifest_id, c.manifest_id);
  EXPECT_EQ(info->engine, GetParam());
  EXPECT_EQ(info->state, WorkloadState::Running) << info->message;
  auto list = engine_->list();
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  EXPECT_TRUE(has_id(*list, c.workload_id));
}

TEST_P(Conformance, AFailedDeployLeavesNothingBehind) {
  auto c = config("failed");
  std::string yaml = pod(
      "failed", container("good", "exec sleep 3600") +
                    container("bad", "exec sleep 3600", "localhost/beemesh-does-not-exist:latest"));
  if (engine_spec_.fail_deploys) engine_spec_.fail_deploys(*engine_);
  auto info = deploy(yaml, c);
  ASSERT_FALSE(info.ok());
  auto status = engine_->status(c.workload_id);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "not_found");
  auto list = engine_->list();
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  EXPECT_FALSE(has_id(*list, c.workload_id));
}

TEST_P(Conformance, StatusOfAnUnknownIdIsNotFound) {
  auto status = engine_->status(new_workload_id());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "not_found");
}

TEST_P(Conformance, RemovingAnUnknownIdSucceeds) {
  auto removed = engine_->remove(new_workload_id());
  EXPECT_TRUE(removed.ok()) << removed.error().to_string();
}

TEST_P(Conformance, RemoveTakesTheWholeWorkloadAway) {
  auto c = config("remove");
  auto info = deploy(sleeper("remove"), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_TRUE(engine_->remove(c.workload_id).ok());
  auto status = engine_->status(c.workload_id);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "not_found");
  auto list = engine_->list();
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  EXPECT_FALSE(has_id(*list, c.workload_id));
}

TEST_P(Conformance, ANewEngineInstanceFindsWorkloadsByTheirLabels) {
  auto c = config("relabel");
  auto info = deploy(sleeper("relabel"), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  auto fresh = engine_spec_.make();
  auto list = fresh->list();
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  if (engine_spec_.excepts(Exception::kForgetsOnNewInstance)) {
    EXPECT_FALSE(has_id(*list, c.workload_id)) << "documented: Mock keeps workloads in memory";
    return;
  }
  auto found = std::find_if(list->begin(), list->end(),
                            [&](const auto& w) { return w.id == c.workload_id; });
  ASSERT_NE(found, list->end());
  EXPECT_EQ(found->manifest_id, c.manifest_id);
  auto status = fresh->status(c.workload_id);
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(status->state, WorkloadState::Running);
}

TEST_P(Conformance, ACallThatTimesOutGivesTimeout) {
  test::Stall stall;
  auto stalled = engine_spec_.make_stalled(stall, 300ms);
  auto started = std::chrono::steady_clock::now();
  auto status = stalled->status(new_workload_id());
  auto took = std::chrono::steady_clock::now() - started;
  if (engine_spec_.excepts(Exception::kNoExternalCalls)) {
    EXPECT_LT(took, 100ms) << "documented: Mock answers at once";
    return;
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "timeout") << status.error().to_string();
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(stalled->is_available());
}

TEST_P(Conformance, ConcurrentCallsAreSafe) {
  constexpr int kWorkloads = 3;
  std::vector<DeploymentConfig> configs;
  for (int i = 0; i < kWorkloads; ++i) configs.push_back(config("concurrent"));
  for (const auto& c : configs) deployed_.push_back(c.workload_id);
  std::vector<Result<WorkloadInfo>> results(kWorkloads, make_error("not_run", ""));
  std::atomic<bool> deploying{true};
  std::atomic<int> failed_queries{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkloads; ++i) {
    threads.emplace_back([&, i] {
      results[i] = engine_->deploy(sleeper("concurrent-" + std::to_string(i)), configs[i]);
    });
  }
  std::thread reader([&] {
    while (deploying) {
      if (!engine_->list().ok()) ++failed_queries;
      std::this_thread::sleep_for(20ms);
    }
  });
  for (auto& t : threads) t.join();
  deploying = false;
  reader.join();
  for (int i = 0; i < kWorkloads; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().to_string();
  }
  EXPECT_EQ(failed_queries, 0);
  auto list = engine_->list();
  ASSERT_TRUE(list.ok()) << list.error().to_string();
  for (const auto& c : configs) EXPECT_TRUE(has_id(*list, c.workload_id));

  std::vector<std::thread> removers;
  std::atomic<int> failed_removals{0};
  for (const auto& c : configs) {
    removers.emplace_back([&, id = c.workload_id] {
      if (!engine_->remove(id).ok()) ++failed_removals;
    });
  }
  for (auto& t : removers) t.join();
  EXPECT_EQ(failed_removals, 0);
  for (const auto& c : configs) {
    auto status = engine_->status(c.workload_id);
    EXPECT_TRUE(!status.ok() && status.error().code == "not_found") << c.workload_id;
  }
}

TEST_P(Conformance, AMappedPortIsReportedAndServes) {
  const int port = test::free_loopback_port();
  auto c = config("ports");
  c.port_mappings.push_back({"", "web", 8080, port, "TCP", "127.0.0.1"});
  auto info = deploy(pod("ports", container("web",
                                            "mkdir -p /www && echo hello-port > /www/index.html "
                                            "&& exec httpd -f -p 8080 -h /www",
                                            kImage, "    ports:\n    - containerPort: 8080\n")),
                     c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  auto mapped = std::find_if(info->ports.begin(), info->ports.end(),
                             [](const auto& p) { return p.container_port == 8080; });
  ASSERT_NE(mapped, info->ports.end());
  EXPECT_EQ(mapped->host_port, port);
  EXPECT_EQ(mapped->host_ip, "127.0.0.1");
  if (engine_spec_.excepts(Exception::kRunsNoContainers)) return;  // documented: nothing serves
  auto page = test::http_get_eventually(port, "/", 15s);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(*page, "hello-port\n");
}

TEST_P(Conformance, MemoryLimitIsEnforcedOnTheContainer) {
  auto c = config("limits");
  c.memory_limit_bytes = 64 * 1024 * 1024;
  c.cpu_limit_millis = 250;
  auto info = deploy(pod("limits", container("main",
                                             "echo limit=$(cat "
                                             "/sys/fs/cgroup/memory/memory.limit_in_bytes "
                                             "2>/dev/null || cat /sys/fs/cgroup/memory.max); "
                                             "exec sleep 3600")),
                     c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  if (engine_spec_.excepts(Exception::kRunsNoContainers)) {
    EXPECT_EQ(mock().get_workload_config(c.workload_id)->memory_limit_bytes, 64 * 1024 * 1024);
    return;
  }
  EXPECT_NE(logs_with(c.workload_id, "limit=").find("limit=67108864"), std::string::npos);
}

TEST_P(Conformance, EnvIsInjectedIntoEveryContainer) {
  auto c = config("env");
  c.env = {{"BEEMESH_CONFORMANCE", "yes-" + GetParam()}};
  auto info = deploy(pod("env", container("a", "echo a=$BEEMESH_CONFORMANCE; exec sleep 3600") +
                                    container("b", "echo b=$BEEMESH_CONFORMANCE; exec sleep 3600")),
                     c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  if (engine_spec_.excepts(Exception::kRunsNoContainers)) {
    EXPECT_EQ(mock().get_workload_config(c.workload_id)->env, c.env);
    return;
  }
  auto logs = logs_with(c.workload_id, "b=");
  logs = logs_with(c.workload_id, "a=");
  EXPECT_NE(logs.find("a=yes-" + GetParam()), std::string::npos) << logs;
  EXPECT_NE(logs.find("b=yes-" + GetParam()), std::string::npos) << logs;
}

TEST_P(Conformance, RestartRunsAStoppedWorkloadAgain) {
  auto c = config("restart");
  auto info = deploy(pod("restart", container("main", "echo run; sleep 1"), "Never"), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  if (engine_spec_.excepts(Exception::kRunsNoContainers)) {
    mock().set_state(c.workload_id, WorkloadState::Stopped);
  }
  ASSERT_TRUE(eventually(
      [&] {
        auto s = engine_->status(c.workload_id);
        return s && s->state == WorkloadState::Stopped;
      },
      20s));
  auto restarted = engine_->restart(c.workload_id);
  ASSERT_TRUE(restarted.ok()) << restarted.error().to_string();
  if (engine_spec_.excepts(Exception::kRunsNoContainers)) {
    EXPECT_EQ(engine_->status(c.workload_id)->state, WorkloadState::Running);
    EXPECT_EQ(mock().restart_calls(c.workload_id), 1);
    return;
  }
  std::string logs;
  EXPECT_TRUE(eventually(
      [&] {
        auto l = engine_->logs(c.workload_id, 0);
        logs = l ? *l : l.error().to_string();
        size_t runs = 0;
        for (size_t at = logs.find("run"); at != std::string::npos; at = logs.find("run", at + 1)) {
          ++runs;
        }
        return runs >= 2;
      },
      20s))
      << logs;
}

TEST_P(Conformance, RestartOfAnUnknownIdIsNotFound) {
  auto restarted = engine_->restart(new_workload_id());
  ASSERT_FALSE(restarted.ok());
  EXPECT_EQ(restarted.error().code, "not_found");
}

INSTANTIATE_TEST_SUITE_P(Engines, Conformance, ::testing::ValuesIn(test::engine_names()),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace beemesh::runtime
