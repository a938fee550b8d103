// NodeHandlers::on_delete — removes the verified owner's workloads of a manifest (promise
// in node_handlers.h).
#include <spdlog/spdlog.h>

#include "apply/async.h"
#include "apply/codes.h"
#include "apply/handler_util.h"
#include "apply/node_handlers.h"
#include "common/safe_text.h"
#include "crypto/grants.h"

namespace beemesh::apply {

namespace {

// The signer is the owner (a deployer or admin user, with a membership), or holds the
// owner's delete grant.
Result<void> check_deleter(const crypto::Membership* membership,
                           const crypto::VerifiedMessage<protocol::DeleteRequest>& req,
                           const Clock& clock) {
  const auto& msg = req.message;
  if (req.envelope.signer != msg.owner_public_key) {
    auto grant = crypto::check_grant(msg.grant,
                                     {.action = protocol::GrantAction::kDelete,
                                      .manifest_id = msg.manifest_id,
                                      .owner = msg.owner_public_key,
                                      .requester = req.envelope.signer},
                                     clock);
    if (!grant) return codes::from_grant_error(grant.error(), "delete grant");
    return {};
  }
  if (!membership) return {};
  const auto& member = req.envelope.member;
  if (!member || member->kind != crypto::CertKind::kUser ||
      member->role < crypto::Role::kDeployer) {
    return make_error(std::string(codes::kForbidden),
                      "deleting needs a user of role deployer or admin");
  }
  return {};
}

}  // namespace

asio::awaitable<Result<Bytes>> NodeHandlers::on_delete(Bytes request, net::PeerInfo peer) {
  protocol::DeleteResponse response;
  response.node_id = identity_.node_id();
  auto req = open_request<protocol::DeleteRequest>(verifier_, request, peer);
  if (!req) co_return respond(identity_, clock_, response, &req.error());
  const auto& msg = req->message;
  response.request_id = msg.request_id;
  response.manifest_id = msg.manifest_id;
  if (auto allowed = check_deleter(membership_, *req, clock_); !allowed) {
    co_return respond(identity_, clock_, response, &allowed.error());
  }
  // Only the owner's pending deploys and workloads of the manifest go; another owner's
  // under the same manifest id are not touched.
  auto owner_hex = to_hex(msg.owner_public_key);
  auto mid = msg.manifest_id;
  auto removing =
      await_callback<Result<int>>([this, mid, owner_hex](std::function<void(Result<int>)> done) {
        workloads_.remove_manifest_async(mid, owner_hex, std::move(done));
      });
  auto removed = co_await std::move(removing);
  if (!removed) co_return respond(identity_, clock_, response, &removed.error());
  // Key shares kept for this owner's manifest, and its encrypted record when it is theirs.
  auto dropping = run_blocking(blocking_, [this, mid, owner_hex] {
    (void)store_.delete_key_shares_of_owner(mid, owner_hex);
    auto record = store_.get_applied_manifest(mid);
    if (record && record->owner == owner_hex) (void)store_.delete_applied_manifest(mid);
    return 0;
  });
  co_await std::move(dropping);
  response.removed = static_cast<uint32_t>(*removed);
  spdlog::info("delete of manifest {} by {}: {} workload(s) removed", printable(mid),
               req->envelope.signer_node_id, *removed);
  co_return respond(identity_, clock_, response, nullptr);
}

}  // namespace beemesh::apply
