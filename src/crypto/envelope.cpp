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

static_assert(protocol::kMaxCredentialSize == kMaxCredentialSize,
              "the envelope decoder caps credentials at the membership limit");

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
  env.credential = signer.credential();  // not signed: self-authenticating (see the header)
  env.signature = signer.sign(envelope_signing_bytes(type, env.nonce, env.timestamp_ms,
                                                     env.signer_public_key, env.payload));
  return protocol::encode_envelope(env);
}

// (signer, nonce) pairs seen inside the window. A 16-byte BLAKE2b digest of the pair keys
// the map; a min-heap on expiry removes old entries; a count per signer enforces the quota.
// Bounded by `capacity`.
class EnvelopeVerifier::ReplayCache {
 public:
  using Key = std::array<uint8_t, 16>;
  enum class Outcome { kAccepted, kReplay, kQuota, kFull };

  ReplayCache(size_t capacity, size_t quota_per_signer)
      : capacity_(capacity), quota_(quota_per_signer) {}

  static Key key_of(const PublicKey& signer, ByteView nonce) {
    Key key{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, key.size());
    crypto_generichash_update(&st, signer.data(), signer.size());
    crypto_generichash_update(&st, nonce.data(), nonce.size());
    crypto_generichash_final(&st, key.data(), key.size());
    return key;
  }

  Outcome insert(const PublicKey& signer, const Key& key, int64_t expires_ms, int64_t now_ms) {
    std::lock_guard lock(mu_);
    expire(now_ms);
    if (seen_.contains(key)) return Outcome::kReplay;
    auto count = per_signer_.find(signer);
    if (quota_ > 0 && count != per_signer_.end() && count->second >= quota_) {
      return Outcome::kQuota;
    }
    if (seen_.size() >= capacity_) return Outcome::kFull;
    seen_.emplace(key, expires_ms);
    heap_.push({expires_ms, key, signer});
    ++per_signer_[signer];
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
  // Public keys are chosen by senders: hash them with a per-cache random key so nobody can
  // aim many keys at one bucket.
  struct SignerHash {
    std::array<uint8_t, crypto_shorthash_KEYBYTES> secret{};
    SignerHash() { randombytes_buf(secret.data(), secret.size()); }
    size_t operator()(const PublicKey& k) const {
      std::array<uint8_t, crypto_shorthash_BYTES> out{};
      crypto_shorthash(out.data(), k.data(), k.size(), secret.data());
      size_t h;
      std::memcpy(&h, out.data(), sizeof h);
      return h;
    }
  };
  struct Entry {
    int64_t expires_ms;
    Key key;
    PublicKey signer;
    bool operator>(const Entry& other) const { return expires_ms > other.expires_ms; }
  };

  void expire(int64_t now_ms) {
    while (!heap_.empty() && heap_.top().expires_ms < now_ms) {
      const Entry& top = heap_.top();
      seen_.erase(top.key);
      auto count = per_signer_.find(top.signer);
      if (count != per_signer_.end() && --count->second == 0) per_signer_.erase(count);
      heap_.pop();
    }
  }

  const size_t capacity_;
  const size_t quota_;
  std::mutex mu_;
  std::unordered_map<Key, int64_t, KeyHash> seen_;
  std::unordered_map<PublicKey, size_t, SignerHash> per_signer_;  // live entries per signer
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
};

EnvelopeVerifier::EnvelopeVerifier(const Clock& clock) : EnvelopeVerifier(clock, Options{}) {}

EnvelopeVerifier::EnvelopeVerifier(const Clock& clock, Options options)
    : clock_(clock),
      options_(options),
      cache_(
          std::make_unique<ReplayCache>(options.replay_capacity, options.replay_quota_per_signer)) {
  detail::ensure_sodium();
}

EnvelopeVerifier::~EnvelopeVerifier() = default;

Result<VerifiedEnvelope> EnvelopeVerifier::verify(ByteView bytes, PayloadType expected) {
  return verify_any(bytes, std::span<const PayloadType>(&expected, 1));
}

Result<VerifiedEnvelope> EnvelopeVerifier::verify_reply(ByteView bytes,
                                                        PayloadType expected) const {
  return authenticate(bytes, std::span<const PayloadType>(&expected, 1),
                      /*check_not_before=*/false);
}

Result<VerifiedEnvelope> EnvelopeVerifier::authenticate(ByteView bytes,
                                                        std::span<const PayloadType> allowed,
                                                        bool check_not_before) const {
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
  auto out_of_window = [&] {
    return make_error("timestamp_out_of_window",
                      "envelope from " + node_id_of(env->signer_public_key) + " has timestamp " +
                          std::to_string(env->timestamp_ms) + " ms, now is " + std::to_string(now) +
                          " ms, window is ±" + std::to_string(window) + " ms");
  };
  // With a skew table, an envelope outside the window is still authenticated (membership,
  // signature) so that a member node's clock is recorded; it is refused all the same.
  if (!in_window && options_.clock_skew == nullptr) return out_of_window();
  if (in_window && check_not_before && env->timestamp_ms < options_.not_before_ms) {
    return make_error("replay_window_closed",
                      "envelope from " + node_id_of(env->signer_public_key) + " was signed at " +
                          std::to_string(env->timestamp_ms) + " ms, before this node started (" +
                          std::to_string(options_.not_before_ms) + " ms)");
  }

  std::optional<Member> member;
  if (options_.membership) {
    auto checked = options_.membership->verify(env->credential, env->signer_public_key);
    if (!checked) {
      if (!in_window) return out_of_window();
      return make_error(
          checked.error().code,
          "envelope from " + node_id_of(env->signer_public_key) + ": " + checked.error().message);
    }
    member = std::move(*checked);
  }

  Bytes signed_bytes = envelope_signing_bytes(env->payload_type, env->nonce, env->timestamp_ms,
                                              env->signer_public_key, env->payload);
  if (!verify_signature(env->signer_public_key, signed_bytes, env->signature)) {
    if (!in_window) return out_of_window();
    return make_error("bad_signature", "envelope signature does not verify for signer " +
                                           node_id_of(env->signer_public_key));
  }

  // Only nodes' clocks: users' envelopes (a forwarded delete) may have been signed earlier.
  if (options_.clock_skew != nullptr && (!member || member->kind == CertKind::kNode)) {
    options_.clock_skew->record(node_id_of(env->signer_public_key), env->timestamp_ms);
  }
  if (!in_window) return out_of_window();

  VerifiedEnvelope out;
  out.payload_type = env->payload_type;
  out.signer = env->signer_public_key;
  out.signer_node_id = node_id_of(out.signer);
  out.nonce = std::move(env->nonce);
  out.timestamp_ms = env->timestamp_ms;
  out.payload = std::move(env->payload);
  out.member = std::move(member);
  return out;
}

Result<VerifiedEnvelope> EnvelopeVerifier::verify_any(ByteView bytes,
                                                      std::span<const PayloadType> allowed) {
  auto env = authenticate(bytes, allowed, /*check_not_before=*/true);
  if (!env) return env.error();

  const int64_t now = clock_.now_ms();
  switch (cache_->insert(env->signer, ReplayCache::key_of(env->signer, env->nonce),
                         env->timestamp_ms + options_.window.count(), now)) {
    case ReplayCache::Outcome::kAccepted:
      break;
    case ReplayCache::Outcome::kReplay:
      return make_error("replay", "envelope from " + env->signer_node_id + " reuses nonce " +
                                      to_hex(env->nonce) + " already seen inside the window");
    case ReplayCache::Outcome::kQuota:
      return make_error("replay_quota_exceeded",
                        "signer " + env->signer_node_id + " already has " +
                            std::to_string(options_.replay_quota_per_signer) +
                            " envelopes inside the window; refused, retry later");
    case ReplayCache::Outcome::kFull:
      return make_error("replay_cache_full", "replay cache holds " +
                                                 std::to_string(options_.replay_capacity) +
                                                 " live entries; envelope from " +
                                                 env->signer_node_id + " refused, retry later");
  }
  return env;
}

size_t EnvelopeVerifier::replay_cache_size() const {
  return cache_->size(clock_.now_ms());
}

}  // namespace beemesh::crypto
