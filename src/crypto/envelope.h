// crypto/envelope.h — signed envelopes with timestamp window and replay protection.
//
// Usage:
//   // sender
//   Bytes wire = crypto::sign_message(identity, apply_request, clock);
//   // receiver (one verifier per node, shared by all connections; thread-safe)
//   crypto::EnvelopeVerifier verifier(clock);
//   auto req = crypto::open_message<protocol::ApplyRequest>(verifier, wire);
//   if (!req) reply_error(req.error());   // req.error().code is one of the codes below
//   req->envelope.signer_node_id, req->message.manifest_id, ...
//
// Promise:
//  * The signature is Ed25519 over this exact byte string (docs/notes/crypto.md):
//      "beemesh-envelope-v1" (19 ASCII bytes) || u16 BE payload_type || u8 nonce_len ||
//      nonce || i64 BE timestamp_ms || signer_public_key (32) || u32 BE payload_len ||
//      payload
//    built from the decoded fields; FlatBuffers bytes are never re-serialised to check it.
//  * EnvelopeVerifier::verify checks, in this order, and fails with exactly one code:
//      "oversized"               bytes larger than Options::max_envelope_size
//      "malformed"               not a valid Envelope (Verifier, field lengths, version 0)
//      "unsupported_version"     schema_version newer than this build
//      "unexpected_payload_type" payload type is not the one (or ones) expected
//      "timestamp_out_of_window" |now - timestamp_ms| > Options::window
//      "bad_signature"           signature does not verify
//      "replay"                  (signer, nonce) already accepted inside the window
//      "replay_cache_full"       the replay cache holds `replay_capacity` live entries;
//                                the envelope is refused (fail closed), retry later
//    Only envelopes that pass every other check enter the replay cache, so forged
//    envelopes cannot fill it. Entries expire at timestamp_ms + window (after which the
//    timestamp check refuses the envelope anyway); memory is bounded by replay_capacity
//    (about 100 bytes per entry).
//  * EnvelopeVerifier is safe to call from many threads (the replay cache has a mutex;
//    signature checks run outside it).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/identity.h"
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
};

class EnvelopeVerifier {
 public:
  struct Options {
    std::chrono::milliseconds window{30'000};  // accepted clock skew, both directions
    size_t replay_capacity = 200'000;          // live (signer, nonce) entries at most
    size_t max_envelope_size = protocol::kMaxMessageSize;
  };

  explicit EnvelopeVerifier(const Clock& clock);
  EnvelopeVerifier(const Clock& clock, Options options);
  ~EnvelopeVerifier();
  EnvelopeVerifier(const EnvelopeVerifier&) = delete;
  EnvelopeVerifier& operator=(const EnvelopeVerifier&) = delete;

  Result<VerifiedEnvelope> verify(ByteView bytes, PayloadType expected);
  // Accepts any of `allowed` (e.g. a server that dispatches on the type).
  Result<VerifiedEnvelope> verify_any(ByteView bytes, std::span<const PayloadType> allowed);

  size_t replay_cache_size() const;  // live entries (after expiring old ones)
  const Options& options() const { return options_; }

 private:
  class ReplayCache;
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

}  // namespace beemesh::crypto
