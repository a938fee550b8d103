// manifest/yaml_limits.h — internal: checks one YAML document against parse()'s limits
// (manifest.h: no anchors or aliases, depth, node count, scalar size) on yaml-cpp's event
// stream, which never expands an alias and builds no tree. Stops at the first problem.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace beemesh::manifest {

struct YamlLimitProblem {
  int line = 0;        // 1-based line in the whole source
  std::string reason;  // e.g. "YAML anchors and aliases are not accepted"
};

// Scans the first document of `text` (what YAML::Load(text) would build); `first_line` is
// the 0-based source line `text` starts on. `nodes` is the count of nodes seen so far in
// the source; it is increased by this document's nodes. YAML syntax errors are thrown as
// YAML::Exception, exactly as YAML::Load would throw them.
std::optional<YamlLimitProblem> check_yaml_limits(const std::string& text, int first_line,
                                                  size_t& nodes);

}  // namespace beemesh::manifest
