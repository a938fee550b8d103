// protocol/protocol.h — what every beemesh wire message shares: the schema version, the
// payload and record type numbers, size limits and the decoding error codes.
//
// Promise:
//  * Every message and record carries schema_version; encoders write kSchemaVersion.
//  * Every decoder first checks the size limit (Error "oversized"), then runs the
//    FlatBuffers Verifier over the untrusted bytes (Error "malformed"), then checks the
//    schema version (0/missing -> "malformed", newer -> "unsupported_version") and the
//    length of fixed-size fields (keys 32 bytes, signatures 64, ...; -> "malformed").
//    Decoders never crash or read out of bounds on any input.
//  * Decoders return plain C++ structs; no FlatBuffers type leaks out of src/protocol.
//  * This folder knows nothing about cryptography: it carries keys and signatures as bytes.
//    Signing and verifying live in src/crypto.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace beemesh::protocol {

inline constexpr uint16_t kSchemaVersion = 1;

// Default upper bounds for untrusted input.
inline constexpr size_t kMaxMessageSize = 4 * 1024 * 1024;  // one envelope / message
inline constexpr size_t kMaxRecordSize = 64 * 1024;         // one DHT value (OpenDHT limit)

using PublicKeyBytes = std::array<uint8_t, 32>;  // Ed25519 or X25519 public key
using SignatureBytes = std::array<uint8_t, 64>;  // Ed25519 signature

// What an Envelope carries. The number is part of the signed bytes: never renumber.
enum class PayloadType : uint16_t {
  kApplyRequest = 1,
  kApplyResponse = 2,
  kDeleteRequest = 3,
  kDeleteResponse = 4,
  kKeyShareRequest = 5,
  kKeyShareResponse = 6,
  kStoreShareRequest = 7,
  kStoreShareResponse = 8,
  kCapacityRequest = 9,
  kCapacityReply = 10,
  kErrorReply = 11,
  kQueryRequest = 12,
  kQueryReply = 13,
  kApiAuth = 14,
  kKeyShareBatchRequest = 15,
  kKeyShareBatchResponse = 16,
};
std::string_view payload_type_name(PayloadType type);  // "apply_request", ... "unknown"

// What a SignedRecord carries. Part of the signed bytes: never renumber.
enum class RecordType : uint16_t {
  kProviderRecord = 1,
  kPeerRecord = 2,
  kAppliedManifest = 3,
  kGrant = 4,
  kCertificate = 5,     // protocol/membership_records.h
  kRevocationList = 6,  // protocol/membership_records.h
  kDesiredIntent = 7,   // protocol/intent.h
  kHeartbeat = 16,      // protocol/liveness.h (16: kept clear of the numbers after 6)
};
std::string_view record_type_name(RecordType type);  // "provider_record", ... "unknown"

// Error codes produced by decoders.
inline constexpr std::string_view kErrOversized = "oversized";
inline constexpr std::string_view kErrMalformed = "malformed";
inline constexpr std::string_view kErrUnsupportedVersion = "unsupported_version";

}  // namespace beemesh::protocol
