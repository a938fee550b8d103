#include "provider/provider_manager.h"

#include <pthread.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "common/safe_text.h"
#include "crypto/records.h"
#include "protocol/records.h"
#include "provider/discovery_cache.h"
#include "provider/selection.h"

namespace beemesh::provider {

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

const std::string kPeerPublication = "peer";

bool matches_id_list(const std::vector<std::string>& list, std::string_view id) {
  return std::any_of(list.begin(), list.end(), [id](const std::string& entry) {
    return entry == id || (!entry.empty() && entry.back() == ':' && id.starts_with(entry));
  });
}

std::string provider_publication(const std::string& manifest_id) {
  return "provider/" + manifest_id;
}

}  // namespace

uint64_t stable_value_id(std::string_view node_id, std::string_view manifest_id, uint64_t sequence,
                         uint64_t salt) {
  unsigned char out[8];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof(out));
  const unsigned char zero = 0;
  for (std::string_view part : {node_id, manifest_id}) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                              part.size());
    crypto_generichash_update(&state, &zero, 1);
  }
  for (uint64_t n : {sequence, salt}) {
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(n >> (8 * i));
    crypto_generichash_update(&state, le, sizeof(le));
  }
  crypto_generichash_final(&state, out, sizeof(out));
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id |= static_cast<uint64_t>(out[i]) << (8 * i);
  return id == 0 ? 1 : id;  // 0 means "a new id" to the DHT
}

void ReadMemory::seed(uint64_t value_id, std::shared_ptr<const protocol::ProviderRecord> record) {
  if (opened_.count(value_id) || seeded_.size() >= kMaxRememberedValues) return;
  seeded_.emplace(value_id, std::move(record));
}

std::chrono::milliseconds ProviderManager::refresh_interval(std::chrono::seconds ttl,
                                                            const ProviderConfig& config) {
  auto half = std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 2;
  auto cap = std::chrono::duration_cast<std::chrono::milliseconds>(config.max_refresh_interval);
  return std::max<std::chrono::milliseconds>(std::min(half, cap), 100ms);
}

// One record this node keeps in the DHT: a provider announcement, a withdrawal, or the peer
// record. `sign` makes a fresh signed value for a sequence number and timestamp. The current
// value is a permanent put (value_id) until it is replaced (re-signed, withdrawn, announced
// again) or dropped: then it is cancelled (docs/notes/dht.md, "Permanent provider puts").
struct Publication {
  dht::Key key;
  dht::ValueKind kind = dht::ValueKind::provider_record;
  bool stable = false;  // ProviderConfig::stable_ids: re-signed every ttl / 2, uncapped
  std::function<Bytes(uint64_t sequence, int64_t timestamp_ms)> sign;
  std::chrono::seconds ttl{0};
  bool withdrawn = false;

  std::string manifest_id;  // empty for the peer record
  Bytes value;              // the current signed record
  uint64_t value_id = 0;
  uint64_t sequence = 0;
  uint64_t salt = 0;         // of its stable value id (stable publications)
  int64_t timestamp_ms = 0;  // of the current record
  SteadyTime signed_at{};
  SteadyTime give_up = SteadyTime::max();  // withdrawals stop being re-put after their TTL

  size_t early_reputs_done = 0;
  int failures = 0;
  bool in_flight = false;
  uint64_t attempt = 0;  // identifies the put in flight; late answers to older ones are ignored
  SteadyTime due{};      // next put (when not in flight) or put deadline (when in flight)
  DoneCallback first_done;
};

struct ProviderManager::Core : std::enable_shared_from_this<Core> {
  Core(dht::Dht& d, const crypto::Identity& id, const Clock& c, ProviderConfig cfg)
      : dht(d),
        identity(id),
        clock(c),
        config(std::move(cfg)),
        node_id(id.node_id()),
        cache(CacheLimits{
            config.cache_capacity, config.cache_ttl.count(), config.cache_keep.count(),
            config.max_providers,
            std::chrono::duration_cast<std::chrono::milliseconds>(config.max_clock_skew).count()}) {
  }

  dht::Dht& dht;
  const crypto::Identity& identity;
  const Clock& clock;
  const ProviderConfig config;
  const std::string node_id;

  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::mt19937_64 rng{std::random_device{}()};
  std::map<std::string, Publication> publications;  // "provider/<manifest>" or "peer"
  // (due, name) of every time a publication's `due` was set, earliest first. An entry whose
  // time is no longer its publication's `due` (or whose publication is gone) is stale and
  // skipped: the worker looks only at what is due instead of scanning every publication on
  // every wake (which made each announce cost O(publications)).
  using DueEntry = std::pair<SteadyTime, std::string>;
  std::priority_queue<DueEntry, std::vector<DueEntry>, std::greater<>> due_queue;
  std::map<std::string, uint64_t> last_sequence;  // per publication name, survives withdraw
  // Permanent puts to cancel (key, value id): values replaced or dropped. The worker cancels
  // them after the puts of the same turn, so a replacement is put before its predecessor goes.
  std::vector<std::pair<dht::Key, uint64_t>> cancels;
  DiscoveryCache cache;
  std::map<std::string, dht::ListenToken> listens;  // manifest id -> listen on its key
  std::set<std::string> watched;  // cache entry and listen kept while empty (watch())
  // set_watch_listener(): called after a listen brought records to a watched key. Its own
  // mutex, held while it runs (never with `mutex`): replacing it waits for a call in progress.
  std::mutex watch_listener_mutex;
  std::function<void()> watch_listener;  // guarded by watch_listener_mutex
  SteadyTime next_cleanup = SteadyClock::now();
  uint64_t last_attempt = 0;  // put attempts are numbered across all publications

  std::atomic<uint64_t> cache_hits{0}, cache_misses{0}, dht_failures{0}, records_rejected{0},
      records_not_member{0}, records_out_of_range{0}, puts_ok{0}, puts_failed{0}, id_reads{0},
      unclean_id_reads{0}, values_fetched{0};

  int64_t max_skew_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(config.max_clock_skew).count();
  }

  uint64_t next_sequence(const std::string& name) {
    auto& last = last_sequence[name];
    last =
        std::max<uint64_t>(last + 1, static_cast<uint64_t>(std::max<int64_t>(clock.now_ms(), 0)));
    return last;
  }

  uint64_t random_id() {
    uint64_t id = 0;
    while (id == 0) id = rng();
    return id;
  }

  // Sets when `p` is next looked at (mutex held).
  void schedule(const std::string& name, Publication& p, SteadyTime due) {
    p.due = due;
    if (due != SteadyTime::max()) due_queue.emplace(due, name);
  }

  // Signs a fresh record for `p` (called with the mutex held).
  void resign(const std::string& name, Publication& p) {
    p.sequence = next_sequence(name);
    p.timestamp_ms = clock.now_ms();
    p.value = p.sign(p.sequence, p.timestamp_ms);
    p.salt = p.stable ? random_id() : 0;
    p.value_id =
        p.stable ? stable_value_id(node_id, p.manifest_id, p.sequence, p.salt) : random_id();
    p.signed_at = SteadyClock::now();
  }

  // When `p` gets a freshly signed record (see the promise).
  std::chrono::milliseconds refresh_every(const Publication& p) const {
    if (p.stable) {
      return std::max<std::chrono::milliseconds>(
          std::chrono::duration_cast<std::chrono::milliseconds>(p.ttl) / 2, 100ms);
    }
    return refresh_interval(p.ttl, config);
  }

  dht::ValueKind kind_of(const std::string& manifest_id) const {
    return matches_id_list(config.brief_ids, manifest_id) ? dht::ValueKind::brief_provider_record
                                                          : dht::ValueKind::provider_record;
  }

  // Adds or replaces a publication and wakes the worker to put it now.
  void publish(const std::string& name, Publication p) {
    std::vector<DoneCallback> superseded;
    {
      std::lock_guard lock(mutex);
      auto it = publications.find(name);
      if (it != publications.end()) {
        if (it->second.first_done) superseded.push_back(std::move(it->second.first_done));
        cancels.emplace_back(it->second.key, it->second.value_id);
      }
      resign(name, p);
      if (p.withdrawn) p.give_up = p.signed_at + p.ttl;
      auto& stored = publications.insert_or_assign(name, std::move(p)).first->second;
      schedule(name, stored, SteadyClock::now());
    }
    wake.notify_all();
    for (auto& cb : superseded) {
      cb(make_error("superseded", "announcement " + name + " replaced before its first put"));
    }
  }

  std::chrono::milliseconds backoff(int failures) const {
    auto d = config.retry_initial;
    for (int i = 1; i < failures && d < config.retry_max; ++i) d *= 2;
    return std::min(d, config.retry_max);
  }

  // Worker side: a put finished (or timed out) for attempt `attempt` of publication `name`.
  void on_put_result(const std::string& name, uint64_t attempt, Result<void> result) {
    DoneCallback done;
    {
      std::lock_guard lock(mutex);
      auto it = publications.find(name);
      if (it == publications.end() || !it->second.in_flight || it->second.attempt != attempt) {
        return;
      }
      Publication& p = it->second;
      p.in_flight = false;
      const auto now = SteadyClock::now();
      SteadyTime due;
      if (result.ok()) {
        ++puts_ok;
        p.failures = 0;
        if (p.early_reputs_done < config.early_reputs.size()) {
          due = now + config.early_reputs[p.early_reputs_done++];
          if (!p.withdrawn) due = std::min(due, p.signed_at + refresh_every(p));
        } else if (p.withdrawn) {
          due = p.give_up;  // kept (permanent) until its TTL has passed, then cancelled
        } else {
          due = p.signed_at + refresh_every(p);
        }
      } else {
        ++puts_failed;
        ++p.failures;
        due = now + backoff(p.failures);
        spdlog::debug("component=provider put={} failed attempt={}: {}", name, p.failures,
                      result.error().to_string());
      }
      schedule(name, p, due);
      done = std::move(p.first_done);
      p.first_done = {};
      if (p.withdrawn && !result.ok() && p.due >= p.give_up) {
        cancels.emplace_back(p.key, p.value_id);
        publications.erase(it);
      }
    }
    wake.notify_all();
    if (done) done(std::move(result));
  }

  struct PendingPut {
    std::string name;
    uint64_t attempt;
    dht::Key key;
    dht::Value value;
  };

  // Worker side: collects puts that are due and times out silent ones. Mutex held.
  std::vector<PendingPut> collect_due(SteadyTime now, std::vector<PendingPut>& timed_out) {
    std::vector<PendingPut> puts;
    while (!due_queue.empty() && due_queue.top().first <= now) {
      auto [due, name] = due_queue.top();
      due_queue.pop();
      auto it = publications.find(name);
      if (it == publications.end() || it->second.due != due) continue;  // stale entry
      Publication& p = it->second;
      if (p.in_flight) {  // its put timed out; on_put_result reschedules it
        timed_out.push_back({name, p.attempt, p.key, {}});
        continue;
      }
      if (p.withdrawn && now >= p.give_up) {  // past its TTL: forgotten
        cancels.emplace_back(p.key, p.value_id);
        publications.erase(it);
        continue;
      }
      if (!p.withdrawn && now >= p.signed_at + refresh_every(p)) {
        cancels.emplace_back(p.key, p.value_id);
        resign(name, p);
      }
      p.in_flight = true;
      p.attempt = ++last_attempt;
      schedule(name, p, now + config.put_timeout);
      puts.push_back({name, p.attempt, p.key, dht::Value{p.value_id, p.kind, p.value}});
    }
    return puts;
  }

  SteadyTime next_wake() const {
    return due_queue.empty() ? next_cleanup : std::min(next_cleanup, due_queue.top().first);
  }

  void run_worker() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      const auto now = SteadyClock::now();
      std::vector<PendingPut> timed_out;
      auto puts = collect_due(now, timed_out);
      std::vector<std::pair<std::string, dht::ListenToken>> to_cancel;
      if (now >= next_cleanup) {
        for (const auto& id : cache.cleanup(clock.now_ms(), watched)) {
          auto l = listens.find(id);
          if (l != listens.end()) {
            to_cancel.emplace_back(id, l->second);
            listens.erase(l);
          }
        }
        next_cleanup = now + config.cleanup_interval;
      }
      std::vector<std::pair<dht::Key, uint64_t>> cancel_puts;
      cancel_puts.swap(cancels);
      if (!puts.empty() || !timed_out.empty() || !to_cancel.empty() || !cancel_puts.empty()) {
        lock.unlock();
        for (auto& t : timed_out) {
          on_put_result(t.name, t.attempt,
                        make_error("timeout", "put of " + t.name + ": no answer from the DHT"));
        }
        for (auto& [id, token] : to_cancel) dht.cancel_listen(dht::provider_key(id), token);
        std::weak_ptr<Core> weak = weak_from_this();
        for (auto& put : puts) {
          // Permanent: OpenDHT keeps the value on the key's closest nodes (also on nodes found
          // later) and its search active, until cancelled (docs/notes/dht.md).
          dht.put_permanent(put.key, std::move(put.value),
                            [weak, name = put.name, attempt = put.attempt](Result<void> r) {
                              if (auto core = weak.lock()) {
                                core->on_put_result(name, attempt, std::move(r));
                              }
                            });
        }
        for (const auto& [key, id] : cancel_puts) dht.cancel_permanent(key, id);
        lock.lock();
        continue;  // re-evaluate: callbacks may have run meanwhile
      }
      wake.wait_until(lock, next_wake());
    }
  }

  // ---- discovery ----

  static bool is_provider_kind(dht::ValueKind kind) {
    return kind == dht::ValueKind::provider_record || kind == dht::ValueKind::brief_provider_record;
  }

  // Counts and logs a value dropped while reading `manifest_id`.
  void reject(const std::string& manifest_id, const Error& why) {
    ++records_rejected;
    spdlog::debug("component=provider manifest={} dropped record: {}", manifest_id,
                  why.to_string());
  }

  std::vector<protocol::ProviderRecord> verify_all(const std::vector<dht::Value>& values,
                                                   const std::string& manifest_id) {
    std::vector<protocol::ProviderRecord> records;
    records.reserve(values.size());
    const int64_t now = clock.now_ms();
    for (const auto& v : values) {
      if (!is_provider_kind(v.kind)) continue;
      auto r = verify_provider_value(v.data, manifest_id);
      Result<void> accepted = r.ok() ? check_record(*r, now) : Result<void>(r.error());
      if (accepted.ok()) {
        records.push_back(std::move(r).value());
      } else {
        reject(manifest_id, accepted.error());
      }
    }
    return records;
  }

  // Range checks, then membership (config.membership) of a record that opened.
  Result<void> check_record(const protocol::ProviderRecord& r, int64_t now_ms) {
    if (auto ranges = check_record_ranges(r, now_ms, max_skew_ms()); !ranges.ok()) {
      ++records_out_of_range;
      return ranges;
    }
    if (!config.membership) return ok_result();
    auto member = config.membership->verify(r.credential, r.signer_public_key);
    if (member.ok() && member->kind != crypto::CertKind::kNode) {
      member = make_error("not_a_node", "provider record of " + r.node_id + " carries a " +
                                            std::string(crypto::cert_kind_name(member->kind)) +
                                            " credential, not a node's");
    }
    if (!member.ok()) {
      ++records_not_member;
      return member.error();
    }
    return ok_result();
  }

  void on_listen(const std::string& manifest_id, const std::vector<dht::Value>& values,
                 bool expired) {
    if (expired) {
      // A watched key's records carry their own TTL and withdrawal (the cache re-checks
      // both), so a vanished value needs no re-get: each join would otherwise cost every
      // watcher a DHT get when its value expires at the storing nodes.
      std::lock_guard lock(mutex);
      if (!watched.count(manifest_id)) cache.invalidate(manifest_id);
      return;
    }
    auto records = verify_all(values, manifest_id);
    bool watched_key = false;
    {
      std::lock_guard lock(mutex);
      const auto now = clock.now_ms();
      for (const auto& r : records) cache.merge(manifest_id, r, now);
      watched_key = !records.empty() && watched.count(manifest_id) > 0;
    }
    if (watched_key) {
      std::lock_guard lock(watch_listener_mutex);
      if (watch_listener) watch_listener();
    }
  }

  void start_listen(const std::string& manifest_id) {
    std::weak_ptr<Core> weak = weak_from_this();
    auto token =
        dht.listen(dht::provider_key(manifest_id),
                   [weak, manifest_id](const std::vector<dht::Value>& values, bool expired) {
                     if (auto core = weak.lock()) {
                       core->on_listen(manifest_id, values, expired);
                     }
                   });
    bool keep = false;
    {
      std::lock_guard lock(mutex);
      if (!stopping && cache.contains(manifest_id) && !listens.count(manifest_id)) {
        listens.emplace(manifest_id, token);
        keep = true;
      }
    }
    if (!keep) dht.cancel_listen(dht::provider_key(manifest_id), token);
  }

  std::vector<ProviderInfo> discover(const std::string& manifest_id) {
    {
      std::lock_guard lock(mutex);
      if (auto hit = cache.fresh(manifest_id, clock.now_ms())) {
        ++cache_hits;
        return std::move(*hit);
      }
    }
    ++cache_misses;
    auto got = dht.get_blocking(dht::provider_key(manifest_id), config.discovery_timeout);
    if (!got.ok()) {
      ++dht_failures;
      spdlog::debug("component=provider manifest={} discovery fell back to cache: {}", manifest_id,
                    got.error().to_string());
      std::lock_guard lock(mutex);
      if (auto stale = cache.any(manifest_id, clock.now_ms())) return std::move(*stale);
      return {};
    }
    auto records = verify_all(*got, manifest_id);

    std::vector<ProviderInfo> result;
    std::vector<std::pair<std::string, dht::ListenToken>> to_cancel;
    bool need_listen = false;
    {
      std::lock_guard lock(mutex);
      const auto now = clock.now_ms();
      if (records.empty() && !cache.contains(manifest_id) && !watched.count(manifest_id)) return {};
      for (const auto& evicted : cache.fill(manifest_id, records, now)) {
        auto l = listens.find(evicted);
        if (l != listens.end()) {
          to_cancel.emplace_back(evicted, l->second);
          listens.erase(l);
        }
      }
      if (auto filled = cache.any(manifest_id, now)) result = std::move(*filled);
      need_listen = config.listen_for_updates && !stopping && !listens.count(manifest_id);
    }
    for (auto& [id, token] : to_cancel) dht.cancel_listen(dht::provider_key(id), token);
    if (need_listen) start_listen(manifest_id);
    return result;
  }

  using Opened = std::map<uint64_t, std::shared_ptr<const protocol::ProviderRecord>>;

  // Opens each value (kind, signature, manifest id) into `opened` by value id (null: it did
  // not open; counted and logged here, once per id).
  void open_into(const std::vector<dht::Value>& values, const std::string& manifest_id,
                 Opened& opened) {
    for (const auto& v : values) {
      if (opened.count(v.id)) continue;
      std::shared_ptr<const protocol::ProviderRecord> record;
      if (is_provider_kind(v.kind)) {
        auto r = verify_provider_value(v.data, manifest_id);
        if (r.ok()) {
          record = std::make_shared<const protocol::ProviderRecord>(std::move(r).value());
        } else {
          reject(manifest_id, r.error());
        }
      }
      opened.emplace(v.id, std::move(record));
    }
  }

  // The values of `ids` under `key`, each by a get of that id alone, all at once; an error
  // when one of the gets fails or they do not all end within discovery_timeout.
  Result<std::vector<dht::Value>> fetch_by_id(const dht::Key& key,
                                              const std::vector<uint64_t>& ids) {
    struct Fetch {
      std::mutex mutex;
      std::condition_variable done;
      size_t left = 0;
      std::vector<dht::Value> values;
      std::optional<Error> error;
    };
    auto fetch = std::make_shared<Fetch>();
    fetch->left = ids.size();
    for (uint64_t id : ids) {
      dht.get_value(key, id, [fetch](Result<std::vector<dht::Value>> got) {
        {
          std::lock_guard lock(fetch->mutex);
          if (!got.ok()) {
            if (!fetch->error) fetch->error = got.error();
          } else {
            for (auto& v : *got) fetch->values.push_back(std::move(v));
          }
          --fetch->left;
        }
        fetch->done.notify_all();
      });
    }
    std::unique_lock lock(fetch->mutex);
    if (!fetch->done.wait_for(lock, config.discovery_timeout, [&] { return fetch->left == 0; })) {
      return make_error("timeout", "dht get of " + std::to_string(ids.size()) + " values of " +
                                       key.to_hex() + ": no answer within " +
                                       std::to_string(config.discovery_timeout.count()) + " ms");
    }
    if (fetch->error) return *fetch->error;
    return std::move(fetch->values);
  }

  // A DHT read through `memory` (an empty memory: a get); a miss of discover() either way.
  Result<std::vector<ProviderInfo>> discover_once(const std::string& manifest_id,
                                                  ReadMemory& memory,
                                                  std::vector<std::string>* withdrawn) {
    ++cache_misses;
    const auto key = dht::provider_key(manifest_id);
    Opened opened;
    bool by_ids = false;
    if (!memory.empty()) {
      auto ids = dht.get_ids_blocking(key, config.discovery_timeout);
      if (!ids.ok()) {
        ++dht_failures;
        return ids.error();
      }
      std::vector<uint64_t> fresh;
      for (uint64_t id : *ids) {
        if (auto known = memory.opened_.find(id); known != memory.opened_.end()) {
          opened.insert(*known);
        } else if (auto seeded = memory.seeded_.find(id); seeded != memory.seeded_.end()) {
          opened.insert(*seeded);  // told by its signer: no fetch
        } else {
          fresh.push_back(id);
        }
      }
      // Nodes whose remembered record is not among the ids: each must be listed by another
      // record of this answer (re-signed under a new id), else the read is not clean.
      std::set<std::string> gone;
      for (const auto& [id, record] : memory.opened_) {
        if (record && !opened.count(id)) gone.insert(record->node_id);
      }
      // One by one while that is cheaper than a get (each fetch is a walk of its own; a get
      // fetches every value from every storing node), and never more than kMaxFetchesById: a
      // node answering with made-up ids costs a reader one get, not a walk per id.
      if (fresh.size() <= std::min(kMaxFetchesById, std::max<size_t>(1, ids->size() / 5))) {
        if (!fresh.empty()) {
          values_fetched += fresh.size();
          auto fetched = fetch_by_id(key, fresh);
          if (!fetched.ok()) {
            ++dht_failures;
            return fetched.error();
          }
          open_into(*fetched, manifest_id, opened);
        }
        for (const auto& [id, record] : opened) {
          if (record) gone.erase(record->node_id);
        }
        // Not clean: a fresh id no storing node served, or a node whose record went without
        // a successor. Storing nodes need not agree (a value not yet copied to all of them,
        // one that just expired at some): the answer is then read again with one get, which
        // is what a read without memory would list.
        const bool served = std::all_of(fresh.begin(), fresh.end(),
                                        [&](uint64_t id) { return opened.count(id) > 0; });
        by_ids = served && gone.empty();
        ++(by_ids ? id_reads : unclean_id_reads);
      }
    }
    if (!by_ids) {
      auto got = dht.get_blocking(key, config.discovery_timeout);
      if (!got.ok()) {
        ++dht_failures;
        return got.error();
      }
      opened.clear();
      open_into(*got, manifest_id, opened);
    }
    std::map<std::string, protocol::ProviderRecord> newest;
    const int64_t now = clock.now_ms();
    for (const auto& [id, record] : opened) {
      if (!record) continue;
      if (auto checked = check_record(*record, now); checked.ok()) {
        keep_newest(newest, *record);
      } else {
        reject(manifest_id, checked.error());
      }
    }
    if (withdrawn) {
      withdrawn->clear();
      for (const auto& [node, record] : newest) {
        if (record.withdrawn) withdrawn->push_back(node);
      }
    }
    memory.opened_.clear();
    memory.seeded_.clear();  // listed ones are remembered now; the others forgotten
    if (opened.size() <= kMaxRememberedValues) memory.opened_ = std::move(opened);
    return select_from_newest(newest, now, config.max_providers, max_skew_ms());
  }

  void invalidate(const std::string& manifest_id) {
    std::lock_guard lock(mutex);
    cache.invalidate(manifest_id);
  }

  // ---- liveness ----

  std::atomic<uint64_t> dead_filtered{0};

  std::vector<ProviderInfo> drop_dead(const std::string& manifest_id,
                                      std::vector<ProviderInfo> found) {
    Liveness* liveness = config.liveness;
    if (!liveness || found.empty()) return found;
    const bool passive = matches_id_list(config.liveness_passive, manifest_id);
    if (!passive) {
      std::vector<std::string> unknown;
      for (const auto& p : found) {
        const auto& id = p.metadata.node_id;
        if (id == node_id) continue;
        if (liveness->state(id) == NodeState::unknown) unknown.push_back(id);
        liveness->watch(id, config.liveness_interest);
      }
      if (!unknown.empty()) liveness->check(unknown, config.liveness_check_budget);
    }
    const auto before = found.size();
    std::erase_if(found, [&](const ProviderInfo& p) {
      return p.metadata.node_id != node_id &&
             liveness->state(p.metadata.node_id) == NodeState::dead;
    });
    if (found.size() != before) {
      dead_filtered += before - found.size();
      spdlog::debug("component=provider manifest={} left out {} provider(s) of dead nodes",
                    manifest_id, before - found.size());
    }
    return found;
  }
};

ProviderManager::ProviderManager(dht::Dht& dht, const crypto::Identity& identity,
                                 const Clock& clock, ProviderConfig config)
    : core_(std::make_shared<Core>(dht, identity, clock, std::move(config))) {
  worker_ = std::thread([core = core_.get()] { core->run_worker(); });
  ::pthread_setname_np(worker_.native_handle(), "provider-mgr");
}

ProviderManager::~ProviderManager() {
  std::map<std::string, dht::ListenToken> listens;
  {
    std::lock_guard lock(core_->mutex);
    core_->stopping = true;
    listens.swap(core_->listens);
  }
  core_->wake.notify_all();
  if (worker_.joinable()) worker_.join();
  for (auto& [id, token] : listens) core_->dht.cancel_listen(dht::provider_key(id), token);
  // The DHT stops keeping this node's records alive; they expire at their storage expiry.
  std::vector<std::pair<dht::Key, uint64_t>> cancels;
  {
    std::lock_guard lock(core_->mutex);
    cancels.swap(core_->cancels);
    for (const auto& [name, p] : core_->publications) cancels.emplace_back(p.key, p.value_id);
  }
  for (const auto& [key, id] : cancels) core_->dht.cancel_permanent(key, id);
}

void ProviderManager::announce(const std::string& manifest_id, const ProviderMetadata& metadata,
                               std::chrono::seconds ttl, DoneCallback on_done) {
  if (!metadata.node_id.empty() && metadata.node_id != core_->node_id) {
    if (on_done) {
      on_done(make_error("node_id_mismatch", "announce " + manifest_id + ": metadata names node " +
                                                 metadata.node_id + " but this node is " +
                                                 core_->node_id));
    }
    return;
  }
  if (ttl.count() <= 0) ttl = core_->config.default_ttl;
  ttl = std::min(ttl, std::chrono::seconds(kMaxRecordTtlS));  // readers drop longer ones
  protocol::ProviderRecord base;
  base.manifest_id = manifest_id;
  base.node_id = core_->node_id;
  base.signer_public_key = core_->identity.public_key();
  base.rpc_endpoint = metadata.rpc_endpoint;
  base.engine = metadata.engine;
  base.capabilities = metadata.capabilities;
  base.ttl_s = ttl.count();
  base.withdrawn = false;
  base.credential = core_->identity.credential();

  Publication p;
  p.manifest_id = manifest_id;
  p.key = dht::provider_key(manifest_id);
  p.kind = core_->kind_of(manifest_id);
  p.stable = matches_id_list(core_->config.stable_ids, manifest_id);
  p.ttl = ttl;
  p.first_done = std::move(on_done);
  const crypto::Identity& identity = core_->identity;
  p.sign = [base, &identity](uint64_t sequence, int64_t timestamp_ms) {
    auto r = base;
    r.sequence = sequence;
    r.timestamp_ms = timestamp_ms;
    return crypto::sign_provider_record(identity, r);
  };
  core_->invalidate(manifest_id);
  core_->publish(provider_publication(manifest_id), std::move(p));
}

void ProviderManager::withdraw(const std::string& manifest_id, DoneCallback on_done) {
  std::chrono::seconds ttl = core_->config.default_ttl;
  {
    std::lock_guard lock(core_->mutex);
    auto it = core_->publications.find(provider_publication(manifest_id));
    if (it != core_->publications.end()) ttl = it->second.ttl;
  }
  protocol::ProviderRecord base;
  base.manifest_id = manifest_id;
  base.node_id = core_->node_id;
  base.signer_public_key = core_->identity.public_key();
  base.ttl_s = ttl.count();
  base.withdrawn = true;
  base.credential = core_->identity.credential();

  Publication p;
  p.key = dht::provider_key(manifest_id);
  p.kind = core_->kind_of(manifest_id);
  p.ttl = ttl;
  p.withdrawn = true;
  p.first_done = std::move(on_done);
  const crypto::Identity& identity = core_->identity;
  p.sign = [base, &identity](uint64_t sequence, int64_t timestamp_ms) {
    auto r = base;
    r.sequence = sequence;
    r.timestamp_ms = timestamp_ms;
    return crypto::sign_provider_record(identity, r);
  };
  core_->invalidate(manifest_id);
  core_->publish(provider_publication(manifest_id), std::move(p));
}

void ProviderManager::stop_announcing(const std::string& manifest_id) {
  {
    std::lock_guard lock(core_->mutex);
    auto it = core_->publications.find(provider_publication(manifest_id));
    if (it == core_->publications.end()) return;
    core_->cancels.emplace_back(it->second.key, it->second.value_id);
    core_->publications.erase(it);
  }
  core_->wake.notify_all();
}

std::vector<ProviderInfo> ProviderManager::discover(const std::string& manifest_id) {
  try {
    const auto started = SteadyClock::now();
    const uint64_t misses = core_->cache_misses;
    auto found = core_->discover(manifest_id);
    const auto looked_up = SteadyClock::now();
    auto alive = core_->drop_dead(manifest_id, std::move(found));
    if (spdlog::should_log(spdlog::level::debug)) {
      using std::chrono::duration_cast;
      using std::chrono::microseconds;
      spdlog::debug(
          "component=provider manifest={} discovery cache={} lookup_us={} liveness_us={} "
          "providers={}",
          printable(manifest_id, 128), core_->cache_misses == misses ? "hit" : "miss",
          duration_cast<microseconds>(looked_up - started).count(),
          duration_cast<microseconds>(SteadyClock::now() - looked_up).count(), alive.size());
    }
    return alive;
  } catch (const std::exception& e) {
    spdlog::warn("component=provider manifest={} discovery failed: {}", manifest_id, e.what());
    return {};
  }
}

uint64_t ProviderManager::answer_stamp(const std::string& manifest_id) {
  std::lock_guard lock(core_->mutex);
  return core_->cache.fresh_stamp(manifest_id, core_->clock.now_ms());
}

std::optional<std::vector<ProviderInfo>> ProviderManager::cached(const std::string& manifest_id) {
  std::lock_guard lock(core_->mutex);
  return core_->cache.any(manifest_id, core_->clock.now_ms());
}

Result<std::vector<ProviderInfo>> ProviderManager::discover_once(const std::string& manifest_id) {
  ReadMemory none;  // a get, remembered nowhere
  return discover_once(manifest_id, none);
}

Result<std::vector<ProviderInfo>> ProviderManager::discover_once(
    const std::string& manifest_id, ReadMemory& memory, std::vector<std::string>* withdrawn) {
  try {
    auto found = core_->discover_once(manifest_id, memory, withdrawn);
    if (!found.ok()) return found.error();
    return core_->drop_dead(manifest_id, std::move(found).value());
  } catch (const std::exception& e) {
    spdlog::warn("component=provider manifest={} discovery failed: {}", manifest_id, e.what());
    return make_error("discovery_failed", e.what());
  }
}

void ProviderManager::watch(const std::string& manifest_id) {
  std::lock_guard lock(core_->mutex);
  core_->watched.insert(manifest_id);
}

void ProviderManager::set_watch_listener(std::function<void()> on_change) {
  std::lock_guard lock(core_->watch_listener_mutex);
  core_->watch_listener = std::move(on_change);
}

void ProviderManager::unwatch(const std::string& manifest_id) {
  std::optional<dht::ListenToken> token;
  {
    std::lock_guard lock(core_->mutex);
    if (!core_->watched.erase(manifest_id)) return;
    core_->cache.invalidate(manifest_id);
    if (auto l = core_->listens.find(manifest_id); l != core_->listens.end()) {
      token = l->second;
      core_->listens.erase(l);
    }
  }
  // At once, not at the next cleanup: a storing node sends every listener an expiry notice
  // for each value that expires under its listen (the node directory leaves a joins bucket
  // before its joins expire there).
  if (token) core_->dht.cancel_listen(dht::provider_key(manifest_id), *token);
}

void ProviderManager::announce_peer(const std::vector<std::string>& endpoints,
                                    DoneCallback on_done) {
  protocol::PeerRecord base;
  base.node_id = core_->node_id;
  base.signer_public_key = core_->identity.public_key();
  base.endpoints = endpoints;
  base.ttl_s = core_->config.peer_ttl.count();

  Publication p;
  p.key = dht::peer_key(core_->node_id);
  p.kind = dht::ValueKind::peer_record;
  p.ttl = core_->config.peer_ttl;
  p.first_done = std::move(on_done);
  const crypto::Identity& identity = core_->identity;
  p.sign = [base, &identity](uint64_t sequence, int64_t timestamp_ms) {
    auto r = base;
    r.sequence = sequence;
    r.timestamp_ms = timestamp_ms;
    return crypto::sign_peer_record(identity, r);
  };
  core_->publish(kPeerPublication, std::move(p));
}

Result<PeerInfo> ProviderManager::lookup_peer(const std::string& node_id) {
  auto got = core_->dht.get_blocking(dht::peer_key(node_id), core_->config.discovery_timeout);
  if (!got.ok()) return got.error();
  const auto now = core_->clock.now_ms();
  std::optional<protocol::PeerRecord> best;
  for (const auto& v : *got) {
    if (v.kind != dht::ValueKind::peer_record) continue;
    auto r = crypto::open_peer_record(v.data);
    if (!r.ok() || r->node_id != node_id) {
      ++core_->records_rejected;
      continue;
    }
    if (!best ||
        std::tie(r->sequence, r->timestamp_ms) > std::tie(best->sequence, best->timestamp_ms)) {
      best = std::move(r).value();
    }
  }
  if (!best || best->ttl_s <= 0 || best->timestamp_ms + best->ttl_s * 1000 <= now ||
      best->timestamp_ms > now + core_->max_skew_ms()) {
    return make_error("peer_not_found", "no live signed peer record for node " + node_id);
  }
  return PeerInfo{best->node_id, best->endpoints, best->timestamp_ms, best->ttl_s, best->sequence};
}

uint64_t ProviderManager::dead_providers_filtered() const {
  return core_->dead_filtered;
}

size_t ProviderManager::max_providers() const {
  return core_->config.max_providers;
}

std::vector<std::string> ProviderManager::announced() const {
  std::vector<std::string> out;
  std::lock_guard lock(core_->mutex);
  const std::string prefix = "provider/";
  for (const auto& [name, p] : core_->publications) {
    if (!p.withdrawn && name.rfind(prefix, 0) == 0) out.push_back(name.substr(prefix.size()));
  }
  return out;
}

std::optional<PublishedRecord> ProviderManager::published(const std::string& manifest_id) const {
  std::lock_guard lock(core_->mutex);
  auto it = core_->publications.find(provider_publication(manifest_id));
  if (it == core_->publications.end() || it->second.withdrawn) return std::nullopt;
  const Publication& p = it->second;
  return PublishedRecord{p.value_id, p.sequence, p.salt, p.timestamp_ms,
                         static_cast<int64_t>(p.ttl.count())};
}

ProviderStats ProviderManager::stats() const {
  ProviderStats s;
  s.cache_hits = core_->cache_hits;
  s.cache_misses = core_->cache_misses;
  s.dht_failures = core_->dht_failures;
  s.id_reads = core_->id_reads;
  s.unclean_id_reads = core_->unclean_id_reads;
  s.values_fetched = core_->values_fetched;
  s.records_rejected = core_->records_rejected;
  s.records_not_member = core_->records_not_member;
  s.records_out_of_range = core_->records_out_of_range;
  s.puts_ok = core_->puts_ok;
  s.puts_failed = core_->puts_failed;
  {
    std::lock_guard lock(core_->mutex);
    for (const auto& [name, p] : core_->publications) {
      if (!p.withdrawn && name != kPeerPublication) ++s.providers_announced;
    }
    s.cache_entries = core_->cache.size();
  }
  s.dht_nodes = core_->dht.node_count();
  return s;
}

}  // namespace beemesh::provider
