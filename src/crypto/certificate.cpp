// Certificates, credentials and revocation lists: issuing, signing and opening one record
// (crypto/membership.h). The chain checks live in membership.cpp.
#include <sodium.h>

#include <algorithm>

#include "crypto/membership.h"
#include "crypto/records.h"
#include "crypto/sodium_init.h"

namespace beemesh::crypto {

namespace {

protocol::Certificate to_wire(const CertificateBody& body) {
  protocol::Certificate cert;
  cert.kind = body.kind;
  if (body.serial.size() == kSerialSize) {
    std::copy(body.serial.begin(), body.serial.end(), cert.serial.begin());
  } else {
    detail::ensure_sodium();
    randombytes_buf(cert.serial.data(), cert.serial.size());
  }
  cert.subject_public_key = body.subject;
  cert.name = body.name;
  cert.role = body.role;
  cert.namespaces = body.namespaces;
  cert.mesh_id = body.mesh_id;
  cert.issued_ms = body.issued_ms;
  cert.expires_ms = body.expires_ms;
  return cert;
}

CertificateBody from_wire(protocol::Certificate cert) {
  CertificateBody body;
  body.kind = cert.kind;
  body.serial.assign(cert.serial.begin(), cert.serial.end());
  body.subject = cert.subject_public_key;
  body.name = std::move(cert.name);
  body.role = cert.role;
  body.namespaces = std::move(cert.namespaces);
  body.mesh_id = std::move(cert.mesh_id);
  body.issued_ms = cert.issued_ms;
  body.expires_ms = cert.expires_ms;
  return body;
}

// Every failure to open a revocation list that is not a bad signature is "malformed".
Error as_revocation_error(const Error& e) {
  if (e.code == "bad_signature") return e;
  return make_error("malformed", e.code + ": " + e.message);
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kViewer:
      return "viewer";
    case Role::kDeployer:
      return "deployer";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view s) {
  for (Role role : {Role::kViewer, Role::kDeployer, Role::kAdmin}) {
    if (s == role_name(role)) return role;
  }
  return std::nullopt;
}

std::string_view cert_kind_name(CertKind kind) {
  switch (kind) {
    case CertKind::kNode:
      return "node";
    case CertKind::kUser:
      return "user";
    case CertKind::kJoinTicket:
      return "join_ticket";
  }
  return "unknown";
}

bool Member::may_use_namespace(std::string_view ns) const {
  return namespaces.empty() ||
         std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
}

Bytes issue_certificate(const Identity& issuer, CertificateBody body) {
  return sign_record(issuer, RecordType::kCertificate, protocol::encode_certificate(to_wire(body)));
}

Bytes make_credential(ByteView certificate, ByteView ticket) {
  protocol::Credential credential;
  credential.certificate.assign(certificate.begin(), certificate.end());
  credential.ticket.assign(ticket.begin(), ticket.end());
  return protocol::encode_credential(credential);
}

Result<OpenedCertificate> open_certificate(ByteView certificate) {
  auto verified = open_record(certificate, RecordType::kCertificate, kMaxCredentialSize);
  if (!verified) return verified.error();
  auto cert = protocol::decode_certificate(verified->body, kMaxCredentialSize);
  if (!cert) return cert.error();
  return OpenedCertificate{from_wire(std::move(*cert)), verified->signer};
}

Bytes sign_revocations(const Identity& admin, const RevocationList& list) {
  protocol::RevocationList wire;
  wire.mesh_id = list.mesh_id;
  wire.sequence = list.sequence;
  wire.issued_ms = list.issued_ms;
  for (const auto& serial : list.serials) {
    if (serial.size() != kSerialSize) continue;
    protocol::SerialBytes s{};
    std::copy(serial.begin(), serial.end(), s.begin());
    wire.serials.push_back(s);
  }
  wire.subject_keys = list.subject_keys;
  return sign_record(admin, RecordType::kRevocationList, protocol::encode_revocation_list(wire));
}

Result<RevocationList> open_revocations(ByteView signed_list, const PublicKey& admin) {
  auto verified =
      open_record(signed_list, RecordType::kRevocationList, protocol::kMaxRevocationListSize);
  if (!verified) return as_revocation_error(verified.error());
  if (verified->signer != admin) {
    return make_error("bad_signature", "revocation list is signed by " +
                                           node_id_of(verified->signer) +
                                           ", not by the mesh admin " + node_id_of(admin));
  }
  auto wire = protocol::decode_revocation_list(verified->body, protocol::kMaxRevocationListSize);
  if (!wire) return as_revocation_error(wire.error());
  RevocationList list;
  list.mesh_id = std::move(wire->mesh_id);
  list.sequence = wire->sequence;
  list.issued_ms = wire->issued_ms;
  list.serials.reserve(wire->serials.size());
  for (const auto& s : wire->serials) list.serials.emplace_back(s.begin(), s.end());
  list.subject_keys = std::move(wire->subject_keys);
  return list;
}

}  // namespace beemesh::crypto
