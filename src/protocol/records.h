// protocol/records.h — records kept in the DHT (and embedded in messages) as plain structs,
// with their FlatBuffers encoders and verifying decoders.
//
// Usage (the signing side lives in crypto/records.h):
//   protocol::ProviderRecord rec{...};
//   Bytes body = protocol::encode_provider_record(rec);            // exact bytes to sign
//   Bytes value = crypto::sign_record(identity, RecordType::kProviderRecord, body);
//   ... dht put(value) ... dht get -> bytes ...
//   auto opened = crypto::open_provider_record(bytes);  // verifies signature + signer
//
// Promise: decode_X(encode_X(r)) == r for every record; decoders follow the rules in
// protocol/protocol.h (size limit, Verifier, version, fixed field lengths).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/protocol.h"

namespace beemesh::protocol {

// The signed wrapper: signature covers a domain string + record_type + the exact body bytes
// (see docs/notes/crypto.md). Built and checked by crypto/records.h.
struct SignedRecord {
  uint16_t schema_version = kSchemaVersion;
  RecordType record_type = RecordType::kProviderRecord;
  Bytes body;
  PublicKeyBytes signer_public_key{};
  SignatureBytes signature{};
  bool operator==(const SignedRecord&) const = default;
};

struct ProviderRecord {
  uint16_t schema_version = kSchemaVersion;
  std::string manifest_id;
  std::string node_id;  // must equal crypto::node_id_of(signer_public_key)
  PublicKeyBytes signer_public_key{};
  std::string rpc_endpoint;  // "127.0.0.1:7401"
  std::string engine;        // "podman" | "docker" | "mock"
  std::map<std::string, std::string> capabilities;
  int64_t timestamp_ms = 0;  // when signed
  int64_t ttl_s = 0;
  uint64_t sequence = 0;  // higher replaces lower for the same (node, manifest)
  bool withdrawn = false;
  // The signer's membership credential (crypto/membership.h), at most kMaxCredentialSize
  // bytes (protocol/envelope.h); empty when the node has none. Covered by the record
  // signature like every other field; discovery checks it against the signer.
  Bytes credential;
  bool operator==(const ProviderRecord&) const = default;
};

struct PeerRecord {
  uint16_t schema_version = kSchemaVersion;
  std::string node_id;
  PublicKeyBytes signer_public_key{};
  std::vector<std::string> endpoints;
  int64_t timestamp_ms = 0;
  int64_t ttl_s = 0;
  uint64_t sequence = 0;
  bool operator==(const PeerRecord&) const = default;
};

enum class GrantAction : uint16_t {
  kKeyShare = 1,  // the grantee may fetch key shares of the manifest
  kDelete = 2,    // the grantee may delete the manifest's workloads
  kApply = 3,     // the grantee (an entry node) may place and publish the manifest
};

inline constexpr size_t kContentHashSize = 32;

// An owner's signed authorisation for one node to act on one manifest until expires_ms.
struct Grant {
  uint16_t schema_version = kSchemaVersion;
  GrantAction action = GrantAction::kKeyShare;
  std::string manifest_id;
  std::string node_id;               // grantee
  PublicKeyBytes node_public_key{};  // grantee's Ed25519 key
  PublicKeyBytes owner_public_key{};
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  // Empty, or kContentHashSize bytes: BLAKE2b-256 of what an apply grant covers
  // (crypto::apply_content_hash). Any other length does not decode ("malformed").
  Bytes content_hash;
  bool operator==(const Grant&) const = default;
};

struct ShareHolder {
  std::string node_id;
  PublicKeyBytes node_public_key{};  // Ed25519; its X25519 form receives the sealed share
  std::string rpc_endpoint;
  uint8_t share_index = 0;  // 1..255
  bool operator==(const ShareHolder&) const = default;
};

// An encrypted manifest and what is needed to rebuild its key.
struct AppliedManifest {
  uint16_t schema_version = kSchemaVersion;
  std::string manifest_id;
  PublicKeyBytes owner_public_key{};
  Bytes ciphertext;                 // XChaCha20-Poly1305 ciphertext + tag
  std::array<uint8_t, 24> nonce{};  // XChaCha20 nonce
  std::array<uint8_t, 32> key_commitment{};
  uint8_t threshold = 0;                   // k
  std::vector<ShareHolder> share_holders;  // n
  int64_t created_ms = 0;
  uint64_t sequence = 0;
  bool operator==(const AppliedManifest&) const = default;
};

Bytes encode_signed_record(const SignedRecord& record);
Result<SignedRecord> decode_signed_record(ByteView bytes, size_t max_size = kMaxRecordSize);

Bytes encode_provider_record(const ProviderRecord& record);
Result<ProviderRecord> decode_provider_record(ByteView bytes, size_t max_size = kMaxRecordSize);

Bytes encode_peer_record(const PeerRecord& record);
Result<PeerRecord> decode_peer_record(ByteView bytes, size_t max_size = kMaxRecordSize);

Bytes encode_grant(const Grant& grant);
Result<Grant> decode_grant(ByteView bytes, size_t max_size = kMaxRecordSize);

Bytes encode_applied_manifest(const AppliedManifest& manifest);
Result<AppliedManifest> decode_applied_manifest(ByteView bytes, size_t max_size = kMaxRecordSize);

}  // namespace beemesh::protocol
