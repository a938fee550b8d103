// Engine selection with two real engines: when the preferred engine is unavailable the
// registry falls back to the other real one, and says so in the log.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

#include "real_daemons_env.h"
#include "runtime/engines/docker/docker_engine.h"
#include "runtime/runtime.h"

namespace beemesh::runtime::docker {
namespace {

// Routes spdlog's default logger into a string for the lifetime of the object.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    auto logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

std::shared_ptr<DockerEngine> engine(const std::string& name, const std::string& socket) {
  DockerEngineOptions options;
  options.name = name;
  options.socket_path = socket;
  return std::make_shared<DockerEngine>(options);
}

class EngineFallbackTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(test::daemons(), nullptr) << test::daemons_error(); }
  std::string dead_socket() const { return test::daemons()->base_dir() + "/nobody-listens.sock"; }
};

TEST_F(EngineFallbackTest, EngineOnADeadSocketIsUnavailable) {
  EXPECT_FALSE(engine("docker", dead_socket())->is_available());
}

TEST_F(EngineFallbackTest, PreferredDockerUnavailableSelectsPodmanCompatAndLogsTheChoice) {
  EngineRegistry registry;
  registry.add(engine("docker", dead_socket()), 20);
  registry.add(engine("podman-compat", test::daemons()->podman_socket()), 10);

  CapturedLog log;
  auto selected = registry.select(std::string("docker"));
  ASSERT_TRUE(selected.ok()) << selected.error().to_string();
  EXPECT_EQ(selected.value()->name(), "podman-compat");
  const std::string text = log.text();
  EXPECT_NE(text.find("'docker'"), std::string::npos) << text;
  EXPECT_NE(text.find("'podman-compat'"), std::string::npos) << text;
  EXPECT_NE(text.find("falling back"), std::string::npos) << text;
  // The engine chosen is real: it answers for the workloads it runs.
  EXPECT_TRUE(selected.value()->list().ok());
}

TEST_F(EngineFallbackTest, PreferredPodmanCompatUnavailableSelectsDockerAndLogsTheChoice) {
  EngineRegistry registry;
  registry.add(engine("podman-compat", dead_socket()), 20);
  registry.add(engine("docker", test::daemons()->docker_socket()), 10);

  CapturedLog log;
  auto selected = registry.select(std::string("podman-compat"));
  ASSERT_TRUE(selected.ok()) << selected.error().to_string();
  EXPECT_EQ(selected.value()->name(), "docker");
  const std::string text = log.text();
  EXPECT_NE(text.find("'podman-compat'"), std::string::npos) << text;
  EXPECT_NE(text.find("'docker'"), std::string::npos) << text;
  EXPECT_TRUE(selected.value()->list().ok());
}

TEST_F(EngineFallbackTest, AutoDetectionPicksTheHighestPriorityAvailableRealEngine) {
  EngineRegistry registry;
  registry.add(engine("docker", test::daemons()->docker_socket()), 20);
  registry.add(engine("podman-compat", test::daemons()->podman_socket()), 10);
  auto selected = registry.select(std::nullopt);
  ASSERT_TRUE(selected.ok()) << selected.error().to_string();
  EXPECT_EQ(selected.value()->name(), "docker");
}

TEST_F(EngineFallbackTest, NoRealEngineAvailableIsANoEngineError) {
  EngineRegistry registry;
  registry.add(engine("docker", dead_socket()), 20);
  registry.add(engine("podman-compat", dead_socket()), 10);
  auto selected = registry.select(std::string("docker"));
  ASSERT_FALSE(selected.ok());
  EXPECT_EQ(selected.error().code, "no_engine");
}

}  // namespace
}  // namespace beemesh::runtime::docker
