// crypto/grant_cache.h — grants this node has already opened (signature verified), so the
// same grant bytes seen twice on one node cost a hash, not a second Ed25519 verification.
//
// Usage (one per node, e.g. in apply::NodeHandlers):
//   crypto::GrantCache opened;
//   auto grant = opened.open(bytes);                 // = crypto::open_grant(bytes)
//   if (grant) grant = crypto::check_opened_grant(std::move(*grant), expectation, clock);
//
// Promise:
//  * open(bytes) returns exactly what open_grant(bytes) returns (same grant, same errors).
//    open_grant's checks (size, record type, signature, decoding, signer = owner, node id =
//    node key) depend on the bytes alone, so a remembered result is never stale; expiry,
//    owner, action, manifest, requester and content hash are not part of it and are checked
//    by the caller on every use (check_opened_grant).
//  * Remembered by BLAKE2b-256 of the full signed bytes (signature included): only those
//    exact bytes hit. Only grants that opened are remembered; failures are verified again
//    each time (a stranger cannot fill the cache with forgeries: a forgery never opens).
//  * At most `capacity` grants (the oldest forgotten first). Safe to call from many threads.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/fifo_map.h"
#include "common/mutex.h"
#include "common/result.h"
#include "crypto/grants.h"
#include "protocol/records.h"

namespace beemesh::crypto {

class GrantCache {
 public:
  // 4096 covers the grants of the shares a node stores between a publisher's StoreShare and
  // its ApplyRequest even when thousands are stored first (bench/apply prepares 3,000).
  explicit GrantCache(size_t capacity = 4096) : grants_(capacity) {}

  Result<protocol::Grant> open(ByteView bytes) EXCLUDES(mutex_);
  // open(bytes), then check_opened_grant(expect, clock, skew): the whole check_grant() of
  // crypto/grants.h with the signature verified once per node.
  Result<protocol::Grant> check(ByteView bytes, const GrantExpectation& expect, const Clock& clock,
                                std::chrono::milliseconds skew = std::chrono::seconds(30))
      EXCLUDES(mutex_);
  size_t size() const EXCLUDES(mutex_);
  uint64_t verifications() const EXCLUDES(mutex_);  // open_grant calls (cache misses)

 private:
  using Digest = std::array<uint8_t, 32>;
  mutable Mutex mutex_;
  FifoMap<Digest, protocol::Grant> grants_ GUARDED_BY(mutex_);
  uint64_t verifications_ GUARDED_BY(mutex_) = 0;
};

}  // namespace beemesh::crypto
