#include "crypto/grants.h"

#include <sodium.h>
#include "crypto/manifest_crypto.h"
#include "crypto/records.h"
#include "crypto/signing_layout.h"
#include "crypto/sodium_init.h"

namespace beemesh::crypto {

namespace {

std::string action_name(GrantAction action) {
  switch (action) {
    case GrantAction::kKeyShare:
      return "key_share";
    case GrantAction::kDelete:
      return "delete";
    case GrantAction::kApply:
      return "apply";
  }
  return "unknown(" + std::to_string(static_cast<unsigned>(action)) + ")";
}

constexpr std::string_view kApplyContentDomain = "beemesh-apply-content-v1";

}  // namespace

Bytes apply_content_hash(std::string_view manifest_yaml,
                         const std::map<std::string, std::string>& env, int64_t memory_limit_bytes,
                         int64_t cpu_limit_millis, int replicas) {
  Bytes encoded;
  encoded.reserve(kApplyContentDomain.size() + manifest_yaml.size() + 64);
  detail::append(encoded, as_bytes(kApplyContentDomain));
  detail::append_lp(encoded, as_bytes(manifest_yaml));
  detail::append_u32(encoded, static_cast<uint32_t>(env.size()));
  for (const auto& [key, value] : env) {
    detail::append_lp(encoded, as_bytes(key));
    detail::append_lp(encoded, as_bytes(value));
  }
  detail::append_u64(encoded, static_cast<uint64_t>(memory_limit_bytes));
  detail::append_u64(encoded, static_cast<uint64_t>(cpu_limit_millis));
  detail::append_u64(encoded, static_cast<uint64_t>(static_cast<int64_t>(replicas)));
  detail::ensure_sodium();
  Bytes hash(protocol::kContentHashSize);
  crypto_generichash(hash.data(), hash.size(), encoded.data(), encoded.size(), nullptr, 0);
  return hash;
}

Bytes issue_grant(const Identity& owner, GrantAction action, std::string_view manifest_id,
                  const PublicKey& grantee, int64_t issued_ms, int64_t expires_ms,
                  ByteView content_hash) {
  protocol::Grant grant;
  grant.action = action;
  grant.manifest_id = std::string(manifest_id);
  grant.node_id = node_id_of(grantee);
  grant.node_public_key = grantee;
  grant.owner_public_key = owner.public_key();
  grant.issued_ms = issued_ms;
  grant.expires_ms = expires_ms;
  grant.content_hash.assign(content_hash.begin(), content_hash.end());
  return sign_record(owner, RecordType::kGrant, protocol::encode_grant(grant));
}

Result<protocol::Grant> open_grant(ByteView bytes, size_t max_size) {
  auto verified = open_record(bytes, RecordType::kGrant, max_size);
  if (!verified) return verified.error();
  auto grant = protocol::decode_grant(verified->body, max_size);
  if (!grant) return grant.error();
  if (grant->owner_public_key != verified->signer) {
    return make_error("signer_mismatch", "grant for manifest " + grant->manifest_id +
                                             " names owner " + node_id_of(grant->owner_public_key) +
                                             " but was signed by " + node_id_of(verified->signer));
  }
  if (grant->node_id != node_id_of(grant->node_public_key)) {
    return make_error("signer_mismatch", "grant for manifest " + grant->manifest_id +
                                             " names node '" + grant->node_id +
                                             "' that does not match its node key");
  }
  return grant;
}

Result<protocol::Grant> check_grant(ByteView grant_bytes, const GrantExpectation& expect,
                                    const Clock& clock, std::chrono::milliseconds skew) {
  auto grant = open_grant(grant_bytes);
  if (!grant) return grant.error();
  return check_opened_grant(std::move(*grant), expect, clock, skew);
}

Result<protocol::Grant> check_opened_grant(protocol::Grant opened, const GrantExpectation& expect,
                                           const Clock& clock, std::chrono::milliseconds skew) {
  const protocol::Grant* grant = &opened;
  const std::string where =
      "grant for manifest " + grant->manifest_id + " to node " + grant->node_id;
  if (grant->owner_public_key != expect.owner) {
    return make_error("grant_wrong_owner",
                      where + " is signed by " + node_id_of(grant->owner_public_key) +
                          ", not by the manifest owner " + node_id_of(expect.owner));
  }
  if (grant->action != expect.action) {
    return make_error("grant_wrong_action", where + " allows " + action_name(grant->action) +
                                                ", not " + action_name(expect.action));
  }
  if (grant->manifest_id != expect.manifest_id) {
    return make_error("grant_wrong_manifest",
                      where + " does not cover manifest " + expect.manifest_id);
  }
  if (grant->node_public_key != expect.requester) {
    return make_error("grant_wrong_node",
                      where + " does not authorise requester " + node_id_of(expect.requester));
  }
  if (!expect.content_hash.empty() && grant->content_hash != expect.content_hash) {
    return make_error(
        "grant_wrong_content",
        where +
            (grant->content_hash.empty() ? std::string(" binds no content hash")
                                         : " binds content " + to_hex(grant->content_hash)) +
            ", expected " + to_hex(expect.content_hash));
  }
  const int64_t now = clock.now_ms();
  if (now > grant->expires_ms) {
    return make_error("grant_expired", where + " expired at " + std::to_string(grant->expires_ms) +
                                           " ms (now " + std::to_string(now) + " ms)");
  }
  if (grant->issued_ms > now + skew.count()) {
    return make_error("grant_not_yet_valid",
                      where + " is issued at " + std::to_string(grant->issued_ms) +
                          " ms, in the future (now " + std::to_string(now) + " ms)");
  }
  return opened;
}

namespace {

GrantExpectation key_share_expectation(const StoredShare& stored, const PublicKey& requester) {
  GrantExpectation expect;
  expect.action = GrantAction::kKeyShare;
  expect.manifest_id = stored.manifest_id;
  expect.owner = stored.owner_public_key;
  expect.requester = requester;
  return expect;
}

// What both ways of releasing a share do first: the grant checked against the stored share
// and the requester, then the holder's sealed copy opened.
Result<KeyShare> checked_share(const Identity& holder, const StoredShare& stored,
                               const PublicKey& requester, const protocol::Grant& opened_grant,
                               const Clock& clock) {
  auto grant = check_opened_grant(opened_grant, key_share_expectation(stored, requester), clock);
  if (!grant) return grant.error();
  return open_share(holder, stored.sealed_share, stored.share_index);
}

}  // namespace

Result<Bytes> release_share(const Identity& holder, const StoredShare& stored,
                            const PublicKey& requester, ByteView grant_bytes, const Clock& clock) {
  auto grant = open_grant(grant_bytes);
  if (!grant) return grant.error();
  return release_share(holder, stored, requester, *grant, clock);
}

Result<Bytes> release_share(const Identity& holder, const StoredShare& stored,
                            const PublicKey& requester, const protocol::Grant& opened_grant,
                            const Clock& clock, X25519Cache* keys) {
  auto share = checked_share(holder, stored, requester, opened_grant, clock);
  if (!share) return share.error();
  auto recipient = keys ? keys->of(requester) : x25519_of(requester);
  if (!recipient) return recipient.error();
  return seal_share(*share, *recipient);
}

Result<Bytes> release_share(const Identity& holder, const StoredShare& stored,
                            const PublicKey& requester, const protocol::Grant& opened_grant,
                            const Clock& clock, const ShareBatchSealer& sealer) {
  auto share = checked_share(holder, stored, requester, opened_grant, clock);
  if (!share) return share.error();
  Bytes sealed = sealer.seal(*share);
  sodium_memzero(share->data.data(), share->data.size());
  return sealed;
}

}  // namespace beemesh::crypto
