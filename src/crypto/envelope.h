// crypto/envelope.h — signed envelopes with timestamp window and replay protection.
//
// Usage:
//   // sender
//   Bytes wire = crypto::sign_message(identity, apply_request, clock);
//   // receiver (one verifier per node, shared by all connections; thread-safe)
//   crypto::EnvelopeVerifier verifier(clock, {.not_before_ms = start_ms,
//                                             .membership = &membership});
//   auto req = crypto::open_message<protocol::ApplyRequest>(verifier, wire);
//   if (!req) reply_error(req.error());   // req.error().code is one of the codes below
//   req->envelope.signer_node_id, req->envelope.member->role, req->message.manifest_id, ...
//   // a reply to our own request (no shared replay cache; match the request id yourself)
//   auto rep = crypto::open_reply<protocol::ApplyResponse>(verifier, reply_wire);
//   if (rep && rep->message.request_id != request.request_id) ... "reply_mismatch"
//
// Promise:
//  * The signature is Ed25519 over this exact byte string (docs/notes/crypto.md):
//      "beemesh-envelope-v1" (19 ASCII bytes) || u16 BE payload_type || u8 nonce_len ||
//      nonce || i64 BE timestamp_ms || signer_public_key (32) || u32 BE payload_len ||
//      payload
//    built from the decoded fields; FlatBuffers bytes are never re-serialised to check it.
//  * sign_envelope attaches signer.credential() (crypto/identity.h) as Envelope.credential.
//    The credential is NOT covered by the signature: it is self-authenticating (signed by
//    the mesh admin) and names the signer key it belongs to, so replacing it can only make
//    the membership check fail, never make a stranger pass it.
//  * EnvelopeVerifier::verify checks, in this order, and fails with exactly one code:
//      "oversized"               bytes larger than Options::max_envelope_size
//      "malformed"               not a valid Envelope (Verifier, field lengths, version 0,
//                                credential larger than kMaxCredentialSize)
//      "unsupported_version"     schema_version newer than this build
//      "unexpected_payload_type" payload type is not the one (or ones) expected
//      "timestamp_out_of_window" |now - timestamp_ms| > Options::window
//      "replay_window_closed"    timestamp_ms < Options::not_before_ms
//      membership codes          only when Options::membership is set: the code of
//                                Membership::verify(credential, signer), e.g.
//                                "no_credential", "not_a_member", "credential_revoked"
//                                (crypto/membership.h)
//      "bad_signature"           signature does not verify
//      "replay"                  (signer, nonce) already accepted inside the window
//      "replay_quota_exceeded"   this signer already holds replay_quota_per_signer live
//                                entries; other signers are unaffected
//      "replay_cache_full"       the replay cache holds `replay_capacity` live entries;
//                                the envelope is refused (fail closed), retry later
//    With Options::clock_skew set, an envelope outside the window is still checked for
//    membership and signature, so that a member node's clock is recorded (verified
//    envelopes of member nodes, in or out of the window, feed the table); the code
//    returned is unchanged (timestamp_out_of_window wins over every later check).
//    So a stranger (when membership is set) never reaches the signature check, the replay
//    cache or a handler, and only envelopes that pass every other check enter the replay
//    cache, so forged envelopes cannot fill it. Entries expire at timestamp_ms + window
//    (after which the timestamp check refuses the envelope anyway); memory is bounded by
//    replay_capacity (about 150 bytes per entry). The per-signer quota keeps one signer
//    (or a few) from exhausting the cache; without membership a stranger can still mint
//    keys, so the total capacity stays as a backstop and membership is what bounds it.
//  * not_before_ms: the replay cache lives in memory, so a restarted daemon would accept
//    again what it accepted just before stopping. The daemon sets not_before_ms to its
//    start time: nothing signed before the restart is accepted after it. Trade-off: a
//    peer whose clock lags ours by d ms is refused for the first d ms after our restart
//    (at most `window`, beyond which its envelopes are refused anyway).
//  * verify_reply() runs every check of verify() except the shared replay cache and
//    not_before_ms: for replies to this node's own requests, freshness comes from the
//    request id — the caller matches the reply to its outstanding request by request id
//    and expected signer (apply/share_fetch.h signed_call). Replies therefore never
//    compete with strangers' requests for cache room.
//  * EnvelopeVerifier is safe to call from many threads (the replay cache has a mutex;
//    signature and membership checks run outside it). `clock` and `membership` must
//    outlive the verifier.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/clock_skew.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "protocol/envelope.h"
#include "protocol/messages.h"

namespace beemesh::crypto {

using protocol::PayloadType;

inline constexpr std::string_view kEnvelopeDomain = "beemesh-envelope-v1";
inline constexpr size_t kEnvelopeNonceSize = 16;  // what sign_envelope uses

// The exact bytes an envelope signature covers (exposed for tests and documentation).
Bytes envelope_signing_bytes(PayloadType type, ByteView nonce, int64_t timestamp_ms,
                             const PublicKey& signer, ByteView payload);

// Signs `payload` with a fresh random nonce and clock.now_ms(); returns the wire bytes.
Bytes sign_envelope(const Identity& signer, PayloadType type, ByteView payload, const Clock& clock);

template <typename Message>
Bytes sign_message(const Identity& signer, const Message& message, const Clock& clock) {
  return sign_envelope(signer, Message::kType, protocol::encode(message), clock);
}

struct VerifiedEnvelope {
  PayloadType payload_type = PayloadType::kErrorReply;
  PublicKey signer{};
  std::string signer_node_id;  // node_id_of(signer)
  Bytes nonce;
  int64_t timestamp_ms = 0;
  Bytes payload;  // exactly the signed bytes
  // The signer's membership, when the verifier checks membership (Options::membership).
  std::optional<Member> member;
};

class EnvelopeVerifier {
 public:
  struct Options {
    std::chrono::milliseconds window{30'000};  // accepted clock skew, both directions
    size_t replay_capacity = 200'000;          // live (signer, nonce) entries at most
    size_t max_envelope_size = protocol::kMaxMessageSize;
    size_t replay_quota_per_signer = 20'000;  // live entries per signer; 0 = no quota
    // Envelopes signed before this (Unix ms) are refused; the daemon's start time.
    int64_t not_before_ms = 0;
    // When set, only members pass (checked before the signature); must outlive the verifier.
    const Membership* membership = nullptr;
    // When set, every envelope a member node signed is recorded here (signer's timestamp
    // against our clock), also one refused as timestamp_out_of_window; must outlive the
    // verifier.
    ClockSkewTable* clock_skew = nullptr;
  };

  explicit EnvelopeVerifier(const Clock& clock);
  EnvelopeVerifier(const Clock& clock, Options options);
  ~EnvelopeVerifier();
  EnvelopeVerifier(const EnvelopeVerifier&) = delete;
  EnvelopeVerifier& operator=(const EnvelopeVerifier&) = delete;

  Result<VerifiedEnvelope> verify(ByteView bytes, PayloadType expected);
  // Accepts any of `allowed` (e.g. a server that dispatches on the type).
  Result<VerifiedEnvelope> verify_any(ByteView bytes, std::span<const PayloadType> allowed);
  // A reply to this node's own request: every check except the replay cache and
  // not_before_ms. The caller must match it to the request (request id, expected signer).
  Result<VerifiedEnvelope> verify_reply(ByteView bytes, PayloadType expected) const;

  size_t replay_cache_size() const;  // live entries (after expiring old ones)
  const Options& options() const { return options_; }

 private:
  class ReplayCache;
  // Every check up to and including the signature (no replay cache).
  Result<VerifiedEnvelope> authenticate(ByteView bytes, std::span<const PayloadType> allowed,
                                        bool check_not_before) const;

  const Clock& clock_;
  Options options_;
  std::unique_ptr<ReplayCache> cache_;
};

template <typename Message>
struct VerifiedMessage {
  VerifiedEnvelope envelope;
  Message message;
};

// verify(bytes, Message::kType) then protocol::decode<Message>(payload).
template <typename Message>
Result<VerifiedMessage<Message>> open_message(EnvelopeVerifier& verifier, ByteView bytes) {
  auto env = verifier.verify(bytes, Message::kType);
  if (!env) return env.error();
  auto msg = protocol::decode<Message>(env->payload, verifier.options().max_envelope_size);
  if (!msg) return msg.error();
  return VerifiedMessage<Message>{std::move(*env), std::move(*msg)};
}

// verify_reply(bytes, Message::kType) then protocol::decode<Message>(payload). The caller
// still matches the message's request_id to its request.
template <typename Message>
Result<VerifiedMessage<Message>> open_reply(const EnvelopeVerifier& verifier, ByteView bytes) {
  auto env = verifier.verify_reply(bytes, Message::kType);
  if (!env) return env.error();
  auto msg = protocol::decode<Message>(env->payload, verifier.options().max_envelope_size);
  if (!msg) return msg.error();
  return VerifiedMessage<Message>{std::move(*env), std::move(*msg)};
}

}  // namespace beemesh::crypto
