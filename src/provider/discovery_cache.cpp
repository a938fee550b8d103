#include "provider/discovery_cache.h"

#include <algorithm>
#include <limits>

#include "provider/selection.h"

namespace beemesh::provider {

void DiscoveryCache::reselect(Entry& e, int64_t now_ms) {
  e.providers = select_from_newest(e.newest, now_ms, limits_.max_providers, limits_.max_skew_ms);
  // The selection stays valid until a record in it expires or a future-dated one becomes
  // acceptable; both are covered by re-selecting at the earliest such instant.
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [node, r] : e.newest) {
    if (r.withdrawn) continue;
    if (is_live(r, now_ms, limits_.max_skew_ms)) {
      next = std::min(next, r.timestamp_ms + r.ttl_s * 1000);
    } else if (r.timestamp_ms > now_ms + limits_.max_skew_ms && !is_expired(r, now_ms)) {
      next = std::min(next, r.timestamp_ms - limits_.max_skew_ms);
    }
  }
  e.earliest_expiry_ms = next;
  e.stamp = ++stamps_;
}

const std::vector<ProviderInfo>& DiscoveryCache::current(Entry& e, int64_t now_ms) {
  if (now_ms >= e.earliest_expiry_ms) reselect(e, now_ms);
  return e.providers;
}

void DiscoveryCache::touch(Entry& e) {
  lru_.splice(lru_.begin(), lru_, e.lru);
}

std::optional<std::vector<ProviderInfo>> DiscoveryCache::fresh(const std::string& manifest_id,
                                                               int64_t now_ms) {
  auto it = entries_.find(manifest_id);
  if (it == entries_.end()) return std::nullopt;
  Entry& e = it->second;
  if (e.invalidated || now_ms - e.filled_ms >= limits_.ttl_ms || now_ms < e.filled_ms) {
    return std::nullopt;
  }
  touch(e);
  return current(e, now_ms);
}

uint64_t DiscoveryCache::fresh_stamp(const std::string& manifest_id, int64_t now_ms) const {
  auto it = entries_.find(manifest_id);
  if (it == entries_.end()) return 0;
  const Entry& e = it->second;
  if (e.invalidated || now_ms - e.filled_ms >= limits_.ttl_ms || now_ms < e.filled_ms ||
      now_ms >= e.earliest_expiry_ms) {
    return 0;
  }
  return e.stamp;
}

std::optional<std::vector<ProviderInfo>> DiscoveryCache::any(const std::string& manifest_id,
                                                             int64_t now_ms) {
  auto it = entries_.find(manifest_id);
  if (it == entries_.end()) return std::nullopt;
  touch(it->second);
  return current(it->second, now_ms);
}

std::vector<std::string> DiscoveryCache::fill(const std::string& manifest_id,
                                              const std::vector<protocol::ProviderRecord>& records,
                                              int64_t now_ms) {
  auto [it, inserted] = entries_.try_emplace(manifest_id);
  Entry& e = it->second;
  if (inserted) {
    lru_.push_front(manifest_id);
    e.lru = lru_.begin();
  } else {
    touch(e);
  }
  // Records already known (e.g. from listen updates) stay if they are newer.
  for (const auto& r : records) keep_newest(e.newest, r);
  e.filled_ms = now_ms;
  e.invalidated = false;
  reselect(e, now_ms);

  std::vector<std::string> evicted;
  while (entries_.size() > std::max<size_t>(limits_.capacity, 1)) {
    const std::string victim = lru_.back();
    lru_.pop_back();
    entries_.erase(victim);
    evicted.push_back(victim);
  }
  return evicted;
}

bool DiscoveryCache::merge(const std::string& manifest_id, const protocol::ProviderRecord& record,
                           int64_t now_ms) {
  auto it = entries_.find(manifest_id);
  if (it == entries_.end()) return false;
  if (!keep_newest(it->second.newest, record)) return false;
  reselect(it->second, now_ms);
  return true;
}

void DiscoveryCache::invalidate(const std::string& manifest_id) {
  auto it = entries_.find(manifest_id);
  if (it != entries_.end()) it->second.invalidated = true;
}

std::vector<std::string> DiscoveryCache::cleanup(int64_t now_ms,
                                                 const std::set<std::string>& keep) {
  std::vector<std::string> removed;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    const bool too_old = now_ms - e.filled_ms >= limits_.keep_ms;
    bool any_live = false;
    for (const auto& [node, r] : e.newest) {
      if (!r.withdrawn && !is_expired(r, now_ms)) {
        any_live = true;
        break;
      }
    }
    const bool stale = e.invalidated || now_ms - e.filled_ms >= limits_.ttl_ms;
    if (too_old || (stale && !any_live)) {
      removed.push_back(it->first);
      lru_.erase(e.lru);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace beemesh::provider
