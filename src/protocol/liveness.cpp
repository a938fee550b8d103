#include "protocol/liveness.h"

#include "protocol/envelope.h"
#include "protocol/fb_util.h"
#include "protocol/liveness_generated.h"

namespace beemesh::protocol {

namespace fbp = beemesh::protocol::fb;
using namespace detail;  // NOLINT(google-build-using-namespace): this folder's helpers

Bytes encode_heartbeat(const Heartbeat& h) {
  flatbuffers::FlatBufferBuilder fbb(256 + h.credential.size());
  auto node_id = fbb.CreateString(h.node_id);
  auto signer = make_bytes(fbb, h.signer_public_key);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> credential;  // absent when empty
  if (!h.credential.empty()) credential = make_bytes(fbb, h.credential);
  fbb.Finish(fbp::CreateHeartbeat(fbb, h.schema_version, node_id, signer, h.timestamp_ms,
                                  h.validity_ms, h.sequence, credential));
  return finish(fbb);
}

Result<Heartbeat> decode_heartbeat(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "heartbeat";
  Bytes storage;
  auto root = verify_root<fbp::Heartbeat>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  Heartbeat out;
  out.schema_version = m->schema_version();
  out.node_id = str(m->node_id());
  auto signer = fixed<32>(m->signer_public_key(), what, "signer_public_key");
  if (!signer) return signer.error();
  out.signer_public_key = *signer;
  out.timestamp_ms = m->timestamp_ms();
  out.validity_ms = m->validity_ms();
  out.sequence = m->sequence();
  auto credential = bounded_bytes(m->credential(), kMaxCredentialSize, what, "credential");
  if (!credential) return credential.error();
  out.credential = std::move(*credential);
  return out;
}

}  // namespace beemesh::protocol
