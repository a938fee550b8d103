// The Podman REST engine's own `podman system service`: started on first use, stopped with
// the engine; and availability, probed once and again only after a call failed. Real Podman
// (label "podman"): FAILS when Podman is missing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

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

}  // namespace
}  // namespace beemesh::runtime
