// runtime/engines/docker/docker_state.h — from the daemon's container list to WorkloadInfo.
//
// Promise (pure functions, no I/O):
//  * parse_container() reads one entry of GET /containers/json (Docker and Podman's
//    compat flavour); the exit code comes from its "Status" text ("Exited (137) ...") and
//    is -1 when that text does not say.
//  * summarize_workload() gives one workload's state from all of its containers:
//      Failed   a container exited non-zero, is dead, or is missing (pause or a container
//               the pod declared) — message names the first such container;
//      Stopped  a container exited 0 (message names it);
//      Pending  a container is created, restarting or paused but none failed or stopped;
//      Running  every pause and app container runs.
//    Pods come in pod-index order; ports are those the pause containers publish, each
//    attributed to the container that declares it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/runtime.h"

namespace beemesh::runtime::docker {

struct ContainerView {
  std::string id;
  std::string name;  // without the leading '/'
  std::map<std::string, std::string> labels;
  std::string state;  // running | exited | created | restarting | paused | dead | removing
  int exit_code = -1;
  int64_t created_s = 0;
  std::vector<PortMapping> published;  // pod/container left empty

  std::string label(std::string_view key) const;
  bool is_pause() const;
};

ContainerView parse_container(const nlohmann::json& entry);

WorkloadInfo summarize_workload(const std::string& workload_id,
                                const std::vector<ContainerView>& containers,
                                const std::string& engine_name);

// Groups containers by their beemesh.io/workload-id label (containers without it are
// dropped), keeping the input order inside each group.
std::map<std::string, std::vector<ContainerView>> group_by_workload(
    const std::vector<ContainerView>& containers);

}  // namespace beemesh::runtime::docker
