// provider/discovery_cache.h — the bounded cache behind discover() (not thread-safe: the
// provider manager guards it with its mutex).
//
// Promise:
//  * An entry holds the newest verified record per node for one manifest and the provider
//    list selected from them (provider/selection.h). fresh() answers only while the entry
//    is younger than `ttl_ms` and not invalidated; any() answers for any entry still held
//    (the fallback when the DHT fails). Both re-check record expiry against `now_ms` on
//    every call, so an expired provider is never returned.
//  * merge() folds a record seen later (a listen update) into an existing entry, keeping
//    the newest per node; it never creates entries.
//  * fresh_stamp() names the answer fresh() would give now: a stamp that changes whenever the
//    entry's provider list is selected again (fill, a merge that changed it, an expiry), and 0
//    when fresh() would not answer from the entry as it is (none, stale, invalidated, or a
//    record in it due to expire). Equal non-zero stamps: the same answer.
//  * At most `capacity` entries: fill() evicts the least recently used ones and returns
//    their manifest ids. cleanup() removes entries with no live provider left and entries
//    older than `keep_ms` and returns their ids, except the ids it is told to keep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/records.h"
#include "provider/provider.h"

namespace beemesh::provider {

struct CacheLimits {
  size_t capacity = 1024;
  int64_t ttl_ms = 5 * 60 * 1000;
  int64_t keep_ms = 60 * 60 * 1000;  // stale entries serve as fallback this long at most
  size_t max_providers = 50;
  int64_t max_skew_ms = 30 * 1000;
};

class DiscoveryCache {
 public:
  explicit DiscoveryCache(CacheLimits limits) : limits_(limits) {}

  std::optional<std::vector<ProviderInfo>> fresh(const std::string& manifest_id, int64_t now_ms);
  std::optional<std::vector<ProviderInfo>> any(const std::string& manifest_id, int64_t now_ms);
  uint64_t fresh_stamp(const std::string& manifest_id, int64_t now_ms) const;

  // Replaces the entry for `manifest_id`; returns the ids evicted to stay within capacity.
  std::vector<std::string> fill(const std::string& manifest_id,
                                const std::vector<protocol::ProviderRecord>& records,
                                int64_t now_ms);
  // True if the entry exists and changed.
  bool merge(const std::string& manifest_id, const protocol::ProviderRecord& record,
             int64_t now_ms);
  void invalidate(const std::string& manifest_id);
  // Entries named in `keep` are never removed by cleanup (watched keys).
  std::vector<std::string> cleanup(int64_t now_ms, const std::set<std::string>& keep = {});
  bool contains(const std::string& manifest_id) const { return entries_.count(manifest_id) > 0; }

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::map<std::string, protocol::ProviderRecord> newest;  // node id -> newest record
    std::vector<ProviderInfo> providers;                     // selected from `newest`
    int64_t filled_ms = 0;
    int64_t earliest_expiry_ms = 0;  // when a listed provider expires: reselect then
    bool invalidated = false;
    uint64_t stamp = 0;  // set at each reselect (fresh_stamp)
    std::list<std::string>::iterator lru;
  };

  void reselect(Entry& e, int64_t now_ms);
  const std::vector<ProviderInfo>& current(Entry& e, int64_t now_ms);
  void touch(Entry& e);

  CacheLimits limits_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front: most recently used
  uint64_t stamps_ = 0;         // the last stamp given
};

}  // namespace beemesh::provider
