// workload/config.h — WorkloadManagerConfig: the seed's names and defaults, plus the
// health monitor's and the queue's knobs.
//
// Promise: a default-constructed config is what a production node runs with.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace beemesh::workload {

struct WorkloadManagerConfig {
  // The seed's WorkloadManagerConfig.
  bool announce_as_provider = true;                         // announce after deployment
  int64_t provider_ttl_seconds = 3600;                      // TTL of the provider record
  std::optional<std::string> preferred_runtime = "podman";  // preferred engine
  bool validate_manifests = true;                           // validate before deploy
  int max_concurrent_deployments = 10;                      // engine deploys at once

  // Deploy (and asynchronous remove) requests waiting for a worker; beyond this the
  // request is refused with Error{"busy"}.
  size_t max_queued_deployments = 10'000;

  // Health monitor: how often every workload's status is asked from its engine. With
  // run_health_monitor = false no thread runs; check_health_now() still works.
  std::chrono::milliseconds health_check_interval{10'000};
  bool run_health_monitor = true;
  // A failed restart is retried after interval x 2^(failures-1), capped here.
  std::chrono::milliseconds max_restart_backoff{300'000};

  // Engine calls carry no timeout of the manager's own: every RuntimeEngine call is
  // bounded by the engine (runtime.h) and answers Error{"timeout"} when it runs out.
};

}  // namespace beemesh::workload
