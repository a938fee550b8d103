#include "protocol/envelope.h"

#include "protocol/envelope_generated.h"
#include "protocol/fb_util.h"

namespace beemesh::protocol {

namespace fbp = beemesh::protocol::fb;
using namespace detail;  // NOLINT(google-build-using-namespace): this folder's helpers

Bytes encode_envelope(const Envelope& e) {
  flatbuffers::FlatBufferBuilder fbb(e.payload.size() + e.credential.size() + 192);
  auto nonce = make_bytes(fbb, e.nonce);
  auto signer = make_bytes(fbb, e.signer_public_key);
  auto payload = make_bytes(fbb, e.payload);
  auto sig = make_bytes(fbb, e.signature);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> credential;  // absent when empty
  if (!e.credential.empty()) credential = make_bytes(fbb, e.credential);
  fbb.Finish(fbp::CreateEnvelope(fbb, e.schema_version, static_cast<uint16_t>(e.payload_type),
                                 nonce, e.timestamp_ms, signer, payload, sig, credential));
  return finish(fbb);
}

Result<Envelope> decode_envelope(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "envelope";
  Bytes storage;
  auto root = verify_root<fbp::Envelope>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  Envelope out;
  out.schema_version = m->schema_version();
  out.payload_type = static_cast<PayloadType>(m->payload_type());
  const auto* nonce = m->nonce();
  if (!nonce || nonce->size() < kMinNonceSize || nonce->size() > kMaxNonceSize) {
    return malformed(
        what, "nonce: expected 16..24 bytes, got " + std::to_string(nonce ? nonce->size() : 0));
  }
  out.nonce = bytes_of(nonce);
  out.timestamp_ms = m->timestamp_ms();
  auto signer = fixed<32>(m->signer_public_key(), what, "signer_public_key");
  if (!signer) return signer.error();
  out.signer_public_key = *signer;
  if (!m->payload()) return malformed(what, "payload: missing");
  out.payload = bytes_of(m->payload());
  auto sig = fixed<64>(m->signature(), what, "signature");
  if (!sig) return sig.error();
  out.signature = *sig;
  auto credential = bounded_bytes(m->credential(), kMaxCredentialSize, what, "credential");
  if (!credential) return credential.error();
  out.credential = std::move(*credential);
  return out;
}

}  // namespace beemesh::protocol
