// kube/discovery.h — the Kubernetes API surface the proxy serves, and its discovery
// documents.
//
// Promise:
//  * kResources is the whole surface: pods, nodes, configmaps, secrets, events (core v1)
//    and deployments, statefulsets (apps/v1), with the verbs the proxy implements.
//    find_resource() looks one up by group/version/plural name.
//  * version_document() (/version), api_versions() (/api), api_groups() (/apis),
//    api_group("apps") (/apis/apps), resource_list(group, version) (/api/v1,
//    /apis/apps/v1) are the legacy (unaggregated) discovery documents: kubectl 1.32 asks
//    for the aggregated form first and falls back to these when the answer's Content-Type
//    is plain application/json.
//  * openapi_v3_root() (/openapi/v3) and openapi_v3_group_version() (/openapi/v3/api/v1,
//    /openapi/v3/apis/apps/v1) are a minimal OpenAPI v3: one path per resource whose PATCH
//    carries x-kubernetes-group-version-kind and the `fieldValidation` query parameter,
//    and no schemas. That is what kubectl's field-validation check reads: it then leaves
//    validation to the server (the mesh validates every manifest) instead of downloading
//    a schema. Strategic-merge patches fall back to kubectl's built-in types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace beemesh::kube {

using Json = nlohmann::json;

struct ResourceType {
  std::string_view group;     // "" = core
  std::string_view version;   // "v1"
  std::string_view resource;  // plural: "deployments"
  std::string_view singular;  // "deployment"
  std::string_view kind;      // "Deployment"
  bool namespaced = true;
  std::string_view short_names;  // comma-separated
  std::string_view verbs;        // comma-separated
  bool workload = false;         // travels to the mesh as a manifest of its own
  bool local = false;            // ConfigMap/Secret: kept by the proxy, bundled with workloads

  std::string api_version() const {
    return group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  }
};

inline constexpr std::string_view kAllVerbs = "create,delete,get,list,patch,update,watch";

inline const std::vector<ResourceType>& resources() {
  static const std::vector<ResourceType> kResources{
      {"", "v1", "pods", "pod", "Pod", true, "po", kAllVerbs, true, false},
      {"", "v1", "nodes", "node", "Node", false, "no", "get,list,watch", false, false},
      {"", "v1", "configmaps", "configmap", "ConfigMap", true, "cm", kAllVerbs, false, true},
      {"", "v1", "secrets", "secret", "Secret", true, "", kAllVerbs, false, true},
      {"", "v1", "events", "event", "Event", true, "ev", "get,list,watch", false, false},
      {"", "v1", "namespaces", "namespace", "Namespace", false, "ns", "get,list", false, false},
      {"apps", "v1", "deployments", "deployment", "Deployment", true, "deploy", kAllVerbs, true,
       false},
      {"apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, "sts", kAllVerbs, true,
       false},
  };
  return kResources;
}

const ResourceType* find_resource(std::string_view group, std::string_view version,
                                  std::string_view resource);
const ResourceType* find_kind(std::string_view api_version, std::string_view kind);

Json version_document();
Json api_versions();
Json api_groups();
Json api_group(std::string_view group);
// nullopt: no such group/version.
std::optional<Json> resource_list(std::string_view group, std::string_view version);
Json openapi_v3_root();
std::optional<Json> openapi_v3_group_version(std::string_view group, std::string_view version);

}  // namespace beemesh::kube
