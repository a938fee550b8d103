// apply/desired_state.h — the mesh's memory of what each owner wants running: the verified
// latest owner-signed intent (or tombstone) per manifest, kept in the DHT and refreshed by
// every node that runs a replica or holds a key share of it (docs/notes/desired_state.md).
//
// Usage (the reconciler):
//   if (auto state = desired.lookup(manifest_id, owner)) {  // no DHT call
//     if (state->intent.tombstone) ... nothing may run it ...
//     else ... run up to state->intent.replicas of state->intent.content_version ...
//   }
//   auto fresh = desired.fetch(manifest_id, owner);  // reads the DHT (bounded), merges
//
// Promise:
//  * Everything is kept and looked up per (manifest id, owner key), like key shares: manifest
//    ids are public, so a record signed by anyone else under the same id never displaces or
//    hides the owner's (another deployer can sign intents and tombstones for any id, but
//    only under its own key). fetch() keeps only the values of the owner asked for.
//  * The DHT value under desired_key(manifest id) is a crypto::open_desired_state value; a
//    value is kept only when it verifies (owner signature, owner a member user of role
//    deployer+ in every namespace, with a membership) and supersedes what is kept
//    (crypto::supersedes: higher sequence; a tombstone at an equal sequence).
//  * lookup() returns the kept winner, verified again (an owner revoked since is not
//    returned), or nullopt. It never waits on the DHT.
//  * fetch() reads the key (≤ settings.dht_timeout), offers every value found and returns
//    the winner; never call it on an event loop.
//  * offer() keeps a value that wins: true when kept, false when what is kept already wins
//    (or is the same); verification errors are returned. At most settings.max_entries
//    manifests and settings.max_bytes of values are kept ("quota_exceeded" beyond).
//  * publish() puts the kept value once (≤ dht_timeout). track() makes this node a
//    refresher: after start(), a worker thread, every refresh_interval ± jitter per tracked
//    manifest, reads the key (to learn a newer version or a tombstone) and puts the winner:
//    one get and one put per tracked manifest per interval. A tracked manifest whose winner
//    is a tombstone is republished until the tombstone's expires_ms, then forgotten (and
//    untracked). A tracked manifest with nothing kept yet is read first after
//    first_refresh (by default the refresh interval: no extra early read).
//  * Values are put as dht::ValueKind::raw (kept 10 minutes by the storing nodes), so
//    refresh_interval must stay well under 10 minutes, under an id derived from the value's
//    bytes: every refresher's put of the same record re-dates one stored copy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/intent.h"
#include "crypto/membership.h"
#include "dht/dht.h"

namespace beemesh::apply {

dht::Key desired_key(std::string_view manifest_id);

struct DesiredStateSettings {
  std::chrono::milliseconds refresh_interval{4 * 60'000};
  // The first read of a manifest tracked with nothing kept is its first regular refresh: the
  // entry node puts the record right after storing the shares (before any deploy) and the
  // storing nodes keep it 10 min, so an earlier read only learnt what this node does not
  // need yet (a node running a replica reads it within a second through its reconcile
  // loop) and cost one DHT get per holder per manifest (docs/notes/desired_state.md).
  std::chrono::milliseconds first_refresh{4 * 60'000};
  double jitter = 0.2;  // each due time is interval × (1 ± jitter)
  std::chrono::milliseconds dht_timeout{5'000};
  size_t max_entries = 10'000;
  size_t max_bytes = size_t{64} << 20;
};

struct DesiredStateStats {
  size_t entries = 0;
  size_t tracked = 0;
  uint64_t puts = 0;
  uint64_t gets = 0;
  uint64_t rejected = 0;  // values read from the DHT that did not verify
  uint64_t ignored = 0;   // verified values of another owner or manifest id
};

class DesiredStateStore {
 public:
  DesiredStateStore(DesiredStateSettings settings, dht::Dht* dht,
                    const crypto::Membership* membership, const Clock& clock);
  ~DesiredStateStore();
  DesiredStateStore(const DesiredStateStore&) = delete;
  DesiredStateStore& operator=(const DesiredStateStore&) = delete;

  void start();
  void stop();

  std::optional<crypto::DesiredState> lookup(const std::string& manifest_id,
                                             const crypto::PublicKey& owner) const;
  std::optional<crypto::DesiredState> fetch(const std::string& manifest_id,
                                            const crypto::PublicKey& owner);
  Result<bool> offer(ByteView value);
  Result<void> publish(const std::string& manifest_id, const crypto::PublicKey& owner);
  void track(const std::string& manifest_id, const crypto::PublicKey& owner);
  void untrack(const std::string& manifest_id, const crypto::PublicKey& owner);
  bool is_tracked(const std::string& manifest_id, const crypto::PublicKey& owner) const;
  // The (manifest id, owner) pairs this node refreshes: what the reconciler walks.
  struct TrackedManifest {
    std::string manifest_id;
    crypto::PublicKey owner{};
  };
  std::vector<TrackedManifest> tracked() const;
  DesiredStateStats stats() const;

 private:
  struct Entry {
    std::optional<crypto::DesiredState> state;
    bool tracked = false;
    std::chrono::steady_clock::time_point due{};
  };
  std::chrono::steady_clock::time_point next_due(std::chrono::milliseconds base);
  void run();
  using EntryKey = std::pair<std::string, crypto::PublicKey>;  // manifest id, owner
  void refresh(const EntryKey& key);
  size_t bytes_kept() const;  // mutex held
  // A tracked entry's refresh time, queued when it is set; the entry's own `due` says
  // which queued time is current (older ones are skipped when they come up), so the
  // worker touches only what is due instead of walking every entry on each wake.
  struct Due {
    std::chrono::steady_clock::time_point at;
    EntryKey key;
    bool operator>(const Due& other) const { return at > other.at; }
  };

  const DesiredStateSettings settings_;
  dht::Dht* dht_;
  const crypto::Membership* membership_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<EntryKey, Entry> entries_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;  // GUARDED_BY(mutex_)
  size_t bytes_kept_ = 0;  // GUARDED_BY(mutex_): sum of the kept values' sizes
  std::mt19937_64 random_{std::random_device{}()};
  DesiredStateStats counters_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace beemesh::apply
