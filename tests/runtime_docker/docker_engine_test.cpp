// The Docker engine against two real Docker APIs: Debian's dockerd and Podman's
// Docker-compatible service. The same suite runs on each (parameterised); both daemons are
// started on private sockets by the global environment (real_daemons_env.cpp). The promises
// every engine shares (runtime.h) are tested once for all engines in tests/runtime_conformance.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "manifest/manifest.h"
#include "real_daemons_env.h"
#include "runtime/engines/docker/docker_engine.h"
#include "test_support.h"

namespace beemesh::runtime::docker {
namespace {

using namespace std::chrono_literals;
using test::api_get;
using test::containers_labelled;
using test::eventually;

constexpr int64_t kMi = 1024 * 1024;

std::string pod_yaml(const std::string& name, const std::string& container_yaml,
                     const std::string& restart_policy = "Always") {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\nspec:\n  restartPolicy: " + restart_policy + "\n  containers:\n" + container_yaml;
}

std::string httpd_container(int host_port, const std::string& page) {
  std::string ports = "    ports:\n    - containerPort: 8080\n";
  if (host_port > 0) ports += "      hostPort: " + std::to_string(host_port) + "\n";
  return "  - name: httpd\n"
         "    image: localhost/busybox:latest\n"
         "    command: [\"sh\", \"-c\"]\n"
         "    args: [\"mkdir -p /www && echo " +
         page + " > /www/index.html && exec httpd -f -v -p 8080 -h /www\"]\n" + ports;
}

std::string sh_container(const std::string& name, const std::string& script,
                         const std::string& extra = "") {
  return "  - name: " + name +
         "\n"
         "    image: localhost/busybox:latest\n"
         "    command: [\"sh\", \"-c\", \"" +
         script + "\"]\n" + extra;
}

class DockerEngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_NE(test::daemons(), nullptr) << test::daemons_error();
    socket_ = GetParam() == "dockerd" ? test::daemons()->docker_socket()
                                      : test::daemons()->podman_socket();
    DockerEngineOptions options;
    options.name = GetParam() == "dockerd" ? "docker" : "podman-compat";
    options.socket_path = socket_;
    engine_ = std::make_unique<DockerEngine>(options);
  }

  void TearDown() override {
    if (!engine_) return;
    for (const auto& id : deployed_) {
      auto removed = engine_->remove(id);
      EXPECT_TRUE(removed.ok()) << removed.error().to_string();
    }
  }

  DeploymentConfig config(const std::string& test_name) {
    DeploymentConfig c;
    c.manifest_id = "m-" + test_name;
    c.workload_id = new_workload_id();
    c.labels["beemesh.io/test-run"] = test::daemons()->run_id();
    return c;
  }

  Result<WorkloadInfo> deploy(const std::string& yaml, const DeploymentConfig& c) {
    auto info = engine_->deploy(yaml, c);
    if (info) deployed_.push_back(info->id);
    return info;
  }

  std::vector<std::string> workload_containers(const std::string& workload_id) {
    auto ids = containers_labelled(socket_, std::string(manifest::kWorkloadIdLabel), workload_id);
    EXPECT_TRUE(ids.ok()) << ids.error().to_string();
    return ids ? ids.value() : std::vector<std::string>{};
  }

  nlohmann::json inspect(const std::string& container_name) {
    auto json = api_get(socket_, "/containers/" + container_name + "/json");
    EXPECT_TRUE(json.ok()) << json.error().to_string();
    return json ? json.value() : nlohmann::json::object();
  }

  std::string socket_;
  std::unique_ptr<DockerEngine> engine_;
  std::vector<std::string> deployed_;
};

TEST_P(DockerEngineTest, IsAvailableWhenTheSocketAnswersPing) {
  EXPECT_TRUE(engine_->is_available());
}

TEST_P(DockerEngineTest, ServesAnHttpdPodOnItsHostPortBoundToLoopback) {
  const int port = test::free_loopback_port();
  auto c = config("web");
  c.port_mappings.push_back({"", "httpd", 8080, port, "TCP", "127.0.0.1"});
  auto info = deploy(pod_yaml("web", httpd_container(port, "hello-" + GetParam())), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->state, WorkloadState::Running) << info->message;
  ASSERT_EQ(info->pods.size(), 1u);

  auto page = test::http_get_eventually(port, "/", 10s);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page.value(), "hello-" + GetParam() + "\n");

  ASSERT_EQ(info->ports.size(), 1u);
  EXPECT_EQ(info->ports[0], (PortMapping{info->pods[0], "httpd", 8080, port, "TCP", "127.0.0.1"}));
  auto pause = inspect(info->pods[0]);
  EXPECT_EQ(pause["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"], "127.0.0.1");
}

TEST_P(DockerEngineTest, PublishPortsPutsUndeclaredHostPortsOnAFreePortOfTheGivenAddress) {
  auto c = config("publish");
  c.publish_ports = true;
  c.publish_host_ip = "127.0.0.1";
  auto info = deploy(pod_yaml("pub", httpd_container(0, "published")), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->ports.size(), 1u);
  EXPECT_EQ(info->ports[0].host_ip, "127.0.0.1");
  ASSERT_GT(info->ports[0].host_port, 0);
  auto page = test::http_get_eventually(info->ports[0].host_port, "/", 10s);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page.value(), "published\n");
}

TEST_P(DockerEngineTest, ConfigLimitsAreSetOnEveryContainerAsMemoryAndNanoCpus) {
  auto c = config("limits");
  c.memory_limit_bytes = 64 * kMi;
  c.cpu_limit_millis = 250;
  auto info = deploy(
      pod_yaml("lim", sh_container("a", "exec sleep 3600") + sh_container("b", "exec sleep 3600")),
      c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  for (const std::string name : {"a", "b"}) {
    auto json = inspect(info->pods[0] + "-" + name);
    EXPECT_EQ(json["HostConfig"]["Memory"], 64 * kMi) << name;
    EXPECT_EQ(json["HostConfig"]["NanoCpus"], 250'000'000) << name;
  }
}

TEST_P(DockerEngineTest, ManifestLimitsApplyWhenTheConfigHasNone) {
  auto info = deploy(pod_yaml("mlim", sh_container("a", "exec sleep 3600",
                                                   "    resources:\n      limits:\n"
                                                   "        memory: 32Mi\n        cpu: 100m\n")),
                     config("manifest-limits"));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  auto json = inspect(info->pods[0] + "-a");
  EXPECT_EQ(json["HostConfig"]["Memory"], 32 * kMi);
  EXPECT_EQ(json["HostConfig"]["NanoCpus"], 100'000'000);
}

TEST_P(DockerEngineTest, EveryContainerRunsWithNprocAndNofileUlimitsAndTheRestartPolicy) {
  auto info =
      deploy(pod_yaml("ul", sh_container("a", "exec sleep 3600"), "OnFailure"), config("ulimits"));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->restart_policy, "OnFailure");
  auto json = inspect(info->pods[0] + "-a");
  EXPECT_EQ(json["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
  bool nproc = false;  // Podman reports the name as "RLIMIT_NPROC"
  for (const auto& u : json["HostConfig"]["Ulimits"]) {
    if (u["Name"] == "nproc" || u["Name"] == "RLIMIT_NPROC") {
      nproc = u["Hard"].get<int64_t>() <= 32768;
    }
  }
  EXPECT_TRUE(nproc) << json["HostConfig"]["Ulimits"].dump();
  EXPECT_EQ(json["State"]["Status"], "running");
}

TEST_P(DockerEngineTest, ContainerGetsManifestEnvOverriddenByConfigEnvAndItsArgs) {
  auto c = config("env");
  c.env = {{"B", "from-config"}, {"C", "from-config"}};
  auto info = deploy(pod_yaml("env", sh_container("a", "echo A=$A B=$B C=$C; exec sleep 3600",
                                                  "    env:\n    - name: A\n      value: m-a\n"
                                                  "    - name: B\n      value: m-b\n")),
                     c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  std::string logs;
  EXPECT_TRUE(eventually(
      [&] {
        auto l = engine_->logs(info->id, 0);
        logs = l ? l.value() : l.error().to_string();
        return logs.find("C=") != std::string::npos;
      },
      10s));
  EXPECT_EQ(logs, "A=m-a B=from-config C=from-config\n");
}

TEST_P(DockerEngineTest, LogsJoinStdoutAndStderrAndHonourTail) {
  auto info = deploy(pod_yaml("logs", sh_container("a",
                                                   "echo out-1; echo err-1 >&2; sleep 0.5; "
                                                   "echo out-2; exec sleep 3600")),
                     config("logs"));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  std::string logs;
  ASSERT_TRUE(eventually(
      [&] {
        auto l = engine_->logs(info->id, 0);
        logs = l ? l.value() : l.error().to_string();
        return logs.find("out-2") != std::string::npos;
      },
      10s))
      << logs;
  EXPECT_NE(logs.find("out-1\n"), std::string::npos) << logs;
  EXPECT_NE(logs.find("err-1\n"), std::string::npos) << logs;
  auto last = engine_->logs(info->id, 1);
  ASSERT_TRUE(last.ok()) << last.error().to_string();
  EXPECT_EQ(last.value(), "out-2\n");
}

TEST_P(DockerEngineTest, StatusReportsAnExitedContainerAsFailedAndRestartRunsItAgain) {
  // The first run exits 3; once restarted (its file system kept) it keeps running.
  auto info = deploy(
      pod_yaml("crash",
               sh_container("a", "test -f /ran && exec sleep 3600; touch /ran; sleep 1; exit 3"),
               "Never"),
      config("crash"));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  Result<WorkloadInfo> status = make_error("none", "no status yet");
  ASSERT_TRUE(eventually(
      [&] {
        status = engine_->status(info->id);
        return status && status->state == WorkloadState::Failed;
      },
      15s));
  EXPECT_EQ(status->message, "container a of pod " + info->pods[0] + " exited (3)");
  EXPECT_EQ(status->manifest_id, "m-crash");
  EXPECT_EQ(status->engine, engine_->name());

  auto restarted = engine_->restart(info->id);
  ASSERT_TRUE(restarted.ok()) << restarted.error().to_string();
  EXPECT_TRUE(eventually(
      [&] {
        status = engine_->status(info->id);
        return status && status->state == WorkloadState::Running;
      },
      10s))
      << (status ? status->message : status.error().to_string());
}

TEST_P(DockerEngineTest, RestartAfterThePauseContainerDiedServesThePageAgain) {
  const int port = test::free_loopback_port();
  auto c = config("pause-died");
  c.port_mappings.push_back({"", "httpd", 8080, port, "TCP", "127.0.0.1"});
  auto info = deploy(pod_yaml("pd", httpd_container(port, "again"), "Never"), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_TRUE(test::http_get_eventually(port, "/", 10s).ok());

  test::UnixHttpPost kill(socket_, "/containers/" + info->pods[0] + "/kill");
  ASSERT_TRUE(kill.ok()) << kill.error();
  Result<WorkloadInfo> status = make_error("none", "no status yet");
  ASSERT_TRUE(eventually(
      [&] {
        status = engine_->status(info->id);
        return status && status->state == WorkloadState::Failed;
      },
      10s));
  EXPECT_EQ(status->message, "pause container of pod " + info->pods[0] + " exited (137)");

  auto restarted = engine_->restart(info->id);
  ASSERT_TRUE(restarted.ok()) << restarted.error().to_string();
  auto page = test::http_get_eventually(port, "/", 10s);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page.value(), "again\n");
  status = engine_->status(info->id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, WorkloadState::Running) << status->message;
}

TEST_P(DockerEngineTest, ListFindsEachReplicaOfTheWorkloadByLabel) {
  auto c = config("list");
  c.replicas = 2;
  auto info = deploy(pod_yaml("rep", sh_container("a", "exec sleep 3600")), c);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->pods.size(), 2u);
  EXPECT_NE(info->pods[0], info->pods[1]);

  auto all = engine_->list();
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  auto mine = std::find_if(all->begin(), all->end(),
                           [&](const WorkloadInfo& w) { return w.id == info->id; });
  ASSERT_NE(mine, all->end());
  EXPECT_EQ(mine->manifest_id, "m-list");
  EXPECT_EQ(mine->pods, info->pods);
  EXPECT_EQ(mine->state, WorkloadState::Running) << mine->message;
  EXPECT_EQ(workload_containers(info->id).size(), 4u);  // 2 x (pause + a)
}

TEST_P(DockerEngineTest, RemoveLeavesNoContainerAndStatusThenSaysNotFound) {
  auto info = deploy(
      pod_yaml("rm", sh_container("a", "exec sleep 3600") + sh_container("b", "exec sleep 3600")),
      config("remove"));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(workload_containers(info->id).size(), 3u);

  auto removed = engine_->remove(info->id);
  ASSERT_TRUE(removed.ok()) << removed.error().to_string();
  EXPECT_TRUE(workload_containers(info->id).empty());
  auto status = engine_->status(info->id);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "not_found");
  EXPECT_TRUE(engine_->remove(info->id).ok()) << "removing twice is not an error";
}

TEST_P(DockerEngineTest, MissingImageFailsCleanlyWithNothingLeftBehind) {
  auto c = config("missing");
  std::string yaml = pod_yaml("miss", sh_container("a", "exec sleep 3600") +
                                          "  - name: b\n    image: localhost/no-such-image:v1\n");
  auto info = deploy(yaml, c);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "image_not_found");
  EXPECT_NE(info.error().message.find("localhost/no-such-image:v1"), std::string::npos)
      << info.error().message;
  EXPECT_TRUE(workload_containers(c.workload_id).empty());
}

TEST_P(DockerEngineTest, AFailedStartRemovesEveryContainerTheDeployCreated) {
  // Pod 0 starts; pod 1 wants a host port that is taken, so its start fails.
  test::PortHolder taken;
  ASSERT_GT(taken.port(), 0);
  auto c = config("cleanup");
  c.replicas = 2;
  std::string yaml = pod_yaml("busy", httpd_container(0, "busy"));
  auto parsed = manifest::parse(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  manifest::RewriteOptions naming;
  naming.workload_id = c.workload_id;
  naming.replicas = 2;
  auto names = manifest::pod_names(*parsed, naming);
  ASSERT_EQ(names.size(), 2u);
  c.port_mappings.push_back(
      {names[0], "httpd", 8080, test::free_loopback_port(), "TCP", "127.0.0.1"});
  c.port_mappings.push_back({names[1], "httpd", 8080, taken.port(), "TCP", "127.0.0.1"});

  auto info = deploy(yaml, c);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "deploy_failed") << info.error().to_string();
  EXPECT_TRUE(workload_containers(c.workload_id).empty());
}

INSTANTIATE_TEST_SUITE_P(RealDockerApis, DockerEngineTest, ::testing::Values("dockerd", "podman"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace beemesh::runtime::docker
