// kube/views.h — what the mesh runs, shown as Kubernetes objects: Pods, Deployments,
// StatefulSets, ConfigMaps, Secrets, Nodes, Events, lists and meta.k8s.io/v1 Tables.
//
// Promise: every function only reads its inputs; times are RFC 3339 UTC; Tables carry
// kubectl's usual columns for the resource (priority 1 = shown with -o wide) and
// PartialObjectMetadata rows.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "api/node_service.h"
#include "kube/discovery.h"
#include "kube/store.h"

namespace beemesh::kube {

using Json = nlohmann::json;

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
  int updated = 0;  // of total, those running the desired content version
};
// The desired content version as replicas are labelled with it (beemesh.io/content-version).
std::string content_version_label(const StoredObject& stored);
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
// A Table of `items` (full objects).
Json table_object(const ResourceType& type, const Json& items, int64_t now_ms);

}  // namespace beemesh::kube
