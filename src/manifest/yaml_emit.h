// manifest/yaml_emit.h — internal: writes a yaml-cpp node tree back as block YAML that
// keeps strings strings. yaml-cpp's own Node emission drops the quotes of "8080" (it comes
// back as a number, which Kubernetes and Podman reject in a string field); here a scalar
// tagged "!" (quoted in the source, or marked with string_node/mark_string) is quoted
// whenever its plain form would read as a number, bool or null.
//
// Promise of emit_yaml(): the text loads back (YAML::Load) as the same tree: the same
// node types, the same keys in the same order, the same scalar bytes, every string-tagged
// scalar still reading as a string, and every other scalar written plain exactly as given
// (so it resolves as it did). Two writers keep it: a direct block writer for the common
// case (ASCII scalars; plain scalars from a conservative character set; string-tagged ones
// plain only when plain_reads_as_string(), else double-quoted), and yaml-cpp's Emitter for
// any tree holding something else (non-ASCII bytes, a plain scalar outside that set, a key
// that is not a scalar). The direct writer exists for speed: yaml-cpp's Emitter runs a
// regular-expression match per scalar and was ~5 % of the CPU of an apply (issue 15).
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

namespace beemesh::manifest {

std::string emit_yaml(const YAML::Node& node);

// The two writers behind emit_yaml(), for tests: the direct one (nullopt when the tree
// holds something it leaves to yaml-cpp) and yaml-cpp's.
std::optional<std::string> emit_yaml_direct(const YAML::Node& node);
std::string emit_yaml_generic(const YAML::Node& node);

// A scalar node that is always written back as a string.
YAML::Node string_node(const std::string& value);
// Marks an existing scalar as a string (no effect on maps, sequences, null).
void mark_string(YAML::Node node);

}  // namespace beemesh::manifest
