// runtime::plan_deployment: pods, ports and limits an engine will create for a manifest.
#include "runtime/deployment_plan.h"

#include <gtest/gtest.h>

namespace beemesh::runtime {
namespace {

constexpr const char* kTwoContainers = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      restartPolicy: Always
      containers:
      - name: front
        image: localhost/busybox:latest
        ports:
        - containerPort: 80
        resources:
          limits: {memory: 32Mi, cpu: 100m}
      - name: metrics
        image: localhost/busybox:latest
        ports:
        - containerPort: 9100
          protocol: UDP
)";

DeploymentConfig base_config() {
  DeploymentConfig config;
  config.manifest_id = "m";
  config.replicas = 0;
  return config;
}

TEST(PlanDeployment, ListsOnePodPerReplicaInPodNamesOrder) {
  auto plan = plan_deployment(kTwoContainers, base_config(), "abcdef0123456789");
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_EQ(plan->pod_names(),
            (std::vector<std::string>{"shop-abcdef0123456789-0", "shop-abcdef0123456789-1"}));
  EXPECT_EQ(plan->pods[1].replica, 1);
  EXPECT_EQ(plan->restart_policy, "Always");
}

TEST(PlanDeployment, ConfigReplicasOverrideTheManifest) {
  auto config = base_config();
  config.replicas = 1;
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->pods.size(), 1u);
}

TEST(PlanDeployment, WithoutPublishingNothingGetsAHostPort) {
  auto plan = plan_deployment(kTwoContainers, base_config(), "abcdef0123456789");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->ports.empty());
}

TEST(PlanDeployment, PublishingListsEveryDeclaredPortOfEveryPodUnassigned) {
  auto config = base_config();
  config.publish_ports = true;
  config.publish_host_ip = "127.0.0.1";
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ports.size(), 4u);
  EXPECT_EQ(plan->ports[1],
            (PortMapping{"shop-abcdef0123456789-0", "metrics", 9100, 0, "UDP", "127.0.0.1"}));
  EXPECT_EQ(plan->unassigned_ports().size(), 4u);
}

TEST(PlanDeployment, AssignedHostPortsAppearInTheRewrittenYaml) {
  auto config = base_config();
  config.publish_ports = true;
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_TRUE(plan.ok());
  int next = 41000;
  for (auto index : plan->unassigned_ports()) plan->assign_host_port(index, next++);
  EXPECT_TRUE(plan->unassigned_ports().empty());
  auto yaml = plan->rewrite();
  ASSERT_TRUE(yaml.ok()) << yaml.error().to_string();
  for (int port = 41000; port < 41004; ++port) {
    EXPECT_NE(yaml->find("hostPort: " + std::to_string(port)), std::string::npos) << *yaml;
  }
  EXPECT_NE(yaml->find("127.0.0.1"), std::string::npos) << *yaml;
}

TEST(PlanDeployment, ConfigMappingPinsOnePortOfOnePod) {
  auto config = base_config();
  config.port_mappings = {
      PortMapping{"shop-abcdef0123456789-1", "front", 80, 8088, "TCP", "127.0.0.1"}};
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  ASSERT_EQ(plan->ports.size(), 1u);
  EXPECT_EQ(plan->ports[0],
            (PortMapping{"shop-abcdef0123456789-1", "front", 80, 8088, "TCP", "127.0.0.1"}));
  ASSERT_EQ(plan->options.host_ports.size(), 1u);
  EXPECT_EQ(plan->options.host_ports[0].pod_index, 1);
}

TEST(PlanDeployment, ConfigMappingForAnUndeclaredPortAddsIt) {
  auto config = base_config();
  config.replicas = 1;
  config.port_mappings = {PortMapping{"", "front", 8443, 9443, "TCP", ""}};
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  ASSERT_EQ(plan->ports.size(), 1u);
  EXPECT_EQ(plan->ports[0].container, "front");
  auto yaml = plan->rewrite();
  ASSERT_TRUE(yaml.ok());
  EXPECT_NE(yaml->find("containerPort: 8443"), std::string::npos);
}

TEST(PlanDeployment, MappingForAnUnknownContainerIsRejected) {
  auto config = base_config();
  config.port_mappings = {PortMapping{"", "nope", 1234, 0, "TCP", ""}};
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, "invalid_config");
}

TEST(PlanDeployment, FixedHostPortOnSeveralReplicasIsAConflict) {
  auto config = base_config();
  config.port_mappings = {PortMapping{"", "front", 80, 8088, "TCP", ""}};
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, "port_conflict");
}

TEST(PlanDeployment, ManifestHostPortKeepsItsHostIp) {
  constexpr const char* kPod = R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: c
    image: localhost/busybox:latest
    ports:
    - {containerPort: 80, hostPort: 8080, hostIP: 127.0.0.1}
)";
  auto plan = plan_deployment(kPod, base_config(), "abcdef0123456789");
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  ASSERT_EQ(plan->ports.size(), 1u);
  EXPECT_EQ(plan->ports[0],
            (PortMapping{"p-abcdef0123456789-0", "c", 80, 8080, "TCP", "127.0.0.1"}));
}

TEST(PlanDeployment, LimitTotalsCountEveryContainerOfEveryPod) {
  auto plan = plan_deployment(kTwoContainers, base_config(), "abcdef0123456789");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->memory_limit_total_bytes(), 2 * 32 * 1024 * 1024);
  EXPECT_EQ(plan->cpu_limit_total_millis(), 200);
  auto config = base_config();
  config.memory_limit_bytes = 10;
  config.cpu_limit_millis = 5;
  auto overridden = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->memory_limit_total_bytes(), 40);
  EXPECT_EQ(overridden->cpu_limit_total_millis(), 20);
}

TEST(PlanDeployment, RequiresAManifestId) {
  auto config = base_config();
  config.manifest_id.clear();
  auto plan = plan_deployment(kTwoContainers, config, "abcdef0123456789");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, "invalid_config");
}

TEST(PlanDeployment, ManifestWithoutWorkloadIsRejected) {
  auto plan =
      plan_deployment("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
                      base_config(), "abcdef0123456789");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, "invalid_manifest");
}

}  // namespace
}  // namespace beemesh::runtime
