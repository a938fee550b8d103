// workload/record.h — what this node knows about one workload it runs.
//
// Promise: a WorkloadRecord is the durable row of a workload (StateStore) and what the
// workload manager returns from deploy/status/list. `healthy` is the manager's verdict
// (false between an Unhealthy and a Recovered event); `state` is the engine's last report.
// The plaintext manifest is never part of a record (it stays encrypted at rest).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/runtime.h"
#include "workload/resources.h"

namespace beemesh::workload {

struct WorkloadRecord {
  std::string id;
  std::string manifest_id;
  std::string owner;   // hex public key of the manifest's owner
  std::string engine;  // RuntimeEngine::name() that runs it
  runtime::WorkloadState state = runtime::WorkloadState::Unknown;
  bool healthy = true;
  std::string restart_policy = "Always";  // Always | OnFailure | Never
  runtime::DeploymentConfig config;       // as deployed (empty when adopted from the engine)
  std::vector<std::string> pods;
  std::vector<runtime::PortMapping> ports;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int restarts = 0;     // restarts issued by the health monitor
  std::string message;  // last note: engine's message or why it is unhealthy
  // What it takes of this node's capacity (reservation_of() of its manifest at deploy;
  // zero when adopted from an engine without a record, the manifest being encrypted).
  Resources reserved;
};

// Running or starting: what the health monitor counts as up.
inline bool is_up(runtime::WorkloadState state) {
  return state == runtime::WorkloadState::Running || state == runtime::WorkloadState::Pending;
}

}  // namespace beemesh::workload
