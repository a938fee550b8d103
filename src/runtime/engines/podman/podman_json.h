// runtime/engines/podman/podman_json.h — reading what Podman says about our workloads.
//
// Promise: pure functions over the JSON that Podman 4.x prints (`podman ps -a --pod
// --format json`, `podman version --format json`) or its libpod API answers; they never run podman
// and never throw. Malformed JSON gives Error{"podman_output"} naming what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/runtime.h"

namespace beemesh::runtime::podman {

inline constexpr std::string_view kRestartPolicyLabel = "beemesh.io/restart-policy";
// "beemesh.io/port-<containerPort>-<protocol lowercase>" = name of the container declaring it.
std::string port_label_key(int container_port, std::string_view protocol);

struct ReportedPort {
  std::string host_ip;  // "" = all addresses
  int container_port = 0;
  int host_port = 0;
  std::string protocol;  // upper case: TCP, UDP, SCTP
  bool operator==(const ReportedPort&) const = default;
};

// One line of `podman ps -a --pod --format json`, or of the libpod API's
// GET /libpod/containers/json?all=true&pod=true (the same objects; Created is RFC 3339 text).
struct ContainerRecord {
  std::string id;
  std::string name;  // podman's name, e.g. "web-3f2a91c0-0-web"
  std::string pod_id;
  std::string pod_name;
  std::string state;  // podman's: running, exited, created, paused, ...
  int exit_code = 0;
  bool is_infra = false;
  int64_t created_s = 0;
  std::map<std::string, std::string> labels;
  std::vector<ReportedPort> ports;  // the pod's published ports (shared network namespace)

  std::string label(std::string_view key) const;
  // The container's name inside its pod ("web"), from podman's "<pod>-<name>".
  std::string short_name() const;
};

Result<std::vector<ContainerRecord>> parse_ps(std::string_view json);

// The workloads (grouped by beemesh.io/workload-id label) that these records describe, in
// workload id order; infra containers and unlabelled containers are ignored.
std::vector<WorkloadInfo> workloads_from(const std::vector<ContainerRecord>& records,
                                         std::string_view engine_name);

// State of one workload from its app containers (see docs/notes/runtime.md).
struct DerivedState {
  WorkloadState state = WorkloadState::Unknown;
  std::string message;
};
DerivedState derive_state(const std::vector<const ContainerRecord*>& containers,
                          std::string_view restart_policy);

// The "Id" of every object in a JSON array (`podman pod ps --format json`).
Result<std::vector<std::string>> parse_ids(std::string_view json);

// The server version from `podman version --format json` (Server, else Client).
Result<std::string> parse_version(std::string_view json);

}  // namespace beemesh::runtime::podman
