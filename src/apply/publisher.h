// apply/publisher.h — the entry node's side of an apply and a delete.
//
// Promise (apply): parse + validate the manifest off the event loop (nothing is sent
// anywhere when it is invalid) -> check the owner's apply grant names this node and binds
// the content (crypto::apply_content_hash) -> every document in the owner's namespaces
// and pod security at this node's level (clear early errors; every target checks again) -> ask
// every known node for capacity (CapacityRequest, answers within `capacity_window`) -> place
// replicas (scheduler::place; replies outside sane ranges are ignored) -> encrypt the manifest with
// a fresh key, split it into n shares (threshold k) sealed to n holders drawn at random
// among the directory's members -> store the shares on the holders (at least k must
// accept) -> publish the signed encrypted record in the DHT -> send each chosen node a
// signed ApplyRequest (with the owner's grant and a key-share grant for that node) -> on
// failures, retry the missing replicas once on other nodes -> report every placement.
// Progress steps: "placing", "encrypting", "distributing shares", "deploying on N nodes",
// "announced". Errors: invalid_manifest, unauthorized, no_capacity, too_few_shares; a
// partial placement is reported in the outcome, not as an Error.
// Promise (delete): forwards the owner-signed DeleteRequest envelope, unchanged, to every
// known node and sums what they removed; stops refreshing the DHT record.
#pragma once

#include <asio.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "apply/directory.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "dht/dht.h"
#include "manifest/pod_security.h"
#include "net/client.h"
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
  asio::awaitable<Result<DeleteForward>> delete_manifest(std::string manifest_id,
                                                         Bytes owner_envelope);

 private:
  struct Context;
  asio::awaitable<std::vector<scheduler::Candidate>> collect_capacity(const Context& ctx);
  asio::awaitable<Result<void>> distribute_shares(Context& ctx);
  asio::awaitable<std::vector<Placement>> deploy_on(Context& ctx,
                                                    const std::map<std::string, int>& per_node);
  void publish_record(const Context& ctx);

  const PublisherSettings settings_;
  const crypto::Identity& identity_;
  const Clock& clock_;
  crypto::EnvelopeVerifier& verifier_;
  net::Client& client_;
  NodeDirectory& directory_;
  dht::Dht* dht_;
  std::mutex mutex_;
  std::map<std::string, uint64_t> published_;  // manifest id -> permanent put id
  asio::thread_pool parsing_{1};               // manifest parsing, off the event loop
};

}  // namespace beemesh::apply
