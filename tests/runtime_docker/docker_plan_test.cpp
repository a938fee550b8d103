// Request bodies the Docker engine sends to POST /containers/create.
#include "runtime/engines/docker/docker_plan.h"

#include <gtest/gtest.h>

#include <string>

namespace beemesh::runtime::docker {
namespace {

constexpr const char* kWeb = R"(apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  restartPolicy: OnFailure
  containers:
  - name: httpd
    image: localhost/busybox:latest
    command: ["httpd"]
    args: ["-f", "-p", "8080"]
    env:
    - name: MODE
      value: manifest
    - name: KEEP
      value: kept
    ports:
    - containerPort: 8080
      hostPort: 18080
    resources:
      limits:
        memory: 64Mi
        cpu: 500m
  - name: side
    image: localhost/busybox:latest
    args: ["sleep", "3600"]
    ports:
    - containerPort: 9000
      protocol: UDP
)";

DeploymentConfig base_config() {
  DeploymentConfig c;
  c.manifest_id = "m1";
  c.workload_id = "0123456789abcdef";
  return c;
}

DockerWorkload plan(const std::string& yaml, const DeploymentConfig& c) {
  auto shared = plan_deployment(yaml, c, c.workload_id);
  EXPECT_TRUE(shared.ok()) << shared.error().to_string();
  auto workload = docker_workload(shared.value(), c);
  EXPECT_TRUE(workload.ok()) << workload.error().to_string();
  return workload.value();
}

TEST(DockerPlan, OnePodPerReplicaWithThePodNamesOfTheSharedPlan) {
  auto c = base_config();
  c.replicas = 3;
  std::string yaml = kWeb;  // a fixed hostPort would collide between replicas
  yaml.erase(yaml.find("      hostPort: 18080\n"), std::string("      hostPort: 18080\n").size());
  auto shared = plan_deployment(yaml, c, c.workload_id);
  ASSERT_TRUE(shared.ok());
  auto w = docker_workload(shared.value(), c);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->pods.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w->pods[i].name, shared->pods[i].name);
    EXPECT_EQ(w->pods[i].index, i);
    EXPECT_EQ(w->pods[i].containers[0].docker_name, shared->pods[i].name + "-httpd");
  }
}

TEST(DockerPlan, PauseContainerHoldsThePortsWithTheirHostIpAndTheWorkloadLabels) {
  auto c = base_config();
  c.port_mappings.push_back({"", "httpd", 8080, 18081, "TCP", "127.0.0.1"});
  c.labels["team"] = "blue";
  auto w = plan(kWeb, c);
  DockerEngineOptions options;
  auto body = pause_body(w, w.pods[0], options);
  EXPECT_EQ(body["Image"], "localhost/busybox:latest");
  EXPECT_EQ(body["Cmd"], nlohmann::json({"sleep", "infinity"}));
  EXPECT_EQ(body["Hostname"], w.pods[0].name);
  EXPECT_EQ(body["HostConfig"]["PortBindings"]["8080/tcp"],
            nlohmann::json::parse(R"([{"HostIp":"127.0.0.1","HostPort":"18081"}])"));
  EXPECT_TRUE(body["ExposedPorts"].contains("8080/tcp"));
  EXPECT_TRUE(body["ExposedPorts"].contains("9000/udp"));
  EXPECT_EQ(body["HostConfig"]["PortBindings"].size(), 1u) << "9000/udp has no host port";
  const auto& labels = body["Labels"];
  EXPECT_EQ(labels["beemesh.io/manifest-id"], "m1");
  EXPECT_EQ(labels["beemesh.io/workload-id"], "0123456789abcdef");
  EXPECT_EQ(labels["beemesh.io/engine"], "docker");
  EXPECT_EQ(labels["beemesh.io/role"], "pause");
  EXPECT_EQ(labels["beemesh.io/pod"], w.pods[0].name);
  EXPECT_EQ(labels["beemesh.io/containers"], "httpd,side");
  EXPECT_EQ(labels["team"], "blue");
  EXPECT_FALSE(body["HostConfig"].contains("NetworkMode")) << "engine default network";
}

TEST(DockerPlan, ManifestHostPortIsBoundOnAllAddresses) {
  auto w = plan(kWeb, base_config());
  auto body = pause_body(w, w.pods[0], DockerEngineOptions{});
  EXPECT_EQ(body["HostConfig"]["PortBindings"]["8080/tcp"],
            nlohmann::json::parse(R"([{"HostIp":"","HostPort":"18080"}])"));
}

TEST(DockerPlan, PublishPortsLeavesTheHostPortToTheDaemonOnThePublishAddress) {
  auto c = base_config();
  c.publish_ports = true;
  c.publish_host_ip = "127.0.0.1";
  auto w = plan(kWeb, c);
  auto body = pause_body(w, w.pods[0], DockerEngineOptions{});
  EXPECT_EQ(body["HostConfig"]["PortBindings"]["9000/udp"],
            nlohmann::json::parse(R"([{"HostIp":"127.0.0.1","HostPort":""}])"));
}

TEST(DockerPlan, ContainersJoinThePauseNetworkNamespace) {
  auto w = plan(kWeb, base_config());
  auto body = container_body(w, w.pods[0], w.pods[0].containers[0], "pause-id", {});
  EXPECT_EQ(body["HostConfig"]["NetworkMode"], "container:pause-id");
  EXPECT_FALSE(body.contains("ExposedPorts")) << "Docker refuses ports on a joined namespace";
  EXPECT_FALSE(body.contains("Hostname"));
}

TEST(DockerPlan, EveryContainerGetsNprocAndNofileUlimitsRuncAccepts) {
  auto w = plan(kWeb, base_config());
  DockerEngineOptions options;
  for (const auto& body : {pause_body(w, w.pods[0], options),
                           container_body(w, w.pods[0], w.pods[0].containers[1], "p", options)}) {
    EXPECT_EQ(body["HostConfig"]["Ulimits"], nlohmann::json::parse(R"([
      {"Name":"nofile","Soft":20000,"Hard":20000},
      {"Name":"nproc","Soft":32768,"Hard":32768}])"));
  }
}

TEST(DockerPlan, ManifestLimitsBecomeMemoryAndNanoCpus) {
  auto w = plan(kWeb, base_config());
  auto httpd = container_body(w, w.pods[0], w.pods[0].containers[0], "p", {});
  EXPECT_EQ(httpd["HostConfig"]["Memory"], 64 * 1024 * 1024);
  EXPECT_EQ(httpd["HostConfig"]["NanoCpus"], 500'000'000);
  auto side = container_body(w, w.pods[0], w.pods[0].containers[1], "p", {});
  EXPECT_FALSE(side["HostConfig"].contains("Memory")) << "no limit in the manifest";
  EXPECT_FALSE(side["HostConfig"].contains("NanoCpus"));
}

TEST(DockerPlan, ConfigLimitsOverrideTheManifestOnEveryContainer) {
  auto c = base_config();
  c.memory_limit_bytes = 128 * 1024 * 1024;
  c.cpu_limit_millis = 1500;
  auto w = plan(kWeb, c);
  for (const auto& container : w.pods[0].containers) {
    auto body = container_body(w, w.pods[0], container, "p", {});
    EXPECT_EQ(body["HostConfig"]["Memory"], 128 * 1024 * 1024) << container.name;
    EXPECT_EQ(body["HostConfig"]["NanoCpus"], 1'500'000'000) << container.name;
  }
}

TEST(DockerPlan, CommandBecomesEntrypointAndArgsBecomeCmd) {
  auto w = plan(kWeb, base_config());
  auto httpd = container_body(w, w.pods[0], w.pods[0].containers[0], "p", {});
  EXPECT_EQ(httpd["Entrypoint"], nlohmann::json({"httpd"}));
  EXPECT_EQ(httpd["Cmd"], nlohmann::json({"-f", "-p", "8080"}));
  auto side = container_body(w, w.pods[0], w.pods[0].containers[1], "p", {});
  EXPECT_FALSE(side.contains("Entrypoint")) << "args only: the image's entrypoint stays";
  EXPECT_EQ(side["Cmd"], nlohmann::json({"sleep", "3600"}));
}

TEST(DockerPlan, ConfigEnvOverridesAndExtendsTheManifestEnv) {
  auto c = base_config();
  c.env = {{"MODE", "config"}, {"EXTRA", "1"}};
  auto w = plan(kWeb, c);
  auto body = container_body(w, w.pods[0], w.pods[0].containers[0], "p", {});
  EXPECT_EQ(body["Env"], nlohmann::json({"MODE=config", "KEEP=kept", "EXTRA=1"}));
}

TEST(DockerPlan, RestartPolicyMapsToDockerNames) {
  EXPECT_EQ(docker_restart_policy("Always"), "always");
  EXPECT_EQ(docker_restart_policy("OnFailure"), "on-failure");
  EXPECT_EQ(docker_restart_policy("Never"), "no");
  auto w = plan(kWeb, base_config());
  auto body = container_body(w, w.pods[0], w.pods[0].containers[0], "p", {});
  EXPECT_EQ(body["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
  EXPECT_EQ(body["Labels"]["beemesh.io/restart-policy"], "OnFailure");
}

TEST(DockerPlan, ContainerLabelsNameTheContainerItsIndexAndItsPorts) {
  auto w = plan(kWeb, base_config());
  auto side = container_body(w, w.pods[0], w.pods[0].containers[1], "p", {});
  EXPECT_EQ(side["Labels"]["beemesh.io/role"], "container");
  EXPECT_EQ(side["Labels"]["beemesh.io/container"], "side");
  EXPECT_EQ(side["Labels"]["beemesh.io/container-index"], "1");
  EXPECT_EQ(side["Labels"]["beemesh.io/ports"], "9000/udp");
  EXPECT_EQ(side["Labels"]["beemesh.io/workload-id"], "0123456789abcdef");
}

TEST(DockerPlan, VolumesBecomeBindsAndTheNetworkGoesOnThePause) {
  auto c = base_config();
  c.volumes.push_back({"/srv/data", "/data", true});
  c.volumes.push_back({"/srv/cache", "/cache", false});
  c.network = "beemesh-net";
  auto w = plan(kWeb, c);
  auto body = container_body(w, w.pods[0], w.pods[0].containers[0], "p", {});
  EXPECT_EQ(body["HostConfig"]["Binds"],
            nlohmann::json({"/srv/data:/data:ro", "/srv/cache:/cache"}));
  EXPECT_EQ(pause_body(w, w.pods[0], {})["HostConfig"]["NetworkMode"], "beemesh-net");
}

TEST(DockerPlan, NeverRestartingPodsHaveANeverRestartingPause) {
  std::string never = kWeb;
  never.replace(never.find("OnFailure"), 9, "Never");
  auto w = plan(never, base_config());
  EXPECT_EQ(pause_body(w, w.pods[0], {})["HostConfig"]["RestartPolicy"]["Name"], "no");
  auto c = container_body(w, w.pods[0], w.pods[0].containers[0], "p", {});
  EXPECT_EQ(c["HostConfig"]["RestartPolicy"]["Name"], "no");
}

TEST(DockerPlan, APauseCommandLeftEmptyUsesTheImageDefault) {
  auto w = plan(kWeb, base_config());
  DockerEngineOptions options;
  options.pause_image = "registry.k8s.io/pause:3.9";
  options.pause_command.clear();
  auto body = pause_body(w, w.pods[0], options);
  EXPECT_EQ(body["Image"], "registry.k8s.io/pause:3.9");
  EXPECT_FALSE(body.contains("Cmd"));
}

TEST(DockerPlan, AWorkloadIdThatCannotBeInAContainerNameIsRejected) {
  auto c = base_config();
  c.workload_id = "bad id/with slash";
  auto shared = plan_deployment(kWeb, c, c.workload_id);
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.error().code, "invalid_workload_id");
}

TEST(DockerPlan, ImagesAreListedOnceInFirstUseOrder) {
  auto w = plan(kWeb, base_config());
  EXPECT_EQ(w.images(), std::vector<std::string>{"localhost/busybox:latest"});
}

}  // namespace
}  // namespace beemesh::runtime::docker
