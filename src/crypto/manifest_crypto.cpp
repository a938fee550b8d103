#include "crypto/manifest_crypto.h"

#include <sodium.h>

#include <algorithm>
#include <string>

#include "crypto/signing_layout.h"
#include "crypto/sodium_init.h"

namespace beemesh::crypto {

namespace {

constexpr std::string_view kManifestAdDomain = "beemesh-manifest-v1";
constexpr std::string_view kCommitmentDomain = "beemesh-key-commitment-v1";
constexpr uint8_t kSharePlaintextVersion = 1;
constexpr size_t kSharePlaintextSize = 2 + kSymmetricKeySize;

Bytes associated_data(std::string_view manifest_id, const PublicKey& owner) {
  Bytes ad;
  ad.reserve(kManifestAdDomain.size() + 4 + manifest_id.size() + owner.size());
  detail::append(ad, as_bytes(kManifestAdDomain));
  detail::append_lp(ad, as_bytes(manifest_id));
  detail::append(ad, owner);
  return ad;
}

}  // namespace

std::array<uint8_t, 32> key_commitment(std::string_view manifest_id, const PublicKey& owner,
                                       const SecretKey& key) {
  detail::ensure_sodium();
  Bytes prefix;
  detail::append(prefix, as_bytes(kCommitmentDomain));
  detail::append_lp(prefix, as_bytes(manifest_id));
  detail::append(prefix, owner);
  std::array<uint8_t, 32> out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, out.size());
  crypto_generichash_update(&st, prefix.data(), prefix.size());
  crypto_generichash_update(&st, key.bytes().data(), key.bytes().size());
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

Result<EncryptedManifest> encrypt_manifest(std::string_view manifest_id,
                                           const PublicKey& owner_public_key, ByteView plaintext,
                                           std::span<const protocol::ShareHolder> holders,
                                           ShareParams params, int64_t created_ms) {
  detail::ensure_sodium();
  if (holders.empty()) {
    return make_error("no_share_holders",
                      "manifest " + std::string(manifest_id) + ": no key share holders given");
  }
  if (params.n < 1 || params.k < 1 || params.k > params.n) {
    return make_error("bad_share_parameters",
                      "manifest " + std::string(manifest_id) + ": n=" + std::to_string(params.n) +
                          " k=" + std::to_string(params.k) + " (need 1 <= k <= n)");
  }
  const unsigned n = std::min<unsigned>({params.n, static_cast<unsigned>(holders.size()), 255u});
  const unsigned k = std::min(params.k, n);

  // Resolve every holder's sealing key before doing any work.
  std::vector<X25519PublicKey> sealing_keys;
  sealing_keys.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    auto x = x25519_of(holders[i].node_public_key);
    if (!x) {
      return make_error("bad_public_key",
                        "share holder " + holders[i].node_id + ": " + x.error().message);
    }
    sealing_keys.push_back(*x);
  }

  SecretKey key = SecretKey::random();
  EncryptedManifest out;
  auto& a = out.applied;
  a.manifest_id = std::string(manifest_id);
  a.owner_public_key = owner_public_key;
  a.threshold = static_cast<uint8_t>(k);
  a.created_ms = created_ms;
  a.key_commitment = key_commitment(manifest_id, owner_public_key, key);
  randombytes_buf(a.nonce.data(), a.nonce.size());
  Bytes ad = associated_data(manifest_id, owner_public_key);
  a.ciphertext.resize(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(a.ciphertext.data(), &clen, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             a.nonce.data(), key.bytes().data());
  a.ciphertext.resize(static_cast<size_t>(clen));

  auto shares = split_key(key, n, k);
  if (!shares) return shares.error();
  for (unsigned i = 0; i < n; ++i) {
    protocol::ShareHolder holder = holders[i];
    holder.share_index = (*shares)[i].index;
    a.share_holders.push_back(holder);
    out.shares.push_back(SealedShare{holder, seal_share((*shares)[i], sealing_keys[i])});
  }
  return out;
}

static_assert(kSealedShareSize == crypto_box_SEALBYTES + 2 + kSymmetricKeySize);

Bytes seal_share(const KeyShare& share, const X25519PublicKey& recipient) {
  std::array<uint8_t, kSharePlaintextSize> plain{};
  plain[0] = kSharePlaintextVersion;
  plain[1] = share.index;
  std::copy(share.data.begin(), share.data.end(), plain.begin() + 2);
  Bytes sealed = seal_to(recipient, plain);
  sodium_memzero(plain.data(), plain.size());
  return sealed;
}

Result<KeyShare> open_share(const Identity& recipient, ByteView sealed, uint8_t expected_index) {
  auto plain = recipient.open_sealed(sealed);
  if (!plain) {
    return make_error("bad_share",
                      "share " + std::to_string(expected_index) + ": " + plain.error().message);
  }
  struct Wipe {
    Bytes& b;
    ~Wipe() { sodium_memzero(b.data(), b.size()); }
  } wipe{*plain};
  if (plain->size() != kSharePlaintextSize || (*plain)[0] != kSharePlaintextVersion) {
    return make_error("bad_share",
                      "share " + std::to_string(expected_index) + ": unexpected plaintext layout");
  }
  if ((*plain)[1] != expected_index || expected_index == 0) {
    return make_error("bad_share", "share sealed as index " + std::to_string((*plain)[1]) +
                                       ", expected index " + std::to_string(expected_index));
  }
  KeyShare share;
  share.index = expected_index;
  std::copy(plain->begin() + 2, plain->end(), share.data.begin());
  return share;
}

Result<ShareBatchSealer> ShareBatchSealer::to(const X25519PublicKey& recipient) {
  detail::ensure_sodium();
  static_assert(kBatchSealedShareSize ==
                crypto_box_NONCEBYTES + crypto_box_MACBYTES + kSharePlaintextSize);
  ShareBatchSealer out;
  std::array<uint8_t, crypto_box_SECRETKEYBYTES> ephemeral_secret{};
  crypto_box_keypair(out.ephemeral_.data(), ephemeral_secret.data());
  const int rc =
      crypto_box_beforenm(out.key_.bytes.data(), recipient.data(), ephemeral_secret.data());
  sodium_memzero(ephemeral_secret.data(), ephemeral_secret.size());
  if (rc != 0) return make_error("bad_public_key", "no box key with the requester's key");
  return out;
}

Bytes ShareBatchSealer::seal(const KeyShare& share) const {
  std::array<uint8_t, kSharePlaintextSize> plain{};
  plain[0] = kSharePlaintextVersion;
  plain[1] = share.index;
  std::copy(share.data.begin(), share.data.end(), plain.begin() + 2);
  Bytes sealed(kBatchSealedShareSize);
  randombytes_buf(sealed.data(), crypto_box_NONCEBYTES);
  crypto_box_easy_afternm(sealed.data() + crypto_box_NONCEBYTES, plain.data(), plain.size(),
                          sealed.data(), key_.bytes.data());
  sodium_memzero(plain.data(), plain.size());
  return sealed;
}

Result<ShareBatchOpener> ShareBatchOpener::from(const Identity& recipient, ByteView ephemeral) {
  if (ephemeral.size() != crypto_box_PUBLICKEYBYTES) {
    return make_error("bad_share", "batch ephemeral key of " + std::to_string(ephemeral.size()) +
                                       " bytes, expected " +
                                       std::to_string(crypto_box_PUBLICKEYBYTES));
  }
  X25519PublicKey peer{};
  std::copy(ephemeral.begin(), ephemeral.end(), peer.begin());
  auto key = recipient.box_key_with(peer);
  if (!key) return make_error("bad_share", "batch ephemeral key: " + key.error().message);
  ShareBatchOpener out;
  out.key_ = std::move(*key);
  return out;
}

Result<KeyShare> ShareBatchOpener::open(ByteView sealed, uint8_t expected_index) const {
  if (sealed.size() != kBatchSealedShareSize) {
    return make_error("bad_share", "share " + std::to_string(expected_index) + ": " +
                                       std::to_string(sealed.size()) + " bytes, expected " +
                                       std::to_string(kBatchSealedShareSize));
  }
  std::array<uint8_t, kSharePlaintextSize> plain{};
  struct Wipe {
    std::array<uint8_t, kSharePlaintextSize>& b;
    ~Wipe() { sodium_memzero(b.data(), b.size()); }
  } wipe{plain};
  if (crypto_box_open_easy_afternm(plain.data(), sealed.data() + crypto_box_NONCEBYTES,
                                   sealed.size() - crypto_box_NONCEBYTES, sealed.data(),
                                   key_.bytes.data()) != 0) {
    return make_error("bad_share", "share " + std::to_string(expected_index) +
                                       ": not sealed to this node in this batch, or altered");
  }
  if (plain[0] != kSharePlaintextVersion) {
    return make_error("bad_share",
                      "share " + std::to_string(expected_index) + ": unexpected plaintext layout");
  }
  if (plain[1] != expected_index || expected_index == 0) {
    return make_error("bad_share", "share sealed as index " + std::to_string(plain[1]) +
                                       ", expected index " + std::to_string(expected_index));
  }
  KeyShare share;
  share.index = expected_index;
  std::copy(plain.begin() + 2, plain.end(), share.data.begin());
  return share;
}

Result<SecretKey> reconstruct_key(const protocol::AppliedManifest& applied,
                                  std::span<const KeyShare> shares) {
  if (applied.threshold == 0) {
    return make_error("bad_share_parameters",
                      "manifest " + applied.manifest_id + ": threshold is 0");
  }
  auto key = combine_shares(shares, applied.threshold);
  if (!key) {
    return make_error(key.error().code,
                      "manifest " + applied.manifest_id + ": " + key.error().message);
  }
  auto commitment = key_commitment(applied.manifest_id, applied.owner_public_key, *key);
  if (sodium_memcmp(commitment.data(), applied.key_commitment.data(), commitment.size()) != 0) {
    return make_error("bad_key_commitment",
                      "manifest " + applied.manifest_id +
                          ": reconstructed key does not match the key commitment (a share is "
                          "wrong or belongs to another manifest)");
  }
  return key;
}

Result<Bytes> decrypt_manifest(const protocol::AppliedManifest& applied,
                               std::span<const KeyShare> shares) {
  auto key = reconstruct_key(applied, shares);
  if (!key) return key.error();
  return decrypt_manifest(applied, *key);
}

Result<Bytes> decrypt_manifest(const protocol::AppliedManifest& applied, const SecretKey& key) {
  detail::ensure_sodium();
  if (applied.ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return make_error("decryption_failed",
                      "manifest " + applied.manifest_id + ": ciphertext shorter than its tag");
  }
  Bytes ad = associated_data(applied.manifest_id, applied.owner_public_key);
  Bytes plain(applied.ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &plen, nullptr, applied.ciphertext.data(), applied.ciphertext.size(),
          ad.data(), ad.size(), applied.nonce.data(), key.bytes().data()) != 0) {
    return make_error("decryption_failed",
                      "manifest " + applied.manifest_id +
                          ": ciphertext, nonce, manifest id or owner was altered");
  }
  plain.resize(static_cast<size_t>(plen));
  return plain;
}

}  // namespace beemesh::crypto
