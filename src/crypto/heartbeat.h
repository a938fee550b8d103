// crypto/heartbeat.h — signing and opening of heartbeat records (protocol/liveness.h).
//
// Usage:
//   Bytes value = crypto::sign_heartbeat(identity, hb);   // put under dht::liveness_key(id)
//   auto got = crypto::open_heartbeat(bytes);              // on every value read back
//
// Promise: a heartbeat is a SignedRecord of type kHeartbeat (crypto/records.h: signature over
// domain + type + exact body). open_heartbeat refuses anything over
// protocol::kMaxHeartbeatSize ("oversized") before parsing, any other record type, a bad
// signature, and a heartbeat whose signer_public_key is not the signing key or whose node_id
// is not node_id_of(that key) ("signer_mismatch"). Freshness and membership are the reader's
// policy (provider/liveness_table.h, provider/liveness_monitor.h).
#pragma once

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "protocol/liveness.h"

namespace beemesh::crypto {

Bytes sign_heartbeat(const Identity& signer, const protocol::Heartbeat& heartbeat);
Result<protocol::Heartbeat> open_heartbeat(ByteView bytes);

}  // namespace beemesh::crypto
