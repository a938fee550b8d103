// NodeHandlers::on_store_share and on_key_share — a key holder's side (promise in
// node_handlers.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "apply/admission.h"
#include "apply/async.h"
#include "apply/codes.h"
#include "apply/handler_util.h"
#include "apply/intent_authorization.h"
#include "apply/node_handlers.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"

namespace beemesh::apply {

namespace {

Result<void> check_store_share(const crypto::Membership* membership,
                               const crypto::VerifiedMessage<protocol::StoreShareRequest>& req,
                               const Clock& clock, std::chrono::milliseconds max_ttl,
                               crypto::GrantCache& owner_grants) {
  const auto& m = req.message;
  // The owner is a deployer of this mesh (so a member node cannot mint owners to get
  // around the per-owner quota), and let the signer publish this manifest.
  BEEMESH_TRY(check_owner(membership, m.owner_credential, m.manifest_owner_public_key));
  if (m.owner_public_key != req.envelope.signer) {
    return make_error(std::string(codes::kUnauthorized),
                      "a share may only be stored by the node that published the manifest");
  }
  if (m.owner_grant.empty() && !m.intent.empty()) {
    // A re-placement: the owner's standing intent for this manifest (checked again, with
    // the current desired state, by every node asked to deploy under it).
    auto intent = open_placement_intent(m.intent, m.manifest_id, m.manifest_owner_public_key);
    if (!intent) return intent.error();
  } else {
    auto grant = owner_grants.check(m.owner_grant,
                                    {.action = protocol::GrantAction::kApply,
                                     .manifest_id = m.manifest_id,
                                     .owner = m.manifest_owner_public_key,
                                     .requester = req.envelope.signer},
                                    clock);
    if (!grant) return codes::from_grant_error(grant.error(), "owner apply grant");
  }
  if (m.sealed_share.size() != crypto::kSealedShareSize) {
    return make_error(std::string(codes::kMalformed),
                      "store share: sealed_share is " + std::to_string(m.sealed_share.size()) +
                          " bytes, a share is exactly " + std::to_string(crypto::kSealedShareSize));
  }
  if (m.share_index == 0 || m.threshold == 0) {
    return make_error(std::string(codes::kMalformed),
                      "store share: share_index and threshold "
                      "must be 1..255");
  }
  auto now = clock.now_ms();
  // The publisher's clock may run ahead of ours by up to the envelope window (30 s).
  constexpr int64_t kClockSkewMs = 30'000;
  if (m.expires_ms <= now || m.expires_ms > now + max_ttl.count() + kClockSkewMs) {
    return make_error(std::string(codes::kMalformed),
                      "store share: expires_ms must be in the next " +
                          std::to_string(max_ttl.count() / 1000) + " s");
  }
  return {};
}

}  // namespace

asio::awaitable<Result<Bytes>> NodeHandlers::on_store_share(Bytes request, net::PeerInfo peer) {
  protocol::StoreShareResponse response;
  auto req = open_request<protocol::StoreShareRequest>(verifier_, request, peer);
  if (!req) co_return respond(identity_, clock_, response, &req.error());
  response.request_id = req->message.request_id;
  response.manifest_id = req->message.manifest_id;
  response.share_index = req->message.share_index;
  auto allowed = require_node(membership_, req->envelope, "a store-share request");
  if (allowed)
    allowed = check_store_share(membership_, *req, clock_, settings_.max_share_ttl, owner_grants_);
  if (!allowed) co_return respond(identity_, clock_, response, &allowed.error());
  workload::KeyShareRecord share;
  share.manifest_id = req->message.manifest_id;
  share.share_index = req->message.share_index;
  share.sealed_share = req->message.sealed_share;
  share.publisher = to_hex(req->envelope.signer);
  share.owner = to_hex(req->message.manifest_owner_public_key);
  share.threshold = req->message.threshold;
  share.created_at_ms = clock_.now_ms();
  share.expires_ms = req->message.expires_ms;
  // Kept per (manifest id, owner): a share stored for one owner never displaces another's
  // (manifest ids are public), and the owner's quota bounds what it may keep here.
  auto storing = run_blocking(blocking_, [this, share] { return store_.put_key_share(share); });
  auto stored = co_await std::move(storing);
  if (!stored) co_return respond(identity_, clock_, response, &stored.error());
  // A share holder keeps the manifest's desired state alive in the DHT.
  if (desired_) {
    desired_->track(req->message.manifest_id, req->message.manifest_owner_public_key);
  }
  co_return respond(identity_, clock_, response, nullptr);
}

namespace {

// What a holder releases for one key-share request: among `held` (the shares it keeps for
// the grant's publisher and this manifest), the one of `share_index` (0 = the lowest held),
// re-sealed to `requester` after release_share's grant checks (boxed with `batch` for a
// batch answer).
Result<std::pair<uint8_t, Bytes>> release_held(
    const crypto::Identity& me, const Clock& clock, crypto::X25519Cache& x25519,
    const Result<std::vector<workload::KeyShareRecord>>& held, const std::string& mid,
    uint8_t share_index, const protocol::Grant& grant, const crypto::PublicKey& requester,
    const crypto::ShareBatchSealer* batch = nullptr) {
  if (!held || held->empty()) {
    return make_error(std::string(codes::kNotFound),
                      "no key share held for manifest " + mid + " from that publisher");
  }
  // The split the requester's applied manifest names (a publisher may have stored several).
  auto wanted = std::find_if(held->begin(), held->end(), [&](const auto& s) {
    return share_index == 0 || s.share_index == share_index;
  });
  if (wanted == held->end()) {
    return make_error(std::string(codes::kNotFound),
                      "no key share of index " + std::to_string(share_index) +
                          " held for manifest " + mid + " from that publisher");
  }
  crypto::StoredShare stored;
  stored.manifest_id = mid;
  std::copy(grant.owner_public_key.begin(), grant.owner_public_key.end(),
            stored.owner_public_key.begin());
  stored.share_index = static_cast<uint8_t>(wanted->share_index);
  stored.sealed_share = wanted->sealed_share;
  auto sealed = batch ? crypto::release_share(me, stored, requester, grant, clock, *batch)
                      : crypto::release_share(me, stored, requester, grant, clock, &x25519);
  if (!sealed) return sealed.error();
  return std::pair<uint8_t, Bytes>{stored.share_index, std::move(*sealed)};
}

}  // namespace

asio::awaitable<Result<Bytes>> NodeHandlers::on_key_share(Bytes request, net::PeerInfo peer) {
  protocol::KeyShareResponse response;
  auto req = open_request<protocol::KeyShareRequest>(verifier_, request, peer);
  if (!req) co_return respond(identity_, clock_, response, &req.error());
  response.request_id = req->message.request_id;
  response.manifest_id = req->message.manifest_id;
  if (auto allowed = require_node(membership_, req->envelope, "a key-share request"); !allowed) {
    co_return respond(identity_, clock_, response, &allowed.error());
  }
  // The share kept for the publisher that signed the grant, and no other.
  auto grant = crypto::open_grant(req->message.grant);
  if (!grant) {
    auto err = codes::from_grant_error(grant.error(), "key-share grant");
    co_return respond(identity_, clock_, response, &err);
  }
  auto mid = req->message.manifest_id;
  auto publisher = to_hex(grant->owner_public_key);
  auto reading = run_blocking(
      blocking_, [this, mid, publisher] { return store_.key_shares_of_publisher(mid, publisher); });
  auto shares = co_await std::move(reading);
  auto released = release_held(identity_, clock_, x25519_, shares, mid, req->message.share_index,
                               *grant, req->envelope.signer);
  if (!released) co_return respond(identity_, clock_, response, &released.error());
  response.share_index = released->first;
  response.sealed_share = std::move(released->second);
  co_return respond(identity_, clock_, response, nullptr);
}

asio::awaitable<Result<Bytes>> NodeHandlers::on_key_share_batch(Bytes request, net::PeerInfo peer) {
  protocol::KeyShareBatchResponse response;
  // One envelope (one signature checked) for up to kMaxKeyShareBatch items; the decoder
  // refuses more (or none) as malformed before anything else is looked at.
  auto req = open_request<protocol::KeyShareBatchRequest>(verifier_, request, peer);
  if (!req) co_return respond(identity_, clock_, response, &req.error());
  response.request_id = req->message.request_id;
  if (auto allowed = require_node(membership_, req->envelope, "a key-share request"); !allowed) {
    co_return respond(identity_, clock_, response, &allowed.error());
  }
  // Released shares are boxed for the signer under one ephemeral key for the whole answer
  // (crypto::ShareBatchSealer: 2 X25519 operations per batch instead of 2 per share).
  auto recipient = x25519_.of(req->envelope.signer);
  auto sealer = recipient ? crypto::ShareBatchSealer::to(*recipient)
                          : Result<crypto::ShareBatchSealer>(recipient.error());
  if (!sealer) co_return respond(identity_, clock_, response, &sealer.error());
  response.ephemeral_public_key =
      Bytes(sealer->ephemeral_public_key().begin(), sealer->ephemeral_public_key().end());
  // Then each item exactly as a KeyShareRequest: its own grant (signature verified per
  // item), the share kept for that grant's publisher, released to the envelope's signer.
  const auto& items = req->message.items;
  std::vector<protocol::KeyShareItemResult> results(items.size());
  std::vector<std::optional<protocol::Grant>> grants(items.size());
  std::vector<std::pair<std::string, std::string>> lookups;  // (manifest id, publisher)
  std::vector<size_t> looked_up;                             // item index of each lookup
  for (size_t i = 0; i < items.size(); ++i) {
    results[i].manifest_id = items[i].manifest_id;
    results[i].share_index = items[i].share_index;
    auto grant = crypto::open_grant(items[i].grant);
    if (!grant) {
      auto err = codes::from_grant_error(grant.error(), "key-share grant");
      results[i].code = err.code;
      results[i].message = err.message.substr(0, kMaxResponseMessage);
      continue;
    }
    lookups.emplace_back(items[i].manifest_id, to_hex(grant->owner_public_key));
    looked_up.push_back(i);
    grants[i] = std::move(*grant);
  }
  auto reading = run_blocking(blocking_, [this, lookups] {
    std::vector<Result<std::vector<workload::KeyShareRecord>>> out;
    out.reserve(lookups.size());
    for (const auto& [mid, publisher] : lookups) {
      out.push_back(store_.key_shares_of_publisher(mid, publisher));
    }
    return out;
  });
  auto held = co_await std::move(reading);
  for (size_t k = 0; k < looked_up.size(); ++k) {
    const size_t i = looked_up[k];
    auto released = release_held(identity_, clock_, x25519_, held[k], items[i].manifest_id,
                                 items[i].share_index, *grants[i], req->envelope.signer, &*sealer);
    if (!released) {
      results[i].code = released.error().code;
      results[i].message = released.error().message.substr(0, kMaxResponseMessage);
      continue;
    }
    results[i].ok = true;
    results[i].code = std::string(codes::kOk);
    results[i].share_index = released->first;
    results[i].sealed_share = std::move(released->second);
  }
  response.items = std::move(results);
  co_return respond(identity_, clock_, response, nullptr);
}

}  // namespace beemesh::apply
