#include "crypto/envelope.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crypto/signing_layout.h"
#include "crypto/sodium_init.h"

namespace beemesh::crypto {

Bytes envelope_signing_bytes(PayloadType type, ByteView nonce, int64_t timestamp_ms,
                             const PublicKey& signer, ByteView payload) {
  Bytes out;
  out.reserve(kEnvelopeDomain.size() + 2 + 1 + nonce.size() + 8 + signer.size() + 4 +
              payload.size());
  detail::append(out, as_bytes(kEnvelopeDomain));
  detail::append_u16(out, static_cast<uint16_t>(type));
  detail::append_u8(out, static_cast<uint8_t>(nonce.size()));
  detail::append(out, nonce);
  detail::append_u64(out, static_cast<uint64_t>(timestamp_ms));
  detail::append(out, signer);
  detail::append_lp(out, payload);
  return out;
}

Bytes sign_envelope(const Identity& signer, PayloadType type, ByteView payload,
                    const Clock& clock) {
  detail::ensure_sodium();
  protocol::Envelope env;
  env.payload_type = type;
  env.nonce.resize(kEnvelopeNonceSize);
  randombytes_buf(env.nonce.data(), env.nonce.size());
  env.timestamp_ms = clock.now_ms();
  env.signer_public_key = signer.public_key();
  env.payload.assign(payload.begin(), payload.end());
  env.signature = signer.sign(envelope_signing_bytes(type, env.nonce, env.timestamp_ms,
                                                     env.signer_public_key, env.payload));
  return protocol::encode_envelope(env);
}

// (signer, nonce) pairs seen inside the window. A 16-byte BLAKE2b digest of the pair keys
// the map; a min-heap on expiry removes old entries. Bounded by `capacity`.
class EnvelopeVerifier::ReplayCache {
 public:
  using Key = std::array<uint8_t, 16>;
  enum class Outcome { kAccepted, kReplay, kFull };

  explicit ReplayCache(size_t capacity) : capacity_(capacity) {}

  static Key key_of(const PublicKey& signer, ByteView nonce) {
    Key key{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, key.size());
    crypto_generichash_update(&st, signer.data(), signer.size());
    crypto_generichash_update(&st, nonce.data(), nonce.size());
    crypto_generichash_final(&st, key.data(), key.size());
    return key;
  }

  Outcome insert(const Key& key, int64_t expires_ms, int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire(now_ms);
    if (seen_.contains(key)) return Outcome::kReplay;
    if (seen_.size() >= capacity_) return Outcome::kFull;
    seen_.emplace(key, expires_ms);
    heap_.push({expires_ms, key});
    return Outcome::kAccepted;
  }

  size_t size(int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire(now_ms);
    return seen_.size();
  }

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const {
      size_t h;
      std::memcpy(&h, k.data(), sizeof h);  // the key is already a uniform hash
      return h;
    }
  };
  struct Entry {
    int64_t expires_ms;
    Key key;
    bool operator>(const Entry& other) const { return expires_ms > other.expires_ms; }
  };

  void expire(int64_t now_ms) {
    while (!heap_.empty() && heap_.top().expires_ms < now_ms) {
      seen_.erase(heap_.top().key);
      heap_.pop();
    }
  }

  size_t capacity_;
  std::mutex mu_;
  std::unordered_map<Key, int64_t, KeyHash> seen_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
};

EnvelopeVerifier::EnvelopeVerifier(const Clock& clock) : EnvelopeVerifier(clock, Options{}) {}

EnvelopeVerifier::EnvelopeVerifier(const Clock& clock, Options options)
    : clock_(clock),
      options_(options),
      cache_(std::make_unique<ReplayCache>(options.replay_capacity)) {
  detail::ensure_sodium();
}

EnvelopeVerifier::~EnvelopeVerifier() = default;

Result<VerifiedEnvelope> EnvelopeVerifier::verify(ByteView bytes, PayloadType expected) {
  return verify_any(bytes, std::span<const PayloadType>(&expected, 1));
}

Result<VerifiedEnvelope> EnvelopeVerifier::verify_any(ByteView bytes,
                                                      std::span<const PayloadType> allowed) {
  auto env = protocol::decode_envelope(bytes, options_.max_envelope_size);
  if (!env) return env.error();

  if (std::find(allowed.begin(), allowed.end(), env->payload_type) == allowed.end()) {
    std::string want;
    for (auto t : allowed) {
      if (!want.empty()) want += "|";
      want += protocol::payload_type_name(t);
    }
    return make_error("unexpected_payload_type",
                      "envelope from " + node_id_of(env->signer_public_key) + " carries " +
                          std::string(protocol::payload_type_name(env->payload_type)) + " (" +
                          std::to_string(static_cast<unsigned>(env->payload_type)) +
                          "), expected " + want);
  }

  const int64_t now = clock_.now_ms();
  const int64_t window = options_.window.count();
  // No arithmetic on the untrusted timestamp before this range check (no overflow).
  const bool in_window = env->timestamp_ms >= now - window && env->timestamp_ms <= now + window;
  if (!in_window) {
    return make_error("timestamp_out_of_window",
                      "envelope from " + node_id_of(env->signer_public_key) + " has timestamp " +
                          std::to_string(env->timestamp_ms) + " ms, now is " + std::to_string(now) +
                          " ms, window is ±" + std::to_string(window) + " ms");
  }

  Bytes signed_bytes = envelope_signing_bytes(env->payload_type, env->nonce, env->timestamp_ms,
                                              env->signer_public_key, env->payload);
  if (!verify_signature(env->signer_public_key, signed_bytes, env->signature)) {
    return make_error("bad_signature", "envelope signature does not verify for signer " +
                                           node_id_of(env->signer_public_key));
  }

  switch (cache_->insert(ReplayCache::key_of(env->signer_public_key, env->nonce),
                         env->timestamp_ms + window, now)) {
    case ReplayCache::Outcome::kAccepted:
      break;
    case ReplayCache::Outcome::kReplay:
      return make_error("replay", "envelope from " + node_id_of(env->signer_public_key) +
                                      " reuses nonce " + to_hex(env->nonce) +
                                      " already seen inside the window");
    case ReplayCache::Outcome::kFull:
      return make_error("replay_cache_full",
                        "replay cache holds " + std::to_string(options_.replay_capacity) +
                            " live entries; envelope from " + node_id_of(env->signer_public_key) +
                            " refused, retry later");
  }

  VerifiedEnvelope out;
  out.payload_type = env->payload_type;
  out.signer = env->signer_public_key;
  out.signer_node_id = node_id_of(out.signer);
  out.nonce = std::move(env->nonce);
  out.timestamp_ms = env->timestamp_ms;
  out.payload = std::move(env->payload);
  return out;
}

size_t EnvelopeVerifier::replay_cache_size() const {
  return cache_->size(clock_.now_ms());
}

}  // namespace beemesh::crypto
