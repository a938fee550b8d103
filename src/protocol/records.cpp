#include "protocol/records.h"

#include "protocol/applied_manifest_fb.h"
#include "protocol/envelope.h"
#include "protocol/fb_util.h"
#include "protocol/records_generated.h"

namespace beemesh::protocol {

namespace fbp = beemesh::protocol::fb;
using namespace detail;  // NOLINT(google-build-using-namespace): this folder's helpers

Bytes encode_signed_record(const SignedRecord& r) {
  flatbuffers::FlatBufferBuilder fbb(r.body.size() + 192);
  auto body = make_bytes(fbb, r.body);
  auto signer = make_bytes(fbb, r.signer_public_key);
  auto sig = make_bytes(fbb, r.signature);
  fbb.Finish(fbp::CreateSignedRecord(fbb, r.schema_version, static_cast<uint16_t>(r.record_type),
                                     body, signer, sig));
  return finish(fbb);
}

Result<SignedRecord> decode_signed_record(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "signed record";
  Bytes storage;
  auto root = verify_root<fbp::SignedRecord>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  SignedRecord out;
  out.schema_version = m->schema_version();
  out.record_type = static_cast<RecordType>(m->record_type());
  if (!m->body()) return malformed(what, "body: missing");
  out.body = bytes_of(m->body());
  auto signer = fixed<32>(m->signer_public_key(), what, "signer_public_key");
  if (!signer) return signer.error();
  out.signer_public_key = *signer;
  auto sig = fixed<64>(m->signature(), what, "signature");
  if (!sig) return sig.error();
  out.signature = *sig;
  return out;
}

Bytes encode_provider_record(const ProviderRecord& r) {
  flatbuffers::FlatBufferBuilder fbb(512);
  auto manifest_id = fbb.CreateString(r.manifest_id);
  auto node_id = fbb.CreateString(r.node_id);
  auto signer = make_bytes(fbb, r.signer_public_key);
  auto endpoint = fbb.CreateString(r.rpc_endpoint);
  auto engine = fbb.CreateString(r.engine);
  auto caps = make_key_values(fbb, r.capabilities);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> credential;  // absent when empty
  if (!r.credential.empty()) credential = make_bytes(fbb, r.credential);
  fbb.Finish(fbp::CreateProviderRecord(fbb, r.schema_version, manifest_id, node_id, signer,
                                       endpoint, engine, caps, r.timestamp_ms, r.ttl_s, r.sequence,
                                       r.withdrawn, credential));
  return finish(fbb);
}

Result<ProviderRecord> decode_provider_record(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "provider record";
  Bytes storage;
  auto root = verify_root<fbp::ProviderRecord>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  ProviderRecord out;
  out.schema_version = m->schema_version();
  out.manifest_id = str(m->manifest_id());
  out.node_id = str(m->node_id());
  auto signer = fixed<32>(m->signer_public_key(), what, "signer_public_key");
  if (!signer) return signer.error();
  out.signer_public_key = *signer;
  out.rpc_endpoint = str(m->rpc_endpoint());
  out.engine = str(m->engine());
  auto caps = key_values(m->capabilities(), what, "capabilities");
  if (!caps) return caps.error();
  out.capabilities = std::move(*caps);
  out.timestamp_ms = m->timestamp_ms();
  out.ttl_s = m->ttl_s();
  out.sequence = m->sequence();
  out.withdrawn = m->withdrawn();
  auto credential = bounded_bytes(m->credential(), kMaxCredentialSize, what, "credential");
  if (!credential) return credential.error();
  out.credential = std::move(*credential);
  return out;
}

Bytes encode_peer_record(const PeerRecord& r) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto node_id = fbb.CreateString(r.node_id);
  auto signer = make_bytes(fbb, r.signer_public_key);
  auto endpoints = fbb.CreateVectorOfStrings(r.endpoints);
  fbb.Finish(fbp::CreatePeerRecord(fbb, r.schema_version, node_id, signer, endpoints,
                                   r.timestamp_ms, r.ttl_s, r.sequence));
  return finish(fbb);
}

Result<PeerRecord> decode_peer_record(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "peer record";
  Bytes storage;
  auto root = verify_root<fbp::PeerRecord>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  PeerRecord out;
  out.schema_version = m->schema_version();
  out.node_id = str(m->node_id());
  auto signer = fixed<32>(m->signer_public_key(), what, "signer_public_key");
  if (!signer) return signer.error();
  out.signer_public_key = *signer;
  out.endpoints = strings(m->endpoints());
  out.timestamp_ms = m->timestamp_ms();
  out.ttl_s = m->ttl_s();
  out.sequence = m->sequence();
  return out;
}

Bytes encode_grant(const Grant& g) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto manifest_id = fbb.CreateString(g.manifest_id);
  auto node_id = fbb.CreateString(g.node_id);
  auto node_key = make_bytes(fbb, g.node_public_key);
  auto owner_key = make_bytes(fbb, g.owner_public_key);
  auto content_hash = g.content_hash.empty() ? 0 : make_bytes(fbb, g.content_hash);
  fbb.Finish(fbp::CreateGrant(fbb, g.schema_version, static_cast<uint16_t>(g.action), manifest_id,
                              node_id, node_key, owner_key, g.issued_ms, g.expires_ms,
                              content_hash));
  return finish(fbb);
}

Result<Grant> decode_grant(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "grant";
  Bytes storage;
  auto root = verify_root<fbp::Grant>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  Grant out;
  out.schema_version = m->schema_version();
  out.action = static_cast<GrantAction>(m->action());
  out.manifest_id = str(m->manifest_id());
  out.node_id = str(m->node_id());
  auto node_key = fixed<32>(m->node_public_key(), what, "node_public_key");
  if (!node_key) return node_key.error();
  out.node_public_key = *node_key;
  auto owner_key = fixed<32>(m->owner_public_key(), what, "owner_public_key");
  if (!owner_key) return owner_key.error();
  out.owner_public_key = *owner_key;
  out.issued_ms = m->issued_ms();
  out.expires_ms = m->expires_ms();
  if (m->content_hash()) {
    auto hash = fixed<kContentHashSize>(m->content_hash(), what, "content_hash");
    if (!hash) return hash.error();
    out.content_hash.assign(hash->begin(), hash->end());
  }
  return out;
}

namespace {

flatbuffers::Offset<fbp::AppliedManifest> build_applied_manifest(
    flatbuffers::FlatBufferBuilder& fbb, const AppliedManifest& a) {
  auto manifest_id = fbb.CreateString(a.manifest_id);
  auto owner = make_bytes(fbb, a.owner_public_key);
  auto ciphertext = make_bytes(fbb, a.ciphertext);
  auto nonce = make_bytes(fbb, a.nonce);
  auto commitment = make_bytes(fbb, a.key_commitment);
  std::vector<flatbuffers::Offset<fbp::ShareHolder>> holders;
  holders.reserve(a.share_holders.size());
  for (const auto& h : a.share_holders) {
    auto node_id = fbb.CreateString(h.node_id);
    auto key = make_bytes(fbb, h.node_public_key);
    auto endpoint = fbb.CreateString(h.rpc_endpoint);
    holders.push_back(fbp::CreateShareHolder(fbb, node_id, key, endpoint, h.share_index));
  }
  auto holders_vec = fbb.CreateVector(holders);
  return fbp::CreateAppliedManifest(fbb, a.schema_version, manifest_id, owner, ciphertext, nonce,
                                    commitment, a.threshold, holders_vec, a.created_ms, a.sequence);
}

}  // namespace

namespace detail {

// Shared with messages.cpp (ApplyRequest embeds an AppliedManifest).
flatbuffers::Offset<fbp::AppliedManifest> encode_applied_manifest_into(
    flatbuffers::FlatBufferBuilder& fbb, const AppliedManifest& a) {
  return build_applied_manifest(fbb, a);
}

Result<AppliedManifest> decode_applied_manifest_table(const fbp::AppliedManifest* m,
                                                      std::string_view what) {
  if (!m) return malformed(what, "applied manifest: missing");
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  AppliedManifest out;
  out.schema_version = m->schema_version();
  out.manifest_id = str(m->manifest_id());
  auto owner = fixed<32>(m->owner_public_key(), what, "owner_public_key");
  if (!owner) return owner.error();
  out.owner_public_key = *owner;
  if (!m->ciphertext()) return malformed(what, "ciphertext: missing");
  out.ciphertext = bytes_of(m->ciphertext());
  auto nonce = fixed<24>(m->nonce(), what, "nonce");
  if (!nonce) return nonce.error();
  out.nonce = *nonce;
  auto commitment = fixed<32>(m->key_commitment(), what, "key_commitment");
  if (!commitment) return commitment.error();
  out.key_commitment = *commitment;
  out.threshold = m->threshold();
  if (const auto* holders = m->share_holders()) {
    out.share_holders.reserve(holders->size());
    for (const auto* h : *holders) {
      if (!h) return malformed(what, "share_holders: null entry");
      ShareHolder sh;
      sh.node_id = str(h->node_id());
      auto key = fixed<32>(h->node_public_key(), what, "share_holders.node_public_key");
      if (!key) return key.error();
      sh.node_public_key = *key;
      sh.rpc_endpoint = str(h->rpc_endpoint());
      sh.share_index = h->share_index();
      out.share_holders.push_back(std::move(sh));
    }
  }
  out.created_ms = m->created_ms();
  out.sequence = m->sequence();
  return out;
}

}  // namespace detail

Bytes encode_applied_manifest(const AppliedManifest& a) {
  flatbuffers::FlatBufferBuilder fbb(a.ciphertext.size() + 512);
  fbb.Finish(build_applied_manifest(fbb, a));
  return finish(fbb);
}

Result<AppliedManifest> decode_applied_manifest(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "applied manifest";
  Bytes storage;
  auto root = verify_root<fbp::AppliedManifest>(bytes, max_size, what, storage);
  if (!root) return root.error();
  return detail::decode_applied_manifest_table(*root, what);
}

}  // namespace beemesh::protocol
