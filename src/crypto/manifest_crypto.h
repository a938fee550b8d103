// crypto/manifest_crypto.h — encrypted manifests and key reconstruction.
//
// Usage (entry node):
//   auto enc = crypto::encrypt_manifest(mid, owner.public_key(), yaml_bytes, holders,
//                                       {.n = 5, .k = 3}, clock.now_ms());
//   // enc->applied: the AppliedManifest (store in the DHT, send in ApplyRequest)
//   // enc->shares[i].sealed: send to enc->shares[i].holder in a StoreShareRequest
// Usage (deploying node, after fetching k KeyShareResponses):
//   std::vector<crypto::KeyShare> shares;
//   for (auto& r : responses) shares.push_back(*crypto::open_share(me, r.sealed_share,
//                                                                  r.share_index));
//   auto yaml = crypto::decrypt_manifest(applied, shares);   // Error on any problem
//
// Promise:
//  * Each manifest gets a fresh random 256-bit key K. The manifest is encrypted with
//    XChaCha20-Poly1305 (random 24-byte nonce) with associated data
//      "beemesh-manifest-v1" || u32 BE len(manifest_id) || manifest_id || owner key (32)
//    so a ciphertext moved to another manifest id or owner does not decrypt.
//  * key_commitment = BLAKE2b-256("beemesh-key-commitment-v1" || u32 BE len(manifest_id) ||
//    manifest_id || owner key || K); a wrong reconstruction is detected before decrypting
//    ("bad_key_commitment").
//  * K is split with Shamir (libgfshare) into n shares, threshold k; n = min(params.n,
//    holders given) and k = min(params.k, n); n = k = 1 is allowed. Share i (index 1..n)
//    is sealed (crypto_box_seal) to the X25519 form of holder i's Ed25519 key. The sealed
//    plaintext is u8 version (1) || u8 share index || 32 share bytes.
//  * Errors: "no_share_holders", "bad_share_parameters", "bad_public_key" (encrypt);
//    "bad_share" (open_share: not for this identity, altered, or wrong index);
//    "too_few_shares", "bad_key_commitment", "decryption_failed" (decrypt_manifest).
//  * K never leaves this module except as sealed shares.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/shamir.h"
#include "protocol/records.h"

namespace beemesh::crypto {

// Bytes of one sealed share: crypto_box_seal overhead (48) + u8 version + u8 index + share.
inline constexpr size_t kSealedShareSize = 48 + 2 + kSymmetricKeySize;

struct ShareParams {
  unsigned n = 5;  // shares (capped by the holders available)
  unsigned k = 3;  // threshold (capped by n)
};

struct SealedShare {
  protocol::ShareHolder holder;  // share_index set
  Bytes sealed;                  // sealed to holder's X25519 key
};

struct EncryptedManifest {
  protocol::AppliedManifest applied;
  std::vector<SealedShare> shares;  // one per holder, in share_index order
};

// `holders` are candidates in preference order; their share_index is ignored (assigned
// 1..n here). `created_ms` goes into the record.
Result<EncryptedManifest> encrypt_manifest(std::string_view manifest_id,
                                           const PublicKey& owner_public_key, ByteView plaintext,
                                           std::span<const protocol::ShareHolder> holders,
                                           ShareParams params, int64_t created_ms);

std::array<uint8_t, 32> key_commitment(std::string_view manifest_id, const PublicKey& owner,
                                       const SecretKey& key);

// Share sealing: holder side and requester side.
Bytes seal_share(const KeyShare& share, const X25519PublicKey& recipient);
Result<KeyShare> open_share(const Identity& recipient, ByteView sealed, uint8_t expected_index);

// Shares released together to one requester (one key-share batch answer,
// apply/share_batcher.h): one ephemeral X25519 key pair per batch, one crypto_box key
// (crypto_box_beforenm) with the requester's X25519 key, and each share in its own
// crypto_box (XSalsa20-Poly1305) under a fresh random 24-byte nonce:
//   sealed = nonce (24) || box(u8 version (1) || u8 share index || 32 share bytes) (50)
// The same confidentiality as one crypto_box_seal per share (anonymous sender, only the
// requester's X25519 secret opens it) with 2 X25519 operations per batch at the holder and
// 1 at the requester instead of 2 and 1 per share. The ephemeral secret is wiped once the
// box key is derived; the box key when the sealer goes.
inline constexpr size_t kBatchSealedShareSize = 24 + 16 + 2 + kSymmetricKeySize;

class ShareBatchSealer {
 public:
  // Error "bad_public_key" when `recipient` gives no box key.
  static Result<ShareBatchSealer> to(const X25519PublicKey& recipient);
  const X25519PublicKey& ephemeral_public_key() const { return ephemeral_; }
  Bytes seal(const KeyShare& share) const;  // kBatchSealedShareSize bytes

 private:
  ShareBatchSealer() = default;
  X25519PublicKey ephemeral_{};
  BoxKey key_;
};

class ShareBatchOpener {
 public:
  // `ephemeral` is the batch answer's ephemeral_public_key. Error "bad_share" when it gives
  // no box key.
  static Result<ShareBatchOpener> from(const Identity& recipient, ByteView ephemeral);
  // Error "bad_share": not sealed to this recipient in this batch, altered, wrong size or
  // layout, or another index than `expected_index` (never 0).
  Result<KeyShare> open(ByteView sealed, uint8_t expected_index) const;

 private:
  ShareBatchOpener() = default;
  BoxKey key_;
};

// Combines the shares (threshold = applied.threshold), checks the commitment, decrypts.
Result<SecretKey> reconstruct_key(const protocol::AppliedManifest& applied,
                                  std::span<const KeyShare> shares);
Result<Bytes> decrypt_manifest(const protocol::AppliedManifest& applied,
                               std::span<const KeyShare> shares);
Result<Bytes> decrypt_manifest(const protocol::AppliedManifest& applied, const SecretKey& key);

}  // namespace beemesh::crypto
