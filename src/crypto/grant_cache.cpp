#include "crypto/grant_cache.h"

#include <sodium.h>

#include "crypto/grants.h"
#include "crypto/sodium_init.h"

namespace beemesh::crypto {

Result<protocol::Grant> GrantCache::open(ByteView bytes) {
  detail::ensure_sodium();
  Digest digest{};
  crypto_generichash(digest.data(), digest.size(), bytes.data(), bytes.size(), nullptr, 0);
  {
    MutexLock lock(mutex_);
    if (auto it = grants_.find(digest); it != grants_.end()) return it->second;
    ++verifications_;
  }
  auto grant = open_grant(bytes);  // outside the lock: the signature check is the slow part
  if (!grant) return grant;
  MutexLock lock(mutex_);
  if (grants_.emplace(digest, *grant).second) {
    order_.push_back(digest);
    while (order_.size() > capacity_) {
      grants_.erase(order_.front());
      order_.pop_front();
    }
  }
  return grant;
}

size_t GrantCache::size() const {
  MutexLock lock(mutex_);
  return grants_.size();
}

uint64_t GrantCache::verifications() const {
  MutexLock lock(mutex_);
  return verifications_;
}

}  // namespace beemesh::crypto
