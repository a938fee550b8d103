// The Podman REST engine's own `podman system service`: started on first use, stopped with
// the engine; and availability, probed once and again only after a call failed. Real Podman
// (label "podman"): FAILS when Podman is missing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engines/podman/podman_rest_engine.h"
#include "runtime/engines/podman/podman_service.h"

namespace beemesh::runtime {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/bm-rest-XXXXXX";
    path_ = ::mkdtemp(templ) != nullptr ? templ : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PodmanRestService, TheEngineStartsItsOwnServiceOnFirstUseAndStopsItWhenDestroyed) {
  TempDir dir;
  PodmanRestConfig config;
  config.service_dir = dir.path();
  auto engine = std::make_unique<PodmanRestEngine>(config);
  EXPECT_EQ(engine->socket_path(), "") << "nothing starts before the first call";
  ASSERT_TRUE(engine->is_available());
  const std::string socket = engine->socket_path();
  ASSERT_FALSE(socket.empty());
  EXPECT_EQ(socket.rfind(dir.path() + "/beemesh-podman-", 0), 0u) << socket;
  EXPECT_TRUE(std::filesystem::exists(socket));
  auto list = engine->list();
  EXPECT_TRUE(list.ok()) << list.error().to_string();
  engine.reset();
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(socket).parent_path()));
  docker::UnixHttpClient client(socket);
  EXPECT_FALSE(client.request("GET", "/_ping", "", "", 1s).ok());
}

TEST(PodmanRestService, AServiceThatExitedWhenIdleIsStartedAgainOnTheNextCall) {
  TempDir dir;
  PodmanRestConfig config;
  config.service_dir = dir.path();
  config.service_idle_timeout_seconds = 1;
  PodmanRestEngine engine(config);
  ASSERT_TRUE(engine.is_available());
  const std::string first = engine.socket_path();
  std::this_thread::sleep_for(2500ms);  // idle: the service exits by itself
  auto list = engine.list();
  EXPECT_TRUE(list.ok()) << list.error().to_string();
  EXPECT_NE(engine.socket_path(), first) << "a new service, in a new directory";
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(first).parent_path()));
}

TEST(PodmanRestService, APodmanThatCannotStartMakesTheEngineUnavailable) {
  PodmanRestConfig config;
  config.podman_binary = "/nonexistent/podman";
  PodmanRestEngine engine(config);
  EXPECT_FALSE(engine.is_available());
  auto status = engine.status("0123456789abcdef");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "spawn_failed");
}

TEST(PodmanRestService, AServiceThatNeverAnswersTimesOutAndIsStopped) {
  TempDir dir;
  const std::string script = dir.path() + "/silent-podman";
  std::ofstream(script) << "#!/bin/sh\nexec sleep 60\n";
  ::chmod(script.c_str(), 0755);
  PodmanRestConfig config;
  config.podman_binary = script;
  config.service_dir = dir.path();
  config.service_start_timeout = 300ms;
  PodmanRestEngine engine(config);
  auto started = std::chrono::steady_clock::now();
  auto status = engine.status("0123456789abcdef");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "timeout");
  // Its directory (socket, log) is gone with it.
  int left = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++left;
  EXPECT_EQ(left, 1) << "only the script is left";
}

TEST(PodmanRestService, AvailabilityIsProbedAgainOnlyAfterACallFailed) {
  TempDir dir;
  podman::ServiceOptions options;
  options.parent_dir = dir.path();
  auto service = podman::PodmanService::start(options);
  ASSERT_TRUE(service.ok()) << service.error().to_string();
  PodmanRestConfig config;
  config.socket_path = (*service)->socket_path();
  config.probe_timeout = 500ms;
  config.query_timeout = 2s;
  PodmanRestEngine engine(config);
  ASSERT_TRUE(engine.is_available());

  service->reset();  // the service goes away
  EXPECT_TRUE(engine.is_available()) << "no probe while nothing has failed";
  auto list = engine.list();
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, "unavailable");
  EXPECT_FALSE(engine.is_available()) << "a failed call makes the next selection probe";
}

// A pid that no process has any more: a child that exited and was reaped.
pid_t dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

void make_service_dir(const std::string& path, std::optional<pid_t> owner) {
  std::filesystem::create_directories(path);
  if (owner) std::ofstream(path + "/owner.pid") << *owner << "\n";
}

TEST(PodmanRestService, StartingAServiceRemovesTheDirectoryOfOneWhoseDaemonIsGone) {
  TempDir dir;
  make_service_dir(dir.path() + "/beemesh-podman-killed", dead_pid());
  make_service_dir(dir.path() + "/beemesh-podman-running", ::getpid());
  make_service_dir(dir.path() + "/beemesh-podman-unknown", std::nullopt);
  podman::ServiceOptions options;
  options.podman_binary = "/nonexistent/podman";  // the sweep comes before the spawn
  options.parent_dir = dir.path();

  auto service = podman::PodmanService::start(options);

  ASSERT_FALSE(service.ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/beemesh-podman-killed"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/beemesh-podman-running"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/beemesh-podman-unknown"));
}

TEST(PodmanRestService, AServiceDirectoryNamesTheProcessThatOwnsIt) {
  TempDir dir;
  podman::ServiceOptions options;
  options.parent_dir = dir.path();
  auto service = podman::PodmanService::start(options);
  ASSERT_TRUE(service.ok()) << service.error().to_string();
  const auto owner_file =
      std::filesystem::path((*service)->socket_path()).parent_path() / "owner.pid";
  std::ifstream in(owner_file);
  long pid = 0;
  ASSERT_TRUE(in >> pid) << owner_file;
  EXPECT_EQ(pid, ::getpid());
}

// Names of the `podman secret`s the engine's service knows.
std::vector<std::string> secret_names(const std::string& socket) {
  docker::UnixHttpClient client(socket);
  auto r = client.request("GET", "/v4.0.0/libpod/secrets/json", "", "", 10s);
  std::vector<std::string> names;
  if (!r || r->status != 200) return {"<secret list failed>"};
  auto listed = nlohmann::json::parse(r->body, nullptr, false);
  for (const auto& s : listed) names.push_back(s["Spec"].value("Name", std::string()));
  return names;
}

TEST(PodmanRestService, AFailedDeployLeavesNoSecretBehind) {
  TempDir dir;
  PodmanRestConfig config;
  config.service_dir = dir.path();
  PodmanRestEngine engine(config);
  ASSERT_TRUE(engine.is_available());
  DeploymentConfig c;
  c.manifest_id = "secret-leak";
  c.workload_id = new_workload_id();
  const std::string yaml =
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bmsec\ntype: Opaque\n"
      "data:\n  token: aGVsbG8=\n---\n"
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: secret-leak\nspec:\n  containers:\n"
      "  - name: main\n    image: localhost/beemesh-does-not-exist:latest\n"
      "    command: [\"sh\", \"-c\", \"exec sleep 3600\"]\n";

  auto info = engine.deploy(yaml, c);

  ASSERT_FALSE(info.ok());
  for (const auto& name : secret_names(engine.socket_path())) {
    EXPECT_EQ(name.find(c.workload_id), std::string::npos) << "left behind: " << name;
  }
}

}  // namespace
}  // namespace beemesh::runtime
