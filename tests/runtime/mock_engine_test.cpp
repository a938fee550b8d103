// runtime::MockEngine: the in-memory engine other components test against.
#include "runtime/mock/mock_engine.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace beemesh::runtime {
namespace {

using namespace std::chrono_literals;

constexpr const char* kWeb = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: localhost/busybox:latest
        ports:
        - containerPort: 8080
        resources:
          limits: {memory: 64Mi, cpu: 250m}
)";

constexpr const char* kPodWithHostPort = R"(apiVersion: v1
kind: Pod
metadata:
  name: fixed
spec:
  containers:
  - name: app
    image: localhost/busybox:latest
    ports:
    - containerPort: 80
      hostPort: 8081
)";

DeploymentConfig config_for(std::string manifest_id = "m-1") {
  DeploymentConfig config;
  config.manifest_id = std::move(manifest_id);
  config.replicas = 0;  // as the manifest says
  return config;
}

TEST(MockEngine, DeployStoresTheExactManifestAndConfig) {
  MockEngine engine;
  auto config = config_for();
  config.env = {{"A", "1"}};
  auto info = engine.deploy(kWeb, config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(engine.get_workload_manifest(info->id), std::string(kWeb));
  EXPECT_EQ(engine.get_workload_config(info->id), config);
  EXPECT_EQ(engine.workload_count(), 1u);
}

TEST(MockEngine, DeployReportsARunningWorkloadWithOnePodPerReplica) {
  MockEngine engine;
  auto config = config_for();
  config.workload_id = "0123456789abcdef";
  auto info = engine.deploy(kWeb, config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->id, "0123456789abcdef");
  EXPECT_EQ(info->manifest_id, "m-1");
  EXPECT_EQ(info->engine, "mock");
  EXPECT_EQ(info->state, WorkloadState::Running);
  EXPECT_EQ(info->pods,
            (std::vector<std::string>{"web-0123456789abcdef-0", "web-0123456789abcdef-1"}));
  EXPECT_GT(info->created_at_ms, 0);
}

TEST(MockEngine, ReplicasInTheConfigOverrideTheManifest) {
  MockEngine engine;
  auto config = config_for();
  config.replicas = 3;
  auto info = engine.deploy(kWeb, config);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->pods.size(), 3u);
}

TEST(MockEngine, GeneratesAWorkloadIdWhenNoneIsGiven) {
  MockEngine engine;
  auto a = engine.deploy(kWeb, config_for());
  auto b = engine.deploy(kWeb, config_for());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->id.size(), 16u);
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(engine.workload_count(), 2u);
}

TEST(MockEngine, RejectsAnInvalidManifest) {
  MockEngine engine;
  auto info = engine.deploy("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", config_for());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "invalid_manifest");
  EXPECT_EQ(engine.workload_count(), 0u);
  EXPECT_FALSE(engine.validate_manifest("kind: Nope\n").ok());
  EXPECT_TRUE(engine.validate_manifest(kWeb).ok());
}

TEST(MockEngine, RequiresAManifestId) {
  MockEngine engine;
  auto info = engine.deploy(kWeb, config_for(""));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "invalid_config");
}

TEST(MockEngine, SuccessRateZeroFailsEveryDeploy) {
  MockEngine engine(MockConfig{.success_rate = 0.0});
  for (int i = 0; i < 5; ++i) {
    auto info = engine.deploy(kWeb, config_for());
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, "deploy_failed");
  }
  EXPECT_EQ(engine.workload_count(), 0u);
  EXPECT_EQ(engine.deploy_calls(), 5);
}

TEST(MockEngine, SuccessRateIsDeterministicForASeed) {
  auto outcomes = [](uint64_t seed) {
    MockEngine engine(MockConfig{.success_rate = 0.5, .seed = seed});
    std::vector<bool> out;
    for (int i = 0; i < 40; ++i) out.push_back(engine.deploy(kWeb, config_for()).ok());
    return out;
  };
  auto first = outcomes(7);
  EXPECT_EQ(first, outcomes(7));
  int successes = 0;
  for (bool ok : first) successes += ok ? 1 : 0;
  EXPECT_GT(successes, 5);
  EXPECT_LT(successes, 35);
}

TEST(MockEngine, SetSuccessRateChangesLaterDeploys) {
  MockEngine engine;
  engine.set_success_rate(0.0);
  EXPECT_FALSE(engine.deploy(kWeb, config_for()).ok());
  engine.set_success_rate(1.0);
  EXPECT_TRUE(engine.deploy(kWeb, config_for()).ok());
}

TEST(MockEngine, DeployDelayHoldsTheCallerAtLeastThatLong) {
  MockEngine engine(MockConfig{.deploy_delay = 50ms});
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(engine.deploy(kWeb, config_for()).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(MockEngine, PublishPortsAssignsADistinctHostPortPerPod) {
  MockEngine engine(MockConfig{.first_host_port = 40000});
  auto config = config_for();
  config.publish_ports = true;
  config.workload_id = "aaaaaaaabbbbbbbb";
  auto info = engine.deploy(kWeb, config);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->ports.size(), 2u);
  EXPECT_EQ(info->ports[0],
            (PortMapping{"web-aaaaaaaabbbbbbbb-0", "web", 8080, 40000, "TCP", "127.0.0.1"}));
  EXPECT_EQ(info->ports[1],
            (PortMapping{"web-aaaaaaaabbbbbbbb-1", "web", 8080, 40001, "TCP", "127.0.0.1"}));
}

TEST(MockEngine, ManifestHostPortsAreReported) {
  MockEngine engine;
  auto info = engine.deploy(kPodWithHostPort, config_for());
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->ports.size(), 1u);
  EXPECT_EQ(info->ports[0].container, "app");
  EXPECT_EQ(info->ports[0].container_port, 80);
  EXPECT_EQ(info->ports[0].host_port, 8081);
}

TEST(MockEngine, ConfigPortMappingsChooseTheHostPort) {
  MockEngine engine;
  auto config = config_for();
  config.replicas = 1;
  config.port_mappings = {PortMapping{"", "web", 8080, 9999, "TCP", "127.0.0.1"}};
  auto info = engine.deploy(kWeb, config);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->ports.size(), 1u);
  EXPECT_EQ(info->ports[0].host_port, 9999);
  EXPECT_EQ(info->ports[0].host_ip, "127.0.0.1");
}

TEST(MockEngine, FixedHostPortOnSeveralReplicasIsAConflict) {
  MockEngine engine;
  auto config = config_for();
  config.replicas = 2;
  config.port_mappings = {PortMapping{"", "web", 8080, 9999, "TCP", ""}};
  auto info = engine.deploy(kWeb, config);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "port_conflict");
}

TEST(MockEngine, WithoutPortSimulationNoPortsAreReported) {
  MockEngine engine(MockConfig{.simulate_port_mappings = false});
  auto config = config_for();
  config.publish_ports = true;
  auto info = engine.deploy(kWeb, config);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->ports.empty());
}

TEST(MockEngine, MemoryCapacityRejectsADeployThatDoesNotFit) {
  // kWeb: 2 replicas x 64Mi = 128Mi.
  MockEngine engine(MockConfig{.memory_capacity_bytes = 100 * 1024 * 1024});
  auto info = engine.deploy(kWeb, config_for());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "insufficient_resources");
  EXPECT_NE(info.error().message.find("128Mi"), std::string::npos);
  EXPECT_EQ(engine.workload_count(), 0u);
}

TEST(MockEngine, MemoryCapacityCountsWorkloadsAlreadyRunning) {
  MockEngine engine(MockConfig{.memory_capacity_bytes = 256 * 1024 * 1024});
  EXPECT_TRUE(engine.deploy(kWeb, config_for()).ok());
  EXPECT_TRUE(engine.deploy(kWeb, config_for()).ok());
  auto third = engine.deploy(kWeb, config_for());
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, "insufficient_resources");
  EXPECT_EQ(engine.memory_in_use_bytes(), 256 * 1024 * 1024);
}

TEST(MockEngine, RemovingAWorkloadFreesItsCapacity) {
  MockEngine engine(MockConfig{.memory_capacity_bytes = 128 * 1024 * 1024});
  auto first = engine.deploy(kWeb, config_for());
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(engine.deploy(kWeb, config_for()).ok());
  ASSERT_TRUE(engine.remove(first->id).ok());
  EXPECT_TRUE(engine.deploy(kWeb, config_for()).ok());
}

TEST(MockEngine, RedeployingTheSameWorkloadIdDoesNotCountItsOldCapacity) {
  MockEngine engine(MockConfig{.memory_capacity_bytes = 128 * 1024 * 1024});
  auto config = config_for();
  config.workload_id = "2222222222222222";
  ASSERT_TRUE(engine.deploy(kWeb, config).ok());
  ASSERT_TRUE(engine.deploy(kWeb, config).ok()) << "the redeploy replaces what it held";
  EXPECT_EQ(engine.memory_in_use_bytes(), 128 * 1024 * 1024);
  EXPECT_FALSE(engine.deploy(kWeb, config_for()).ok()) << "another workload still does not fit";
}

TEST(MockEngine, PodNamesOfARemovedWorkloadAreFreeAgain) {
  MockEngine engine;
  auto first = config_for("m-1");
  first.workload_id = "3333333333333333";
  ASSERT_TRUE(engine.deploy(kWeb, first).ok());
  auto second = config_for("m-2");
  second.workload_id = "3333333333333333";
  EXPECT_FALSE(engine.deploy(kWeb, second).ok()) << "the id runs another manifest";
  ASSERT_TRUE(engine.remove(first.workload_id).ok());
  EXPECT_TRUE(engine.deploy(kWeb, second).ok());
}

TEST(MockEngine, CpuCapacityUsesConfigLimitsOverManifestLimits) {
  MockEngine engine(MockConfig{.cpu_capacity_millis = 1000});
  auto config = config_for();
  config.cpu_limit_millis = 600;  // 2 replicas x 600m = 1200m > 1000m
  auto info = engine.deploy(kWeb, config);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "insufficient_resources");
  config.cpu_limit_millis = 500;
  EXPECT_TRUE(engine.deploy(kWeb, config).ok());
  EXPECT_EQ(engine.cpu_in_use_millis(), 1000);
}

TEST(MockEngine, UnavailableEngineSaysSoAndRefusesDeploys) {
  MockEngine engine(MockConfig{.available = false});
  EXPECT_FALSE(engine.is_available());
  auto info = engine.deploy(kWeb, config_for());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "engine_unavailable");
  engine.set_available(true);
  EXPECT_TRUE(engine.is_available());
}

TEST(MockEngine, NameComesFromTheConfig) {
  MockEngine engine(MockConfig{.name = "mock-b"});
  EXPECT_EQ(engine.name(), "mock-b");
  auto info = engine.deploy(kWeb, config_for());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->engine, "mock-b");
}

TEST(MockEngine, StatusOfAnUnknownWorkloadIsNotFound) {
  MockEngine engine;
  auto info = engine.status("nope");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "not_found");
  EXPECT_EQ(engine.logs("nope", 10).error().code, "not_found");
  EXPECT_EQ(engine.restart("nope").error().code, "not_found");
}

TEST(MockEngine, SetStateSimulatesACrashAndRestartRecoversIt) {
  MockEngine engine;
  auto info = engine.deploy(kWeb, config_for());
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(engine.set_state(info->id, WorkloadState::Failed, "container web exited (137)"));
  auto failed = engine.status(info->id);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, WorkloadState::Failed);
  EXPECT_EQ(failed->message, "container web exited (137)");
  ASSERT_TRUE(engine.restart(info->id).ok());
  EXPECT_EQ(engine.status(info->id)->state, WorkloadState::Running);
  EXPECT_EQ(engine.restart_calls(info->id), 1);
  EXPECT_FALSE(engine.set_state("unknown", WorkloadState::Failed));
}

TEST(MockEngine, ListReturnsEveryWorkload) {
  MockEngine engine;
  ASSERT_TRUE(engine.deploy(kWeb, config_for("m-1")).ok());
  ASSERT_TRUE(engine.deploy(kPodWithHostPort, config_for("m-2")).ok());
  auto all = engine.list();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST(MockEngine, LogsReturnTheLastLines) {
  MockEngine engine;
  auto info = engine.deploy(kWeb, config_for());
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(engine.set_logs(info->id, "one\ntwo\nthree\n"));
  EXPECT_EQ(engine.logs(info->id, 2).value(), "two\nthree\n");
  EXPECT_EQ(engine.logs(info->id, 0).value(), "one\ntwo\nthree\n");
  EXPECT_EQ(engine.logs(info->id, 10).value(), "one\ntwo\nthree\n");
}

TEST(MockEngine, RemoveForgetsTheWorkloadAndUnknownIdsAreFine) {
  MockEngine engine;
  auto info = engine.deploy(kWeb, config_for());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(engine.remove(info->id).ok());
  EXPECT_EQ(engine.workload_count(), 0u);
  EXPECT_FALSE(engine.get_workload_manifest(info->id).has_value());
  EXPECT_FALSE(engine.get_workload_config(info->id).has_value());
  EXPECT_TRUE(engine.remove("never-existed").ok());
  EXPECT_EQ(engine.remove_calls(), 2);
}

TEST(MockEngine, RedeployingTheSameWorkloadIdReplacesIt) {
  MockEngine engine;
  auto config = config_for();
  config.workload_id = "1111111111111111";
  ASSERT_TRUE(engine.deploy(kWeb, config).ok());
  ASSERT_TRUE(engine.deploy(kPodWithHostPort, config).ok());
  EXPECT_EQ(engine.workload_count(), 1u);
  EXPECT_EQ(engine.get_workload_manifest(config.workload_id), std::string(kPodWithHostPort));
}

TEST(MockEngine, RedeployingAnotherManifestUnderARunningWorkloadIdIsANameConflict) {
  MockEngine engine;
  auto victim = config_for("victim");
  victim.workload_id = "1111111111111111";
  ASSERT_TRUE(engine.deploy(kWeb, victim).ok());
  auto attacker = config_for("attacker");
  attacker.workload_id = victim.workload_id;
  auto refused = engine.deploy(kPodWithHostPort, attacker);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "name_conflict");
  EXPECT_EQ(engine.get_workload_manifest(victim.workload_id), std::string(kWeb));
  EXPECT_EQ(engine.get_workload_config(victim.workload_id), victim);
  EXPECT_EQ(engine.status(victim.workload_id)->state, WorkloadState::Running);
}

TEST(MockEngine, WorkloadIdsSharingTheirFirstCharactersGetDistinctPods) {
  MockEngine engine;
  auto first = config_for("a");
  first.workload_id = "1111111100000000";
  auto second = config_for("b");
  second.workload_id = "1111111122222222";
  auto one = engine.deploy(kWeb, first);
  auto two = engine.deploy(kWeb, second);
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  ASSERT_TRUE(two.ok()) << two.error().to_string();
  EXPECT_EQ(engine.workload_count(), 2u);
  EXPECT_NE(one->pods, two->pods);
}

TEST(MockEngine, RefusesAWorkloadIdThatIsNotSixteenLowercaseHexCharacters) {
  MockEngine engine;
  for (const char* id :
       {"0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "wl-1", "0123456789abcdeg"}) {
    auto config = config_for();
    config.workload_id = id;
    auto refused = engine.deploy(kWeb, config);
    ASSERT_FALSE(refused.ok()) << id;
    EXPECT_EQ(refused.error().code, "invalid_workload_id") << id;
  }
  EXPECT_EQ(engine.workload_count(), 0u);
}

TEST(MockEngine, RemoveLeavesOtherWorkloadsAlone) {
  MockEngine engine;
  auto keep = engine.deploy(kWeb, config_for("keep"));
  auto drop = engine.deploy(kWeb, config_for("drop"));
  ASSERT_TRUE(keep.ok() && drop.ok());
  ASSERT_TRUE(engine.remove(drop->id).ok());
  EXPECT_EQ(engine.status(keep->id)->state, WorkloadState::Running);
  EXPECT_EQ(engine.workload_count(), 1u);
}

TEST(MockEngine, ClearWorkloadsEmptiesTheEngine) {
  MockEngine engine;
  ASSERT_TRUE(engine.deploy(kWeb, config_for()).ok());
  ASSERT_TRUE(engine.deploy(kWeb, config_for()).ok());
  engine.clear_workloads();
  EXPECT_EQ(engine.workload_count(), 0u);
  EXPECT_TRUE(engine.list()->empty());
}

TEST(MockEngine, ConcurrentDeploysAreAllKept) {
  MockEngine engine;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) (void)engine.deploy(kWeb, config_for());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(engine.workload_count(), 100u);
  EXPECT_EQ(engine.deploy_calls(), 100);
}

}  // namespace
}  // namespace beemesh::runtime
