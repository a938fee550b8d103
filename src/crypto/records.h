// crypto/records.h — signing and opening of DHT records (SignedRecord wrapping).
//
// Usage (provider announcements):
//   protocol::ProviderRecord rec{.manifest_id = mid, .node_id = id.node_id(),
//                                .signer_public_key = id.public_key(), ...};
//   Bytes value = crypto::sign_provider_record(id, rec);      // put into the DHT
//   ...
//   auto got = crypto::open_provider_record(value);           // on every value read back
//   if (!got) skip(got.error().code);  // bad_signature, signer_mismatch, malformed, ...
//
// Generic form: sign_record(id, type, body) wraps any encoded body; open_record(bytes,
// type, max_size) checks size, structure, type and signature and returns the body bytes
// exactly as signed (they are never re-serialised).
//
// Promise:
//  * The signature covers "beemesh-record-v1" || u16 BE record_type || u32 BE body length
//    || body (docs/notes/crypto.md). A record of one type never opens as another.
//  * open_record errors: "oversized" (bytes > max_size), "malformed" (Verifier failure or
//    bad field lengths), "unsupported_version", "unexpected_record_type", "bad_signature".
//  * open_provider_record / open_peer_record additionally require that the record's
//    signer_public_key equals the key that signed it and that node_id == node_id_of(key)
//    ("signer_mismatch"); open_applied_manifest requires the signer to be the owner and
//    open_grant the signer to be owner_public_key ("signer_mismatch").
//  * Expiry (timestamp + ttl, withdrawn) is the reader's policy, not checked here, except
//    check_grant() in crypto/grants.h.
#pragma once

#include <cstddef>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "protocol/records.h"

namespace beemesh::crypto {

using protocol::RecordType;

struct VerifiedRecord {
  RecordType record_type = RecordType::kProviderRecord;
  PublicKey signer{};
  Bytes body;  // exactly the signed bytes
};

Bytes sign_record(const Identity& signer, RecordType type, ByteView body);
Result<VerifiedRecord> open_record(ByteView bytes, RecordType expected,
                                   size_t max_size = protocol::kMaxRecordSize);

// The typed helpers: encode + sign, and open + decode + signer checks.
Bytes sign_provider_record(const Identity& signer, const protocol::ProviderRecord& record);
Result<protocol::ProviderRecord> open_provider_record(ByteView bytes,
                                                      size_t max_size = protocol::kMaxRecordSize);

Bytes sign_peer_record(const Identity& signer, const protocol::PeerRecord& record);
Result<protocol::PeerRecord> open_peer_record(ByteView bytes,
                                              size_t max_size = protocol::kMaxRecordSize);

Bytes sign_applied_manifest(const Identity& owner, const protocol::AppliedManifest& manifest);
Result<protocol::AppliedManifest> open_applied_manifest(ByteView bytes,
                                                        size_t max_size = protocol::kMaxRecordSize);

}  // namespace beemesh::crypto
