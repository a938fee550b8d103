// kube/kube_api.h — the Kubernetes API subset, as plain request -> reply (no sockets).
//
// Promise:
//  * handle() answers discovery (kube/discovery.h), and get/list/create/patch/update/
//    delete on the resources of kube/discovery.h, pods/log and deployments|statefulsets/
//    scale, turning writes into the mesh's signed apply and delete (kube/mesh_gateway.h).
//    Every error is a v1 Status (kube/status.h) with its HTTP status; a body whose fields
//    have the wrong JSON types is a BadRequest, never an exception.
//  * Creates and updates of Deployments, StatefulSets and Pods are applies of the
//    canonical object (kube/objects.h) plus the ConfigMaps and Secrets of the same
//    namespace its pod spec names; `kubectl apply` PATCHes are applied from the
//    last-applied-configuration annotation they carry (client-side apply), other PATCHes
//    are JSON merge patches of the current object; server-side apply PATCHes
//    (application/apply-patch+yaml, JSON bodies) create or replace with the object sent.
//    POST of an existing object is AlreadyExists (409). Bodies are JSON only: protobuf is
//    415 (so `kubectl create configmap|secret|deployment NAME` generators do not work;
//    `kubectl create -f` does). A "configured" apply's message and failed placements come
//    back as Warning headers.
//  * list_items() is what a list request returns, for watches (kube/proxy.h).
//  * Thread-safe (the gateway and the store are).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "kube/discovery.h"
#include "kube/mesh_gateway.h"
#include "kube/status.h"
#include "kube/store.h"

namespace beemesh::kube {

struct Request {
  std::string method;
  std::string path;  // decoded, without the query
  std::map<std::string, std::string> query;
  std::string accept;
  std::string content_type;
  std::string body;
  std::string param(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? "" : it->second;
  }
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> warnings;  // `Warning: 299 - "<text>"` headers (kubectl prints them)
};

// Where apply_object leaves warnings inside its result (taken out before replying).
inline constexpr std::string_view kWarningsKey = "__beemesh_warnings";

// A resource path: /api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]].
struct Target {
  const ResourceType* type = nullptr;
  std::string ns;  // empty: every namespace (or cluster-scoped)
  std::string name;
  std::string sub;
  bool dry_run = false;  // ?dryRun=All: validate and answer, change nothing (kubectl diff)
};
Result<Target> parse_target(const std::string& path);

bool wants_table(const std::string& accept);

// What the HTTP server (kube/proxy.h) serves; KubeApi is the real one.
class ApiHandler {
 public:
  virtual ~ApiHandler() = default;
  virtual Reply handle(const Request& request) = 0;
  // The objects a list of `target` returns (label and field selectors of `request` applied).
  virtual Result<Json> list_items(const Target& target, const Request& request) = 0;
  virtual int64_t now_ms() const = 0;
  // The text of GET .../pods/NAME/log for `request` (its tailLines, container), for
  // `kubectl logs -f`, which the server streams.
  virtual Result<std::string> pod_log(const Request& request) = 0;
};

class KubeApi final : public ApiHandler {
 public:
  KubeApi(MeshGateway& mesh, ObjectStore& store, const Clock& clock)
      : mesh_(mesh), store_(store), clock_(clock) {}

  Reply handle(const Request& request) override;
  Result<Json> list_items(const Target& target, const Request& request) override;
  int64_t now_ms() const override { return clock_.now_ms(); }
  Result<std::string> pod_log(const Request& request) override;

 private:
  Reply handle_checked(const Request& request);
  Result<Json> get_object(const Target& t);
  Result<Json> create(const Target& t, const Request& r);
  Result<Json> patch(const Target& t, const Request& r);
  Result<Json> replace(const Target& t, const Request& r);
  Result<Json> remove(const Target& t);
  Result<Json> scale(const Target& t, const Request& r);
  Result<std::string> logs(const Target& t, const Request& r);
  // Applies `object` (kubectl's, or a patched one) and records it.
  Result<Json> apply_object(const Target& t, const Json& object,
                            std::optional<std::string> last_applied,
                            const std::optional<StoredObject>& existing);
  // The stored object, or one made from the mesh's desired state when another client
  // applied it (no last-applied annotation); nullopt when the mesh holds none.
  Result<std::optional<StoredObject>> current(const ResourceType& type, const std::string& ns,
                                              const std::string& name);
  Result<Json> view(const StoredObject& stored, const MeshSnapshot* snapshot);
  Result<Json> pods(const std::string& ns, const MeshSnapshot& snapshot);

  MeshGateway& mesh_;
  ObjectStore& store_;
  const Clock& clock_;
};

}  // namespace beemesh::kube
