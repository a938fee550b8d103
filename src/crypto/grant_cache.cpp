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
    if (const auto* known = grants_.find(digest)) return *known;
    ++verifications_;
  }
  auto grant = open_grant(bytes);  // outside the lock: the signature check is the slow part
  if (!grant) return grant;
  MutexLock lock(mutex_);
  grants_.insert(digest, *grant);
  return grant;
}

Result<protocol::Grant> GrantCache::check(ByteView bytes, const GrantExpectation& expect,
                                          const Clock& clock, std::chrono::milliseconds skew) {
  auto grant = open(bytes);
  if (!grant) return grant;
  return check_opened_grant(std::move(*grant), expect, clock, skew);
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
