// kube/mesh_gateway.h — the proxy's signed conversation with the mesh, as the CLI has it.
//
// Promise:
//  * open() loads the user's key and credential exactly like the CLI (cli/owner_auth.h,
//    cli/credential.h): no_credential / credential_mismatch before any request. The key
//    never leaves this process: nodes get the credential, single-use ApiAuth signatures
//    (per request, per node) and owner-signed grants, intents and tombstones.
//  * apply() sends `yaml` with the owner's apply grant (bound to the content and replica
//    count) and intent, like `beemesh apply`; remove() the owner-signed delete token and
//    tombstone, like `beemesh delete`. The manifest id is manifest_id(owner, manifest).
//  * desired() is the mesh's desired state for one of the owner's manifests: nullopt when
//    there is none or it is a tombstone.
//  * workloads() asks every node of the entry node's directory (GET /workloads on its API
//    endpoint, signed for that node's key), in parallel-free order with a 5 s budget per
//    node; unreachable nodes are left out and named in `unreachable`.
//  * events() reads every node's recent events (GET /events?replay=1) in parallel.
//  * The entry node is --server; when it cannot be reached (connection refused: nothing
//    sent), each call tries the other nodes of the last directory read, and the first that
//    answers becomes the entry node (grants then name that node).
//  * Safe to call from several threads: each call uses its own ApiClient.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/node_service.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "crypto/identity.h"
#include "manifest/manifest.h"

namespace beemesh::kube {

struct GatewayOptions {
  std::string server;                     // entry node API, "http://127.0.0.1:7480"
  std::filesystem::path identity_path;    // empty: cli::default_identity_path()
  std::filesystem::path credential_path;  // empty: cli::default_credential_path()
  std::string ca_cert_file;
};

struct NodeWorkloads {
  api::NodeInfo node;
  std::vector<api::WorkloadView> workloads;
};

struct NodeEvent {
  api::NodeInfo node;
  api::EventView event;
};

struct MeshSnapshot {
  std::vector<NodeWorkloads> nodes;
  std::vector<std::string> unreachable;  // node names whose API did not answer
};

class MeshGateway {
 public:
  static Result<std::unique_ptr<MeshGateway>> open(GatewayOptions options, const Clock& clock);
  ~MeshGateway();

  const std::string& owner_hex() const { return owner_hex_; }
  const std::string& role() const { return role_; }
  std::string manifest_id(std::string_view ns, std::string_view kind, std::string_view name) const;

  Result<api::ApplyOutcome> apply(const std::string& yaml, const manifest::Manifest& parsed,
                                  int replicas);
  Result<api::DeleteOutcome> remove(const std::string& manifest_id);
  Result<std::optional<api::DesiredView>> desired(const std::string& manifest_id);
  Result<std::vector<api::NodeInfo>> nodes();
  Result<MeshSnapshot> workloads();
  Result<std::string> logs(const api::NodeInfo& node, const std::string& workload_id, int tail);
  // The recent events of every node (GET /events?replay=1, oldest first per node), read
  // from all nodes at once, at most kMaxEventsPerNode each; unreachable nodes add nothing.
  static constexpr size_t kMaxEventsPerNode = 500;
  Result<std::vector<NodeEvent>> events();

 private:
  struct EntryNode {
    std::string url;
    std::string key_hex;
  };
  MeshGateway(GatewayOptions options, const Clock& clock);
  EntryNode entry() const;
  // `call` with a client of the entry node (signer installed); when the entry node cannot
  // be reached (`unreachable`: nothing was sent), the other nodes of the last directory
  // read in turn, and the first that answers becomes the entry node.
  template <typename T, typename Call>
  Result<T> at_entry(Call call, std::chrono::milliseconds read_timeout);
  std::string endpoint_of(const api::NodeInfo& node) const;
  GatewayOptions options_;
  const Clock& clock_;
  std::optional<crypto::Identity> user_;
  std::string owner_hex_;
  std::string credential_hex_;
  std::string role_;
  mutable Mutex mu_;
  EntryNode entry_ GUARDED_BY(mu_);               // --server, then whichever answered
  std::vector<EntryNode> known_ GUARDED_BY(mu_);  // the last directory read
};

}  // namespace beemesh::kube
