// runtime::EngineRegistry: which engine a node uses for a deploy.
#include <gtest/gtest.h>

#include <memory>

#include "runtime/runtime.h"

namespace beemesh::runtime {
namespace {

// An engine that only has a name and an availability.
class FakeEngine final : public RuntimeEngine {
 public:
  FakeEngine(std::string name, bool available) : name_(std::move(name)), available_(available) {}
  std::string name() const override { return name_; }
  bool is_available() override {
    ++probes;
    return available_;
  }
  using RuntimeEngine::deploy;
  using RuntimeEngine::validate_manifest;
  Result<void> validate_manifest(const manifest::Manifest&) override { return ok_result(); }
  Result<WorkloadInfo> deploy(const manifest::SharedManifest&, const DeploymentConfig&) override {
    return make_error("unsupported", "fake");
  }
  Result<WorkloadInfo> status(const std::string&) override {
    return make_error("not_found", "fake");
  }
  Result<std::vector<WorkloadInfo>> list() override { return std::vector<WorkloadInfo>{}; }
  Result<std::string> logs(const std::string&, int) override { return std::string(); }
  Result<void> remove(const std::string&) override { return ok_result(); }
  Result<void> restart(const std::string&) override { return ok_result(); }

  int probes = 0;

 private:
  std::string name_;
  bool available_;
};

std::shared_ptr<FakeEngine> fake(std::string name, bool available) {
  return std::make_shared<FakeEngine>(std::move(name), available);
}

TEST(EngineRegistry, PreferredEngineIsChosenWhenAvailable) {
  EngineRegistry registry;
  registry.add(fake("podman", true), 100);
  registry.add(fake("docker", true), 50);
  auto selected = registry.select(std::string("docker"));
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "docker");
}

TEST(EngineRegistry, WithoutPreferenceTheHighestPriorityAvailableEngineIsChosen) {
  EngineRegistry registry;
  registry.add(fake("docker", true), 50);
  registry.add(fake("podman", true), 100);
  auto selected = registry.select(std::nullopt);
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "podman");
}

TEST(EngineRegistry, EmptyPreferenceMeansNoPreference) {
  EngineRegistry registry;
  registry.add(fake("podman", true), 100);
  auto selected = registry.select(std::string());
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "podman");
}

TEST(EngineRegistry, UnavailablePreferredEngineFallsBackToTheBestAvailable) {
  EngineRegistry registry;
  registry.add(fake("podman", false), 100);
  registry.add(fake("docker", true), 50);
  registry.add(fake("other", true), 10);
  auto selected = registry.select(std::string("podman"));
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "docker");
}

TEST(EngineRegistry, UnregisteredPreferredEngineFallsBack) {
  EngineRegistry registry;
  registry.add(fake("podman", true), 100);
  auto selected = registry.select(std::string("kata"));
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "podman");
}

TEST(EngineRegistry, UnavailableEnginesAreSkippedByAutoDetection) {
  EngineRegistry registry;
  registry.add(fake("podman", false), 100);
  registry.add(fake("docker", true), 50);
  auto selected = registry.select(std::nullopt);
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "docker");
}

TEST(EngineRegistry, MockIsNeverChosenImplicitly) {
  EngineRegistry registry;
  registry.add(fake("mock", true), 1000, /*implicit=*/false);
  registry.add(fake("podman", false), 100);
  auto selected = registry.select(std::nullopt);
  ASSERT_FALSE(selected.ok());
  EXPECT_EQ(selected.error().code, "no_engine");
}

TEST(EngineRegistry, MockIsChosenWhenAskedForByName) {
  EngineRegistry registry;
  registry.add(fake("mock", true), 0, /*implicit=*/false);
  registry.add(fake("podman", true), 100);
  auto selected = registry.select(std::string("mock"));
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "mock");
}

TEST(EngineRegistry, NoEngineErrorNamesEveryEngineTriedAndWhy) {
  EngineRegistry registry;
  registry.add(fake("podman", false), 100);
  registry.add(fake("docker", false), 50);
  registry.add(fake("mock", true), 0, false);
  auto selected = registry.select(std::string("kata"));
  ASSERT_FALSE(selected.ok());
  EXPECT_EQ(selected.error().code, "no_engine");
  EXPECT_EQ(selected.error().message,
            "no runtime engine available (tried kata: requested but not registered; podman: "
            "not available; docker: not available; mock: only used when requested by name)");
}

TEST(EngineRegistry, EmptyRegistryGivesNoEngine) {
  EngineRegistry registry;
  auto selected = registry.select(std::nullopt);
  ASSERT_FALSE(selected.ok());
  EXPECT_EQ(selected.error().code, "no_engine");
  EXPECT_EQ(selected.error().message, "no runtime engine available: no engines registered");
}

TEST(EngineRegistry, EqualPrioritiesKeepRegistrationOrder) {
  EngineRegistry registry;
  registry.add(fake("first", true), 10);
  registry.add(fake("second", true), 10);
  auto selected = registry.select(std::nullopt);
  ASSERT_TRUE(selected.ok());
  EXPECT_EQ((*selected)->name(), "first");
}

TEST(EngineRegistry, AddingAnEngineTwiceReplacesIt) {
  EngineRegistry registry;
  registry.add(fake("podman", false), 100);
  registry.add(fake("podman", true), 100);
  EXPECT_EQ(registry.names(), std::vector<std::string>{"podman"});
  EXPECT_TRUE(registry.select(std::nullopt).ok());
}

TEST(EngineRegistry, GetFindsEnginesByName) {
  EngineRegistry registry;
  auto podman = fake("podman", true);
  registry.add(podman, 100);
  EXPECT_EQ(registry.get("podman"), podman);
  EXPECT_EQ(registry.get("docker"), nullptr);
}

TEST(EngineRegistry, AvailablePreferredEngineIsProbedOnce) {
  EngineRegistry registry;
  auto docker = fake("docker", true);
  auto podman = fake("podman", true);
  registry.add(podman, 100);
  registry.add(docker, 50);
  ASSERT_TRUE(registry.select(std::string("docker")).ok());
  EXPECT_EQ(docker->probes, 1);
  EXPECT_EQ(podman->probes, 0);
}

TEST(WorkloadState, RoundTripsThroughItsName) {
  for (auto state : {WorkloadState::Pending, WorkloadState::Running, WorkloadState::Stopped,
                     WorkloadState::Failed, WorkloadState::Unknown}) {
    EXPECT_EQ(workload_state_from_string(to_string(state)), state);
  }
  EXPECT_EQ(workload_state_from_string("running"), std::nullopt);
}

TEST(NewWorkloadId, IsSixteenLowercaseHexCharactersAndRandom) {
  auto a = new_workload_id();
  auto b = new_workload_id();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace beemesh::runtime
