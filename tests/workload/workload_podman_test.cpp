// The workload manager on real Podman (label "podman"): a busybox httpd pod deployed through
// the manager serves its page; after `podman kill` of its container the background health
// monitor reports Unhealthy, restarts it and reports Recovered, and the page is served again.
// Needs root Podman, runc, CONTAINERS_CONF=config/containers.conf and
// localhost/busybox:latest (scripts/setup-podman.sh); FAILS when one of them is missing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/process.h"
#include "runtime/engines/podman/podman_engine.h"
#include "workload/fakes.h"
#include "workload/workload_manager.h"

namespace beemesh::workload {
namespace {

using namespace std::chrono_literals;
using testing::EventRecorder;
using testing::FakeAnnouncer;
using testing::TempDir;

constexpr const char* kImage = "localhost/busybox:latest";

std::string httpd_pod(const std::string& name, const std::string& text) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\nspec:\n  restartPolicy: Always\n  containers:\n  - name: web\n    image: " + kImage +
         "\n    command: [\"sh\", \"-c\", \"mkdir -p /www && echo '" + text +
         "' > /www/index.html && exec httpd -f -p 8080 -h /www\"]\n"
         "    ports:\n    - containerPort: 8080\n";
}

// GET / on 127.0.0.1:port; retries for a few seconds while the server starts. Body or "".
std::string http_get(int port) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const std::string request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
        char buf[4096];
        ssize_t n = 0;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) response.append(buf, n);
      }
    }
    ::close(fd);
    const auto body = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.", 0) == 0 && body != std::string::npos) {
      return response.substr(body + 4);
    }
    std::this_thread::sleep_for(100ms);
  }
  return {};
}

class WorkloadPodmanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime::PodmanConfig podman;
    podman.stop_grace_seconds = 0;  // busybox httpd as PID 1 ignores SIGTERM
    engine_ = std::make_shared<runtime::PodmanEngine>(podman);
    ASSERT_TRUE(engine_->is_available())
        << "podman does not answer `podman version` (install it: scripts/install-deps.sh; "
           "CONTAINERS_CONF must point to config/containers.conf)";
    auto image = run_process({"podman", "image", "exists", kImage});
    ASSERT_TRUE(image.ok() && image->exit_code == 0)
        << kImage << " is missing: run scripts/setup-podman.sh";
    registry_.add(engine_, 10);
    auto store = StateStore::open(dir_.path() / StateStore::kDefaultFileName);
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    store_ = std::move(store).value();
  }

  void TearDown() override {
    manager_.reset();
    for (const auto& id : deployed_) (void)engine_->remove(id);
  }

  // A manager with the production defaults (preferred runtime "podman") but a quick
  // health monitor.
  bool start_manager() {
    WorkloadManagerConfig config;
    config.health_check_interval = 500ms;
    manager_ = std::make_unique<WorkloadManager>(
        config, registry_, &announcer_, *store_, bus_, system_clock(),
        provider::ProviderMetadata{"node-a", "127.0.0.1:7401", "", {}});
    auto report = manager_->start();
    EXPECT_TRUE(report.ok()) << report.error().to_string();
    if (report.ok()) report_ = *report;
    return report.ok();
  }

  Result<WorkloadRecord> deploy(const std::string& manifest_id, const std::string& pod_name) {
    DeployRequest request;
    request.manifest_id = manifest_id;
    request.owner = "0wner";
    request.manifest_yaml = httpd_pod(pod_name, "hello from beemesh");
    request.config.publish_ports = true;
    request.config.publish_host_ip = "127.0.0.1";
    auto future = manager_->deploy_workload(request);
    if (future.wait_for(120s) != std::future_status::ready) {
      return make_error("timeout", "deploy did not finish within 120 s");
    }
    auto record = future.get();
    if (record.ok()) deployed_.push_back(record->id);
    return record;
  }

  TempDir dir_;
  EventBus bus_{system_clock()};
  FakeAnnouncer announcer_;
  runtime::EngineRegistry registry_;
  std::shared_ptr<runtime::PodmanEngine> engine_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<WorkloadManager> manager_;
  std::vector<std::string> deployed_;
  ReconcileReport report_;
};

TEST_F(WorkloadPodmanTest, KilledContainerIsReportedRestartedAndServesAgain) {
  EventRecorder events(bus_);
  ASSERT_TRUE(start_manager());
  auto record = deploy("podman-health-test", "wlhealth");
  ASSERT_TRUE(record.ok()) << record.error().to_string();
  ASSERT_EQ(record->engine, "podman");
  ASSERT_EQ(record->ports.size(), 1u);
  ASSERT_EQ(record->pods.size(), 1u);
  const int port = record->ports[0].host_port;
  ASSERT_GT(port, 0);
  EXPECT_EQ(http_get(port), "hello from beemesh\n");
  EXPECT_TRUE(announcer_.is_announced("podman-health-test"));

  const std::string container = record->pods[0] + "-web";
  auto killed = run_process({"podman", "kill", container}, ProcessOptions{.timeout = 30s});
  ASSERT_TRUE(killed.ok()) << killed.error().to_string();
  ASSERT_EQ(killed->exit_code, 0) << killed->err;

  ASSERT_TRUE(events.wait_for(EventKind::Unhealthy)) << "no Unhealthy after podman kill";
  ASSERT_TRUE(events.wait_for(EventKind::Recovered)) << "no Recovered after the restart";
  auto kinds = events.kinds(record->id);
  auto unhealthy = std::find(kinds.begin(), kinds.end(), EventKind::Unhealthy);
  auto recovered = std::find(kinds.begin(), kinds.end(), EventKind::Recovered);
  EXPECT_LT(unhealthy, recovered);
  EXPECT_EQ(http_get(port), "hello from beemesh\n");
  // The announcement follows the Recovered event (it is not ordered before it).
  auto announced_by = std::chrono::steady_clock::now() + 10s;
  while (!announcer_.is_announced("podman-health-test") &&
         std::chrono::steady_clock::now() < announced_by) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(announcer_.is_announced("podman-health-test"));
  EXPECT_GE(store_->get_workload(record->id)->restarts, 1);

  ASSERT_TRUE(manager_->remove(record->id).ok());
  deployed_.clear();
  EXPECT_FALSE(announcer_.is_announced("podman-health-test"));
}

TEST_F(WorkloadPodmanTest, RestartedManagerAdoptsThePodInsteadOfDeployingItAgain) {
  ASSERT_TRUE(start_manager());
  auto record = deploy("podman-adopt-test", "wladopt");
  ASSERT_TRUE(record.ok()) << record.error().to_string();
  const int port = record->ports.at(0).host_port;
  manager_.reset();  // the daemon stops; its pod keeps running

  announcer_.clear();
  ASSERT_TRUE(start_manager());
  EXPECT_EQ(report_.adopted, std::vector<std::string>{record->id});
  auto pods = run_process(
      {"podman", "pod", "ps", "-q", "--filter", "label=beemesh.io/workload-id=" + record->id},
      ProcessOptions{.timeout = 30s});
  ASSERT_TRUE(pods.ok() && pods->exit_code == 0);
  EXPECT_EQ(std::count(pods->out.begin(), pods->out.end(), '\n'), 1) << pods->out;
  auto listed = manager_->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, record->id);
  EXPECT_TRUE(listed[0].healthy);
  EXPECT_TRUE(announcer_.is_announced("podman-adopt-test"));
  EXPECT_EQ(http_get(port), "hello from beemesh\n");
}

}  // namespace
}  // namespace beemesh::workload
