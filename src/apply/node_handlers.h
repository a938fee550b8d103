// apply/node_handlers.h — what a node answers on the node-to-node transport.
//
// Promise: each handler takes the raw bytes of a signed envelope and returns the bytes of
// a signed response envelope (signed by this node) — also for refusals, so the requester
// always gets a verifiable code. Handlers run as coroutines on the node's event loop and
// never block it: SQLite, decryption, manifest parsing and engine calls run on a small
// worker pool or the workload manager's queue. Checks run in the order size → membership
// → authorization → parse (apply/admission.h); a refusal deploys and removes nothing.
//  * apply:      signer a member node -> ranges -> owner credential (deployer+) -> owner's
//                apply grant names the signer (or, without a grant, the owner's intent:
//                apply/intent_authorization.h, not superseded nor tombstoned as far as
//                this node's DesiredStateStore reads, this node not running the manifest
//                yet; then the content version, namespaces, no overrides) -> encrypted record
//                published by the signer
//                -> k key shares from holders that are members at their announced
//                endpoints (at most max_share_holders asked) -> decrypt + parse off the
//                loop -> manifest id belongs to the owner -> the grant's content hash
//                matches manifest + env + limits + total replicas -> namespace in the
//                owner's scope -> pod security (NodeSettings::pod_security) -> deploy.
//  * delete:     signer is the owner (a member user, deployer+) or holds the owner's
//                delete grant; removes only that owner's pending deploys and workloads of
//                the manifest, and the key shares kept for that owner.
//  * keyshare:   signer a member node; the share kept for the grant's publisher, re-sealed
//                to the requester, only with a valid key-share grant from that publisher.
//  * keyshares:  the same for 1..kMaxKeyShareBatch items in one envelope (one signature
//                each way, apply/share_batcher.h): membership once, then every item's own
//                grant and share exactly as keyshare; answered per item, in order.
//  * storeshare: signer a member node acting under the owner's apply grant (or intent); a share of
//                exactly kSealedShareSize bytes with an expiry within max_share_ttl; kept
//                per (manifest id, publisher), so nobody can displace another's shares.
//  * capacity:   signer a member node -> this node's free memory/CPU (free_capacity(),
//                never below 0).
//  * query:      signer a member node -> a workload's description or logs.
#pragma once

#include <asio.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "apply/admission.h"
#include "apply/desired_state.h"
#include "apply/share_batcher.h"
#include "apply/share_fetch.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/log_budget.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/grant_cache.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "crypto/shamir.h"
#include "crypto/x25519_cache.h"
#include "manifest/pod_security.h"
#include "net/client.h"
#include "net/server.h"
#include "protocol/messages.h"
#include "workload/state_store.h"
#include "workload/workload_manager.h"

namespace beemesh::apply {

struct NodeSettings {
  std::string rpc_endpoint;
  std::string engine;  // engine this node prefers (reported in capacity replies)
  int64_t capacity_memory_bytes = 0;
  int64_t capacity_cpu_millis = 0;
  bool publish_ports = true;
  std::string publish_host_ip = "127.0.0.1";
  std::chrono::milliseconds share_fetch_timeout{5'000};
  std::chrono::milliseconds share_fetch_hedge = kShareFetchHedge;  // apply/share_fetch.h
  manifest::PodSecurityLevel pod_security = manifest::PodSecurityLevel::kBaseline;
  size_t max_share_holders = 5;  // the configured n
  std::chrono::milliseconds max_share_ttl{24 * 3600 * 1000};
};

// A member node as the directory knows it (for share holders).
struct KnownMember {
  crypto::PublicKey public_key{};
  std::string rpc_endpoint;
};

class NodeHandlers {
 public:
  NodeHandlers(NodeSettings settings, const crypto::Identity& identity, const Clock& clock,
               crypto::EnvelopeVerifier& verifier, net::Client& client,
               workload::WorkloadManager& workloads, workload::StateStore& store);
  ~NodeHandlers();
  NodeHandlers(const NodeHandlers&) = delete;
  NodeHandlers& operator=(const NodeHandlers&) = delete;

  Result<void> register_on(net::Server& server);

  // Membership checks (nullptr: none, for in-process unit meshes). Set before serving.
  void set_membership(const crypto::Membership* membership) { membership_ = membership; }
  // Looks up a member node by id (the node directory's find(): any member of the mesh). It
  // may block (bounded) and runs on the worker pool. Unset: share holders are used as the
  // request names them (unit meshes only).
  using MemberLookup = std::function<std::optional<KnownMember>(const std::string& node_id)>;
  void set_member_lookup(MemberLookup lookup) { member_lookup_ = std::move(lookup); }

  // Answers QueryRequests (runs on the worker pool; may block). Set before serving.
  using QueryResponder = std::function<Result<std::string>(const protocol::QueryRequest&)>;
  void set_query_responder(QueryResponder responder) { query_responder_ = std::move(responder); }

  // Where a deployed replica or a stored key share registers its manifest for refreshing
  // (apply/desired_state.h). Unset: nothing is tracked. Set before serving.
  void set_desired_state(DesiredStateStore* store) { desired_ = store; }

  // Called after every successful deploy with the decrypted manifest (the reconcile loop
  // keeps it, in memory, to re-place lost replicas). Set before serving; must not block.
  using DeployedHook = std::function<void(const std::string& manifest_id,
                                          const crypto::PublicKey& owner, const std::string& yaml)>;
  void set_on_deployed(DeployedHook hook) { on_deployed_ = std::move(hook); }

  asio::awaitable<Result<Bytes>> on_apply(Bytes request, net::PeerInfo peer = {});
  asio::awaitable<Result<Bytes>> on_delete(Bytes request, net::PeerInfo peer = {});
  asio::awaitable<Result<Bytes>> on_key_share(Bytes request, net::PeerInfo peer = {});
  asio::awaitable<Result<Bytes>> on_key_share_batch(Bytes request, net::PeerInfo peer = {});
  asio::awaitable<Result<Bytes>> on_store_share(Bytes request, net::PeerInfo peer = {});
  asio::awaitable<Result<Bytes>> on_capacity(Bytes request, net::PeerInfo peer = {});
  asio::awaitable<Result<Bytes>> on_query(Bytes request, net::PeerInfo peer = {});

  // Drops expired key shares now and then every `every` (on the worker pool) and, with
  // HeapTrim::yes, returns the process's freed heap to the system (malloc_trim: a flood of
  // refused requests leaves it behind). The trim acts on the whole process (every arena, a
  // TLB shootdown per range returned): one NodeHandlers per process asks for it (the daemon);
  // the other nodes of an in-process mesh pass HeapTrim::no. Call once, from any thread;
  // stops when the handlers are destroyed or the loop stops.
  enum class HeapTrim { no, yes };
  void start_housekeeping(asio::any_io_executor executor,
                          std::chrono::milliseconds every = std::chrono::seconds(60),
                          HeapTrim trim = HeapTrim::yes);

  // Free capacity (memory bytes, CPU millicores; negative when over-committed): configured
  // minus what the workloads here and the deploys in flight reserve — their containers'
  // requests, else limits (workload::WorkloadManager::reserved(), workload/resources.h).
  std::pair<int64_t, int64_t> free_capacity() const;

 private:
  struct ApplyOutcome;
  asio::awaitable<Result<workload::WorkloadRecord>> apply_verified(
      const crypto::VerifiedMessage<protocol::ApplyRequest>& req);
  asio::awaitable<Result<void>> check_intent_current(const protocol::DesiredIntent& intent);
  asio::awaitable<Result<std::vector<crypto::KeyShare>>> fetch_shares(
      const protocol::AppliedManifest& applied, const Bytes& grant);
  // The share holders to ask: members at their announced endpoints only.
  Result<protocol::AppliedManifest> member_holders(const protocol::AppliedManifest& applied) const;

  const NodeSettings settings_;
  const crypto::Identity& identity_;
  const Clock& clock_;
  crypto::EnvelopeVerifier& verifier_;
  net::Client& client_;
  workload::WorkloadManager& workloads_;
  workload::StateStore& store_;
  QueryResponder query_responder_;
  const crypto::Membership* membership_ = nullptr;
  DesiredStateStore* desired_ = nullptr;
  GrantLedger grants_used_;
  crypto::X25519Cache x25519_;  // requesters' sealing keys (on_key_share)
  // Owner apply grants opened here: the one a target gets in its ApplyRequest is the one it
  // already verified when it stored its key share (crypto/grant_cache.h).
  crypto::GrantCache owner_grants_;
  KeyShareBatcher share_batcher_;  // this node's key-share requests, batched per holder
  LogBudget refusals_log_{20};     // warnings about refused requests: 20 lines a second
  MemberLookup member_lookup_;
  DeployedHook on_deployed_;
  std::unique_ptr<asio::steady_timer> housekeeping_;
  std::shared_ptr<std::function<void()>> housekeeping_tick_;
  asio::thread_pool blocking_{2};
};

}  // namespace beemesh::apply
