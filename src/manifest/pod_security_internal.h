// manifest/pod_security_internal.h — internal: the pieces check_pod_security() is built from.
// Keys are looked up as Podman's decoder (Go encoding/json via sigs.k8s.io/yaml) matches
// them: ASCII case-insensitively, 'ſ' as 's' and the Kelvin sign as 'k'; every matching key
// is checked, so a second spelling cannot hide a value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "manifest/pod_security.h"

namespace beemesh::manifest::pod_security {

// The key folded the way Go's encoding/json compares field names.
std::string fold_key(std::string_view key);
// Every (key as written, value) of `map` whose key folds to `key`; empty for a non-map.
std::vector<std::pair<std::string, YAML::Node>> fields_named(const YAML::Node& map,
                                                             std::string_view key);
// A plain (unquoted) YAML boolean with this value.
bool is_plain_bool(const YAML::Node& node, bool value);
// Absent, null or a plain false: what "must be unset or false" accepts.
bool unset_or_false(const YAML::Node& node);
// A scalar's text; "" for anything else.
std::string text_of(const YAML::Node& node);

// One pod being checked: the level, the document, and how to word a refusal.
struct PodCheck {
  PodSecurityLevel level = PodSecurityLevel::kBaseline;
  int doc = 0;
  // Restricted: what the pod-level securityContext already guarantees for every container.
  bool pod_run_as_non_root = false;
  bool pod_seccomp_set = false;

  bool restricted() const { return level == PodSecurityLevel::kRestricted; }
  // Error{"forbidden_pod_security", "doc <n>: <path>: <reason> (pod security \"<level>\")"}.
  Error forbid(std::string_view path, std::string_view reason) const;
  // A refusal when `node` is present but not a map (or list): fail closed on odd shapes.
  Result<void> need_map(const YAML::Node& node, std::string_view path) const;
  Result<void> need_list(const YAML::Node& node, std::string_view path) const;
};

// A value found under a chain of keys, with its path as written ("spec.HostNetwork").
struct Found {
  std::string path;
  YAML::Node node;
};
// Every present value under node.keys[0].keys[1]...; an intermediate value that is present
// but not a map is refused (check.forbid(path, "must be a map")).
Result<std::vector<Found>> find_all(const PodCheck& check, const YAML::Node& node,
                                    std::string_view path,
                                    std::initializer_list<std::string_view> keys);

// Controls of one securityContext shared by pods and containers: seccomp, AppArmor,
// SELinux, windowsOptions.hostProcess, runAsUser (restricted). `context` is a map.
Result<void> check_common_context(const PodCheck& check, const YAML::Node& context,
                                  std::string_view path);
// Every control of one container (ports, securityContext).
Result<void> check_container(const PodCheck& check, const YAML::Node& container,
                             std::string_view path);

}  // namespace beemesh::manifest::pod_security
