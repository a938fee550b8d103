// protocol/messages.h — the request/response payloads carried inside signed Envelopes, as
// plain structs with FlatBuffers encoders and verifying decoders.
//
// Usage:
//   protocol::ApplyRequest req{...};
//   Bytes env = crypto::sign_message(identity, req, clock);       // crypto/envelope.h
//   ... on the receiver:
//   auto got = crypto::open_message<protocol::ApplyRequest>(verifier, env);
//   // or, when the envelope is already verified: protocol::decode<ApplyRequest>(payload)
//
// Promise: for every message type T, decode<T>(encode(m)) == m; each struct names its
// Envelope payload type as T::kType; decoders follow the rules in protocol/protocol.h
// (size limit -> "oversized", Verifier -> "malformed", version, fixed field lengths).
// No message type has a field for a private key; secrets travel only sealed (sealed_share)
// or encrypted (AppliedManifest.ciphertext).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/protocol.h"
#include "protocol/records.h"

namespace beemesh::protocol {

// Entry node -> chosen node: deploy this encrypted manifest.
struct ApplyRequest {
  static constexpr PayloadType kType = PayloadType::kApplyRequest;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string manifest_id;
  PublicKeyBytes owner_public_key{};
  AppliedManifest applied_manifest;  // ciphertext, nonce, key commitment, share holders
  uint8_t threshold = 0;             // k shares rebuild the key
  Bytes grant;  // crypto-signed Grant(kKeyShare) for the target node (SignedRecord bytes)
  std::string workload_id;
  int32_t replicas = 1;                // replicas this node runs
  int32_t total_replicas = 1;          // replicas of the whole placement
  std::vector<std::string> placement;  // node ids chosen for the manifest
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  int64_t memory_limit_bytes = 0;  // per container; 0 = keep the manifest's
  int64_t cpu_limit_millis = 0;    // per container; 0 = keep the manifest's
  Bytes owner_grant;       // owner-signed Grant(kApply) naming the envelope signer (entry node)
  Bytes owner_credential;  // the owner's user credential (crypto/membership.h)
  // The owner-signed DesiredIntent (SignedRecord bytes, ≤ kMaxSignedIntentSize) that
  // authorises a re-placement instead of owner_grant (apply/intent_authorization.h).
  Bytes intent;
  bool operator==(const ApplyRequest&) const = default;
};

struct ApplyResponse {
  static constexpr PayloadType kType = PayloadType::kApplyResponse;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  bool ok = false;
  std::string code;  // empty when ok, else an Error code
  std::string message;
  std::string manifest_id;
  std::string workload_id;
  std::string node_id;
  bool operator==(const ApplyResponse&) const = default;
};

// Owner (or a node holding an owner-signed Grant(kDelete)) -> provider: remove workloads.
struct DeleteRequest {
  static constexpr PayloadType kType = PayloadType::kDeleteRequest;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string manifest_id;
  PublicKeyBytes owner_public_key{};
  std::string workload_id;  // empty = every workload of the manifest on this node
  Bytes grant;              // empty when the envelope signer is the owner
  bool operator==(const DeleteRequest&) const = default;
};

struct DeleteResponse {
  static constexpr PayloadType kType = PayloadType::kDeleteResponse;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  bool ok = false;
  std::string code;
  std::string message;
  std::string manifest_id;
  std::string node_id;
  uint32_t removed = 0;  // workloads removed
  bool operator==(const DeleteResponse&) const = default;
};

// Entry node -> key holder: keep this share (sealed to the holder's X25519 key).
struct StoreShareRequest {
  static constexpr PayloadType kType = PayloadType::kStoreShareRequest;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string manifest_id;
  PublicKeyBytes owner_public_key{};
  uint8_t share_index = 0;
  Bytes sealed_share;
  std::array<uint8_t, 32> key_commitment{};
  uint8_t threshold = 0;
  int64_t expires_ms = 0;                      // when the holder drops the share
  PublicKeyBytes manifest_owner_public_key{};  // the user who owns the manifest
  Bytes owner_grant;       // that owner's Grant(kApply) naming the envelope signer
  Bytes owner_credential;  // that owner's user credential
  Bytes intent;            // the owner's DesiredIntent instead of owner_grant (re-placement)
  bool operator==(const StoreShareRequest&) const = default;
};

struct StoreShareResponse {
  static constexpr PayloadType kType = PayloadType::kStoreShareResponse;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  bool ok = false;
  std::string code;
  std::string message;
  std::string manifest_id;
  uint8_t share_index = 0;
  bool operator==(const StoreShareResponse&) const = default;
};

// Deploying node -> key holder: give me your share; `grant` proves the owner allows it.
struct KeyShareRequest {
  static constexpr PayloadType kType = PayloadType::kKeyShareRequest;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string manifest_id;
  Bytes grant;  // SignedRecord bytes of an owner-signed Grant(kKeyShare) naming the requester
  // The share index the applied manifest names for this holder: a holder may keep several
  // splits of one publisher (a re-apply or re-placement encrypts again). 0 = the lowest.
  uint8_t share_index = 0;
  bool operator==(const KeyShareRequest&) const = default;
};

struct KeyShareResponse {
  static constexpr PayloadType kType = PayloadType::kKeyShareResponse;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  bool ok = false;
  std::string code;  // grant_wrong_node, grant_expired, unknown_manifest, ...
  std::string message;
  std::string manifest_id;
  uint8_t share_index = 0;
  Bytes sealed_share;  // sealed to the requester's X25519 key
  bool operator==(const KeyShareResponse&) const = default;
};

// Several key-share requests to one holder in one envelope (apply/share_batcher.h). Each
// item is what a KeyShareRequest carries; the response answers item i in items[i].
inline constexpr size_t kMaxKeyShareBatch = 64;  // items per batch (decode: "malformed")

struct KeyShareItem {
  std::string manifest_id;
  Bytes grant;  // SignedRecord bytes of an owner-signed Grant(kKeyShare) naming the requester
  uint8_t share_index = 0;
  bool operator==(const KeyShareItem&) const = default;
};

struct KeyShareBatchRequest {
  static constexpr PayloadType kType = PayloadType::kKeyShareBatchRequest;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::vector<KeyShareItem> items;  // 1..kMaxKeyShareBatch
  bool operator==(const KeyShareBatchRequest&) const = default;
};

struct KeyShareItemResult {
  bool ok = false;
  std::string code;
  std::string message;
  std::string manifest_id;
  uint8_t share_index = 0;
  Bytes sealed_share;  // boxed for the requester (crypto::ShareBatchSealer)
  bool operator==(const KeyShareItemResult&) const = default;
};

struct KeyShareBatchResponse {
  static constexpr PayloadType kType = PayloadType::kKeyShareBatchResponse;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  bool ok = false;  // false: the whole batch refused (not a member, malformed, ...)
  std::string code;
  std::string message;
  std::vector<KeyShareItemResult> items;  // ≤ kMaxKeyShareBatch, in request order
  // The holder's ephemeral X25519 key for this answer (32 bytes; empty when nothing was
  // released): each released share is boxed with it (crypto::ShareBatchOpener).
  Bytes ephemeral_public_key;
  bool operator==(const KeyShareBatchResponse&) const = default;
};

// Placement: how much room has a node for this manifest?
struct CapacityRequest {
  static constexpr PayloadType kType = PayloadType::kCapacityRequest;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string manifest_id;
  int64_t cpu_millis = 0;    // per replica
  int64_t memory_bytes = 0;  // per replica
  int32_t replicas = 1;
  std::string engine;  // empty = any
  bool operator==(const CapacityRequest&) const = default;
};

struct CapacityReply {
  static constexpr PayloadType kType = PayloadType::kCapacityReply;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string node_id;
  std::string rpc_endpoint;
  bool accepts = false;
  int64_t available_cpu_millis = 0;
  int64_t available_memory_bytes = 0;
  int32_t max_replicas = 0;
  std::string engine;
  double score = 0.0;  // higher = better fit
  std::map<std::string, std::string> capabilities;
  bool operator==(const CapacityReply&) const = default;
};

// Node -> node: describe a workload or return its logs (reads through any node).
struct QueryRequest {
  static constexpr PayloadType kType = PayloadType::kQueryRequest;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string kind;  // "workload" | "logs"
  std::string workload_id;
  int32_t tail_lines = 0;
  bool operator==(const QueryRequest&) const = default;
};

struct QueryReply {
  static constexpr PayloadType kType = PayloadType::kQueryReply;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  bool ok = false;
  std::string code;
  std::string message;
  std::string body;  // JSON description or log text
  bool operator==(const QueryReply&) const = default;
};

// Any request the receiver refused before it reached a handler (bad envelope, unknown type).
struct ErrorReply {
  static constexpr PayloadType kType = PayloadType::kErrorReply;
  uint16_t schema_version = kSchemaVersion;
  std::string request_id;
  std::string code;
  std::string message;
  bool operator==(const ErrorReply&) const = default;
};

// User -> node (REST): "I, the envelope signer, send `method path` to this node". Sent as
// the X-Beemesh-Auth header; audience_public_key binds it to one node.
struct ApiAuth {
  static constexpr PayloadType kType = PayloadType::kApiAuth;
  uint16_t schema_version = kSchemaVersion;
  std::string method;  // "GET", "POST", ...
  std::string path;    // request path without the query, e.g. "/workloads/w1/logs"
  PublicKeyBytes audience_public_key{};
  bool operator==(const ApiAuth&) const = default;
};

Bytes encode(const ApplyRequest& m);
Bytes encode(const ApplyResponse& m);
Bytes encode(const DeleteRequest& m);
Bytes encode(const DeleteResponse& m);
Bytes encode(const StoreShareRequest& m);
Bytes encode(const StoreShareResponse& m);
Bytes encode(const KeyShareRequest& m);
Bytes encode(const KeyShareResponse& m);
Bytes encode(const KeyShareBatchRequest& m);
Bytes encode(const KeyShareBatchResponse& m);
Bytes encode(const CapacityRequest& m);
Bytes encode(const CapacityReply& m);
Bytes encode(const ErrorReply& m);
Bytes encode(const QueryRequest& m);
Bytes encode(const QueryReply& m);
Bytes encode(const ApiAuth& m);

// decode<T>(bytes): defined for each message type above.
template <typename T>
Result<T> decode(ByteView bytes, size_t max_size = kMaxMessageSize);

template <>
Result<ApplyRequest> decode<ApplyRequest>(ByteView bytes, size_t max_size);
template <>
Result<ApplyResponse> decode<ApplyResponse>(ByteView bytes, size_t max_size);
template <>
Result<DeleteRequest> decode<DeleteRequest>(ByteView bytes, size_t max_size);
template <>
Result<DeleteResponse> decode<DeleteResponse>(ByteView bytes, size_t max_size);
template <>
Result<StoreShareRequest> decode<StoreShareRequest>(ByteView bytes, size_t max_size);
template <>
Result<StoreShareResponse> decode<StoreShareResponse>(ByteView bytes, size_t max_size);
template <>
Result<KeyShareRequest> decode<KeyShareRequest>(ByteView bytes, size_t max_size);
template <>
Result<KeyShareResponse> decode<KeyShareResponse>(ByteView bytes, size_t max_size);
template <>
Result<KeyShareBatchRequest> decode<KeyShareBatchRequest>(ByteView bytes, size_t max_size);
template <>
Result<KeyShareBatchResponse> decode<KeyShareBatchResponse>(ByteView bytes, size_t max_size);
template <>
Result<CapacityRequest> decode<CapacityRequest>(ByteView bytes, size_t max_size);
template <>
Result<CapacityReply> decode<CapacityReply>(ByteView bytes, size_t max_size);
template <>
Result<ErrorReply> decode<ErrorReply>(ByteView bytes, size_t max_size);
template <>
Result<QueryRequest> decode<QueryRequest>(ByteView bytes, size_t max_size);
template <>
Result<QueryReply> decode<QueryReply>(ByteView bytes, size_t max_size);
template <>
Result<ApiAuth> decode<ApiAuth>(ByteView bytes, size_t max_size);

}  // namespace beemesh::protocol
