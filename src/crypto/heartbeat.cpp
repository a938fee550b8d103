#include "crypto/heartbeat.h"

#include "crypto/records.h"

namespace beemesh::crypto {

Bytes sign_heartbeat(const Identity& signer, const protocol::Heartbeat& heartbeat) {
  return sign_record(signer, RecordType::kHeartbeat, protocol::encode_heartbeat(heartbeat));
}

Result<protocol::Heartbeat> open_heartbeat(ByteView bytes) {
  auto verified = open_record(bytes, RecordType::kHeartbeat, protocol::kMaxHeartbeatSize);
  if (!verified) return verified.error();
  auto hb = protocol::decode_heartbeat(verified->body);
  if (!hb) return hb.error();
  if (hb->signer_public_key != verified->signer) {
    return make_error("signer_mismatch", "heartbeat signed by " + node_id_of(verified->signer) +
                                             " names the key of " +
                                             node_id_of(hb->signer_public_key));
  }
  if (hb->node_id != node_id_of(verified->signer)) {
    return make_error("signer_mismatch", "heartbeat names node '" + hb->node_id +
                                             "' but was signed by " + node_id_of(verified->signer));
  }
  return hb;
}

}  // namespace beemesh::crypto
