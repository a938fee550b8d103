// manifest/validate_pod.h — internal: validation of a pod spec (Pod spec, or the
// spec.template.spec of a Deployment/StatefulSet) into the typed Container list.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "manifest/manifest.h"

namespace beemesh::manifest {

struct PodSpec {
  std::string restart_policy = "Always";
  std::vector<Container> containers;  // spec.containers (initContainers are checked, not kept)
};

Result<PodSpec> validate_pod_spec(const YAML::Node& spec, std::string_view path);

}  // namespace beemesh::manifest
