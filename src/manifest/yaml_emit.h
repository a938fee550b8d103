// manifest/yaml_emit.h — internal: writes a yaml-cpp node tree back as block YAML that
// keeps strings strings. yaml-cpp's own Node emission drops the quotes of "8080" (it comes
// back as a number, which Kubernetes and Podman reject in a string field); here a scalar
// tagged "!" (quoted in the source, or marked with string_node/mark_string) is quoted
// whenever its plain form would read as a number, bool or null.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace beemesh::manifest {

std::string emit_yaml(const YAML::Node& node);

// A scalar node that is always written back as a string.
YAML::Node string_node(const std::string& value);
// Marks an existing scalar as a string (no effect on maps, sequences, null).
void mark_string(YAML::Node node);

}  // namespace beemesh::manifest
