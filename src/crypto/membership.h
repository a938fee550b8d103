// crypto/membership.h — who belongs to a mesh: admin-signed certificates for nodes and
// users, join tickets, and the admin's revocation list. Verifiable offline by every member.
//
// Usage:
//   // admin machine (beemesh mesh init / admit):
//   auto admin = crypto::Identity::load_or_create(dir / "admin.key");
//   Bytes cert = crypto::issue_certificate(*admin, {.kind = CertKind::kUser, .subject = user_key,
//                                                   .name = "alice", .role = Role::kDeployer,
//                                                   .mesh_id = "prod", .issued_ms = now,
//                                                   .expires_ms = now + year});
//   Bytes credential = crypto::make_credential(cert);            // what the user presents
//   // join ticket: the admin delegates "admit one node" to a throwaway ticket key; the new
//   // machine signs its own node certificate with the ticket key (one command, offline):
//   Bytes ticket = crypto::issue_certificate(*admin, {.kind = CertKind::kJoinTicket, ...});
//   Bytes node_cert = crypto::issue_certificate(ticket_identity, {.kind = CertKind::kNode, ...});
//   Bytes node_credential = crypto::make_credential(node_cert, ticket);
//   // every member:
//   crypto::Membership membership(admin_public_key, "prod", clock);
//   auto member = membership.verify(credential, envelope_signer);   // Result<Member>
//
// Promise:
//  * A certificate is a SignedRecord (RecordType::kCertificate) whose body is a
//    protocol::Certificate; the record's signer is the issuer. A credential is a
//    protocol::Credential{certificate, ticket}: ticket is empty when the admin signed the
//    certificate itself, else it is an admin-signed kJoinTicket certificate whose subject
//    key signed `certificate`. Chains are never longer than that.
//  * verify(credential, signer) succeeds only when all hold, else fails with exactly one
//    code (the message names the subject and why):
//      "no_credential"          credential is empty
//      "malformed_credential"   larger than kMaxCredentialSize, or does not decode
//      "not_a_member"           a signature does not verify, the chain does not end at the
//                               admin key, a ticket signed anything but a kNode certificate,
//                               a certificate of kind kJoinTicket is presented as a
//                               credential, or a node or ticket certificate carries a role
//                               or namespaces (only users have them)
//      "wrong_mesh"             a certificate names another mesh id
//      "credential_mismatch"    the certificate's subject is not `signer`
//      "credential_expired"     now > expires_ms of the certificate, or the certificate was
//                               issued (issued_ms) after its ticket expired
//      "credential_not_yet_valid" issued_ms (of the certificate or its ticket) more than
//                               30 s in the future
//      "credential_revoked"     the serial of the certificate or of its ticket, or the
//                               subject key of either, is in the current revocation list
//    The codes are checked in the order listed; the first that applies is returned.
//    Verified chains are cached by the BLAKE2b hash of the credential bytes (bounded: at
//    most kCacheEntries, oldest evicted); the signer, expiry and revocation are re-checked
//    on every call and a revocation update clears the cache. Chain failures (every code up
//    to "wrong_mesh": they depend on the credential bytes alone) are remembered apart,
//    bounded by kRefusedEntries (oldest forgotten), so a credential refused once is refused
//    again with the same error without verifying a signature again: a stranger resending
//    the same envelope costs a hash, not an Ed25519 verification. chain_verifications()
//    counts the chains verified from scratch.
//  * update_revocations() accepts only an admin-signed RevocationList for this mesh with a
//    higher sequence than the current one: "malformed" (larger than
//    protocol::kMaxRevocationListSize, not a revocation list, does not decode, or more than
//    kMaxRevocations entries in all), "bad_signature" (signature does not verify or the
//    signer is not the admin), "wrong_mesh", "stale_revocations" (sequence not higher).
//    Returns true when the list was installed, false when it is byte for byte the list
//    already installed (a list seen again by push and poll is not an error).
//    open_revocations() checks size, shape and signature only ("malformed",
//    "bad_signature"); sign_revocations() leaves out serials that are not kSerialSize
//    bytes (they cannot name a certificate).
//  * issue_certificate() draws a random serial when body.serial is not kSerialSize bytes.
//  * Thread-safe: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "protocol/membership_records.h"

namespace beemesh::crypto {

inline constexpr size_t kMaxCredentialSize = 4 * 1024;
inline constexpr size_t kMaxRevocations = protocol::kMaxRevocationEntries;  // 10'000
inline constexpr size_t kSerialSize = protocol::kSerialSize;                // 16

// kNode = 1, kUser = 2, kJoinTicket = 3 (protocol/membership_records.h).
using protocol::CertKind;
// kNone < kViewer < kDeployer < kAdmin: a higher role may do everything a lower one may.
using protocol::Role;

std::string_view role_name(Role role);               // "none", "viewer", "deployer", "admin"
std::optional<Role> parse_role(std::string_view s);  // inverse of role_name, except "none"
std::string_view cert_kind_name(CertKind kind);      // "node", "user", "join_ticket"

struct CertificateBody {
  CertKind kind = CertKind::kNode;
  Bytes serial{};  // kSerialSize random bytes; issue_certificate fills it when empty
  PublicKey subject{};
  std::string name{};                     // node or user name, 1..64 printable ASCII characters
  Role role = Role::kNone;                // users only
  std::vector<std::string> namespaces{};  // users only; empty = every namespace
  std::string mesh_id{};
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
};

// Signs `body` as a kCertificate record with `issuer`.
Bytes issue_certificate(const Identity& issuer, CertificateBody body);
// The bytes a signer presents (protocol::Credential).
Bytes make_credential(ByteView certificate, ByteView ticket = {});
// Signature and shape of one certificate record only (no chain, expiry or revocation).
struct OpenedCertificate {
  CertificateBody body{};
  PublicKey issuer{};
};
Result<OpenedCertificate> open_certificate(ByteView certificate);

struct Member {
  CertKind kind = CertKind::kNode;
  Role role = Role::kNone;
  PublicKey key{};
  std::string name{};
  std::vector<std::string> namespaces{};
  Bytes serial{};
  int64_t expires_ms = 0;
  // True when the member may act in `ns` (users: namespaces empty or containing ns).
  bool may_use_namespace(std::string_view ns) const;
};

struct RevocationList {
  std::string mesh_id{};
  uint64_t sequence = 0;
  int64_t issued_ms = 0;
  std::vector<Bytes> serials{};           // revoked certificate / ticket serials
  std::vector<PublicKey> subject_keys{};  // revoked keys, whatever certificate they hold
};
Bytes sign_revocations(const Identity& admin, const RevocationList& list);
Result<RevocationList> open_revocations(ByteView signed_list, const PublicKey& admin);

class Membership {
 public:
  static constexpr size_t kCacheEntries = 4096;
  static constexpr size_t kRefusedEntries = 4096;

  Membership(const PublicKey& admin, std::string mesh_id, const Clock& clock);
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  Result<Member> verify(ByteView credential, const PublicKey& signer) const;

  Result<bool> update_revocations(ByteView signed_list);
  Bytes revocations() const;  // the installed signed list, empty when none
  uint64_t revocation_sequence() const;
  uint64_t chain_verifications() const;

  const PublicKey& admin() const { return admin_; }
  const std::string& mesh_id() const { return mesh_id_; }

 private:
  struct State;
  const PublicKey admin_;
  const std::string mesh_id_;
  const Clock& clock_;
  std::unique_ptr<State> state_;
};

}  // namespace beemesh::crypto
