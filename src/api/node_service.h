// api/node_service.h — everything the REST API (and so the CLI) can ask of a node.
//
// Promise: the daemon (src/app) implements this interface by wiring placement, the apply
// path, the workload manager and discovery; the API layer only translates HTTP <-> these
// calls, so it is testable with a fake. Calls may block (bounded by their own timeouts)
// and are made from the HTTP server's worker threads, never from an event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/auth.h"
#include "common/result.h"
#include "provider/provider.h"
#include "runtime/runtime.h"

namespace beemesh::api {

struct NodeInfo {
  std::string node_id;
  std::string public_key_hex;  // the node's Ed25519 key (owners sign grants naming it)
  std::string name;            // operator-given node name
  std::string rpc_endpoint;    // "127.0.0.1:7401"
  std::string api_endpoint;    // may be empty for remote nodes
  std::string engine;          // engine this node deploys with
  int64_t last_seen_ms = 0;
  bool self = false;
  // Its clock minus this node's at the last signed exchange (> 0: ahead); nullopt: no
  // exchange yet (or self).
  std::optional<int64_t> clock_skew_ms;
};

// The owner's authorisation travels with an apply or delete from the CLI: the owner's
// public key and a hex-encoded owner-signed token (an owner-signed key-share grant naming
// the entry node for an apply; an owner-signed DeleteRequest envelope for a delete).
struct OwnerAuth {
  std::string owner_public_key_hex;
  std::string token_hex;
  // Optional (X-Beemesh-Intent): hex of the owner-signed desired-state intent (apply) or
  // tombstone (delete), crypto/intent.h. Without it an apply is not recorded as desired
  // state and always deploys (clients older than the desired-state record).
  std::string intent_hex{};
};

struct ApplyOptions {
  int replicas = -1;               // -1 = as the manifest says
  std::string node;                // place only on this node id (or node name); empty = scheduler
  std::string source = "request";  // file name, for error messages
};

struct PlacementOutcome {
  std::string node_id;
  std::string rpc_endpoint;
  bool ok = false;
  std::string code;  // ApplyResponse code from that node ("ok" on success)
  std::string message;
  std::string workload_id;
};

struct ApplyOutcome {
  std::string manifest_id;
  // "created" (no desired state before, or a tombstone), "unchanged" (same content version,
  // replicas and placement: nothing deployed), "configured" (a new intent was recorded).
  std::string result = "created";
  std::string message{};  // what a "configured" apply did and did not do
  int replicas_requested = 0;
  int replicas_placed = 0;
  std::vector<PlacementOutcome> placements;
};

// A progress line for long steps ("placing", "encrypting", "distributing shares",
// "deploying on 2 nodes", "announced"); the API streams them to the CLI.
using ProgressFn = std::function<void(std::string_view step)>;

struct WorkloadView {
  runtime::WorkloadInfo info;
  std::string owner;    // owner public key hex
  std::string node_id;  // node running it
  std::string health;   // "healthy", "unhealthy", ...
  // The content version it runs: its beemesh.io/content-version label (32 hex characters,
  // apply/intent_authorization.h); empty when unknown (adopted, or an older node).
  std::string content_version;
};

struct DeleteOutcome {
  std::string manifest_id;
  int removed = 0;  // workloads removed across nodes
  std::vector<PlacementOutcome> nodes;
};

// The verified latest desired state of a manifest the mesh holds (apply/desired_state.h).
struct DesiredView {
  std::string manifest_id;
  std::string name;  // "Deployment/web"
  bool tombstone = false;
  std::string content_version;  // hex; empty on a tombstone
  uint64_t sequence = 0;
  int replicas = 0;
  std::string pinned_node;
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
};

struct EventView {
  std::string type;  // Deploying, Deployed, DeployFailed, Announced, Unhealthy, Recovered, Removed
  std::string workload_id;
  std::string manifest_id;
  int64_t time_ms = 0;
  std::string reason;
};

class Subscription {
 public:
  virtual ~Subscription() = default;
};

class NodeService {
 public:
  virtual ~NodeService() = default;

  virtual NodeInfo self() = 0;
  virtual std::vector<NodeInfo> nodes() = 0;

  // Errors carry the apply path's machine-readable codes (invalid_manifest, no_capacity,
  // bad_signature, ...). A partial placement is not an Error: see ApplyOutcome.
  // `caller` is the authenticated user (the API has already checked its role is deployer
  // or admin); the service checks what depends on the request itself: the manifest's
  // namespace is in caller.namespaces (or those are empty) and the owner is the caller.
  virtual Result<ApplyOutcome> apply(std::string_view yaml, const ApplyOptions& options,
                                     const OwnerAuth& auth, const Caller& caller,
                                     const ProgressFn& progress) = 0;
  virtual Result<DeleteOutcome> delete_manifest(const std::string& manifest_id,
                                                const OwnerAuth& auth, const Caller& caller) = 0;

  // POST /mesh/revocations (no authentication: the list itself must be admin-signed).
  // Installs an admin-signed RevocationList when it is newer than the current one and
  // spreads it; errors are crypto::Membership::update_revocations's codes
  // ("bad_signature", "wrong_mesh", "stale_revocations", "malformed").
  virtual Result<void> install_revocations(const std::string& signed_list_bytes) = 0;

  // Workloads on this node.
  virtual std::vector<WorkloadView> workloads() = 0;
  // A workload on this node or, failing that, on known nodes (Error "not_found"): a
  // bounded number of them (docs/LIMITS.md), so pass the node when it is known.
  virtual Result<WorkloadView> workload(const std::string& workload_id) = 0;
  // GET /workloads/<id>?node=<node id>: the same, asking only `node_id` (the node an apply
  // placed it on) besides this one. Services without a cheaper way fall back to workload().
  virtual Result<WorkloadView> workload_on(const std::string& workload_id,
                                           const std::string& node_id) {
    (void)node_id;
    return workload(workload_id);
  }
  virtual Result<std::string> logs(const std::string& workload_id, int tail_lines) = 0;

  virtual std::vector<provider::ProviderInfo> providers(const std::string& manifest_id) = 0;

  // GET /desired/<manifest id>?owner=HEX (default: the caller): the owner's desired state
  // for that id; "not_found" when the mesh holds none (desired state is kept per id and
  // owner: manifest ids are public, anyone may sign records under any id with its own key).
  virtual Result<DesiredView> desired_state(const std::string& manifest_id,
                                            const std::string& owner_hex) {
    (void)owner_hex;
    return make_error("not_found", "no desired state for manifest " + manifest_id);
  }

  // Recent events first (oldest to newest, delivered before this returns: GET
  // /events?replay=1 relies on it), then live ones until the handle is dropped.
  virtual std::unique_ptr<Subscription> subscribe_events(
      std::function<void(const EventView&)> on_event) = 0;

  // Prometheus text exposition format.
  virtual std::string metrics_text() = 0;
};

}  // namespace beemesh::api
