// kube/store.h — what this proxy applied, kept on the user's machine.
//
// The mesh keeps manifests encrypted and hands them back to nobody, so the proxy keeps the
// object kubectl last applied (and its last-applied-configuration annotation) next to the
// user's key, to answer GET with the object kubectl expects (three-way merges then see no
// difference and re-applying a file is "unchanged"). An entry only counts while the mesh's
// desired state has the same content version (checked by the proxy on every read), so an
// apply from another place never shows a stale object. ConfigMaps and Secrets live only
// here and travel to the mesh inside the manifests of the workloads that use them.
//
// Promise:
//  * One file per object, <dir>/<resource>_<namespace>_<name>.json, written with
//    write_private_file (0600, atomic); names are checked (valid_name) before they reach
//    a path. open() reads at most kMaxObjects files of at most kMaxObjectFileBytes each,
//    skipping what does not parse.
//  * Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/mutex.h"
#include "common/result.h"
#include "common/thread_annotations.h"

namespace beemesh::kube {

using Json = nlohmann::json;

inline constexpr size_t kMaxObjects = 10'000;
inline constexpr size_t kMaxObjectFileBytes = size_t{4} << 20;

// Kubernetes object names (DNS-1123 subdomain, ≤ 253) and namespaces (label, ≤ 63).
bool valid_name(std::string_view name);
bool valid_namespace(std::string_view ns);

struct StoredObject {
  std::string resource;  // "deployments"
  std::string ns;        // empty for cluster-scoped
  std::string name;
  Json object;                  // the canonical object (spec.replicas included)
  std::string last_applied;     // kubectl.kubernetes.io/last-applied-configuration; may be empty
  std::string manifest_id;      // workloads
  std::string content_version;  // hex, of the YAML the mesh received (workloads)
  int64_t created_ms = 0;
  int64_t generation = 1;

  Json to_json() const;
  static std::optional<StoredObject> from_json(const Json& j);
};

class ObjectStore {
 public:
  static Result<std::unique_ptr<ObjectStore>> open(std::filesystem::path dir);

  std::optional<StoredObject> get(const std::string& resource, const std::string& ns,
                                  const std::string& name) const;
  // ns empty: every namespace.
  std::vector<StoredObject> list(const std::string& resource, const std::string& ns) const;
  std::vector<std::string> namespaces() const;
  Result<void> put(const StoredObject& object);
  void erase(const std::string& resource, const std::string& ns, const std::string& name);

 private:
  explicit ObjectStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path file_of(const std::string& key) const;
  std::filesystem::path dir_;
  mutable Mutex mu_;
  std::map<std::string, StoredObject> objects_ GUARDED_BY(mu_);  // key: resource_ns_name
};

}  // namespace beemesh::kube
