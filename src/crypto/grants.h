// crypto/grants.h — owner-signed grants and the key holder's release of a share.
//
// Usage:
//   // owner (entry node), when it picks node T to deploy manifest M:
//   Bytes grant = crypto::issue_grant(owner, GrantAction::kKeyShare, M, T_public_key,
//                                     clock.now_ms(), clock.now_ms() + 10 * 60'000);
//   // T sends KeyShareRequest{manifest_id = M, grant} in an envelope it signs.
//   // holder, with the envelope already verified (signer = T):
//   auto sealed = crypto::release_share(holder_identity, stored_share, env.signer,
//                                       req.grant, clock);
//   // -> KeyShareResponse{ok, share_index, sealed_share = *sealed} or {code = error code}
//
// Promise:
//  * A grant is a SignedRecord (RecordType::kGrant) whose body is a protocol::Grant, signed
//    by owner_public_key; node_id is node_id_of(node_public_key).
//  * check_grant refuses, each with its own code:
//      opening errors: "oversized", "malformed", "unexpected_record_type", "bad_signature",
//                      "signer_mismatch" (signed by a key other than owner_public_key, or
//                      node_id does not match node_public_key)
//      "grant_wrong_owner"    signed by someone other than the manifest's owner
//      "grant_wrong_action"   e.g. a delete grant used to fetch key shares
//      "grant_wrong_manifest" names another manifest id
//      "grant_wrong_node"     names another node than the requester
//      "grant_wrong_content"  the expectation sets a content hash and the grant carries
//                             another one or none
//      "grant_expired"        now > expires_ms
//      "grant_not_yet_valid"  issued_ms more than `skew` in the future
//    The codes are checked in the order listed.
//  * apply_content_hash() is BLAKE2b-256 over this unambiguous encoding (u32/u64 big-endian;
//    lp(x) = u32 length || x):
//      "beemesh-apply-content-v1" || lp(manifest_yaml) || u32 count(env)
//      || for each env entry in key order: lp(key) || lp(value)
//      || u64 memory_limit_bytes || u64 cpu_limit_millis || u64 replicas
//    (signed values as two's complement). The owner's CLI puts it in its apply grant; a
//    target recomputes it from what it was asked to deploy and expects it in check_grant.
//  * release_share() checks the grant (action kKeyShare), opens the holder's sealed share
//    and re-seals it to the requester's X25519 key (or seals it into a batch answer for the
//    requester); the plain share never leaves it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/x25519_cache.h"
#include "protocol/records.h"

namespace beemesh::crypto {

class ShareBatchSealer;  // crypto/manifest_crypto.h

using protocol::GrantAction;

// `content_hash` (empty, or protocol::kContentHashSize bytes) binds an apply grant to the
// exact content applied (apply_content_hash).
Bytes issue_grant(const Identity& owner, GrantAction action, std::string_view manifest_id,
                  const PublicKey& grantee, int64_t issued_ms, int64_t expires_ms,
                  ByteView content_hash = {});

// BLAKE2b-256 of what an apply covers (layout in the promise above).
Bytes apply_content_hash(std::string_view manifest_yaml,
                         const std::map<std::string, std::string>& env, int64_t memory_limit_bytes,
                         int64_t cpu_limit_millis, int replicas);

// Signature and internal consistency only (no expiry, no expectations).
Result<protocol::Grant> open_grant(ByteView bytes, size_t max_size = protocol::kMaxRecordSize);

struct GrantExpectation {
  GrantAction action = GrantAction::kKeyShare;
  std::string manifest_id;
  PublicKey owner{};      // the manifest's owner
  PublicKey requester{};  // the verified envelope signer asking to act
  Bytes content_hash{};   // when not empty, the grant must carry exactly this content hash
};

Result<protocol::Grant> check_grant(ByteView grant_bytes, const GrantExpectation& expect,
                                    const Clock& clock,
                                    std::chrono::milliseconds skew = std::chrono::seconds(30));
// check_grant's expectation checks on a grant open_grant() already opened (its signature
// verified once): the same codes, in the same order, minus the opening errors.
Result<protocol::Grant> check_opened_grant(
    protocol::Grant opened, const GrantExpectation& expect, const Clock& clock,
    std::chrono::milliseconds skew = std::chrono::seconds(30));

// What a key holder keeps for one manifest (from a StoreShareRequest).
struct StoredShare {
  std::string manifest_id;
  PublicKey owner_public_key{};
  uint8_t share_index = 0;
  Bytes sealed_share;  // sealed to the holder's own X25519 key
};

// Checks `grant_bytes` for (kKeyShare, stored.manifest_id, stored.owner, requester), then
// returns the share re-sealed to x25519_of(requester). Errors: check_grant's codes,
// "bad_share" (stored share does not open), "bad_public_key".
Result<Bytes> release_share(const Identity& holder, const StoredShare& stored,
                            const PublicKey& requester, ByteView grant_bytes, const Clock& clock);
// The same with a grant the caller opened with open_grant() (not verified twice), and
// the requester's X25519 key from `keys` when given (a holder converts each requester once).
Result<Bytes> release_share(const Identity& holder, const StoredShare& stored,
                            const PublicKey& requester, const protocol::Grant& opened_grant,
                            const Clock& clock, X25519Cache* keys = nullptr);
// The same checks, the share sealed with `sealer` (one batch answer to `requester`, which
// the sealer must have been made for: crypto/manifest_crypto.h ShareBatchSealer).
Result<Bytes> release_share(const Identity& holder, const StoredShare& stored,
                            const PublicKey& requester, const protocol::Grant& opened_grant,
                            const Clock& clock, const ShareBatchSealer& sealer);

}  // namespace beemesh::crypto
