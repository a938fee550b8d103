#include "crypto/x25519_cache.h"

namespace beemesh::crypto {

Result<X25519PublicKey> X25519Cache::of(const PublicKey& key) {
  {
    MutexLock lock(mutex_);
    if (auto it = keys_.find(key); it != keys_.end()) return it->second;
  }
  auto converted = x25519_of(key);  // outside the lock: the conversion is the slow part
  if (!converted) return converted;
  MutexLock lock(mutex_);
  if (keys_.emplace(key, *converted).second) {
    order_.push_back(key);
    while (order_.size() > capacity_) {
      keys_.erase(order_.front());
      order_.pop_front();
    }
  }
  return converted;
}

size_t X25519Cache::size() const {
  MutexLock lock(mutex_);
  return keys_.size();
}

}  // namespace beemesh::crypto
