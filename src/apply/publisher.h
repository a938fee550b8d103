// apply/publisher.h — the entry node's side of an apply and a delete.
//
// Promise (apply): parse + validate the manifest off the event loop (nothing is sent
// anywhere when it is invalid) -> check the owner's apply grant names this node and binds
// the content (crypto::apply_content_hash) -> every document in the owner's namespaces
// and pod security at this node's level (clear early errors; every target checks again) -> ask
// a bounded random sample of the directory for capacity (apply/sampling.h: max(2 × replicas,
// 4, n) nodes, widened once by a fresh sample when the answers lack room; a pinned node is
// resolved by NodeDirectory::find and asked first; CapacityRequest, answers within
// `capacity_window`) -> place replicas (scheduler::place; replies outside sane ranges are
// ignored) -> encrypt the manifest with a fresh key, split it into n shares (threshold k)
// sealed to n holders: those that answered (with room, then without), then further members
// drawn at random, then those asked that did not answer (apply/holder_order.h) -> store the
// shares on the holders (at least k must accept) -> publish the signed encrypted record in the DHT
// -> send each chosen node a signed ApplyRequest (with the owner's grant and a key-share grant for
// that node) -> on failures, retry the missing replicas once on other nodes -> report every
// placement. Progress steps: "placing", "encrypting", "distributing shares", "deploying on N
// nodes", "announced". Errors: invalid_manifest, unauthorized, no_capacity, too_few_shares; a
// partial placement is reported in the outcome, not as an Error.
// Desired state (when the request carries the owner's signed intent, crypto/intent.h, and
// a DesiredStateStore is set): after the grant check, the intent must be the owner's, for
// this manifest id, content version (crypto::content_version of the YAML), replica count,
// pinned node and set of namespaces ("intent_mismatch"). It is compared with the current
// desired state (DesiredStateStore::fetch):
//   same content version, replicas and pinned node      -> "unchanged": nothing is sent
//     to any node (the record is renewed with the new intent and owner credential)
//   none, or a tombstone                                 -> "created": the path above
//   otherwise (the new intent must supersede: "stale_intent")
//                                                         -> "configured": encrypted and
//     shared again, recorded; same content with more replicas deploys the difference (on
//     nodes not running it); a new content version deploys one replica (surge 1) and the
//     reconcile loop rolls the rest (apply/reconcile.h); fewer replicas is recorded only
//     (the replicas above the count remove themselves).
// The record (intent + owner credential + this node's signed encrypted manifest) is put
// under desired_key(manifest id) before any ApplyRequest is sent; it then replaces the
// beemesh/manifest/<id> record.
// Promise (delete): forwards the owner-signed DeleteRequest envelope, unchanged, to the
// nodes that run or hold the manifest (apply/delete_targets.h: the providers discovery
// returns and the key-share holders of its desired-state record, read before the
// tombstone replaces it; at most kMaxDeleteTargets), never to every known node; sums what
// they removed and lists each contacted node's outcome; stops refreshing the DHT record.
// A node not reached (not discoverable yet, cut off, beyond the cap) learns the owner's
// tombstone from the DHT and removes its replica itself (apply/reconcile.h).
#pragma once

#include <asio.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/delete_targets.h"
#include "apply/desired_state.h"
#include "apply/directory.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "dht/dht.h"
#include "manifest/pod_security.h"
#include "net/client.h"
#include "provider/provider.h"
#include "scheduler/placement.h"

namespace beemesh::apply {

struct PublisherSettings {
  unsigned share_count = 5;      // n, capped by the nodes known
  unsigned share_threshold = 3;  // k, capped by n
  std::chrono::milliseconds capacity_window{1'500};
  std::chrono::milliseconds share_timeout{5'000};
  // A node's answer to a DeleteRequest waits for its pods to be removed (Podman: stop grace
  // plus cgroup removal, seconds), so it gets as long as an engine removal may take.
  std::chrono::milliseconds delete_timeout{60'000};
  std::chrono::milliseconds apply_timeout{120'000};
  std::chrono::milliseconds grant_ttl{10 * 60'000};
  std::chrono::milliseconds share_ttl{24 * 3600 * 1000};  // holders drop shares after it
  manifest::PodSecurityLevel pod_security = manifest::PodSecurityLevel::kBaseline;
};

struct PublishRequest {
  std::string yaml;
  std::string source = "request";
  int replicas = -1;  // -1 = as the manifest says
  std::string node;   // pinned node id or name
  std::string owner_public_key_hex;
  std::string owner_grant_hex;          // owner-signed Grant(kApply) naming this node
  Bytes owner_credential;               // the owner's user credential (forwarded to targets)
  std::vector<std::string> namespaces;  // the owner's namespaces; empty = every namespace
  std::string intent_hex{};             // owner-signed DesiredIntent (optional)
};

// A re-placement by the reconcile loop (apply/reconcile.h): this node runs a replica and
// holds its plaintext; the owner's intent (and credential) from the DHT record authorise it.
struct ReplaceRequest {
  std::string yaml;  // the plaintext this node deployed (its content version is the intent's)
  std::string manifest_id;
  crypto::PublicKey owner{};
  Bytes intent;                   // owner-signed DesiredIntent
  Bytes owner_credential;         // from the same desired-state record
  int count = 1;                  // replicas to place, one per node
  std::set<std::string> exclude;  // nodes running it (or just tried)
};

struct Placement {
  std::string node_id;
  std::string rpc_endpoint;
  int replicas = 0;
  bool ok = false;
  std::string code;
  std::string message;
  std::string workload_id;
};

struct PublishOutcome {
  std::string manifest_id;
  std::string result = "created";  // "created" | "unchanged" | "configured"
  std::string message{};
  int replicas_requested = 0;
  int replicas_placed = 0;
  std::vector<Placement> placements;
};

struct DeleteForward {
  std::string manifest_id;
  int removed = 0;
  std::vector<Placement> nodes;  // per node: ok/code/message; replicas = workloads removed
};

using Progress = std::function<void(std::string_view)>;

class Publisher {
 public:
  Publisher(PublisherSettings settings, const crypto::Identity& identity, const Clock& clock,
            crypto::EnvelopeVerifier& verifier, net::Client& client, NodeDirectory& directory,
            dht::Dht* dht);
  ~Publisher();

  asio::awaitable<Result<PublishOutcome>> apply(PublishRequest request, Progress progress);
  // `tombstone` (optional): the owner-signed tombstone, recorded and published first with
  // the owner's credential (the REST caller's).
  asio::awaitable<Result<DeleteForward>> delete_manifest(std::string manifest_id,
                                                         Bytes owner_envelope, Bytes tombstone = {},
                                                         Bytes owner_credential = {});

  // Promise (replace): the apply pipeline without the owner: parse, capacity of a sample of
  // the directory (as apply), `count` replicas on nodes not excluded (at most one each), a fresh
  // key and fresh shares on the nodes that answered the capacity request (so dead holders of the
  // earlier shares do not matter; n and k are capped by their number), then ApplyRequests that
  // carry the owner's intent instead of an apply grant, and this node's key-share grants. No retry,
  // no DHT record (the owner's intent is already there). Errors: invalid_manifest, no_capacity,
  // too_few_shares; refusals of the target are in the placements.
  asio::awaitable<Result<PublishOutcome>> replace(ReplaceRequest request);

  // The nodes running a manifest (discovery: may block, bounded); a configured apply does
  // not place beside them. Unset: no exclusion. Set before use.
  using RunningNodes = std::function<std::set<std::string>(const std::string& manifest_id)>;
  void set_running_nodes(RunningNodes find) { running_nodes_ = std::move(find); }

  // Who provides a manifest (discovery: may block, bounded): the nodes a delete reaches
  // besides the key-share holders of the desired state. Unset: the holders only.
  using ProviderLookup =
      std::function<std::vector<provider::ProviderInfo>(const std::string& manifest_id)>;
  void set_provider_lookup(ProviderLookup find) { provider_lookup_ = std::move(find); }
  // Resolves a delete's key-share holders through the node directory (known_holders in
  // apply/delete_targets.h; may block: called off the event loop). Unset: holders as the
  // record names them (unit meshes).
  void set_member_lookup(MemberLookup find) { member_lookup_ = std::move(find); }

  // Desired state is recorded and compared only with a store (the daemon sets one).
  void set_desired_state(DesiredStateStore* store) { desired_ = store; }

 private:
  struct Context;
  asio::awaitable<std::vector<scheduler::Candidate>> collect_capacity(Context& ctx,
                                                                      std::vector<NodeEntry> nodes);
  // Places `request` by asking a bounded random sample (apply/sampling.h); the nodes asked
  // join ctx.nodes (deploy targets and share-holder pool).
  asio::awaitable<std::vector<scheduler::Pick>> place_sampled(
      Context& ctx, scheduler::PlacementRequest request,
      std::vector<scheduler::Candidate>& answered);
  // A pinned node by id (NodeDirectory::find, off the loop) or by name (among nodes()).
  asio::awaitable<std::optional<NodeEntry>> resolve_pinned(std::string node);
  Result<void> encrypt_for_holders(Context& ctx);
  asio::awaitable<Result<void>> distribute_shares(Context& ctx);
  asio::awaitable<std::vector<Placement>> deploy_on(Context& ctx,
                                                    const std::map<std::string, int>& per_node);
  void publish_record(const Context& ctx);
  asio::awaitable<Result<void>> record_desired_state(const Context& ctx);
  // "unchanged": the new intent and credential with the current record's encrypted manifest.
  asio::awaitable<Result<void>> renew_desired_state(const Context& ctx, Bytes current_value);

  const PublisherSettings settings_;
  const crypto::Identity& identity_;
  const Clock& clock_;
  crypto::EnvelopeVerifier& verifier_;
  net::Client& client_;
  NodeDirectory& directory_;
  dht::Dht* dht_;
  DesiredStateStore* desired_ = nullptr;
  RunningNodes running_nodes_;
  ProviderLookup provider_lookup_;
  MemberLookup member_lookup_;
  std::mutex mutex_;
  std::map<std::string, uint64_t> published_;  // manifest id -> permanent put id
  asio::thread_pool parsing_{1};               // manifest parsing, off the event loop
  asio::thread_pool desired_io_{1};            // DesiredStateStore reads and puts (blocking)
};

}  // namespace beemesh::apply
