// protocol/intent.h — desired state as plain structs: the owner's intent for one manifest
// (or its tombstone) and the DHT value that carries it (schema: intent.fbs).
//
// Promise: decode_X(encode_X(r)) == r; decoders follow protocol/protocol.h (size limit,
// Verifier, version, fixed field lengths) and also refuse, as "malformed": a content version
// that is not 32 bytes on an intent or present on a tombstone, more than
// kMaxIntentNamespaces namespaces, strings longer than kMaxIntentStringSize, parts of a
// DesiredStateRecord larger than their limits, an empty intent part. Signatures, the owner's
// membership and precedence are crypto/intent.h's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/protocol.h"

namespace beemesh::protocol {

inline constexpr size_t kContentVersionSize = 32;
inline constexpr size_t kMaxIntentNamespaces = 64;    // a manifest has at most 64 documents
inline constexpr size_t kMaxIntentStringSize = 512;   // manifest id, name, namespace, node
inline constexpr uint32_t kMaxIntentReplicas = 1000;  // apply::kMaxReplicas
inline constexpr size_t kMaxSignedIntentSize = 8 * 1024;
inline constexpr size_t kMaxIntentCredentialSize = 4 * 1024;  // kMaxCredentialSize

struct DesiredIntent {
  uint16_t schema_version = kSchemaVersion;
  bool tombstone = false;
  std::string manifest_id{};
  PublicKeyBytes owner_public_key{};
  std::vector<std::string> namespaces{};
  std::string name{};
  Bytes content_version{};  // kContentVersionSize bytes on an intent; empty on a tombstone
  uint64_t sequence = 0;
  uint32_t replicas = 0;
  std::string pinned_node{};
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  bool operator==(const DesiredIntent&) const = default;
};

struct DesiredStateRecord {
  uint16_t schema_version = kSchemaVersion;
  Bytes intent{};            // SignedRecord(kDesiredIntent) bytes
  Bytes owner_credential{};  // crypto/membership.h credential
  Bytes applied_manifest{};  // SignedRecord(kAppliedManifest) bytes, or empty
  bool operator==(const DesiredStateRecord&) const = default;
};

Bytes encode_desired_intent(const DesiredIntent& intent);
Result<DesiredIntent> decode_desired_intent(ByteView bytes, size_t max_size = kMaxSignedIntentSize);

Bytes encode_desired_state_record(const DesiredStateRecord& record);
Result<DesiredStateRecord> decode_desired_state_record(ByteView bytes,
                                                       size_t max_size = kMaxRecordSize);

}  // namespace beemesh::protocol
