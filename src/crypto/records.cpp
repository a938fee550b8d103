#include "crypto/records.h"

#include <string>

#include "crypto/signing_layout.h"

namespace beemesh::crypto {

namespace {

constexpr std::string_view kRecordDomain = "beemesh-record-v1";

Bytes record_signing_bytes(RecordType type, ByteView body) {
  Bytes out;
  out.reserve(kRecordDomain.size() + 2 + 4 + body.size());
  detail::append(out, as_bytes(kRecordDomain));
  detail::append_u16(out, static_cast<uint16_t>(type));
  detail::append_u32(out, static_cast<uint32_t>(body.size()));
  detail::append(out, body);
  return out;
}

Error signer_mismatch(std::string_view what, std::string_view detail_text) {
  return make_error("signer_mismatch", std::string(what) + ": " + std::string(detail_text));
}

}  // namespace

Bytes sign_record(const Identity& signer, RecordType type, ByteView body) {
  protocol::SignedRecord record;
  record.record_type = type;
  record.body.assign(body.begin(), body.end());
  record.signer_public_key = signer.public_key();
  record.signature = signer.sign(record_signing_bytes(type, body));
  return protocol::encode_signed_record(record);
}

Result<VerifiedRecord> open_record(ByteView bytes, RecordType expected, size_t max_size) {
  auto record = protocol::decode_signed_record(bytes, max_size);
  if (!record) return record.error();
  if (record->record_type != expected) {
    return make_error("unexpected_record_type",
                      "signed record holds a " +
                          std::string(protocol::record_type_name(record->record_type)) + " (" +
                          std::to_string(static_cast<unsigned>(record->record_type)) +
                          "), expected a " + std::string(protocol::record_type_name(expected)));
  }
  if (!verify_signature(record->signer_public_key,
                        record_signing_bytes(record->record_type, record->body),
                        record->signature)) {
    return make_error("bad_signature", std::string(protocol::record_type_name(expected)) +
                                           ": signature does not verify for signer " +
                                           node_id_of(record->signer_public_key));
  }
  return VerifiedRecord{record->record_type, record->signer_public_key, std::move(record->body)};
}

Bytes sign_provider_record(const Identity& signer, const protocol::ProviderRecord& record) {
  return sign_record(signer, RecordType::kProviderRecord, protocol::encode_provider_record(record));
}

Result<protocol::ProviderRecord> open_provider_record(ByteView bytes, size_t max_size) {
  auto verified = open_record(bytes, RecordType::kProviderRecord, max_size);
  if (!verified) return verified.error();
  auto record = protocol::decode_provider_record(verified->body, max_size);
  if (!record) return record.error();
  if (record->signer_public_key != verified->signer) {
    return signer_mismatch("provider record", "signed by " + node_id_of(verified->signer) +
                                                  " but names key of " +
                                                  node_id_of(record->signer_public_key));
  }
  if (record->node_id != node_id_of(verified->signer)) {
    return signer_mismatch(
        "provider record",
        "names node '" + record->node_id + "' but was signed by " + node_id_of(verified->signer));
  }
  return record;
}

Bytes sign_peer_record(const Identity& signer, const protocol::PeerRecord& record) {
  return sign_record(signer, RecordType::kPeerRecord, protocol::encode_peer_record(record));
}

Result<protocol::PeerRecord> open_peer_record(ByteView bytes, size_t max_size) {
  auto verified = open_record(bytes, RecordType::kPeerRecord, max_size);
  if (!verified) return verified.error();
  auto record = protocol::decode_peer_record(verified->body, max_size);
  if (!record) return record.error();
  if (record->signer_public_key != verified->signer) {
    return signer_mismatch("peer record", "signed by " + node_id_of(verified->signer) +
                                              " but names key of " +
                                              node_id_of(record->signer_public_key));
  }
  if (record->node_id != node_id_of(verified->signer)) {
    return signer_mismatch(
        "peer record",
        "names node '" + record->node_id + "' but was signed by " + node_id_of(verified->signer));
  }
  return record;
}

Bytes sign_applied_manifest(const Identity& owner, const protocol::AppliedManifest& manifest) {
  return sign_record(owner, RecordType::kAppliedManifest,
                     protocol::encode_applied_manifest(manifest));
}

Result<protocol::AppliedManifest> open_applied_manifest(ByteView bytes, size_t max_size) {
  auto verified = open_record(bytes, RecordType::kAppliedManifest, max_size);
  if (!verified) return verified.error();
  auto manifest = protocol::decode_applied_manifest(verified->body, max_size);
  if (!manifest) return manifest.error();
  if (manifest->owner_public_key != verified->signer) {
    return signer_mismatch("applied manifest " + manifest->manifest_id,
                           "signed by " + node_id_of(verified->signer) + ", not by its owner " +
                               node_id_of(manifest->owner_public_key));
  }
  return manifest;
}

}  // namespace beemesh::crypto
