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
//  * Recent joins: announce_self() also announces the same entry in the joins bucket of
//    its time: provider id joins_id(join_bucket(now)) = "beemesh:nodes:joins:<b>", b = Unix
//    time / kJoinBucket (2 min), with a TTL of kJoinTtl (5 min); a started directory stops
//    announcing it kJoinWindow (2 min) later, before its first refresh, without a
//    withdrawal (ProviderManager::stop_announcing: the joiner stays a member; a node that
//    restarts, or calls announce_self() again, e.g. with new endpoints, joins again). Put as
//    brief records (the daemon's ProviderConfig::brief_ids holds kJoinsPrefix), joins leave
//    the storing nodes DhtConfig::brief_record_expiry (15 min) after their last refresh (in
//    practice after their put: the window ends before OpenDHT's first refresh).
//    Every started directory watches the buckets b-1, b and b+1 of its own clock
//    (ProviderManager::watch: a cache entry and a DHT listen kept even while empty; the
//    next bucket covers joiners whose clocks run up to a bucket ahead): b+1 from a moment
//    drawn at random per directory in the first kJoinBucket - 15 s of b (a DHT get and a
//    listen while it is still empty: the mesh's nodes do not all start one at the same
//    instant), b-2 unwatched when b begins, and, each tick, puts the joiners listed there into
//    their shard after the same checks as a shard read (below); a joiner that a shard read left out
//    while its join record lasts is put back at the next tick. Why buckets: a listener is
//    sent everything its key holds when it starts listening, and is sent an expiry notice
//    by each storing node for every value that expires while it listens. One joins key
//    held every join of the last hour (the storing nodes' provider-record expiry; ~N
//    values during a fleet start: O(N) datagrams per joiner just to start watching), and
//    brief records in one key would each expire under every node's listen (26 datagrams per
//    node per join measured at 300 nodes). A bucket is watched from before it begins, so
//    its watch starts empty, and is left kJoinBucket after it ended, at most 4 min after a
//    join's put, before that join expires there (15 min after its put: a storing node
//    keeps a listener that stopped refreshing for 10 min, since OpenDHT 2.4 sends no
//    cancel, and its expiry notices would reach every node that left). A join is watched for
//    2-4 min. So a newcomer is listed everywhere within about one tick of its join record
//    being pushed, whatever the size of the mesh, and a mesh at rest (no joins) pays the
//    three listens' upkeep and one new bucket watch per 2 min. Joins come in at most
//    max_providers (50) per bucket answer, freshest first: when an answer is full and its oldest
//    joiner was not in the previous tick's answer (more than 50 joins between two ticks: older ones
//    may have been pushed out; the first full answer after the first pass over the shards counts
//    too when its oldest joiner joined less than kJoinStoreMargin, 30 s, before this directory
//    started, by the record's timestamp: joiners pushed out of it may not have been stored when the
//    first pass read their shards; a node joining a running mesh, whose 50 latest joins are older,
//    makes no such pass, see first_joins_answer_is_gap()), every shard is read again at once (or as
//    soon as kJoinGapRecheck, 10 s, has passed since the last such pass) and once more 10 s later
//    (in a burst, records of the joiners missed may not be stored yet at the first pass).
//  * Which shards are read, and how: by ProviderManager::discover_once() through the
//    shard's ReadMemory, a DHT read that leaves no listen behind (a shard listen would push
//    every announcement of the shard to every node: O(N) traffic per node at rest,
//    docs/ARCHITECTURE.md "Node directory"). The first read of a shard is a get; later ones
//    ask for the value ids first and fetch only values not read before (a node's shard
//    record keeps its value id for hours: the daemon announces it with kShardRecordTtl and
//    lists the shards in ProviderConfig::stable_ids), so a re-read of a shard that did not
//    change costs a get's walk without its records, whatever the number of entries.
//    announce_self() tells in the join record the sequence, timestamp and TTL of the shard
//    record it announced, and the salt of its value id (capabilities kShardSeqCapability,
//    kShardTsCapability, kShardTtlCapability, kShardSaltCapability, when that record's value
//    id is provider::stable_value_id of them), and a directory that takes a joiner in seeds
//    that record into the shard's memory (joiner_shard_record(), ReadMemory::seed): after a
//    mass start, whose members mostly came through the joins key, a re-read fetches only the
//    records of joins it missed, not one get per shard. A joiner can tell only of its own record
//    (the join is signed by it, the value id follows from its node id); what it tells is taken as a
//    record read from the shard once the shard's value ids list that id. refresh() reads every
//    shard at once. start(tick) reads on a thread of its own: each tick (2 s) the shards that are
//    due, earliest first, at most kMaxShardsPerTick (16), by up to kParallelReads (4) short-lived
//    reader threads that take no new shard once the tick has lasted `tick` (a DHT that is not
//    connected yet costs one discovery_timeout per reader and tick, not sixteen); while due shards
//    are left the next tick follows after kBacklogPause (100 ms), so the first pass over the 64
//    shards takes ~4 ticks. A directory at rest (no joiner in the watched buckets, every joins
//    answer fresh, no gap pass owed) does not tick at every `tick`: it sleeps until its next
//    shard read is due or its joins buckets change, at least `tick` and at most kIdleRefresh
//    (10 s), and a listen that brings records to a watched joins bucket wakes it at once
//    (ProviderManager::set_watch_listener; apply/refresh_schedule.h). A shard is due again after a
//    period that doubles with each read on schedule from kShardRefreshFirst (60 s) to kShardRefresh
//    (8 min), then the steady period below, ±25 % (random, so that reads spread), whether it listed
//    nodes or not, once this node's reads are trusted (the early re-reads find members whose
//    records were not stored yet at a read during a mass start, or were pushed out of full joins
//    answers): once a read of its own shard has listed this node itself (its record is stored and
//    reads reach it; the own shard is read on the backoff below until then). Before that an empty
//    shard, and after a failed read (the DHT's error or timeout: the shard keeps what it listed)
//    any shard, is read again after a backoff that doubles from 2 s to kEmptyShardRecheckMax
//    (60 s); when reads become trusted, the shards read empty before are read again at once.
//  * The re-read period (apply/shard_rereads.h): after the early re-reads (60, 120, 240,
//    480 s; a read forced before its period — a joins-gap pass, a
//    revocation, find(), refresh() — restarts the same step from then instead of taking
//    the next; a read on schedule that lists no member new to the shard ends them: a node
//    joining a running mesh, whose newcomers come through the joins key, pays one early
//    re-read per shard, a mass start keeps them while they find members; and a node whose
//    first joins answers after its first pass are no gap and that joined a running mesh
//    (joined_running_mesh(): a full bucket answer, or a first pass that listed at least
//    max_providers members) skips them:
//    its shards are read next after the steady period) a shard's period is kShardRefresh
//    (8 min) whatever the size of the mesh: a re-read asks for the value ids and fetches
//    only the records it does not know, so its cost does not grow with the entries of the
//    shard (25-30 datagrams mesh-wide for an unchanged shard at 100 to 1,000 nodes). The
//    price is staleness: a node that left without withdrawing stays listed while the storing
//    nodes keep its record, then (with liveness) until the second read of its shard that lacks
//    it (below): up to ~2.5 × the period (~20 min) after that; placement treats a node that
//    does not answer as having no room (and asks a fresh sample once when the answers lack
//    room), and with liveness wired in, a node known dead is left out of every read of its shard
//    or of the joins (below; the entries already held are not filtered between reads).
//    Newcomers are not affected (the joins key), nor find() of a node not listed (it reads the
//    shard), nor revocations (a pass).
//  * A read replaces what the shard listed, except that an entry the read lacks is kept
//    unless there is evidence that its node left (apply/missed_entries.h): the read lists its
//    withdrawal (ProviderManager::discover_once tells the withdrawn nodes: a node that
//    withdraws goes at the first read that sees it), its record as last read (or as its join
//    told) has expired (NodeEntry::expires_ms), or `liveness` (the daemon's: the constructor's
//    last argument) knows it dead. A kept entry whose liveness is unknown is handed to
//    liveness->check() (not waited for, off the lock): the next read that lacks it drops it if
//    the check found it dead. Why: a DHT get can answer with part of a shard (the storing
//    nodes that answered lacked records, or the get ended before every one answered), at 300
//    in-process nodes such reads made directories that listed everyone drop nodes again, and at
//    1,000 nodes, with the old rule "missing from two reads in a row: dropped", five directories
//    dropped a live node whose record their gets kept missing (docs/BENCHMARKS.md, session 27).
//    Without liveness (tests, the in-process benchmark) a node that left without withdrawing
//    stays listed until its record's TTL (kShardRecordTtl for the daemon's). The first read
//    after a new revocation list replaces everything (a revoked node leaves at once).
//  * A shard read or a join keeps only entries whose public key hashes to the node id they
//    name, that fall in the shard read (a joiner: in the shard its node id names), and, with
//    a membership, whose record's credential still makes its signer a member node at read
//    time; a newer revocation list installed in the membership makes every shard due at the
//    next tick (at most kIdleRefresh, 10 s, away) and every joiner checked again, so a revoked
//    node leaves a started directory within ~10 s of its revocation reaching this node (one re-read
//    of the whole directory per revocation list). With liveness wired into the provider manager
//    (the daemon: ProviderConfig::liveness_passive holds directory_ids()), nodes this node already
//    knows dead are left out, of shards and joins alike (an entry already held goes at the next
//    read that leaves it out, as above); nothing is checked or watched for the members a read
//    lists, only for those it lacks (above).
//  * nodes() never waits on the DHT: the union of the shards read (self first, then the others
//    by node id; at most 64 × max_providers entries, ~150 bytes each: the directory holds
//    every node it has read, 150 KB at 1,000 nodes).
//  * sample(k, exclude) never waits: up to k distinct entries drawn uniformly at random from
//    nodes() minus `exclude` (node ids); this node is a candidate like any other.
//  * find(node_id) answers from the shards read (and joins taken in); otherwise it reads
//    that node's shard now (blocking, bounded by the provider manager's discovery_timeout; call it
//    off the event loop) unless that shard was read less than kFindRecheck (2 s) ago. nullopt: not
//    a node id, or not a live member in its shard.
//  * Thread-safe. Without start() (in-process meshes, tests), nothing is read until
//    refresh() or find(), and a join record announced is never withdrawn (it is refreshed
//    like any announcement).
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "apply/refresh_schedule.h"
#include "apply/shard_rereads.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "protocol/records.h"
#include "provider/liveness.h"
#include "provider/provider_manager.h"

namespace beemesh::apply {

inline constexpr std::string_view kNodesDirectoryPrefix = "beemesh:nodes:";
inline constexpr std::string_view kJoinsPrefix = "beemesh:nodes:joins:";
inline constexpr std::chrono::minutes kJoinBucket{2};
inline constexpr std::chrono::minutes kJoinWindow{2};
inline constexpr std::chrono::minutes kJoinTtl{5};
inline constexpr std::chrono::seconds kJoinGapRecheck{10};
inline constexpr std::chrono::seconds kJoinStoreMargin{30};
inline constexpr size_t kMaxShardsPerTick = 16;
inline constexpr std::chrono::seconds kEmptyShardRecheckMin{2};
inline constexpr std::chrono::seconds kEmptyShardRecheckMax{60};
inline constexpr std::chrono::seconds kFindRecheck{2};
inline constexpr size_t kParallelReads = 4;
// The TTL a node's shard record is announced with by the daemon (re-signed every 12 h:
// ProviderConfig::stable_ids, so that re-reads find its value id unchanged).
inline constexpr std::chrono::hours kShardRecordTtl{24};

// The shard of a node id (its 6 leading bits), or nullopt when it is not a node id.
std::optional<size_t> directory_shard(std::string_view node_id);
// "beemesh:nodes:<shard>".
std::string directory_shard_id(size_t shard);
// Every shard id, shard 0 first.
std::vector<std::string> directory_shard_ids();
// The joins bucket of a Unix time in ms (floor(ms / kJoinBucket)), and its provider id
// "beemesh:nodes:joins:<bucket>".
int64_t join_bucket(int64_t unix_ms);
std::string joins_id(int64_t bucket);
// Every shard id, then kJoinsPrefix: a prefix of every joins id, for lists of provider ids
// that take prefixes (ProviderConfig::liveness_passive, brief_ids).
std::vector<std::string> directory_ids();
// A shard id or a joins id.
bool is_directory_id(std::string_view provider_id);
// Whether the first full joins answer after a directory's first pass calls for a gap pass:
// its oldest joiner (record timestamp, Unix ms) joined less than kJoinStoreMargin before the
// directory started (Unix ms), so joiners older still, pushed out of the answer, may have
// been read before their shard records were stored.
bool first_joins_answer_is_gap(int64_t oldest_joined_ms, int64_t started_ms);
// The shard record a join record tells of (its capabilities kShardSeqCapability,
// kShardTsCapability, kShardTtlCapability: the sequence, timestamp and TTL of the joiner's
// record in `shard_id`, signed with the join; kShardSaltCapability: the salt of its value
// id), and the value id it is stored under (provider::stable_value_id of the joiner's node
// id, `shard_id`, the sequence and the salt); nullopt when the join tells none, a number is
// not a decimal in range (sequence > 0, timestamp > 0, TTL 1..86400 s) or the salt is not 16
// lowercase hex digits. The record is the join's, with those values and the shard id, and
// without the four capabilities.
inline constexpr std::string_view kShardSeqCapability = "shard_seq";
inline constexpr std::string_view kShardTsCapability = "shard_ts";
inline constexpr std::string_view kShardTtlCapability = "shard_ttl";
inline constexpr std::string_view kShardSaltCapability = "shard_salt";
std::optional<std::pair<uint64_t, protocol::ProviderRecord>> joiner_shard_record(
    const provider::ProviderInfo& join, const std::string& shard_id);
// Whether a directory whose first joins answers after its first pass were no gap joined a
// running mesh (and skips the early re-reads): a joins bucket answer was full (more than
// max_providers joins in 2 min: a fleet rolled out fast), or its first pass listed at least
// max_providers other members (a fleet rolled out slowly, or a mesh at rest; its recent
// joiners come through the buckets). A mass start of few nodes keeps the early re-reads.
bool joined_running_mesh(bool full_joins_answer, size_t members_listed, size_t max_providers);

struct NodeEntry {
  std::string node_id;
  crypto::PublicKey public_key{};
  std::string name;
  std::string rpc_endpoint;
  std::string api_endpoint;
  std::string engine;
  int64_t last_seen_ms = 0;
  int64_t expires_ms = 0;  // when the record it was read from expires (timestamp + TTL, Unix ms)
};

struct DirectoryStats {
  uint64_t shard_reads = 0;           // DHT gets of a shard (passes, ticks, find())
  double entries_per_shard = 0;       // mean over the shards read, this node counted in its own
  uint64_t join_buckets_watched = 0;  // watches started on joins buckets (a DHT get each)
  uint64_t entries_dropped = 0;  // entries a shard read left out (withdrawn, expired, dead, strict)
  // Entries a shard read lacked and kept (apply/missed_entries.h).
  uint64_t entries_kept_missing = 0;
  // Shards not on their steady period yet: not read yet, on a backoff, or still on the
  // early re-reads (60-480 s). 0 once every shard is read on the steady period.
  size_t shards_before_steady = 0;
  uint64_t ticks = 0;  // the refresher's ticks since start()
};

class NodeDirectory {
 public:
  NodeDirectory(provider::ProviderManager& providers, NodeEntry self, std::chrono::seconds ttl,
                const crypto::Membership* membership = nullptr,
                provider::Liveness* liveness = nullptr);
  ~NodeDirectory();
  NodeDirectory(const NodeDirectory&) = delete;
  NodeDirectory& operator=(const NodeDirectory&) = delete;

  // Announces this node in its shard and in the joins key (see above).
  void announce_self();
  void set_api_endpoint(std::string url) { self_.api_endpoint = std::move(url); }
  // From which moment into each joins bucket the next bucket is watched (default: drawn at
  // random in (0, kJoinBucket - 15 s] at the first tick).
  void set_next_bucket_watch(std::chrono::milliseconds into_bucket) {
    std::lock_guard lock(mutex_);
    next_bucket_at_ms_ = std::max<int64_t>(1, into_bucket.count());
  }
  void start(std::chrono::milliseconds tick = std::chrono::seconds(2));
  void stop();  // joins the refresher; idempotent (the destructor calls it)
  // Reads every shard now (blocking; the first pass of start() does the same).
  void refresh();

  std::vector<NodeEntry> nodes();
  std::vector<NodeEntry> sample(size_t k, const std::set<std::string>& exclude = {});
  std::optional<NodeEntry> find(const std::string& node_id);
  const NodeEntry& self() const { return self_; }
  DirectoryStats stats();

 private:
  using Steady = std::chrono::steady_clock;
  struct Shard {
    std::vector<NodeEntry> entries;  // without self
    Steady::time_point read_at{};
    Steady::time_point due{};  // epoch: never read
    std::chrono::milliseconds backoff{kEmptyShardRecheckMin};
    ShardRereads rereads;          // the period schedule (apply/shard_rereads.h)
    bool untrusted_empty = false;  // last read empty, before reads were trusted
    bool strict = false;           // the next read replaces all (a revocation pass)
    bool answered = false;         // a read of it succeeded once (counts in the estimate)
    provider::ReadMemory memory;   // its last answer by value id (taken while reading)
    // Shard records told by joins since the last read began (given to `memory` by the next
    // read: a read in progress owns the memory), at most provider::kMaxRememberedValues.
    std::vector<std::pair<uint64_t, std::shared_ptr<const protocol::ProviderRecord>>> seeds;
  };
  struct ShardRead {
    std::vector<NodeEntry> entries;  // without self
    bool lists_self = false;
    std::vector<std::string> withdrawn;  // nodes whose newest record read is a withdrawal
  };
  struct JoinSeen {
    uint64_t sequence = 0;           // of the join record checked
    std::optional<NodeEntry> entry;  // nullopt: it failed the checks
  };

  // The checks every entry passes, from a shard read or the joins key (see the promise).
  std::optional<NodeEntry> check_entry(const provider::ProviderInfo& p, size_t shard) const;
  // Reads shard `s` from the DHT (may wait on it: never under the lock).
  Result<ShardRead> read_shard(size_t s);
  void store_shard(size_t s, Result<ShardRead> read);
  // Under mutex_: store_shard's work; returns the node ids liveness should check.
  std::vector<std::string> store_shard_locked(size_t s, Result<ShardRead> read);
  // Watches the joins buckets around now (previous, current, next) and no others.
  void watch_join_buckets();
  // Takes in the joiners listed in the watched joins buckets (cache hits, kept current by
  // their listens); skips the answers already taken while their stamps stay the same.
  void take_joins();
  // Under mutex_: lists every joiner of joins_seen_ that passed the checks in its shard (a
  // shard read since may not have listed it yet), with its endpoints if it joined again.
  void list_joiners();
  // Under mutex_: owes every shard two passes after a joins gap, and runs one when due.
  void recheck_after_gap(Steady::time_point now, bool gap);
  // Withdraws the join record once its window has passed.
  void end_join_window();
  // Under mutex_: adds to `read` the entries of `shard` it lacks and keeps (see the promise);
  // returns the node ids of those liveness should check.
  std::vector<std::string> keep_missed_entries(Shard& shard, ShardRead& read);
  // Mean entries of the shards read, self counted (under the lock).
  double entries_per_shard_locked() const;
  // Reads the due shards (within about `budget`); what the next tick waits for.
  RefreshPlan tick(std::chrono::milliseconds budget);
  // The earliest moment the joins buckets to watch change or the join window ends (under
  // mutex_; Steady::time_point::max(): none).
  Steady::time_point next_joins_event() const;
  // The provider manager's watch listener: a listen brought records to a watched joins bucket.
  void on_joins_arrived();

  provider::ProviderManager& providers_;
  NodeEntry self_;
  std::chrono::seconds ttl_;
  const crypto::Membership* membership_;
  provider::Liveness* liveness_;  // nullptr: absence, expiry and withdrawals only
  const size_t own_shard_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::array<Shard, kDirectoryShards> shards_;
  std::mt19937_64 rng_{std::random_device{}()};
  bool started_ = false;
  bool stopping_ = false;
  uint64_t shard_reads_ = 0;
  uint64_t revocation_sequence_ = 0;             // of the membership's list at the last tick
  bool reads_trusted_ = false;                   // a read of the own shard has listed self
  std::optional<Steady::time_point> joined_at_;  // join record announced, still refreshed
  std::string join_id_;                          // the joins id it was announced under
  std::set<int64_t> watched_buckets_;
  uint64_t join_buckets_watched_ = 0;
  uint64_t entries_dropped_ = 0;
  uint64_t entries_kept_missing_ = 0;
  int64_t next_bucket_at_ms_ = 0;  // into a bucket, when the next one is watched (random)
  // Joiners of the previous tick's answer and the verdict on each (checked once per record).
  std::map<std::string, JoinSeen> joins_seen_;
  // The buckets and their answer stamps (ProviderManager::answer_stamp) joins_seen_ was taken
  // from: while both stay the same, a tick's answers are those already taken.
  std::vector<int64_t> joins_taken_buckets_;
  std::vector<uint64_t> joins_taken_stamps_;
  Steady::time_point last_gap_recheck_{};
  int gap_passes_ = 0;            // passes over every shard still owed to a joins gap
  bool joins_evaluated_ = false;  // a joins answer was looked at after the first pass
  int64_t started_ms_ = 0;        // Unix ms at start() (first_joins_answer_is_gap)
  uint64_t ticks_ = 0;
  bool listening_ = false;      // the provider manager's watch listener is this directory's
  bool idle_sleep_ = false;     // the refresher sleeps past its tick (a join wakes it)
  bool joins_arrived_ = false;  // records came to a watched bucket since the last tick began
  std::thread refresher_;
};

}  // namespace beemesh::apply
