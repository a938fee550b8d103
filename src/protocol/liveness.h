// protocol/liveness.h — the heartbeat record (liveness.fbs) as a plain struct, with its
// FlatBuffers encoder and verifying decoder. Signing and opening: crypto/heartbeat.h.
//
// Promise: decode_heartbeat(encode_heartbeat(h)) == h; the decoder follows the rules of
// protocol/protocol.h (size limit first, Verifier, version, 32-byte key) and refuses a
// credential over kMaxCredentialSize or a heartbeat over kMaxHeartbeatSize ("oversized").
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/protocol.h"

namespace beemesh::protocol {

// A heartbeat with its credential is under 1 KiB; nothing legitimate comes near this.
inline constexpr size_t kMaxHeartbeatSize = 8 * 1024;

struct Heartbeat {
  uint16_t schema_version = kSchemaVersion;
  std::string node_id;  // must equal crypto::node_id_of(signer_public_key)
  PublicKeyBytes signer_public_key{};
  int64_t timestamp_ms = 0;
  uint32_t validity_ms = 0;
  uint64_t sequence = 0;
  Bytes credential;
  bool operator==(const Heartbeat&) const = default;
};

Bytes encode_heartbeat(const Heartbeat& heartbeat);
Result<Heartbeat> decode_heartbeat(ByteView bytes, size_t max_size = kMaxHeartbeatSize);

}  // namespace beemesh::protocol
