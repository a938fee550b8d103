#include "crypto/x25519_cache.h"

namespace beemesh::crypto {

Result<X25519PublicKey> X25519Cache::of(const PublicKey& key) {
  {
    MutexLock lock(mutex_);
    if (const auto* known = keys_.find(key)) return *known;
  }
  auto converted = x25519_of(key);  // outside the lock: the conversion is the slow part
  if (!converted) return converted;
  MutexLock lock(mutex_);
  keys_.insert(key, *converted);
  return converted;
}

size_t X25519Cache::size() const {
  MutexLock lock(mutex_);
  return keys_.size();
}

}  // namespace beemesh::crypto
