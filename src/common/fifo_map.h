// common/fifo_map.h — a map that remembers at most `capacity` entries, forgetting the
// oldest insertion first. Not thread-safe: the owner guards it (see crypto/*_cache.h).
//
// Usage:
//   FifoMap<Key, Value> seen(1024);
//   if (const Value* v = seen.find(k)) return *v;
//   seen.insert(k, compute(k));      // an existing key keeps its value and its age
#pragma once

#include <cstddef>
#include <deque>
#include <map>

namespace beemesh {

template <class K, class V>
class FifoMap {
 public:
  explicit FifoMap(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  const V* find(const K& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }

  void insert(const K& key, V value) {
    if (!entries_.emplace(key, std::move(value)).second) return;
    order_.push_back(key);
    while (order_.size() > capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }

  size_t size() const { return entries_.size(); }

 private:
  size_t capacity_;
  std::map<K, V> entries_;
  std::deque<K> order_;  // oldest first
};

}  // namespace beemesh
