// runtime/engines/docker/docker_plan.h — from a parsed manifest to Docker API request bodies.
//
// Promise (pure functions, no I/O):
//  * docker_workload() turns the engines' shared DeploymentPlan (runtime/deployment_plan.h:
//    pod names, published ports) into Docker terms: per pod its containers with env
//    (manifest env overridden by config env), limits (config else manifest),
//    command -> Entrypoint, args -> Cmd, and the ports its pause container publishes.
//  * pause_body() / container_body() are the JSON bodies of POST /containers/create for a
//    pod's pause container and for one of its containers. Every container carries the
//    labels beemesh.io/manifest-id, beemesh.io/workload-id, beemesh.io/engine=docker,
//    beemesh.io/pod, beemesh.io/role and HostConfig.Ulimits with nofile and nproc.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "manifest/manifest.h"
#include "runtime/deployment_plan.h"
#include "runtime/engines/docker/docker_options.h"
#include "runtime/runtime.h"

namespace beemesh::runtime::docker {

// Labels of our own on top of manifest::kManifestIdLabel / kWorkloadIdLabel.
inline constexpr std::string_view kEngineLabel = "beemesh.io/engine";  // value kEngineLabelValue
inline constexpr std::string_view kEngineLabelValue = "docker";
inline constexpr std::string_view kPodLabel = "beemesh.io/pod";
inline constexpr std::string_view kPodIndexLabel = "beemesh.io/pod-index";
inline constexpr std::string_view kRoleLabel = "beemesh.io/role";  // "pause" | "container"
inline constexpr std::string_view kContainerLabel = "beemesh.io/container";
inline constexpr std::string_view kContainerIndexLabel = "beemesh.io/container-index";
inline constexpr std::string_view kContainersLabel = "beemesh.io/containers";  // on pause: a,b
inline constexpr std::string_view kPortsLabel = "beemesh.io/ports";  // on containers: 80/tcp,...
inline constexpr std::string_view kRestartPolicyLabel = "beemesh.io/restart-policy";

struct DockerContainer {
  std::string name;         // name in the manifest
  std::string docker_name;  // "<pod>-<name>"
  std::string image;
  std::vector<std::string> command;  // -> Entrypoint
  std::vector<std::string> args;     // -> Cmd
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<int64_t> memory_limit_bytes;
  std::optional<int64_t> cpu_limit_millis;
  std::vector<std::string> ports;  // "80/tcp": every port it declares or is published for
};

struct DockerPod {
  std::string name;  // pod name, also the pause container's name
  int index = 0;     // position in DeploymentPlan::pods
  std::string restart_policy = "Always";
  std::vector<DockerContainer> containers;
  std::vector<PortMapping> ports;  // published; host_port 0: the daemon picks one
};

struct DockerWorkload {
  std::string workload_id;
  std::string manifest_id;
  std::string restart_policy = "Always";  // of the primary document
  std::string network;
  std::vector<VolumeMount> volumes;
  std::map<std::string, std::string> extra_labels;
  std::vector<DockerPod> pods;

  std::vector<std::string> images() const;  // distinct, in first-use order
};

// Error{"invalid_config"} when the workload id cannot be part of a container name.
Result<DockerWorkload> docker_workload(const DeploymentPlan& plan, const DeploymentConfig& config);

// Kubernetes restartPolicy -> Docker RestartPolicy.Name: always | on-failure | no.
std::string docker_restart_policy(std::string_view kubernetes_policy);

nlohmann::json pause_body(const DockerWorkload& workload, const DockerPod& pod,
                          const DockerEngineOptions& options);
nlohmann::json container_body(const DockerWorkload& workload, const DockerPod& pod,
                              const DockerContainer& container, const std::string& pause_id,
                              const DockerEngineOptions& options);

}  // namespace beemesh::runtime::docker
