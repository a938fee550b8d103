// protocol/envelope.h — the wire form of the signed Envelope that frames every
// node-to-node message. Signing and verification are in crypto/envelope.h; this header only
// encodes and structurally decodes.
//
// Promise: decode_envelope(encode_envelope(e)) == e; decode_envelope follows the decoder
// rules of protocol/protocol.h and also rejects ("malformed") a nonce outside 16..24 bytes,
// a signer key that is not 32 bytes, a signature that is not 64 bytes, a missing payload or
// a credential larger than kMaxCredentialSize.
//
// `credential` is the signer's membership credential (crypto/membership.h). It is NOT
// covered by the envelope signature: it is self-authenticating (the admin signed it) and
// names the signer key it belongs to, so swapping it can only make verification fail.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/protocol.h"

namespace beemesh::protocol {

inline constexpr size_t kMinNonceSize = 16;
inline constexpr size_t kMaxNonceSize = 24;
// Upper bound of a membership credential on the wire (== crypto::kMaxCredentialSize).
inline constexpr size_t kMaxCredentialSize = 4 * 1024;

struct Envelope {
  uint16_t schema_version = kSchemaVersion;
  PayloadType payload_type = PayloadType::kErrorReply;
  Bytes nonce;               // 16..24 random bytes
  int64_t timestamp_ms = 0;  // Unix time at signing
  PublicKeyBytes signer_public_key{};
  Bytes payload;  // exact bytes of the inner message
  SignatureBytes signature{};
  Bytes credential;  // not signed; empty when the signer has none
  bool operator==(const Envelope&) const = default;
};

Bytes encode_envelope(const Envelope& envelope);
Result<Envelope> decode_envelope(ByteView bytes, size_t max_size = kMaxMessageSize);

}  // namespace beemesh::protocol
