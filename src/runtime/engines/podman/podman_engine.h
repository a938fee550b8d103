// runtime/engines/podman/podman_engine.h — the RuntimeEngine that drives the podman CLI.
//
// Promise (on top of RuntimeEngine's):
//  * deploy() writes the rewritten manifest (one Pod per replica, labels
//    beemesh.io/manifest-id, beemesh.io/workload-id, beemesh.io/restart-policy and
//    beemesh.io/port-<port>-<proto>) to a 0600 temp file, runs `podman kube play` (never
//    --replace), removes the file, waits until every container runs, and checks the host
//    ports Podman reports against the plan. Any failure removes every pod and container
//    carrying the workload label before the Error is returned.
//  * Before that, deploy() refuses with Error{"name_conflict"}, touching nothing, when a pod
//    or container it would create exists without this workload id's label, or when this
//    workload id runs for another manifest id. A redeploy of the same workload id and
//    manifest id replaces the workload's pods (removed first, by label).
//  * With publish_ports, free host ports are picked on publish_host_ip by a bind test; a
//    port taken in between makes deploy retry with fresh ports (up to 3 attempts).
//  * status()/list() come from `podman ps -a --pod --format json` filtered by label (JSON,
//    never tables), so workloads are found again after a restart of the daemon.
//  * remove() is `podman pod rm -f -t <stop_grace>` of every pod with the workload label
//    (plus any stray labelled container), `podman secret rm` of the workload's Secrets
//    (named "<name>-<workload id>" by the rewrite; a failed deploy removes them too) and
//    checks that nothing is left.
//  * is_available() runs `podman version` the first time and again only after a podman call
//    could not be run or timed out (no probe per deploy).
//  * Every podman call runs through common/process with a timeout; podman inherits the
//    caller's environment (CONTAINERS_CONF), plus PodmanConfig::env.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/process.h"
#include "runtime/engines/podman/podman_common.h"
#include "runtime/runtime.h"

namespace beemesh::runtime {

struct PodmanConfig {
  std::string name = "podman";  // the engine's name in the registry
  std::string podman_binary = "podman";
  std::chrono::milliseconds play_timeout{60'000};   // kube play and pod removal
  std::chrono::milliseconds query_timeout{15'000};  // ps, logs, pod start
  std::chrono::milliseconds probe_timeout{5'000};   // is_available
  std::chrono::milliseconds start_timeout{30'000};  // waiting for containers to run
  int stop_grace_seconds = 2;                       // SIGTERM -> SIGKILL on removal
  std::string temp_dir = {};                        // empty: $TMPDIR or /tmp
  std::map<std::string, std::string> env = {};      // extra environment for podman
  // Storage options, passed as podman's global flags when set (--root, --runroot,
  // --storage-driver); empty: Podman's own defaults (storage.conf).
  std::string root = {};
  std::string runroot = {};
  std::string storage_driver = {};
};

class PodmanEngine final : public RuntimeEngine {
 public:
  explicit PodmanEngine(PodmanConfig config = {});

  std::string name() const override { return config_.name; }
  bool is_available() override;
  using RuntimeEngine::deploy;
  using RuntimeEngine::validate_manifest;
  Result<void> validate_manifest(const manifest::Manifest& parsed) override;
  Result<WorkloadInfo> deploy(const manifest::SharedManifest& parsed,
                              const DeploymentConfig& config) override;
  Result<WorkloadInfo> status(const std::string& workload_id) override;
  Result<std::vector<WorkloadInfo>> list() override;
  Result<std::string> logs(const std::string& workload_id, int tail_lines) override;
  Result<void> remove(const std::string& workload_id) override;
  Result<void> restart(const std::string& workload_id) override;

  const PodmanConfig& config() const { return config_; }

 private:
  Result<ProcessResult> podman(std::vector<std::string> args, std::chrono::milliseconds timeout,
                               bool check_exit = true) const;
  Result<std::vector<WorkloadInfo>> query(const std::string& workload_id) const;
  Result<WorkloadInfo> deploy_once(const manifest::SharedManifest& parsed,
                                   const DeploymentConfig& config, const std::string& workload_id,
                                   std::set<int>& picked, bool& port_race);
  Result<WorkloadInfo> wait_until_running(const std::string& workload_id);
  Result<void> remove_labelled(const std::string& workload_id);
  Result<void> remove_secrets(const std::string& workload_id);
  Result<void> check_no_conflict(const std::vector<std::string>& pod_names,
                                 const std::string& workload_id,
                                 const std::string& manifest_id) const;

  PodmanConfig config_;
  podman::HostPortReservations reserved_ports_;  // picked by deploys still in flight
  // The last availability probe said yes and no podman call has failed to run since.
  mutable std::atomic<bool> known_available_{false};
};

}  // namespace beemesh::runtime
