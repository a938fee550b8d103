// runtime/engines/podman/podman_rest_engine.h — the RuntimeEngine over Podman's libpod REST
// API on a Unix socket (the default "podman" engine).
//
// Promise (on top of RuntimeEngine's, and the same workloads as the CLI engine makes):
//  * Talks HTTP/1.1 to the libpod API (`/v4.0.0/libpod/...`) through the Docker engine's
//    Unix-socket client; every request has a timeout. No podman process runs per call.
//  * socket_path empty: the engine starts its own `podman system service` (podman_service.h)
//    on first use, starts it again when it has exited (idle timeout, crash) — a request our
//    own service refused to connect is retried once on a fresh one — and stops it when the
//    engine is destroyed.
//  * deploy(): one container list (name conflicts and a redeploy of the same id, as the CLI
//    engine), one POST /libpod/play/kube with the rewritten YAML (podman_common.h), then
//    container lists until every app container runs (start_timeout). Any failure removes
//    everything labelled with the workload id. A picked host port taken meanwhile ("address
//    already in use") retries with fresh ports (3 attempts).
//  * status()/list(): GET /libpod/containers/json?all=true&pod=true filtered by label.
//    logs(): GET /libpod/containers/{id}/logs per app container (demultiplexed, stdout and
//    stderr in order; "==> name <==" before each when there are several).
//    remove(): per labelled pod, POST .../stop?t=<grace> and DELETE ...?force=true (pods side
//    by side), stray labelled containers deleted, the workload's Secrets (`podman secret`s
//    named "<name>-<workload id>" by the rewrite) deleted, then a check that nothing is
//    left. A failed deploy goes through the same removal, Secrets included.
//    restart(): POST /libpod/pods/{id}/start of each labelled pod.
//  * is_available(): a GET /_ping the first time and again after a call failed for want of
//    the service ("unavailable", "timeout"); otherwise the last good answer, without a call.
//  * Error codes: those of the CLI engine ("invalid_argument", "name_conflict",
//    "deploy_failed", "port_mismatch", "timeout", "not_found", "remove_failed"), plus
//    "unavailable" (no service), "podman_failed" (an API error answer) and "podman_output".
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/engines/docker/unix_http.h"
#include "runtime/engines/podman/podman_common.h"
#include "runtime/engines/podman/podman_service.h"
#include "runtime/runtime.h"

namespace beemesh::runtime {

struct PodmanRestConfig {
  std::string name = "podman";
  std::string socket_path;  // the libpod API socket; empty: start our own service
  std::string api_version = "v4.0.0";
  // Our own service: the binary, its storage flags, extra environment, where its socket goes.
  std::string podman_binary = "podman";
  std::string root;
  std::string runroot;
  std::string storage_driver;
  std::map<std::string, std::string> env;
  std::string service_dir;  // empty: $TMPDIR or /tmp
  std::chrono::milliseconds service_start_timeout{15'000};
  // Our own service exits after this long without a request (so one orphaned by a killed
  // daemon ends); the engine starts it again when needed. 0: never.
  int service_idle_timeout_seconds = 60;
  std::chrono::milliseconds play_timeout{60'000};   // play/kube, pod stop/removal/start
  std::chrono::milliseconds query_timeout{15'000};  // lists, logs
  std::chrono::milliseconds probe_timeout{5'000};   // /_ping
  std::chrono::milliseconds start_timeout{30'000};  // waiting for containers to run
  int stop_grace_seconds = 2;
};

class PodmanRestEngine final : public RuntimeEngine {
 public:
  explicit PodmanRestEngine(PodmanRestConfig config = {});
  ~PodmanRestEngine() override;

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

  const PodmanRestConfig& config() const { return config_; }
  // The socket in use (empty before our own service was started).
  std::string socket_path() const;

 private:
  // The API socket; starts our own service when there is none (or `refused` is the socket of
  // the one we have, which then is replaced).
  Result<std::string> ensure_socket(const std::string& refused = {});
  Result<docker::HttpResponse> call(std::string_view method, const std::string& path,
                                    std::chrono::milliseconds timeout, std::string_view body = {},
                                    std::string_view content_type = {});
  // Every container (all=true, with pod names); `workload_id` empty: all beemesh-labelled,
  // "*": every container Podman has.
  Result<std::vector<podman::ContainerRecord>> containers(const std::string& workload_id);
  Result<std::vector<std::string>> labelled_pods(const std::string& workload_id);
  Result<void> remove_labelled(const std::string& workload_id);
  Result<void> remove_secrets(const std::string& workload_id);
  Result<WorkloadInfo> wait_until_running(const std::string& workload_id);
  Result<WorkloadInfo> deploy_once(const manifest::SharedManifest& parsed,
                                   const DeploymentConfig& config, const std::string& workload_id,
                                   std::set<int>& picked, bool& port_race);

  PodmanRestConfig config_;
  podman::HostPortReservations reserved_ports_;
  mutable std::mutex service_mutex_;
  std::unique_ptr<podman::PodmanService> service_;  // ours, when socket_path is empty
  std::string socket_;
  std::atomic<bool> known_available_{false};
};

}  // namespace beemesh::runtime
