// protocol/membership_records.h — the wire forms of mesh membership (membership.fbs) as plain
// structs: Certificate, Credential and RevocationList, with their encoders and verifying
// decoders. What they mean and how they are checked is crypto/membership.h.
//
// Usage (the signing side lives in crypto/membership.h):
//   Bytes body = protocol::encode_certificate(cert);     // exact bytes the issuer signs
//   auto cred = protocol::decode_credential(bytes, 4096);
//
// Promise: decode_X(encode_X(r)) == r for every valid record. Decoders follow the rules in
// protocol/protocol.h (size limit, Verifier, version, fixed field lengths) and also refuse
// with "malformed", naming the field:
//  * Certificate: an unknown kind or role; a serial that is not kSerialSize bytes; a name or
//    mesh id that is empty, longer than kMaxCertificateNameLength / kMaxMeshIdLength or not
//    printable ASCII; more than kMaxCertificateNamespaces namespaces, or one that is empty,
//    longer than kMaxNamespaceLength or not printable ASCII.
//  * Credential: a missing or empty certificate.
//  * RevocationList: a mesh id as above; serials or subject_keys whose length is not a
//    multiple of kSerialSize / 32; more than kMaxRevocationEntries entries in total.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/protocol.h"

namespace beemesh::protocol {

inline constexpr size_t kSerialSize = 16;
inline constexpr size_t kMaxCertificateNameLength = 64;
inline constexpr size_t kMaxMeshIdLength = 64;
inline constexpr size_t kMaxCertificateNamespaces = 64;
inline constexpr size_t kMaxNamespaceLength = 63;  // a Kubernetes namespace is a DNS label
inline constexpr size_t kMaxRevocationEntries = 10'000;
// Room for kMaxRevocationEntries keys plus the SignedRecord around them. Larger than one DHT
// value (kMaxRecordSize): a list of more than ~1,900 keys or ~3,800 serials travels by RPC
// only.
inline constexpr size_t kMaxRevocationListSize = 384 * 1024;

using SerialBytes = std::array<uint8_t, kSerialSize>;

enum class CertKind : uint16_t { kNode = 1, kUser = 2, kJoinTicket = 3 };
// Ordered: a higher role may do everything a lower one may.
enum class Role : uint16_t { kNone = 0, kViewer = 1, kDeployer = 2, kAdmin = 3 };

struct Certificate {
  uint16_t schema_version = kSchemaVersion;
  CertKind kind = CertKind::kNode;
  SerialBytes serial{};
  PublicKeyBytes subject_public_key{};
  std::string name;
  Role role = Role::kNone;
  std::vector<std::string> namespaces;  // empty = every namespace
  std::string mesh_id;
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
  bool operator==(const Certificate&) const = default;
};

struct Credential {
  uint16_t schema_version = kSchemaVersion;
  Bytes certificate;  // a SignedRecord(kCertificate)
  Bytes ticket;       // a SignedRecord(kCertificate) of kind kJoinTicket, or empty
  bool operator==(const Credential&) const = default;
};

struct RevocationList {
  uint16_t schema_version = kSchemaVersion;
  std::string mesh_id;
  uint64_t sequence = 0;
  int64_t issued_ms = 0;
  std::vector<SerialBytes> serials;
  std::vector<PublicKeyBytes> subject_keys;
  bool operator==(const RevocationList&) const = default;
};

Bytes encode_certificate(const Certificate& certificate);
Result<Certificate> decode_certificate(ByteView bytes, size_t max_size = kMaxRecordSize);

Bytes encode_credential(const Credential& credential);
Result<Credential> decode_credential(ByteView bytes, size_t max_size = kMaxRecordSize);

Bytes encode_revocation_list(const RevocationList& list);
Result<RevocationList> decode_revocation_list(ByteView bytes,
                                              size_t max_size = kMaxRevocationListSize);

}  // namespace beemesh::protocol
