// kube/objects.h — Kubernetes objects in and out: what kubectl sends made canonical, and
// what the mesh runs shown as Pods, Deployments, StatefulSets and Nodes (and as
// meta.k8s.io/v1 Tables for `kubectl get`).
//
// Promise:
//  * canonicalize() checks what kubectl sent against the request path (apiVersion, kind,
//    namespace, name; "bad_request" / "invalid_manifest" naming the field) and returns the
//    object without server-set fields (status, metadata.uid/resourceVersion/generation/
//    creationTimestamp/managedFields/selfLink), with the last-applied annotation taken
//    out and metadata.namespace set. mesh_text is what the mesh receives: that object
//    without spec.replicas (replicas travel as the apply's replica count, so scaling keeps
//    the content version), as JSON with sorted keys. Same object in, same bytes out:
//    re-applying a file never changes the content version.
//  * The view functions only read their inputs; times are RFC 3339 UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/node_service.h"
#include "common/result.h"
#include "kube/discovery.h"
#include "kube/store.h"

namespace beemesh::kube {

using Json = nlohmann::json;

inline constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

struct Canonical {
  Json object;
  std::string last_applied;  // the annotation's text, "" when absent
  int replicas = 1;          // spec.replicas of Deployments/StatefulSets, else 1
  std::string mesh_text;
};

// `path_name` empty on create (POST).
Result<Canonical> canonicalize(const Json& body, const ResourceType& type, std::string_view path_ns,
                               std::string_view path_name);

std::string rfc3339(int64_t ms);

// One pod of a workload the mesh runs.
struct PodView {
  api::WorkloadView workload;
  api::NodeInfo node;
  std::string pod_name;
  size_t pod_index = 0;
  const StoredObject* owner = nullptr;  // the applied object it belongs to, when known
};

Json pod_object(const PodView& pod);
// The pods of the owner's workload `manifest_id`: counts for status.
struct ReplicaCounts {
  int total = 0;
  int running = 0;
};
// Deployment, StatefulSet or Pod (as applied) with a status from `counts`.
Json workload_object(const StoredObject& stored, const ReplicaCounts& counts,
                     const std::string& resource_version);
Json configmap_object(const StoredObject& stored);
Json node_object(const api::NodeInfo& node, int64_t now_ms);
Json namespace_object(const std::string& name);
// A v1 Event for one of the mesh's events; `owner` (may be null) is the applied object of
// the event's manifest, which becomes the involvedObject (else the workload id, kind Pod).
Json event_object(const api::EventView& event, const api::NodeInfo& node,
                  const StoredObject* owner);

// {"kind": "<Kind>List", "items": [...]}.
Json list_object(const ResourceType& type, Json items);
// A meta.k8s.io/v1 Table of `items` (full objects) with kubectl's usual columns for the
// resource (priority 1 = shown with -o wide).
Json table_object(const ResourceType& type, const Json& items, int64_t now_ms);

// `patch` applied to `target`: a JSON merge patch (RFC 7386) that also merges lists of
// objects by their merge key (name, containerPort, mountPath, ip) and honours
// "$patch": "delete" and "$setElementOrder/<list>" — the strategic merge of the built-in
// kinds as far as kubectl's patches need it (other directives are dropped).
void strategic_merge(Json& target, const Json& patch);

// Label selector "a=b,c!=d,e" (equality-based and existence); false on syntax kubectl
// would not send (then nothing matches).
bool matches_labels(const Json& object, std::string_view selector);
// Field selector "a.b=X,c.d!=Y": any dotted path to a string field (metadata.name,
// involvedObject.kind, ...).
bool matches_fields(const Json& object, std::string_view selector);

}  // namespace beemesh::kube
