// apply/node_handlers.h — what a node answers on the node-to-node transport.
//
// Promise: each handler takes the raw bytes of a signed envelope and returns the bytes of
// a signed response envelope (signed by this node) — also for refusals, so the requester
// always gets a verifiable code. Handlers run as coroutines on the node's event loop and
// never block it: SQLite and engine calls run on a small worker pool, deploys on the
// workload manager's queue.
//  * apply:      verify envelope (signature, window, nonce) -> check the owner's apply
//                grant names the signer -> fetch k key shares from their holders with the
//                key-share grant -> rebuild key -> decrypt -> check the manifest id belongs
//                to the owner -> deploy via the workload manager -> ApplyResponse. Any
//                failure answers a distinct code (apply/codes.h) and deploys nothing.
//  * delete:     only the manifest's owner (the envelope signer, or a kDelete grantee of the
//                owner); removes this node's workloads of it, withdraws, drops key shares.
//  * keyshare:   KeyShareRequest -> the stored share re-sealed to the requester, only with
//                a valid key-share grant from the share's publisher.
//  * storeshare: StoreShareRequest -> keeps a share sealed to this node.
//  * capacity:   CapacityRequest -> this node's free memory/CPU.
//  * query:      QueryRequest -> a workload's description or logs (for "any node" reads).
#pragma once

#include <asio.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/shamir.h"
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

  // Answers QueryRequests (runs on the worker pool; may block). Set before serving.
  using QueryResponder = std::function<Result<std::string>(const protocol::QueryRequest&)>;
  void set_query_responder(QueryResponder responder) { query_responder_ = std::move(responder); }

  asio::awaitable<Result<Bytes>> on_apply(Bytes request);
  asio::awaitable<Result<Bytes>> on_delete(Bytes request);
  asio::awaitable<Result<Bytes>> on_key_share(Bytes request);
  asio::awaitable<Result<Bytes>> on_store_share(Bytes request);
  asio::awaitable<Result<Bytes>> on_capacity(Bytes request);
  asio::awaitable<Result<Bytes>> on_query(Bytes request);

  // Free capacity: configured minus the limits of the workloads this node runs.
  std::pair<int64_t, int64_t> free_capacity() const;

 private:
  struct ApplyOutcome;
  asio::awaitable<Result<workload::WorkloadRecord>> apply_verified(
      const crypto::VerifiedMessage<protocol::ApplyRequest>& req);
  asio::awaitable<Result<std::vector<crypto::KeyShare>>> fetch_shares(
      const protocol::AppliedManifest& applied, const Bytes& grant);

  const NodeSettings settings_;
  const crypto::Identity& identity_;
  const Clock& clock_;
  crypto::EnvelopeVerifier& verifier_;
  net::Client& client_;
  workload::WorkloadManager& workloads_;
  workload::StateStore& store_;
  QueryResponder query_responder_;
  asio::thread_pool blocking_{2};
};

}  // namespace beemesh::apply
