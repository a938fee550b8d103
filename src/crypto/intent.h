// crypto/intent.h — the owner-signed desired state of a manifest: signing, opening,
// verifying who may hold it, and which of two versions wins.
//
// Usage:
//   // owner (the CLI, on the user's machine):
//   protocol::DesiredIntent intent{.manifest_id = mid, .owner_public_key = owner.public_key(),
//       .namespaces = {"default"}, .name = "Deployment/web",
//       .content_version = crypto::content_version(yaml), .sequence = now_ms,
//       .replicas = 3, .issued_ms = now_ms};
//   Bytes signed_intent = crypto::sign_intent(owner, intent);
//   // any node, on every value read from the DHT:
//   auto state = crypto::open_desired_state(value, membership);  // verified or an Error
//   if (state && (!current || crypto::supersedes(state->intent, current->intent))) ...
//
// Promise:
//  * content_version(yaml) = BLAKE2b-256("beemesh-content-version-v1" || u32 BE len || yaml):
//    the manifest's content only (not the replica count, not the owner), so a re-apply of
//    the same bytes has the same version and any edit a new one.
//  * open_intent: a SignedRecord(kDesiredIntent) whose signer is owner_public_key
//    ("signer_mismatch"), decoded with protocol/intent.h's bounds.
//  * open_desired_state: decodes the DHT value (≤ 64 KiB), opens the intent, and with a
//    membership checks the owner credential: it must make the owner a member *user*
//    (membership codes pass through: not_a_member, credential_revoked, ...), of role at
//    least deployer ("forbidden_role") allowed in every namespace of the intent
//    ("forbidden_namespace"). An applied manifest part, when present, must open (signature
//    of its publisher) and name the same manifest id ("intent_mismatch"); a tombstone must
//    carry none ("malformed"). Nothing here checks freshness: the caller keeps the winner.
//  * supersedes(a, b): a replaces b when a.sequence > b.sequence, or when the sequences are
//    equal and a is a tombstone and b is not. Never for different manifest ids or owners.
#pragma once

#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "protocol/intent.h"
#include "protocol/records.h"

namespace beemesh::crypto {

Bytes content_version(std::string_view manifest_yaml);

Bytes sign_intent(const Identity& owner, const protocol::DesiredIntent& intent);
Result<protocol::DesiredIntent> open_intent(ByteView signed_intent);

struct DesiredState {
  protocol::DesiredIntent intent;
  std::optional<protocol::AppliedManifest> applied;  // absent on tombstones
  Bytes value;                                       // the exact DHT value (republished unchanged)
};

// `membership` null: no membership check (in-process unit meshes only).
Result<DesiredState> open_desired_state(ByteView value, const Membership* membership);

// Builds the DHT value from an owner-signed intent, the owner's credential and the
// publisher-signed applied manifest (empty for tombstones).
Bytes make_desired_state_value(ByteView signed_intent, ByteView owner_credential,
                               ByteView signed_applied_manifest);

bool supersedes(const protocol::DesiredIntent& a, const protocol::DesiredIntent& b);

}  // namespace beemesh::crypto
