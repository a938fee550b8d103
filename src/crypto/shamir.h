// crypto/shamir.h — Shamir secret sharing of 32-byte keys over GF(2^8) (libgfshare).
//
// Promise:
//  * split_key(key, n, k) returns n shares with indexes 1..n; any k distinct shares give the
//    key back through combine_shares; fewer than k give "too_few_shares". 1 <= k <= n <= 255
//    ("bad_share_parameters" otherwise). n = k = 1 is allowed (the share is the key).
//  * combine_shares ignores duplicate indexes, refuses index 0 or shares of the wrong length
//    ("bad_share"), and uses the first k distinct shares. It cannot tell a wrong share from
//    a right one: check the result against a key commitment (crypto/manifest_crypto.h).
//  * Share and key memory is wiped when the objects are destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace beemesh::crypto {

inline constexpr size_t kSymmetricKeySize = 32;

// A 256-bit secret key, wiped on destruction.
class SecretKey {
 public:
  SecretKey() = default;
  explicit SecretKey(const std::array<uint8_t, kSymmetricKeySize>& bytes) : bytes_(bytes) {}
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey();
  static SecretKey random();

  const std::array<uint8_t, kSymmetricKeySize>& bytes() const { return bytes_; }
  std::array<uint8_t, kSymmetricKeySize>& mutable_bytes() { return bytes_; }
  bool operator==(const SecretKey& other) const;  // constant time

 private:
  std::array<uint8_t, kSymmetricKeySize> bytes_{};
};

// One Shamir share: the x coordinate (1..255) and 32 y bytes. Wiped on destruction.
struct KeyShare {
  uint8_t index = 0;
  std::array<uint8_t, kSymmetricKeySize> data{};
  KeyShare() = default;
  KeyShare(uint8_t i, const std::array<uint8_t, kSymmetricKeySize>& d) : index(i), data(d) {}
  KeyShare(const KeyShare&) = default;
  KeyShare& operator=(const KeyShare&) = default;
  ~KeyShare();
};

Result<std::vector<KeyShare>> split_key(const SecretKey& key, unsigned n, unsigned k);
Result<SecretKey> combine_shares(std::span<const KeyShare> shares, unsigned k);

}  // namespace beemesh::crypto
