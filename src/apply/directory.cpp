#include "apply/directory.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

#include "apply/missed_entries.h"
#include "common/bytes.h"
#include "common/clock.h"

namespace beemesh::apply {

namespace {

// Value of a node id's base32 character ("abcdefghijklmnopqrstuvwxyz234567").
int base32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return 26 + (c - '2');
  return -1;
}

}  // namespace

std::optional<size_t> directory_shard(std::string_view node_id) {
  if (!crypto::is_valid_node_id(node_id)) return std::nullopt;
  constexpr size_t kPrefix = 2;  // "bm"
  const int hi = base32_value(node_id[kPrefix]);
  const int lo = base32_value(node_id[kPrefix + 1]);
  static_assert(kDirectoryShards == 64, "6 leading bits");
  return static_cast<size_t>((hi << 1) | (lo >> 4));
}

std::string directory_shard_id(size_t shard) {
  return std::string(kNodesDirectoryPrefix) + std::to_string(shard);
}

std::vector<std::string> directory_shard_ids() {
  std::vector<std::string> ids;
  ids.reserve(kDirectoryShards);
  for (size_t s = 0; s < kDirectoryShards; ++s) ids.push_back(directory_shard_id(s));
  return ids;
}

namespace {

// A joins bucket's length in ms.
constexpr int64_t kJoinBucketMs = std::chrono::milliseconds(kJoinBucket).count();

// Where a Unix time in ms falls among the joins buckets, for a directory that starts watching
// the next bucket `next_bucket_at_ms` into the current one (see NodeDirectory::next_bucket_at_ms_).
struct JoinBucketClock {
  int64_t next_at_ms;  // when the next bucket is first watched
  int64_t ends_at_ms;  // when this bucket ends (the watched buckets change)
};
JoinBucketClock join_bucket_clock(int64_t now_ms, int64_t next_bucket_at_ms) {
  const int64_t bucket = join_bucket(now_ms);
  return {bucket * kJoinBucketMs + next_bucket_at_ms, (bucket + 1) * kJoinBucketMs};
}

}  // namespace

int64_t join_bucket(int64_t unix_ms) {
  constexpr int64_t b = kJoinBucketMs;
  return unix_ms >= 0 ? unix_ms / b : -((-unix_ms + b - 1) / b);
}

std::string joins_id(int64_t bucket) {
  return std::string(kJoinsPrefix) + std::to_string(bucket);
}

std::vector<std::string> directory_ids() {
  auto ids = directory_shard_ids();
  ids.emplace_back(kJoinsPrefix);
  return ids;
}

bool is_directory_id(std::string_view provider_id) {
  if (provider_id.starts_with(kJoinsPrefix)) {
    const auto rest = provider_id.substr(kJoinsPrefix.size());
    return !rest.empty() && rest.size() <= 19 &&
           std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  if (!provider_id.starts_with(kNodesDirectoryPrefix)) return false;
  const auto rest = provider_id.substr(kNodesDirectoryPrefix.size());
  for (size_t s = 0; s < kDirectoryShards; ++s) {
    if (rest == std::to_string(s)) return true;
  }
  return false;
}

namespace {

// A decimal number of at most 18 digits (no sign, no spaces), or nullopt.
std::optional<int64_t> decimal(const std::map<std::string, std::string>& caps,
                               std::string_view name) {
  auto it = caps.find(std::string(name));
  if (it == caps.end() || it->second.empty() || it->second.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// 16 lowercase hex digits, or nullopt.
std::optional<uint64_t> hex64(const std::map<std::string, std::string>& caps,
                              std::string_view name) {
  auto it = caps.find(std::string(name));
  if (it == caps.end() || it->second.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : it->second) {
    const bool digit = c >= '0' && c <= '9';
    if (!digit && !(c >= 'a' && c <= 'f')) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(digit ? c - '0' : c - 'a' + 10);
  }
  return v;
}

// The 16 lowercase hex digits hex64() reads back (big-endian bytes through to_hex).
std::string hex64(uint64_t v) {
  Bytes be(8);
  for (size_t i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(v >> (8 * (7 - i)));
  return to_hex(be);
}

}  // namespace

std::optional<std::pair<uint64_t, protocol::ProviderRecord>> joiner_shard_record(
    const provider::ProviderInfo& join, const std::string& shard_id) {
  const auto& caps = join.metadata.capabilities;
  const auto seq = decimal(caps, kShardSeqCapability);
  const auto ts = decimal(caps, kShardTsCapability);
  const auto ttl = decimal(caps, kShardTtlCapability);
  const auto salt = hex64(caps, kShardSaltCapability);
  if (!seq || !ts || !ttl || !salt || *seq <= 0 || *ts <= 0 || *ttl <= 0 || *ttl > 86400) {
    return std::nullopt;
  }
  protocol::ProviderRecord r;
  r.manifest_id = shard_id;
  r.node_id = join.metadata.node_id;
  r.signer_public_key = join.signer;
  r.rpc_endpoint = join.metadata.rpc_endpoint;
  r.engine = join.metadata.engine;
  r.capabilities = caps;
  for (auto name :
       {kShardSeqCapability, kShardTsCapability, kShardTtlCapability, kShardSaltCapability}) {
    r.capabilities.erase(std::string(name));
  }
  r.timestamp_ms = *ts;
  r.ttl_s = *ttl;
  r.sequence = static_cast<uint64_t>(*seq);
  r.credential = join.credential;
  const uint64_t id = provider::stable_value_id(r.node_id, shard_id, r.sequence, *salt);
  return std::pair{id, std::move(r)};
}

bool first_joins_answer_is_gap(int64_t oldest_joined_ms, int64_t started_ms) {
  return oldest_joined_ms >
         started_ms -
             std::chrono::duration_cast<std::chrono::milliseconds>(kJoinStoreMargin).count();
}

bool joined_running_mesh(bool full_joins_answer, size_t members_listed, size_t max_providers) {
  return full_joins_answer || members_listed >= max_providers;
}

NodeDirectory::NodeDirectory(provider::ProviderManager& providers, NodeEntry self,
                             std::chrono::seconds ttl, const crypto::Membership* membership,
                             provider::Liveness* liveness)
    : providers_(providers),
      self_(std::move(self)),
      ttl_(ttl),
      membership_(membership),
      liveness_(liveness),
      own_shard_(directory_shard(self_.node_id).value_or(0)),
      revocation_sequence_(membership ? membership->revocation_sequence() : 0) {}

NodeDirectory::~NodeDirectory() {
  stop();
}

void NodeDirectory::stop() {
  bool listening = false;
  {
    std::lock_guard lock(mutex_);
    listening = std::exchange(listening_, false);
  }
  // Once (the destructor calls stop() again, maybe after the provider manager is gone), and
  // not under mutex_: the listener takes it, and this waits for a call in progress.
  if (listening) providers_.set_watch_listener({});
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  std::set<int64_t> watched;
  {
    std::lock_guard lock(mutex_);
    watched.swap(watched_buckets_);
  }
  for (int64_t b : watched) providers_.unwatch(joins_id(b));
}

void NodeDirectory::announce_self() {
  provider::ProviderMetadata meta;
  meta.node_id = self_.node_id;
  meta.rpc_endpoint = self_.rpc_endpoint;
  meta.engine = self_.engine;
  meta.capabilities = {
      {"public_key", to_hex(self_.public_key)}, {"name", self_.name}, {"api", self_.api_endpoint}};
  providers_.announce(directory_shard_id(own_shard_), meta, ttl_);
  // The join tells the shard record it was announced with, when that record's value id
  // follows from it (ProviderConfig::stable_ids lists the shards, as the daemon's does), so
  // that directories that take the joiner in need not fetch it at their next read.
  const std::string shard_id = directory_shard_id(own_shard_);
  if (auto shard_record = providers_.published(shard_id);
      shard_record && shard_record->value_id == provider::stable_value_id(self_.node_id, shard_id,
                                                                          shard_record->sequence,
                                                                          shard_record->salt)) {
    meta.capabilities[std::string(kShardSeqCapability)] = std::to_string(shard_record->sequence);
    meta.capabilities[std::string(kShardTsCapability)] = std::to_string(shard_record->timestamp_ms);
    meta.capabilities[std::string(kShardTtlCapability)] = std::to_string(shard_record->ttl_s);
    meta.capabilities[std::string(kShardSaltCapability)] = hex64(shard_record->salt);
  }
  // The same entry in the joins bucket of now, for kJoinWindow only (no longer announced
  // from then, before the record's first refresh at kJoinTtl / 2).
  const std::string id = joins_id(join_bucket(system_clock().now_ms()));
  std::string previous;
  {
    std::lock_guard lock(mutex_);
    previous = std::exchange(join_id_, id);
  }
  if (!previous.empty() && previous != id) providers_.stop_announcing(previous);
  providers_.announce(id, meta, kJoinTtl);
  std::lock_guard lock(mutex_);
  joined_at_ = Steady::now();
}

void NodeDirectory::end_join_window() {
  std::string id;
  {
    std::lock_guard lock(mutex_);
    if (!joined_at_ || Steady::now() - *joined_at_ < kJoinWindow) return;
    joined_at_.reset();
    id = join_id_;
  }
  // No withdrawal: the joiner stays a member, listed in its shard. Put as a brief record
  // (ProviderConfig::brief_ids), the join leaves the key's storing nodes
  // DhtConfig::brief_record_expiry later, and the watchers' caches at its TTL.
  providers_.stop_announcing(id);
}

void NodeDirectory::start(std::chrono::milliseconds tick_every) {
  {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_) return;
    started_ = true;
    listening_ = true;
  }
  providers_.set_watch_listener([this] { on_joins_arrived(); });
  std::lock_guard lock(mutex_);
  started_ms_ = system_clock().now_ms();
  refresher_ = std::thread([this, tick_every] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      joins_arrived_ = false;
      ++ticks_;
      lock.unlock();
      const RefreshPlan plan = tick(tick_every);  // may wait on the DHT: never under the lock
      lock.lock();
      idle_sleep_ = !plan.backlog && !plan.busy;
      wake_.wait_until(lock, next_refresh(plan, Steady::now(), tick_every),
                       [this] { return stopping_ || (idle_sleep_ && joins_arrived_); });
      idle_sleep_ = false;
    }
  });
  ::pthread_setname_np(refresher_.native_handle(), "dir-refresh");
}

void NodeDirectory::on_joins_arrived() {
  std::lock_guard lock(mutex_);
  if (joins_arrived_) return;
  joins_arrived_ = true;
  if (idle_sleep_) wake_.notify_all();
}

NodeDirectory::Steady::time_point NodeDirectory::next_joins_event() const {
  const auto now = Steady::now();
  auto next = Steady::time_point::max();
  if (joined_at_) next = *joined_at_ + kJoinWindow;  // end_join_window()
  // watch_join_buckets()'s watched buckets change at these two moments.
  const int64_t now_ms = system_clock().now_ms();
  const auto clock = join_bucket_clock(now_ms, next_bucket_at_ms_);
  for (int64_t at : {clock.next_at_ms, clock.ends_at_ms}) {
    if (next_bucket_at_ms_ > 0 && at > now_ms) {
      next = std::min(next, now + std::chrono::milliseconds(at - now_ms));
    }
  }
  return next;
}

void NodeDirectory::refresh() {
  for (size_t s = 0; s < kDirectoryShards; ++s) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    store_shard(s, read_shard(s));
  }
}

void NodeDirectory::watch_join_buckets() {
  const int64_t now_ms = system_clock().now_ms();
  const int64_t now = join_bucket(now_ms);
  std::set<int64_t> want{now - 1, now};
  std::vector<int64_t> add, drop;
  {
    std::lock_guard lock(mutex_);
    if (next_bucket_at_ms_ == 0) {
      next_bucket_at_ms_ = std::uniform_int_distribution<int64_t>(1, kJoinBucketMs - 15'000)(rng_);
    }
    if (now_ms >= join_bucket_clock(now_ms, next_bucket_at_ms_).next_at_ms ||
        watched_buckets_.count(now + 1)) {
      want.insert(now + 1);
    }
    for (int64_t b : want) {
      if (!watched_buckets_.count(b)) add.push_back(b);
    }
    for (int64_t b : watched_buckets_) {
      if (!want.count(b)) drop.push_back(b);
    }
    watched_buckets_ = want;
    join_buckets_watched_ += add.size();
  }
  for (int64_t b : drop) providers_.unwatch(joins_id(b));
  for (int64_t b : add) providers_.watch(joins_id(b));  // a DHT get, then its listen
}

void NodeDirectory::take_joins() {
  watch_join_buckets();
  std::vector<int64_t> buckets;
  {
    std::lock_guard lock(mutex_);
    buckets.assign(watched_buckets_.begin(), watched_buckets_.end());
  }
  // Unchanged answers (same buckets, same fresh cache entries) were taken at an earlier tick:
  // only a gap's passes may be due. Until the first evaluation, answers are always looked at.
  std::vector<uint64_t> stamps;
  stamps.reserve(buckets.size());
  for (int64_t b : buckets) stamps.push_back(providers_.answer_stamp(joins_id(b)));
  {
    std::lock_guard lock(mutex_);
    if (joins_evaluated_ && buckets == joins_taken_buckets_ && stamps == joins_taken_stamps_ &&
        std::find(stamps.begin(), stamps.end(), 0) == stamps.end()) {
      list_joiners();
      recheck_after_gap(Steady::now(), false);
      return;
    }
  }
  // Cache hits, kept current by the buckets' listens (a DHT get once per cache_ttl); the
  // provider manager has left out nodes known dead (joins ids are passive, like shards).
  // A full bucket answer (max_providers joins) may have pushed older joins of it out.
  struct Full {
    std::string oldest;
    int64_t oldest_ms = 0;
  };
  std::vector<Full> full;
  std::map<std::string, provider::ProviderInfo> freshest;  // node id -> its latest join
  for (int64_t b : buckets) {
    auto answer = providers_.discover(joins_id(b));
    if (!answer.empty() && answer.size() >= providers_.max_providers()) {
      full.push_back({answer.back().metadata.node_id, answer.back().timestamp_ms});
    }
    for (auto& p : answer) {
      auto [it, added] = freshest.try_emplace(p.metadata.node_id, p);
      if (!added && it->second.timestamp_ms < p.timestamp_ms) it->second = std::move(p);
    }
  }
  std::vector<provider::ProviderInfo> listed;
  listed.reserve(freshest.size());
  for (auto& [id, p] : freshest) listed.push_back(std::move(p));
  std::map<std::string, JoinSeen> seen;
  std::vector<const provider::ProviderInfo*> unchecked;
  bool gap = false;
  bool running_mesh = false;
  {
    std::lock_guard lock(mutex_);
    // A full answer whose oldest joiner was not in the previous tick's answers: joins may
    // have been pushed out between the two (more than one answer holds), and so may joins
    // this node's first pass over the shards missed (the first answers after that pass
    // count as a gap when a full one's oldest joiner joined shortly before this directory
    // started, or after). Not before the first pass is done: that pass finds them anyway.
    const bool first_pass_done = std::none_of(shards_.begin(), shards_.end(), [](const Shard& sh) {
      return sh.read_at == Steady::time_point{};
    });
    if (first_pass_done) {
      for (const auto& f : full) {
        gap =
            gap || (!joins_evaluated_ ? first_joins_answer_is_gap(f.oldest_ms, started_ms_)
                                      : f.oldest != self_.node_id && !joins_seen_.count(f.oldest));
      }
      // This node joined a running mesh: its first pass read records stored long before,
      // and the joins buckets bring the newcomers: no early re-reads.
      size_t members = 0;
      for (const auto& sh : shards_) members += sh.entries.size();
      running_mesh = !joins_evaluated_ && !gap &&
                     joined_running_mesh(!full.empty(), members, providers_.max_providers());
      joins_evaluated_ = true;
    }
    for (const auto& p : listed) {
      const auto& id = p.metadata.node_id;
      if (id == self_.node_id) continue;
      auto it = joins_seen_.find(id);
      if (it != joins_seen_.end() && it->second.sequence == p.sequence) {
        seen.emplace(id, it->second);  // checked at an earlier tick
      } else {
        unchecked.push_back(&p);
      }
    }
  }
  using Seed = std::pair<uint64_t, std::shared_ptr<const protocol::ProviderRecord>>;
  std::vector<std::pair<size_t, Seed>> seeds;  // shard, the joiner's shard record
  for (const auto* p : unchecked) {  // the checks of a shard read (crypto: not under the lock)
    JoinSeen join{p->sequence, std::nullopt};
    if (auto s = directory_shard(p->metadata.node_id)) {
      join.entry = check_entry(*p, *s);
      if (join.entry) {
        if (auto told = joiner_shard_record(*p, directory_shard_id(*s))) {
          // Listed from its join, it lives as long as the shard record the join tells of.
          join.entry->expires_ms = told->second.timestamp_ms + told->second.ttl_s * 1000;
          seeds.push_back({*s, Seed{told->first, std::make_shared<const protocol::ProviderRecord>(
                                                     std::move(told->second))}});
        }
      }
    }
    seen.insert_or_assign(p->metadata.node_id, std::move(join));
  }
  std::lock_guard lock(mutex_);
  const auto now = Steady::now();
  for (auto& [s, seed] : seeds) {
    auto& pending = shards_[s].seeds;
    if (pending.size() < provider::kMaxRememberedValues) pending.push_back(std::move(seed));
  }
  joins_seen_ = std::move(seen);
  list_joiners();
  joins_taken_buckets_ = std::move(buckets);
  joins_taken_stamps_ = std::move(stamps);
  if (running_mesh) {
    std::uniform_real_distribution<double> spread(0.75, 1.25);
    for (auto& shard : shards_) {
      // On the early schedule after a successful read (a shard on a backoff keeps it).
      const auto period = shard.rereads.period();
      if (period.count() > 0 && period < kShardRefresh && shard.backoff == kEmptyShardRecheckMin &&
          !shard.untrusted_empty) {
        shard.due = shard.rereads.skip_early(now, spread(rng_));
      }
    }
  }
  recheck_after_gap(now, gap);
}

void NodeDirectory::list_joiners() {
  for (const auto& [id, join] : joins_seen_) {
    if (!join.entry) continue;
    auto& entries = shards_[*directory_shard(id)].entries;
    auto known = std::find_if(entries.begin(), entries.end(),
                              [&](const NodeEntry& e) { return e.node_id == id; });
    if (known == entries.end()) {
      entries.push_back(*join.entry);  // again, if a shard read since has not listed it
    } else if (known->last_seen_ms < join.entry->last_seen_ms &&
               (known->rpc_endpoint != join.entry->rpc_endpoint ||
                known->api_endpoint != join.entry->api_endpoint ||
                known->name != join.entry->name || known->engine != join.entry->engine)) {
      *known = *join.entry;  // joined again with new endpoints
    }
  }
}

void NodeDirectory::recheck_after_gap(Steady::time_point now, bool gap) {
  // Two passes, kJoinGapRecheck apart: the joiners missed may be older than the next answers
  // reach, and in a burst their shard records may not be stored yet at the first pass.
  if (gap) gap_passes_ = 2;
  if (gap_passes_ > 0 && now - last_gap_recheck_ >= kJoinGapRecheck) {
    --gap_passes_;
    last_gap_recheck_ = now;
    for (auto& shard : shards_) shard.due = std::min(shard.due, now);
  }
}

RefreshPlan NodeDirectory::tick(std::chrono::milliseconds budget) {
  const auto started = Steady::now();
  std::vector<size_t> due;
  size_t waiting = 0;
  {
    std::lock_guard lock(mutex_);
    // A new revocation list: every shard is read again and every joiner checked again.
    if (membership_ && membership_->revocation_sequence() != revocation_sequence_) {
      revocation_sequence_ = membership_->revocation_sequence();
      for (auto& shard : shards_) {
        shard.due = started;
        shard.strict = true;  // revoked nodes go at once, not after a second read
      }
      joins_seen_.clear();
      joins_taken_stamps_.clear();  // every joiner checked again at this tick
    }
  }
  end_join_window();
  take_joins();
  {
    std::lock_guard lock(mutex_);
    for (size_t s = 0; s < kDirectoryShards; ++s) {
      if (shards_[s].due <= started) due.push_back(s);
    }
    std::sort(due.begin(), due.end(),
              [this](size_t a, size_t b) { return shards_[a].due < shards_[b].due; });
    if (due.size() > kMaxShardsPerTick) {
      waiting = due.size() - kMaxShardsPerTick;
      due.resize(kMaxShardsPerTick);
    }
  }
  // What the next tick waits for (see apply/refresh_schedule.h).
  auto plan = [&](bool backlog) {
    RefreshPlan p;
    p.backlog = backlog;
    std::lock_guard lock(mutex_);
    p.busy = gap_passes_ > 0 || !joins_seen_.empty() || !joins_evaluated_ ||
             joins_taken_stamps_.empty() ||
             std::find(joins_taken_stamps_.begin(), joins_taken_stamps_.end(), 0) !=
                 joins_taken_stamps_.end();
    for (const auto& shard : shards_) p.earliest_due = std::min(p.earliest_due, shard.due);
    p.next_event = next_joins_event();
    return p;
  };
  if (due.empty()) return plan(false);
  // Up to kParallelReads readers take the due shards in order; a reader takes no new shard
  // once the tick has lasted `budget` (a slow DHT costs one read per reader past it).
  std::atomic<size_t> next{0};
  std::atomic<size_t> skipped{0};
  auto reader = [&] {
    for (size_t i = next++; i < due.size(); i = next++) {
      bool stop = false;
      {
        std::lock_guard lock(mutex_);
        stop = stopping_;
      }
      if (stop || (i > 0 && Steady::now() - started > budget)) {
        ++skipped;
        continue;
      }
      store_shard(due[i], read_shard(due[i]));
    }
  };
  {
    std::vector<std::jthread> readers;
    const size_t extra = std::min(kParallelReads, due.size());
    for (size_t r = 1; r < extra; ++r) readers.emplace_back(reader);
    reader();
  }  // joins the readers
  return plan(waiting + skipped > 0);
}

void NodeDirectory::store_shard(size_t s, Result<ShardRead> read) {
  std::vector<std::string> to_check;
  {
    std::lock_guard lock(mutex_);
    to_check = store_shard_locked(s, std::move(read));
  }
  // Not under the lock: the liveness reads start now and answer later (a next read that lacks
  // the node again finds its verdict).
  if (liveness_ && !to_check.empty()) liveness_->check(to_check, std::chrono::milliseconds(0));
}

std::vector<std::string> NodeDirectory::store_shard_locked(size_t s, Result<ShardRead> read) {
  Shard& shard = shards_[s];
  const auto now = Steady::now();
  shard.read_at = now;
  ++shard_reads_;
  auto back_off = [&] {
    shard.due = now + shard.backoff;
    shard.backoff = std::min<std::chrono::milliseconds>(shard.backoff * 2, kEmptyShardRecheckMax);
  };
  if (!read.ok()) {  // the DHT failed or timed out: keep what the shard listed, retry soon
    back_off();
    return {};
  }
  if (read->lists_self && !reads_trusted_) {
    // Reads reach this node's own record now: the shards found empty before are read once
    // more at once (their answer proved nothing), then rarely like the others.
    reads_trusted_ = true;
    for (auto& other : shards_) {
      if (other.untrusted_empty) other.due = std::min(other.due, now);
    }
  }
  shard.untrusted_empty = false;
  shard.answered = true;
  const bool read_empty = read->entries.empty();
  // Whether the read lists a member the shard did not (the early re-reads go on only then).
  const bool found_new =
      std::any_of(read->entries.begin(), read->entries.end(), [&](const auto& e) {
        return std::none_of(shard.entries.begin(), shard.entries.end(),
                            [&](const NodeEntry& known) { return known.node_id == e.node_id; });
      });
  auto to_check = keep_missed_entries(shard, *read);
  for (const auto& known : shard.entries) {
    if (std::none_of(read->entries.begin(), read->entries.end(),
                     [&](const NodeEntry& e) { return e.node_id == known.node_id; })) {
      ++entries_dropped_;
    }
  }
  shard.entries = std::move(read->entries);
  if (s == own_shard_ && !read->lists_self) {
    back_off();  // until the own record is seen (it may not be stored yet)
  } else if (read_empty && !reads_trusted_) {
    shard.untrusted_empty = true;
    back_off();  // perhaps not connected yet: an empty answer proves nothing
  } else {
    // Newcomers come through the joins key: a shard is re-read rarely, after a period that
    // doubles from kShardRefreshFirst to kShardRefresh (a node that starts with many others
    // may read a shard before all of its members' records are stored, and a burst of joins
    // can push some out of the joins answers: those show up at the early re-reads), then
    // every kShardRefresh (a re-read by value ids: its cost does not grow with the mesh),
    // at a random point of [0.75, 1.25] × the period so that a mesh started together does
    // not read together. A read on schedule that lists no
    // member new to the shard ends the early re-reads (apply/shard_rereads.h).
    std::uniform_real_distribution<double> spread(0.75, 1.25);
    shard.due = shard.rereads.after_read(now, spread(rng_), found_new);
    shard.backoff = kEmptyShardRecheckMin;
  }
  return to_check;
}

std::vector<std::string> NodeDirectory::keep_missed_entries(Shard& shard, ShardRead& read) {
  std::vector<std::string> to_check;
  const bool strict = std::exchange(shard.strict, false);
  if (strict) return to_check;  // a revocation pass: the read replaces everything
  std::set<std::string> listed;
  for (const auto& e : read.entries) listed.insert(e.node_id);
  const std::set<std::string> withdrawn(read.withdrawn.begin(), read.withdrawn.end());
  const int64_t now_ms = system_clock().now_ms();
  for (const auto& e : shard.entries) {
    if (listed.count(e.node_id)) continue;
    MissedEntry missed{withdrawn.count(e.node_id) > 0, e.expires_ms, std::nullopt};
    if (liveness_) missed.liveness = liveness_->state(e.node_id);
    if (!keep_missed(missed, now_ms)) continue;
    ++entries_kept_missing_;
    if (needs_check(missed, now_ms)) to_check.push_back(e.node_id);
    read.entries.push_back(e);
  }
  return to_check;
}

double NodeDirectory::entries_per_shard_locked() const {
  size_t read = 0, entries = 0;
  for (size_t s = 0; s < kDirectoryShards; ++s) {
    if (!shards_[s].answered) continue;  // never read, or every read failed
    ++read;
    entries += shards_[s].entries.size() + (s == own_shard_ ? 1 : 0);
  }
  return read == 0 ? 0.0 : static_cast<double>(entries) / static_cast<double>(read);
}

DirectoryStats NodeDirectory::stats() {
  std::lock_guard lock(mutex_);
  DirectoryStats st;
  st.shard_reads = shard_reads_;
  st.entries_per_shard = entries_per_shard_locked();
  st.join_buckets_watched = join_buckets_watched_;
  st.entries_dropped = entries_dropped_;
  st.entries_kept_missing = entries_kept_missing_;
  st.ticks = ticks_;
  st.shards_before_steady =
      static_cast<size_t>(std::count_if(shards_.begin(), shards_.end(), [](const Shard& sh) {
        return !sh.rereads.steady() || sh.backoff != kEmptyShardRecheckMin;
      }));
  return st;
}

std::vector<NodeEntry> NodeDirectory::nodes() {
  std::vector<NodeEntry> out{self_};
  {
    std::lock_guard lock(mutex_);
    for (const auto& shard : shards_) {
      out.insert(out.end(), shard.entries.begin(), shard.entries.end());
    }
  }
  std::sort(out.begin() + 1, out.end(),
            [](const NodeEntry& a, const NodeEntry& b) { return a.node_id < b.node_id; });
  return out;
}

std::vector<NodeEntry> NodeDirectory::sample(size_t k, const std::set<std::string>& exclude) {
  std::vector<const NodeEntry*> pool;
  std::vector<NodeEntry> out;
  std::lock_guard lock(mutex_);
  if (!exclude.count(self_.node_id)) pool.push_back(&self_);
  for (const auto& shard : shards_) {
    for (const auto& e : shard.entries) {
      if (!exclude.count(e.node_id)) pool.push_back(&e);
    }
  }
  // A partial Fisher-Yates shuffle: the first k of a uniform random permutation.
  const size_t n = std::min(k, pool.size());
  for (size_t i = 0; i < n; ++i) {
    std::uniform_int_distribution<size_t> pick(i, pool.size() - 1);
    std::swap(pool[i], pool[pick(rng_)]);
    out.push_back(*pool[i]);
  }
  return out;
}

std::optional<NodeEntry> NodeDirectory::find(const std::string& node_id) {
  if (node_id == self_.node_id) return self_;
  const auto s = directory_shard(node_id);
  if (!s) return std::nullopt;
  auto lookup = [&]() -> std::optional<NodeEntry> {
    for (const auto& e : shards_[*s].entries) {
      if (e.node_id == node_id) return e;
    }
    return std::nullopt;
  };
  {
    std::lock_guard lock(mutex_);
    if (auto hit = lookup()) return hit;
    const auto& shard = shards_[*s];
    if (shard.read_at != Steady::time_point{} && Steady::now() - shard.read_at < kFindRecheck) {
      return std::nullopt;
    }
  }
  store_shard(*s, read_shard(*s));
  std::lock_guard lock(mutex_);
  return lookup();
}

std::optional<NodeEntry> NodeDirectory::check_entry(const provider::ProviderInfo& p,
                                                    size_t shard) const {
  if (directory_shard(p.metadata.node_id) != shard) return std::nullopt;  // another's shard
  auto caps = p.metadata.capabilities;
  auto key = from_hex(caps["public_key"]);
  if (!key || key->size() != 32) return std::nullopt;
  NodeEntry e;
  std::copy(key->begin(), key->end(), e.public_key.begin());
  if (crypto::node_id_of(e.public_key) != p.metadata.node_id) return std::nullopt;
  if (membership_) {
    auto member = membership_->verify(p.credential, p.signer);
    if (!member || member->kind != crypto::CertKind::kNode || p.signer != e.public_key) {
      spdlog::debug("directory: node {} is not a member ({})", p.metadata.node_id,
                    member ? "not a node key" : member.error().code);
      return std::nullopt;
    }
  }
  e.node_id = p.metadata.node_id;
  e.name = caps["name"];
  e.api_endpoint = caps["api"];
  e.rpc_endpoint = p.metadata.rpc_endpoint;
  e.engine = p.metadata.engine;
  e.last_seen_ms = p.timestamp_ms;
  e.expires_ms = p.timestamp_ms + p.ttl_s * 1000;
  return e;
}

Result<NodeDirectory::ShardRead> NodeDirectory::read_shard(size_t s) {
  // The memory is taken while reading (a concurrent read of the same shard, find() during a
  // tick, reads without it) and given back after it.
  provider::ReadMemory memory;
  {
    std::lock_guard lock(mutex_);
    memory = std::exchange(shards_[s].memory, {});
    for (auto& [id, record] : shards_[s].seeds) memory.seed(id, std::move(record));
    shards_[s].seeds.clear();
  }
  std::vector<std::string> withdrawn;
  auto found = providers_.discover_once(directory_shard_id(s), memory, &withdrawn);
  {
    std::lock_guard lock(mutex_);
    if (shards_[s].memory.empty()) shards_[s].memory = std::move(memory);
  }
  if (!found.ok()) return found.error();
  ShardRead read;
  read.withdrawn = std::move(withdrawn);
  for (const auto& p : *found) {
    if (p.metadata.node_id == self_.node_id) {
      read.lists_self = true;
      continue;
    }
    if (auto e = check_entry(p, s)) read.entries.push_back(std::move(*e));
  }
  return read;
}

}  // namespace beemesh::apply
