// runtime::PodmanEngine on real Podman (label "podman"). Needs root Podman, runc, the
// project's CONTAINERS_CONF and localhost/busybox:latest (scripts/setup-podman.sh); every
// test FAILS when one of them is missing. Each test uses its own workload id (and so its own
// pod names) and its own host ports, and removes what it deployed. The promises every engine
// shares (runtime.h) are tested once for all engines in tests/runtime_conformance; these are
// the CLI engine's own.
#include "runtime/engines/podman/podman_engine.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/process.h"
#include "runtime/engines/podman/host_ports.h"

namespace beemesh::runtime {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kImage = "localhost/busybox:latest";

// A busybox httpd serving "<text>" on port 8080 (hostPort/hostIP optional).
std::string httpd_pod(const std::string& name, const std::string& text, int host_port = 0,
                      const std::string& host_ip = "") {
  std::string yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
                     "\nspec:\n  containers:\n  - name: web\n    image: " + kImage +
                     "\n    command: [\"sh\", \"-c\", \"mkdir -p /www && echo '" + text +
                     "' > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www\"]\n"
                     "    ports:\n    - containerPort: 8080\n";
  if (host_port != 0) yaml += "      hostPort: " + std::to_string(host_port) + "\n";
  if (!host_ip.empty()) yaml += "      hostIP: " + host_ip + "\n";
  return yaml;
}

std::string httpd_deployment(const std::string& name, int replicas,
                             const std::string& limits = "") {
  std::string yaml =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name +
      "\nspec:\n  replicas: " + std::to_string(replicas) +
      "\n  selector:\n    matchLabels: {app: " + name +
      "}\n  template:\n    metadata:\n      labels: {app: " + name +
      "}\n    spec:\n      containers:\n      - name: web\n        image: " + kImage +
      "\n        command: [\"sh\", \"-c\", \"mkdir -p /www && hostname > "
      "/www/index.html && exec httpd -f -p 8080 -h /www\"]\n"
      "        ports:\n        - containerPort: 8080\n";
  if (!limits.empty()) yaml += "        resources:\n          limits: " + limits + "\n";
  return yaml;
}

// GET / over a plain socket; retries while the server starts. Returns the body or "".
std::string http_get(const std::string& host, int port) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      std::string request = "GET / HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
        char buf[4096];
        ssize_t n = 0;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, n);
      }
    }
    ::close(fd);
    auto body = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.", 0) == 0 && body != std::string::npos) {
      return response.substr(body + 4);
    }
    std::this_thread::sleep_for(100ms);
  }
  return {};
}

// Runs podman (inheriting CONTAINERS_CONF) and returns its stdout; fails the test otherwise.
json podman_json(std::vector<std::string> args) {
  args.insert(args.begin(), "podman");
  auto result = run_process(args, ProcessOptions{.timeout = 30s});
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().to_string());
  if (!result.ok()) return json();
  EXPECT_EQ(result->exit_code, 0) << describe_command(args) << ": " << result->err;
  auto parsed = json::parse(result->out, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << result->out;
  return parsed;
}

std::size_t labelled(const std::string& what, const std::string& workload_id) {
  auto filter = "label=beemesh.io/workload-id=" + workload_id;
  json out = what == "pods" ? podman_json({"pod", "ps", "--format", "json", "--filter", filter})
                            : podman_json({"ps", "-a", "--format", "json", "--filter", filter});
  return out.is_array() ? out.size() : 0;
}

int free_port() {
  auto port = podman::pick_free_port("127.0.0.1", "TCP", {});
  EXPECT_TRUE(port.ok());
  return port.ok() ? *port : 0;
}

class PodmanEngineTest : public ::testing::Test {
 protected:
  static PodmanConfig engine_config() {
    PodmanConfig config;
    config.stop_grace_seconds = 0;  // busybox sh/httpd as PID 1 ignore SIGTERM
    return config;
  }

  void SetUp() override {
    ASSERT_TRUE(engine_.is_available())
        << "podman does not answer `podman version` (install it: scripts/install-deps.sh; "
           "CONTAINERS_CONF must point to config/containers.conf)";
    auto image = run_process({"podman", "image", "exists", kImage});
    ASSERT_TRUE(image.ok() && image->exit_code == 0)
        << kImage << " is missing: run scripts/setup-podman.sh";
  }

  void TearDown() override {
    for (const auto& id : ids_) {
      auto removed = engine_.remove(id);
      EXPECT_TRUE(removed.ok()) << removed.error().to_string();
    }
  }

  // A fresh workload id for this test, removed in TearDown.
  DeploymentConfig config_for_test() {
    DeploymentConfig config;
    config.workload_id = new_workload_id();
    config.manifest_id = "test-" + config.workload_id;
    config.replicas = 0;  // as the manifest says
    ids_.push_back(config.workload_id);
    return config;
  }

  PodmanEngine engine_{engine_config()};
  std::vector<std::string> ids_;
};

TEST_F(PodmanEngineTest, AFailedDeployLeavesNoSecretBehind) {
  auto config = config_for_test();
  const std::string yaml =
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bmsec\ntype: Opaque\n"
      "data:\n  token: aGVsbG8=\n---\n"
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: secret-leak\nspec:\n  containers:\n"
      "  - name: main\n    image: localhost/beemesh-does-not-exist:latest\n"
      "    command: [\"sh\", \"-c\", \"exec sleep 3600\"]\n";

  auto info = engine_.deploy(yaml, config);

  ASSERT_FALSE(info.ok());
  auto secrets = run_process({"podman", "secret", "ls", "--noheading", "--format", "{{.Name}}"});
  ASSERT_TRUE(secrets.ok() && secrets->exit_code == 0);
  EXPECT_EQ(secrets->out.find(config.workload_id), std::string::npos) << secrets->out;
}

TEST_F(PodmanEngineTest, PodWithAHostPortOnLoopbackServesItsPage) {
  const int port = free_port();
  auto config = config_for_test();
  auto info = engine_.deploy(httpd_pod("hello", "hello from a pod", port, "127.0.0.1"), config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->state, WorkloadState::Running);
  EXPECT_EQ(info->engine, "podman");
  ASSERT_EQ(info->ports.size(), 1u);
  EXPECT_EQ(info->ports[0].host_port, port);
  EXPECT_EQ(info->ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(info->ports[0].container, "web");
  EXPECT_EQ(http_get("127.0.0.1", port), "hello from a pod\n");
}

TEST_F(PodmanEngineTest, DeploymentWithThreeReplicasRunsThreePods) {
  auto config = config_for_test();
  auto info = engine_.deploy(httpd_deployment("trio", 3), config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->pods.size(), 3u);
  const std::string& tag = config.workload_id;  // whole, never cut
  EXPECT_EQ(info->pods[0], "trio-" + tag + "-0");
  EXPECT_EQ(info->pods[2], "trio-" + tag + "-2");
  EXPECT_EQ(labelled("pods", config.workload_id), 3u);
  auto pods = podman_json({"pod", "ps", "--format", "json", "--filter",
                           "label=beemesh.io/workload-id=" + config.workload_id});
  for (const auto& pod : pods) EXPECT_EQ(pod["Status"], "Running") << pod["Name"];
  auto status = engine_.status(config.workload_id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, WorkloadState::Running);
  EXPECT_EQ(status->pods, info->pods);
}

TEST_F(PodmanEngineTest, MemoryAndCpuLimitsReachTheContainer) {
  auto config = config_for_test();
  config.cpu_limit_millis = 250;  // overrides the manifest's 500m
  auto info = engine_.deploy(httpd_deployment("limits", 1, "{memory: 64Mi, cpu: 500m}"), config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  auto inspect = podman_json({"container", "inspect", info->pods[0] + "-web"});
  ASSERT_TRUE(inspect.is_array() && inspect.size() == 1u);
  const auto& host = inspect[0]["HostConfig"];
  EXPECT_EQ(host["Memory"].get<int64_t>(), 64 * 1024 * 1024);
  const bool cpu_set =
      host["NanoCpus"].get<int64_t>() == 250'000'000 ||
      (host["CpuQuota"].get<int64_t>() * 1000 / host["CpuPeriod"].get<int64_t>() == 250);
  EXPECT_TRUE(cpu_set) << host.dump();
}

TEST_F(PodmanEngineTest, LogsComeBackWithTail) {
  auto config = config_for_test();
  const std::string manifest = std::string("apiVersion: v1\nkind: Pod\nmetadata:\n  name: talk\n") +
                               "spec:\n  containers:\n  - name: talker\n    image: " + kImage +
                               "\n    command: [\"sh\", \"-c\", \"for i in 1 2 3 4 5; do echo "
                               "line-$i; done; echo to-stderr >&2; exec sleep 600\"]\n";
  auto info = engine_.deploy(manifest, config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  std::string all;
  for (int i = 0; i < 50 && all.find("to-stderr") == std::string::npos; ++i) {
    auto logs = engine_.logs(config.workload_id, 0);
    ASSERT_TRUE(logs.ok()) << logs.error().to_string();
    all = *logs;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(all, "line-1\nline-2\nline-3\nline-4\nline-5\nto-stderr\n");
  auto tail = engine_.logs(config.workload_id, 2);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "line-5\nto-stderr\n");
}

TEST_F(PodmanEngineTest, RemoveLeavesNoPodAndNoContainer) {
  auto config = config_for_test();
  auto info = engine_.deploy(httpd_deployment("gone", 2), config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(labelled("pods", config.workload_id), 2u);
  ASSERT_TRUE(engine_.remove(config.workload_id).ok());
  EXPECT_EQ(labelled("pods", config.workload_id), 0u);
  EXPECT_EQ(labelled("containers", config.workload_id), 0u);
  for (const auto& pod : info->pods) {
    auto exists = run_process({"podman", "pod", "exists", pod});
    ASSERT_TRUE(exists.ok());
    EXPECT_NE(exists->exit_code, 0) << pod << " still exists";
  }
  auto status = engine_.status(config.workload_id);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "not_found");
  EXPECT_TRUE(engine_.remove(config.workload_id).ok());  // removing again is fine
}

TEST_F(PodmanEngineTest, MissingImageFailsCleanlyAndLeavesNothing) {
  auto config = config_for_test();
  // Two containers: the first image exists, so kube play has created things when it fails.
  const std::string manifest =
      std::string("apiVersion: v1\nkind: Pod\nmetadata:\n  name: noimg\n") +
      "spec:\n  containers:\n  - name: ok\n    image: " + kImage +
      "\n    command: [\"sleep\", \"600\"]\n  - name: missing\n"
      "    image: localhost/does-not-exist:1\n";
  auto info = engine_.deploy(manifest, config);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "deploy_failed");
  EXPECT_NE(info.error().message.find("does-not-exist"), std::string::npos) << info.error().message;
  EXPECT_EQ(labelled("pods", config.workload_id), 0u);
  EXPECT_EQ(labelled("containers", config.workload_id), 0u);
}

TEST_F(PodmanEngineTest, ContainerThatExitsAtOnceFailsTheDeployAndIsRemoved) {
  auto config = config_for_test();
  const std::string manifest =
      std::string("apiVersion: v1\nkind: Pod\nmetadata:\n  name: crash\n") +
      "spec:\n  restartPolicy: Never\n  containers:\n  - name: app\n"
      "    image: " +
      kImage + "\n    command: [\"sh\", \"-c\", \"echo boom; exit 3\"]\n";
  auto info = engine_.deploy(manifest, config);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "deploy_failed");
  EXPECT_NE(info.error().message.find("exited (3)"), std::string::npos) << info.error().message;
  EXPECT_EQ(labelled("pods", config.workload_id), 0u);
}

TEST_F(PodmanEngineTest, PublishPortsGivesEveryReplicaAWorkingHostPort) {
  auto config = config_for_test();
  config.publish_ports = true;
  config.publish_host_ip = "127.0.0.1";
  auto info = engine_.deploy(httpd_deployment("pub", 2), config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->ports.size(), 2u);
  std::set<int> ports;
  for (const auto& p : info->ports) {
    EXPECT_EQ(p.host_ip, "127.0.0.1");
    EXPECT_EQ(p.container_port, 8080);
    EXPECT_GT(p.host_port, 0);
    ports.insert(p.host_port);
    // Each replica serves its own hostname, which is its pod's name.
    auto body = http_get("127.0.0.1", p.host_port);
    EXPECT_EQ(body, p.pod + "\n");
  }
  EXPECT_EQ(ports.size(), 2u);
  auto status = engine_.status(config.workload_id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->ports, info->ports);
}

TEST_F(PodmanEngineTest, RestartStartsAStoppedWorkloadAgain) {
  auto config = config_for_test();
  auto info = engine_.deploy(httpd_pod("again", "x"), config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  auto stopped = run_process({"podman", "pod", "stop", "-t", "0", info->pods[0]},
                             ProcessOptions{.timeout = 30s});
  ASSERT_TRUE(stopped.ok() && stopped->exit_code == 0);
  auto down = engine_.status(config.workload_id);
  ASSERT_TRUE(down.ok());
  EXPECT_NE(down->state, WorkloadState::Running);
  ASSERT_TRUE(engine_.restart(config.workload_id).ok());
  auto up = engine_.status(config.workload_id);
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->state, WorkloadState::Running);
}

TEST_F(PodmanEngineTest, RedeployUnderTheSameIdReplacesThePods) {
  const int port = free_port();
  auto config = config_for_test();
  ASSERT_TRUE(engine_.deploy(httpd_pod("swap", "first", port, "127.0.0.1"), config).ok());
  auto second = engine_.deploy(httpd_pod("swap", "second", port, "127.0.0.1"), config);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(labelled("pods", config.workload_id), 1u);
  EXPECT_EQ(http_get("127.0.0.1", port), "second\n");
}

// The ids of the containers labelled with `workload_id` (a replaced pod gets new ones).
std::set<std::string> container_ids(const std::string& workload_id) {
  std::set<std::string> out;
  json ps = podman_json(
      {"ps", "-a", "--format", "json", "--filter", "label=beemesh.io/workload-id=" + workload_id});
  for (const auto& c : ps) out.insert(c.value("Id", std::string()));
  return out;
}

TEST_F(PodmanEngineTest, AnotherManifestUnderARunningWorkloadIdLeavesThatWorkloadUntouched) {
  const int port = free_port();
  auto victim = config_for_test();
  ASSERT_TRUE(engine_.deploy(httpd_pod("victim", "victim", port, "127.0.0.1"), victim).ok());
  const auto before = container_ids(victim.workload_id);
  DeploymentConfig attacker = victim;
  attacker.manifest_id = "attacker-" + victim.workload_id;
  auto refused =
      engine_.deploy(httpd_pod("victim", "attacker", free_port(), "127.0.0.1"), attacker);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "name_conflict");
  EXPECT_EQ(container_ids(victim.workload_id), before);
  EXPECT_EQ(engine_.status(victim.workload_id)->state, WorkloadState::Running);
  EXPECT_EQ(http_get("127.0.0.1", port), "victim\n");
}

TEST_F(PodmanEngineTest, APodHoldingTheNameUnderAnotherWorkloadIdIsLeftRunning) {
  auto config = config_for_test();
  const std::string name = "held-" + config.workload_id + "-0";
  auto created = run_process({"podman", "pod", "create", "--name", name});
  ASSERT_TRUE(created.ok() && created->exit_code == 0) << (created.ok() ? created->err : "");
  const std::string pod_id = created->out.substr(0, created->out.find('\n'));
  auto refused = engine_.deploy(httpd_pod("held", "mine"), config);
  EXPECT_EQ(refused.ok() ? std::string("ok") : refused.error().code, "name_conflict");
  auto inspect = run_process({"podman", "pod", "exists", pod_id});
  EXPECT_TRUE(inspect.ok() && inspect->exit_code == 0) << "the foreign pod was removed";
  (void)run_process({"podman", "pod", "rm", "-f", pod_id});
}

TEST_F(PodmanEngineTest, InvalidManifestIsRejectedBeforePodmanRuns) {
  auto config = config_for_test();
  auto info = engine_.deploy("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\n", config);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "invalid_manifest");
  EXPECT_FALSE(engine_.validate_manifest("kind: Pod\n").ok());
}

TEST(PodmanEngineProbe, UnavailableWhenTheBinaryIsMissing) {
  PodmanEngine engine(PodmanConfig{.podman_binary = "/nonexistent/podman"});
  EXPECT_FALSE(engine.is_available());
}

}  // namespace
}  // namespace beemesh::runtime
