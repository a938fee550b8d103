// provider/provider_manager.h — announcements and discovery of providers (and peers) over a
// dht::Dht, signed with the node's Ed25519 identity.
//
// Usage:
//   provider::ProviderManager providers(dht, identity, system_clock(), {});
//   providers.announce(manifest_id, {identity.node_id(), "10.0.0.5:7401", "podman", {}},
//                      std::chrono::seconds(3600));
//   auto who = providers.discover(manifest_id);   // freshest first, at most 50
//   providers.withdraw(manifest_id);
//
// Promise (in addition to provider/provider.h):
//  * Records: a ProviderRecord {manifest id, node id, key, endpoint, engine, capabilities,
//    timestamp, ttl, sequence, withdrawn, credential = identity.credential()} wrapped by
//    crypto::sign_provider_record, stored under dht::provider_key(manifest id) as
//    ValueKind::provider_record. Sequences are max(previous + 1, now in ms), so they keep
//    growing across restarts.
//  * Every record read back is dropped (counted in stats().records_rejected and logged at
//    debug level with its code) unless: it opens (signature, signer), is for the manifest
//    asked for, has ttl_s in 1..86400, is dated at most max_clock_skew (30 s) ahead, and —
//    when config.membership is set — its credential verifies for its signer and names a
//    node (records_not_member counts those).
//  * Announcing: the first put happens at once, as a permanent DHT put (Dht::put_permanent:
//    the backend keeps the value on the key's closest nodes, also on closer nodes it finds
//    later, until cancelled); the same record is put again after each `early_reputs` delay
//    (none by default); a freshly signed record replaces it every refresh_interval(ttl) =
//    min(ttl / 2, max_refresh_interval): the new value is put, then the old one cancelled
//    (so is a value replaced by announce() or withdraw(), and a withdrawal past its TTL). A
//    failed put is retried after retry_initial, doubling up to retry_max. announce() of a
//    manifest already announced replaces its metadata and TTL.
//    A TTL above 86400 s is announced as 86400 s (readers drop longer ones).
//    `on_done` gets the outcome of the first put only. Metadata with an empty node id gets
//    ours; a different node id fails with `node_id_mismatch` (no record is published).
//  * Withdrawing: the announcement stops and a newer record marked withdrawn (same TTL) is
//    put, re-put after `early_reputs` and retried on failure until the TTL has passed, so
//    readers drop this node as soon as they see it. Works for manifests announced before a
//    restart too. The local cache entry is invalidated at once.
//  * Discovery: fresh cache entry (cache_ttl, kept current by a DHT listen on the key) →
//    DHT get (discovery_timeout) → provider/selection.h rules → cache (empty results are not
//    cached). DHT failure or timeout: the cache entry if any (stale, but expired records
//    still filtered out), else empty. Never throws, never blocks past discovery_timeout.
//  * discover_once(): a DHT get on every call (discovery_timeout), then the same record
//    checks, selection and liveness rules as discover(); it neither reads nor fills the
//    cache and starts no listen, and a DHT failure or timeout is returned as that Error (no
//    stale fallback). For keys read rarely, where a lasting listen would cost more than an
//    occasional get (the node directory's shards: every announcement in a key is pushed to
//    every listener of it).
//  * discover_once(id, memory): the same answer as discover_once(id), cheaper when the key
//    has not changed since the last read through `memory`: when `memory` holds the key's
//    last answer it first asks the DHT for the value ids only (Dht::get_ids: one small
//    datagram per storing node instead of one per value); the records of ids it remembers
//    are checked again now (TTL, clock skew, membership: a revocation is seen at once), the
//    values of new ids are fetched one by one (Dht::get_value) when there are at most
//    min(kMaxFetchesById, max(1, ids / 5)) of them, else the key is read with one get as
//    without memory. A read by ids that is not clean is read again with one get: a new id
//    that no storing node served, or a node whose remembered record is gone from the ids
//    while no other record of it is listed (storing nodes need not agree). Ids gone
//    are forgotten. The memory then holds this answer's ids (at most kMaxRememberedValues;
//    a larger answer is not remembered). Records are immutable per value id (a re-signed
//    record is a new value: ProviderConfig::stable_ids keeps ids for hours). A value a
//    storing node serves under a remembered id is taken to be the record read before.
//    A memory can also be told of a record before any read lists it (ReadMemory::seed: the
//    node directory seeds a joiner's shard record from its signed join record): a read whose
//    ids list a seeded id takes its record as remembered (no fetch); a seeded id the ids
//    lack is forgotten without making the read unclean (its record may not be stored yet).
//    Seeds never turn an empty memory into a read by ids: the first read is still a get.
//    It can also tell which nodes the answer lists as withdrawn (their newest record is a
//    withdrawal): a reader that holds such a node from an earlier read knows it left, which
//    its mere absence from an answer does not tell (apply/missed_entries.h).
//  * Value ids: a record of a stable id (ProviderConfig::stable_ids) is put under
//    stable_value_id(node id, manifest id, sequence, salt), salt drawn at random for each
//    signed record: whoever is told the four knows the id (and no node can name an id of
//    another node's records), while nobody can guess it before it is told (a value put first
//    under the id of a record not put yet would make the storing nodes refuse that record:
//    OpenDHT's edit policy). Other records are put under a random id. published() tells the
//    value id, sequence, salt, timestamp and TTL of the record this node announces now.
//  * watch(id): discover(id) then keeps the key's cache entry and DHT listen even while it
//    lists no provider (an empty answer is cached like any other, cleanup keeps the entry,
//    and a value expiring at the storing nodes does not invalidate it: records carry their
//    own TTL), until unwatch(id), which invalidates the entry and cancels the listen at once.
//    For a key read often that is usually empty (the node directory's joins buckets): its
//    listen costs nothing until something is announced.
//  * Liveness (config.liveness): providers whose node is known dead are left out of every
//    answer (this node never is), see ProviderConfig::liveness. The liveness step adds at
//    most liveness_check_budget to a discovery: a provider whose state is still unknown
//    then is listed, and left out of the answers after its read or watch finds it dead.
//    Records themselves are untouched: a node that comes back is listed again as soon as it
//    is seen alive.
//  * Peers: announce_peer() publishes a signed PeerRecord under dht::peer_key(node id),
//    refreshed like providers; lookup_peer() returns the newest live record whose signer is
//    the node asked for, or `peer_not_found`.
//  * Cache: at most cache_capacity manifests (least recently used evicted, its listen
//    cancelled); every cleanup_interval entries without live providers or older than
//    cache_keep are dropped.
//  * Threads: one background thread (announcements, retries, cleanup) plus callbacks on the
//    DHT's threads. All methods are thread-safe. The destructor stops the thread, cancels
//    listens and its permanent puts but does not withdraw (records then expire at the
//    storing nodes' expiry; readers drop them at their TTL). `dht`, `identity` and
//    `clock` must outlive the manager. Record time comes from `clock`; waiting uses the
//    steady clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "dht/dht.h"
#include "provider/liveness.h"
#include "provider/provider.h"

namespace beemesh::protocol {
struct ProviderRecord;
}

namespace beemesh::provider {

struct ProviderConfig {
  std::chrono::seconds default_ttl{3600};  // used when announce() gets ttl <= 0
  // Upper bound of the refresh interval; keep it <= half the DHT's provider_record_expiry.
  std::chrono::seconds max_refresh_interval{1800};
  // Extra re-puts of the same record after its first put. None by default: records are
  // permanent puts, and OpenDHT announces them to closer nodes as it finds them.
  std::vector<std::chrono::milliseconds> early_reputs{};
  std::chrono::milliseconds retry_initial{std::chrono::seconds(1)};
  std::chrono::milliseconds retry_max{std::chrono::seconds(60)};
  std::chrono::milliseconds put_timeout{
      std::chrono::seconds(30)};  // a put with no answer by then counts as failed
  std::chrono::milliseconds cache_ttl{std::chrono::minutes(5)};
  std::chrono::milliseconds cache_keep{std::chrono::minutes(60)};
  std::chrono::milliseconds discovery_timeout{std::chrono::seconds(30)};
  size_t max_providers = 50;
  size_t cache_capacity = 1024;
  std::chrono::milliseconds cleanup_interval{std::chrono::seconds(60)};
  std::chrono::seconds peer_ttl{3600};
  std::chrono::seconds max_clock_skew{30};  // records dated further ahead are refused
  bool listen_for_updates = true;           // keep cache entries current through listen
  // When set, discovery keeps only records signed by a member node: the record's credential
  // must pass membership->verify(credential, signer) and name a node. Must outlive the
  // manager.
  const crypto::Membership* membership = nullptr;
  // When set, discovery drops providers whose node is dead (provider/liveness.h): for the
  // ids in `liveness_passive` (the node directory) only nodes already known dead; for every
  // other manifest it first checks the nodes whose state is unknown — their reads all at
  // once, waited for at most `liveness_check_budget`; a provider still unknown then is
  // listed (unknown counts as alive) and its read goes on — and watches every provider for
  // `liveness_interest`, so a repeated `get providers` sees a death within seconds (the
  // next answer after the read or the watch found it dead). Must outlive the manager.
  Liveness* liveness = nullptr;
  // Provider ids; an entry ending in ':' stands for every id it begins (as in brief_ids).
  std::vector<std::string> liveness_passive;
  // Provider ids whose announcements and withdrawals are put as
  // dht::ValueKind::brief_provider_record: the storing nodes keep them only
  // DhtConfig::brief_record_expiry past their owner's last refresh, so the key holds recent
  // records only (the node directory's joins: apply::kJoinsPrefix). Read like any record.
  // An entry ending in ':' stands for every id it begins.
  std::vector<std::string> brief_ids;
  // Provider ids whose records are re-signed only every ttl / 2, not capped by
  // max_refresh_interval: the record's value id stays the same for hours, so a reader that
  // compares value ids (discover_once with a ReadMemory) sees no change while nothing changed
  // (the node directory's shards, announced with a long TTL: apply::kShardRecordTtl). An
  // entry ending in ':' stands for every id it begins.
  std::vector<std::string> stable_ids;
  // 50 ms: at 100 daemons on 2 cores the read took 5.4 ms p50, 12.3 ms p99; the budget
  // bounds the first answer under load (docs/ARCHITECTURE.md, "Discovery and liveness").
  std::chrono::milliseconds liveness_check_budget{50};
  std::chrono::milliseconds liveness_interest{std::chrono::minutes(2)};
};

struct PeerInfo {
  std::string node_id;
  std::vector<std::string> endpoints;
  int64_t timestamp_ms = 0;
  int64_t ttl_s = 0;
  uint64_t sequence = 0;
};

// What discover_once(id, memory) remembers of one key between reads: each value id of its
// last answer, with the record it opened to (signature, signer, manifest id; null: it did not
// open), at most kMaxRememberedValues of them. One reader at a time.
inline constexpr size_t kMaxRememberedValues = 1024;
// At most this many new value ids are fetched one by one in one read; more: one get.
inline constexpr size_t kMaxFetchesById = 8;
class ReadMemory {
 public:
  // No answer remembered (seeds aside: they do not make a read by ids).
  bool empty() const { return opened_.empty(); }
  size_t size() const { return opened_.size(); }
  size_t seeded() const { return seeded_.size(); }
  void clear() {
    opened_.clear();
    seeded_.clear();
  }
  // Tells the memory that `record` (opened and checked by the caller: its signer's own word)
  // is stored under `value_id`; kept until the next read (see the promise). Ignored when the
  // id is remembered already or kMaxRememberedValues seeds are held.
  void seed(uint64_t value_id, std::shared_ptr<const protocol::ProviderRecord> record);

 private:
  friend class ProviderManager;
  std::map<uint64_t, std::shared_ptr<const protocol::ProviderRecord>> opened_;
  std::map<uint64_t, std::shared_ptr<const protocol::ProviderRecord>> seeded_;
};

// The value id a record of a stable id is put under (a 64-bit BLAKE2b of the four, never 0).
uint64_t stable_value_id(std::string_view node_id, std::string_view manifest_id, uint64_t sequence,
                         uint64_t salt);

// The record this node currently announces for a manifest (ProviderManager::published()).
struct PublishedRecord {
  uint64_t value_id = 0;
  uint64_t sequence = 0;
  uint64_t salt = 0;  // of stable_value_id (0 for a record of a random id)
  int64_t timestamp_ms = 0;
  int64_t ttl_s = 0;
};

struct ProviderStats {
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;          // discover() that went to the DHT, and every discover_once()
  uint64_t dht_failures = 0;          // discoveries that fell back (DHT error or timeout)
  uint64_t id_reads = 0;              // discover_once(id, memory) answered by ids (no full get)
  uint64_t values_fetched = 0;        // values fetched one by one (ids not remembered)
  uint64_t unclean_id_reads = 0;      // reads by ids read again with a get (not clean)
  uint64_t records_rejected = 0;      // values dropped: bad signature, signer mismatch, ...
  uint64_t records_not_member = 0;    // of those, dropped because the signer is no member node
  uint64_t records_out_of_range = 0;  // of those, dropped for ttl or future timestamp
  uint64_t puts_ok = 0;               // record puts acknowledged by the DHT
  uint64_t puts_failed = 0;
  uint64_t providers_announced = 0;  // manifests currently announced (not withdrawn)
  uint64_t cache_entries = 0;
  uint64_t dht_nodes = 0;  // Dht::node_count()
};

class ProviderManager final : public Announcer, public Discoverer {
 public:
  ProviderManager(dht::Dht& dht, const crypto::Identity& identity, const Clock& clock,
                  ProviderConfig config = {});
  ~ProviderManager() override;
  ProviderManager(const ProviderManager&) = delete;
  ProviderManager& operator=(const ProviderManager&) = delete;

  void announce(const std::string& manifest_id, const ProviderMetadata& metadata,
                std::chrono::seconds ttl, DoneCallback on_done = {}) override;
  void withdraw(const std::string& manifest_id, DoneCallback on_done = {}) override;
  // Stops announcing `manifest_id` without a withdrawal: its permanent put is cancelled and
  // the record stays readable until it expires at the storing nodes (its kind's expiry) or
  // at its own TTL, whichever comes first. For records whose only purpose was to be seen
  // soon after their put (the node directory's joins, put as brief_ids). No-op when not
  // announced.
  void stop_announcing(const std::string& manifest_id);
  std::vector<ProviderInfo> discover(const std::string& manifest_id) override;
  // What the cache holds for `manifest_id` (fresh or stale, kept current by its listen),
  // without a DHT read and without the liveness filter; nullopt when nothing is cached.
  std::optional<std::vector<ProviderInfo>> cached(const std::string& manifest_id);
  // DiscoveryCache::fresh_stamp of the key's cache entry: while it stays the same non-zero
  // value, discover(manifest_id) answers from the cache with the same list (before the
  // liveness filter, which may still drop a node found dead meanwhile).
  uint64_t answer_stamp(const std::string& manifest_id);
  // A DHT get now, never cached, never listened to (see the promise above).
  Result<std::vector<ProviderInfo>> discover_once(const std::string& manifest_id);
  // The same answer, read through `memory` (see the promise above). `withdrawn`, when given,
  // is set to the node ids whose newest record in the answer is a withdrawal.
  Result<std::vector<ProviderInfo>> discover_once(const std::string& manifest_id,
                                                  ReadMemory& memory,
                                                  std::vector<std::string>* withdrawn = nullptr);
  // Keep discover(manifest_id)'s cache entry and listen while the key is empty.
  void watch(const std::string& manifest_id);
  void unwatch(const std::string& manifest_id);
  // Called after a listen brought records to a watched key's cache entry (answer_stamp may
  // have changed), on the DHT's thread and without the manager's locks: it must not block
  // and must not call set_watch_listener. Replaces the previous listener; when this returns,
  // no call of the previous one is running. {}: none.
  void set_watch_listener(std::function<void()> on_change);

  void announce_peer(const std::vector<std::string>& endpoints, DoneCallback on_done = {});
  Result<PeerInfo> lookup_peer(const std::string& node_id);

  // The most providers one discover() answer lists (config.max_providers).
  size_t max_providers() const;
  // Manifests this node currently announces (not withdrawn).
  std::vector<std::string> announced() const;
  // The record announced for `manifest_id` now (nullopt: not announced, or withdrawn).
  std::optional<PublishedRecord> published(const std::string& manifest_id) const;
  ProviderStats stats() const;

  // Refresh interval for a record TTL (see the promise above).
  static std::chrono::milliseconds refresh_interval(std::chrono::seconds ttl,
                                                    const ProviderConfig& config);

  // Providers left out of discover() answers because their node was dead.
  uint64_t dead_providers_filtered() const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  std::thread worker_;
};

}  // namespace beemesh::provider
