// kube/objects.h — what kubectl sends, made canonical and patched; selectors.
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
//  * strategic_merge() and the selectors only read their inputs (the patch target aside).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

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
