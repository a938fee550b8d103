// apply/directory.h — which nodes are in the mesh.
//
// Promise: the directory is sharded over kDirectoryShards (64) well-known provider ids
// "beemesh:nodes:<s>"; every node announces itself as a provider of the one shard its node id
// falls in (directory_shard(): the id's 6 leading bits, so shards are uniform random subsets
// of the mesh), with its public key, name, RPC and API endpoints and engine as capabilities
// (a signed, refreshed provider record like any other, carrying the node's credential). A
// shard lists at most discovery's max_providers (50) nodes, so the directory holds the whole
// mesh up to about 64 × 50 = 3,200 nodes (in practice ~2,500: shards are uneven); beyond
// that the fullest shards show their 50 freshest members only (docs/LIMITS.md).
//  * Which shards are read: refresh() reads every shard at once. start(tick) reads on a thread
//    of its own: each tick (2 s) the shards that are due (this node's own like any other),
//    earliest first, at most kMaxShardsPerTick (16), by up to kParallelReads (4) short-lived
//    reader threads that take no new shard once the tick has lasted `tick` (a DHT that is not
//    connected yet costs one discovery_timeout per reader and tick, not sixteen); while due
//    shards are left the next tick follows after kBacklogPause (100 ms), so the first pass
//    over the never-read shards takes ~4 ticks. A shard that listed nodes is due kShardRefresh
//    (60 s) after its last read (a provider-cache hit, kept current by the provider manager's
//    listen, except once per cache_ttl), an empty one after a backoff that doubles from 2 s
//    to kEmptyShardRecheckMax (60 s), reset to 2 s whenever a read finds a node its shard did
//    not list at its previous read (the mesh is growing: newcomers show up within seconds).
//    So a node reads at most 64 shard keys; the listens' pushes grow with the mesh (every
//    announcement of a shard reaches the nodes listening to it: docs/BENCHMARKS.md, "Scale").
//  * A shard read keeps only entries whose public key hashes to the node id they name, that
//    fall in the shard read, and, with a membership, whose record's credential still makes
//    its signer a member node at read time; a newer revocation list installed in the
//    membership makes every shard due at the next tick, so a revoked node leaves a started
//    directory within a few seconds of its revocation reaching this node (one re-read of
//    the whole directory per revocation list). With liveness wired into
//    the provider manager (the daemon: ProviderConfig::liveness_passive holds
//    directory_shard_ids()), nodes this node already knows dead are left out; nothing is checked or
//    watched for them.
//  * nodes() never waits on the DHT: the union of the shards read (self first, then the others
//    by node id; at most 64 × max_providers entries, ~150 bytes each: the directory holds
//    every node it has read, 150 KB at 1,000 nodes).
//  * sample(k, exclude) never waits: up to k distinct entries drawn uniformly at random from
//    nodes() minus `exclude` (node ids); this node is a candidate like any other.
//  * find(node_id) answers from the shards read; otherwise it reads that node's shard now
//    (blocking, bounded by the provider manager's discovery_timeout; call it off the event
//    loop) unless that shard was read less than kFindRecheck (2 s) ago. nullopt: not a node
//    id, or not a live member in its shard.
//  * Thread-safe. Without start() (in-process meshes, tests), nothing is read until
//    refresh() or find().
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/identity.h"
#include "crypto/membership.h"
#include "provider/provider_manager.h"

namespace beemesh::apply {

// A mesh-wide constant: every node must use the same (a node is looked for in its shard).
inline constexpr size_t kDirectoryShards = 64;
inline constexpr std::string_view kNodesDirectoryPrefix = "beemesh:nodes:";
inline constexpr size_t kMaxShardsPerTick = 16;
inline constexpr std::chrono::seconds kShardRefresh{60};
inline constexpr std::chrono::seconds kEmptyShardRecheckMin{2};
inline constexpr std::chrono::seconds kEmptyShardRecheckMax{60};
inline constexpr std::chrono::seconds kFindRecheck{2};
inline constexpr std::chrono::milliseconds kBacklogPause{100};
inline constexpr size_t kParallelReads = 4;

// The shard of a node id (its 6 leading bits), or nullopt when it is not a node id.
std::optional<size_t> directory_shard(std::string_view node_id);
// "beemesh:nodes:<shard>".
std::string directory_shard_id(size_t shard);
// Every shard id, shard 0 first.
std::vector<std::string> directory_shard_ids();
bool is_directory_id(std::string_view provider_id);

struct NodeEntry {
  std::string node_id;
  crypto::PublicKey public_key{};
  std::string name;
  std::string rpc_endpoint;
  std::string api_endpoint;
  std::string engine;
  int64_t last_seen_ms = 0;
};

class NodeDirectory {
 public:
  NodeDirectory(provider::ProviderManager& providers, NodeEntry self, std::chrono::seconds ttl,
                const crypto::Membership* membership = nullptr);
  ~NodeDirectory();
  NodeDirectory(const NodeDirectory&) = delete;
  NodeDirectory& operator=(const NodeDirectory&) = delete;

  void announce_self();
  void set_api_endpoint(std::string url) { self_.api_endpoint = std::move(url); }
  void start(std::chrono::milliseconds tick = std::chrono::seconds(2));
  void stop();  // joins the refresher; idempotent (the destructor calls it)
  // Reads every shard now (blocking; the first pass of start() does the same).
  void refresh();

  std::vector<NodeEntry> nodes();
  std::vector<NodeEntry> sample(size_t k, const std::set<std::string>& exclude = {});
  std::optional<NodeEntry> find(const std::string& node_id);
  const NodeEntry& self() const { return self_; }

 private:
  using Steady = std::chrono::steady_clock;
  struct Shard {
    std::vector<NodeEntry> entries;  // without self
    Steady::time_point read_at{};
    Steady::time_point due{};  // epoch: never read
    std::chrono::milliseconds empty_backoff{kEmptyShardRecheckMin};
  };

  // Reads shard `s` from the provider manager (may wait on the DHT: never under the lock).
  std::vector<NodeEntry> read_shard(size_t s);
  void store_shard(size_t s, std::vector<NodeEntry> entries);
  // Reads the own shard and the due ones (within about `budget`); true when due shards are
  // left for the next tick.
  bool tick(std::chrono::milliseconds budget);

  provider::ProviderManager& providers_;
  NodeEntry self_;
  std::chrono::seconds ttl_;
  const crypto::Membership* membership_;
  const size_t own_shard_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::array<Shard, kDirectoryShards> shards_;
  std::mt19937_64 rng_{std::random_device{}()};
  bool started_ = false;
  bool stopping_ = false;
  uint64_t revocation_sequence_ = 0;  // of the membership's list at the last tick
  std::thread refresher_;
};

}  // namespace beemesh::apply
