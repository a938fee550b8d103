// runtime/engines/docker/docker_engine.h — RuntimeEngine over the Docker Engine REST API.
//
// Promise (on top of runtime.h's RuntimeEngine contract):
//  * Talks JSON over HTTP/1.1 to the daemon's Unix socket (DockerEngineOptions); works with
//    dockerd and with Podman's Docker-compatible service. Every request has a timeout.
//  * Docker has no pods: each pod (each replica) is a pause container that holds the
//    network namespace and the published ports, plus one container per pod container
//    joined to it with NetworkMode container:<pause>. All carry the workload's labels
//    (docker_plan.h), so status/list/remove find them by label after a daemon restart.
//  * deploy() checks (and, when allowed, pulls) every image before it creates anything;
//    any later failure removes every container this deploy created (never one it did not:
//    a container name already in use fails the deploy with "name_conflict", as does a
//    workload id that already runs for another manifest id).
//  * is_available() is true when GET /_ping answers OK within ping_timeout; a good answer is
//    remembered until a request fails with "unavailable" or "timeout" (no ping per deploy).
//  * Error codes: "invalid_manifest", "invalid_config", "image_not_found", "deploy_failed",
//    "name_conflict", "invalid_workload_id", "not_found", "unavailable", "timeout", "engine_error",
//    "invalid_response".
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/engines/docker/docker_options.h"
#include "runtime/engines/docker/docker_plan.h"
#include "runtime/engines/docker/docker_state.h"
#include "runtime/engines/docker/unix_http.h"
#include "runtime/runtime.h"

namespace beemesh::runtime::docker {

class DockerEngine final : public RuntimeEngine {
 public:
  explicit DockerEngine(DockerEngineOptions options = {});

  std::string name() const override { return options_.name; }
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

  const DockerEngineOptions& options() const { return options_; }
  // The socket in use; empty when it could not be resolved (see socket_error()).
  const std::string& socket_path() const { return client_.socket_path(); }

 private:
  struct Call {
    std::string method;
    std::string path;  // without the version prefix, e.g. "/containers/json?all=1"
    std::string body;
    std::chrono::milliseconds timeout{0};  // 0: request_timeout
  };
  Result<HttpResponse> call(const Call& call) const;
  Result<nlohmann::json> call_json(const Call& call, std::initializer_list<int> ok_status) const;

  Result<void> ensure_image(const std::string& image) const;
  Result<std::string> create_container(const std::string& name, const nlohmann::json& body) const;
  Result<void> start_container(const std::string& id) const;
  Result<void> remove_container(const std::string& id) const;
  Result<std::vector<ContainerView>> containers(const std::string& label_filter) const;
  Result<std::vector<ContainerView>> workload_containers(const std::string& workload_id) const;
  Result<WorkloadInfo> deploy_plan(const DockerWorkload& plan, std::vector<std::string>& created);

  DockerEngineOptions options_;
  Result<std::string> socket_;
  UnixHttpClient client_;
  mutable std::atomic<bool> known_available_{false};
};

}  // namespace beemesh::runtime::docker
