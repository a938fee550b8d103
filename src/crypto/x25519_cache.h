// crypto/x25519_cache.h — remembered Ed25519 -> X25519 public key conversions.
//
// Promise: X25519Cache::of(key) returns what x25519_of(key) returns (same value, same
// errors), converting each key once while it is remembered. It remembers at most
// `capacity` keys (the oldest conversion is forgotten first); failed conversions are not
// remembered. Safe to call from many threads. The conversion is a pure function of the
// public key, so a remembered result is never stale (no trust decision rests on it).
#pragma once

#include <cstddef>

#include "common/fifo_map.h"
#include "common/mutex.h"
#include "common/result.h"
#include "crypto/identity.h"

namespace beemesh::crypto {

class X25519Cache {
 public:
  explicit X25519Cache(size_t capacity = 1024) : keys_(capacity) {}

  Result<X25519PublicKey> of(const PublicKey& key) EXCLUDES(mutex_);
  size_t size() const EXCLUDES(mutex_);

 private:
  mutable Mutex mutex_;
  FifoMap<PublicKey, X25519PublicKey> keys_ GUARDED_BY(mutex_);
};

}  // namespace beemesh::crypto
