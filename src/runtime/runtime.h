// runtime/runtime.h — the RuntimeEngine contract and the engine registry.
//
// Promise:
//  * An engine turns a Kubernetes manifest into running containers and reports on them.
//    Every call is synchronous but bounded: each external call (a podman process, a Docker
//    API request) carries a timeout, and a call that times out returns Error{"timeout"}.
//    Callers that run an event loop must call engines from a worker thread (the workload
//    manager does), never from the loop itself.
//  * A node parses a manifest once: deploy() and validate_manifest() take the parsed form
//    (manifest::SharedManifest / manifest::Manifest), never YAML to parse again.
//  * deploy() either returns a Running/Pending workload or returns an Error and leaves
//    nothing behind that it created (pods, containers, temp files).
//  * Workloads are labelled beemesh.io/manifest-id and beemesh.io/workload-id so list()
//    finds them again after the daemon restarts.
//  * Engines are safe to call from several threads at once.
//  * An engine never replaces or removes a pod or container that is not labelled with the
//    workload id it was asked for: deploy() refuses with Error{"name_conflict"} when a pod
//    it would create already exists under another workload id (or none), or when that
//    workload id already runs for another manifest id; remove() touches only what carries
//    the workload id's label.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "manifest/manifest.h"

namespace beemesh::runtime {

struct PortMapping {
  std::string pod;        // pod name (empty in DeploymentConfig: applies to every pod)
  std::string container;  // container name inside the pod
  int container_port = 0;
  int host_port = 0;
  std::string protocol = "TCP";
  std::string host_ip;  // empty = all addresses
  bool operator==(const PortMapping&) const = default;
};

struct VolumeMount {
  std::string host_path;
  std::string container_path;
  bool read_only = false;
  bool operator==(const VolumeMount&) const = default;
};

struct DeploymentConfig {
  int replicas = 1;  // pods this engine runs per workload document; <= 0 = the manifest's
  std::optional<int64_t> memory_limit_bytes;  // per container
  std::optional<int64_t> cpu_limit_millis;    // per container
  std::map<std::string, std::string> env;     // injected into every container
  std::string network;                        // engine network name; empty = engine default
  std::vector<VolumeMount> volumes;           // mounted into every container
  std::vector<PortMapping> port_mappings;     // host ports for these container ports
  // Publish every container port that has no hostPort on a free host port chosen by the
  // engine (one per pod), bound to publish_host_ip; reported in WorkloadInfo::ports.
  bool publish_ports = false;
  std::string publish_host_ip = "127.0.0.1";
  std::string manifest_id;                    // label value; required
  std::string workload_id;                    // empty = the engine generates one
  std::map<std::string, std::string> labels;  // extra labels
  bool operator==(const DeploymentConfig&) const = default;
};

enum class WorkloadState { Pending, Running, Stopped, Failed, Unknown };
std::string_view to_string(WorkloadState state);
// Inverse of to_string(); nullopt for anything else.
std::optional<WorkloadState> workload_state_from_string(std::string_view text);

struct WorkloadInfo {
  std::string id;
  std::string manifest_id;
  std::string engine;
  WorkloadState state = WorkloadState::Unknown;
  std::string restart_policy = "Always";  // from the manifest: Always | OnFailure | Never
  std::vector<std::string> pods;          // pod (or pause-container) names
  std::vector<PortMapping> ports;
  int64_t created_at_ms = 0;
  std::string message;  // engine's note on the state, e.g. "container web exited (137)"
};

class RuntimeEngine {
 public:
  virtual ~RuntimeEngine() = default;

  virtual std::string name() const = 0;
  // Cheap probe (binary present / socket answers); never throws, bounded by a timeout.
  virtual bool is_available() = 0;
  // Engine-specific checks on a manifest manifest::parse accepted (e.g. features it cannot
  // run). Never parses YAML.
  virtual Result<void> validate_manifest(const manifest::Manifest& manifest) = 0;
  // Deploys a manifest parsed and validated by the caller (manifest::parse): the engine
  // works from the parsed form (plan_deployment) and never parses the YAML again.
  virtual Result<WorkloadInfo> deploy(const manifest::SharedManifest& manifest,
                                      const DeploymentConfig& config) = 0;
  // Conveniences for callers holding YAML text (tools, tests): manifest::parse, then the
  // call above; parse errors are returned as is. Engines bring them into scope with
  // `using RuntimeEngine::deploy; using RuntimeEngine::validate_manifest;`.
  Result<void> validate_manifest(std::string_view manifest_yaml);
  Result<WorkloadInfo> deploy(std::string_view manifest_yaml, const DeploymentConfig& config);
  // Error{"not_found"} when the engine has no workload with this id.
  virtual Result<WorkloadInfo> status(const std::string& workload_id) = 0;
  // Every beemesh workload this engine runs (found by label).
  virtual Result<std::vector<WorkloadInfo>> list() = 0;
  // The last `tail_lines` lines of every container's log (all when tail_lines <= 0).
  virtual Result<std::string> logs(const std::string& workload_id, int tail_lines) = 0;
  // Removes every pod/container of the workload. Removing an unknown id is not an error.
  virtual Result<void> remove(const std::string& workload_id) = 0;
  // Restarts the workload's stopped containers (used by the health monitor).
  virtual Result<void> restart(const std::string& workload_id) = 0;
};

// Engines known to a node, and how one is chosen.
class EngineRegistry {
 public:
  // `priority`: higher is preferred by auto-detection. `implicit = false` means the engine
  // is only ever used when asked for by name (the Mock engine).
  void add(std::shared_ptr<RuntimeEngine> engine, int priority, bool implicit = true);

  std::shared_ptr<RuntimeEngine> get(std::string_view name) const;
  std::vector<std::string> names() const;

  // 1. `preferred` if given, registered and available;
  // 2. else the available implicit engine with the highest priority (logged as fallback);
  // 3. else Error{"no_engine"} naming what was tried and why each was unusable.
  Result<std::shared_ptr<RuntimeEngine>> select(const std::optional<std::string>& preferred) const;

 private:
  struct Entry {
    std::shared_ptr<RuntimeEngine> engine;
    int priority;
    bool implicit;
  };
  std::vector<Entry> entries_;
};

// A random workload id: 16 lowercase hex characters.
std::string new_workload_id();
// True for the ids new_workload_id() makes (exactly 16 lowercase hex characters). A deploy
// under any other id is refused with Error{"invalid_workload_id"} (plan_deployment(), the
// workload manager): ids go whole into pod names, labels and engine filters.
bool is_valid_workload_id(std::string_view id);

}  // namespace beemesh::runtime
