// NodeHandlers::on_apply — the target node's side of an apply (promise in node_handlers.h).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "apply/admission.h"
#include "apply/async.h"
#include "apply/codes.h"
#include "apply/handler_util.h"
#include "apply/intent_authorization.h"
#include "apply/node_handlers.h"
#include "apply/share_fetch.h"
#include "common/safe_text.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "manifest/manifest.h"

namespace beemesh::apply {

namespace {

std::string not_logged(int64_t refused) {
  return refused > 0 ? " (" + std::to_string(refused) + " similar lines not logged)" : "";
}

struct Opened {
  std::string yaml;
  manifest::Manifest manifest;
};

// Decrypts and parses (off the event loop: the plaintext size is the sender's choice).
Result<Opened> open_manifest(const protocol::AppliedManifest& applied,
                             const std::vector<crypto::KeyShare>& shares,
                             const std::string& manifest_id) {
  auto plaintext = crypto::decrypt_manifest(applied, shares);
  if (!plaintext) {
    return make_error(std::string(codes::kUndecryptable), plaintext.error().to_string());
  }
  Opened out;
  out.yaml = std::string(as_string(*plaintext));
  auto parsed = manifest::parse(out.yaml, "manifest " + manifest_id);
  if (!parsed) return codes::from_deploy_error(parsed.error());
  out.manifest = std::move(*parsed);
  return out;
}

}  // namespace

asio::awaitable<Result<Bytes>> NodeHandlers::on_apply(Bytes request, net::PeerInfo peer) {
  protocol::ApplyResponse response;
  response.node_id = identity_.node_id();
  auto req = open_request<protocol::ApplyRequest>(verifier_, request, peer);
  if (!req) {
    if (auto budget = refusals_log_.take()) {
      spdlog::warn("apply refused: {}{}", printable(req.error().to_string()), not_logged(*budget));
    }
    co_return respond(identity_, clock_, response, &req.error());
  }
  response.request_id = req->message.request_id;
  response.manifest_id = req->message.manifest_id;
  auto deployed = co_await apply_verified(*req);
  if (!deployed) {
    if (auto budget = refusals_log_.take()) {
      spdlog::warn("apply {} of manifest {} from {} failed: {}{}",
                   printable(req->message.request_id), printable(req->message.manifest_id),
                   req->envelope.signer_node_id, printable(deployed.error().to_string()),
                   not_logged(*budget));
    }
    co_return respond(identity_, clock_, response, &deployed.error());
  }
  response.workload_id = deployed->id;
  spdlog::info("apply {}: manifest {} deployed as workload {}", printable(req->message.request_id),
               printable(req->message.manifest_id), deployed->id);
  co_return respond(identity_, clock_, response, nullptr);
}

asio::awaitable<Result<workload::WorkloadRecord>> NodeHandlers::apply_verified(
    const crypto::VerifiedMessage<protocol::ApplyRequest>& req) {
  const auto& msg = req.message;
  const auto& applied = msg.applied_manifest;
  // 1. Who asks, and within which ranges.
  BEEMESH_CO_TRY(require_node(membership_, req.envelope, "an apply request"));
  BEEMESH_CO_TRY(check_apply_ranges(msg, settings_.max_share_holders));
  // 2. The owner is a deployer, and authorised the entry node (the envelope signer).
  auto owner = check_owner(membership_, msg.owner_credential, msg.owner_public_key);
  if (!owner) co_return owner.error();
  // Authorised by the owner's apply grant naming the entry node, or (a re-placement by the
  // reconcile loop) by the owner's standing intent (apply/intent_authorization.h).
  const bool by_intent = msg.owner_grant.empty() && !msg.intent.empty();
  std::optional<protocol::Grant> owner_grant;
  std::optional<protocol::DesiredIntent> intent;
  if (by_intent) {
    auto opened = open_placement_intent(msg.intent, msg.manifest_id, msg.owner_public_key);
    if (!opened) co_return opened.error();
    intent = std::move(*opened);
    BEEMESH_CO_TRY(co_await check_intent_current(*intent));
    for (const auto& w : workloads_.workloads_of(msg.manifest_id)) {
      if (w.owner == to_hex(msg.owner_public_key)) {
        co_return make_error(std::string(codes::kAlreadyRunning),
                             "this node already runs manifest " + msg.manifest_id);
      }
    }
  } else {
    // Opened once per node: the same bytes came with the key share this node stored.
    auto checked = owner_grants_.check(msg.owner_grant,
                                       {.action = protocol::GrantAction::kApply,
                                        .manifest_id = msg.manifest_id,
                                        .owner = msg.owner_public_key,
                                        .requester = req.envelope.signer},
                                       clock_);
    if (!checked) co_return codes::from_grant_error(checked.error(), "owner apply grant");
    if (membership_ && checked->content_hash.empty()) {
      co_return make_error(std::string(codes::kUnauthorized),
                           "owner apply grant: it binds no content hash");
    }
    owner_grant = std::move(*checked);
  }
  if (!msg.placement.empty() && std::find(msg.placement.begin(), msg.placement.end(),
                                          identity_.node_id()) == msg.placement.end()) {
    co_return make_error(std::string(codes::kMalformed),
                         "apply request: this node is not in its placement");
  }
  // 3. The encrypted record was published by that entry node for this manifest.
  if (applied.manifest_id != msg.manifest_id || applied.owner_public_key != req.envelope.signer) {
    co_return make_error(std::string(codes::kUnauthorized),
                         "encrypted manifest was not published by the requesting node");
  }
  // 4. Rebuild the key from k shares (members only), decrypt and parse off the loop.
  auto shares = co_await fetch_shares(applied, msg.grant);
  if (!shares) co_return shares.error();
  auto opening = run_blocking(blocking_, [applied, shares = *shares, mid = msg.manifest_id] {
    return open_manifest(applied, shares, mid);
  });
  auto opened = co_await std::move(opening);
  if (!opened) co_return opened.error();
  // 5. The manifest id is the owner's id for what the manifest names, and the content is
  //    what the owner signed for (manifest, env, limits, total replicas).
  auto owner_hex = to_hex(msg.owner_public_key);
  auto expected_id = manifest::manifest_id(owner_hex, opened->manifest);
  if (!expected_id || *expected_id != msg.manifest_id) {
    co_return make_error(std::string(codes::kInvalidManifest),
                         "manifest id " + msg.manifest_id + " does not match its owner and name");
  }
  if (intent) {
    BEEMESH_CO_TRY(
        check_intent_content(*intent, opened->yaml, opened->manifest, msg, identity_.node_id()));
  }
  if (owner_grant && !owner_grant->content_hash.empty()) {
    auto hash = crypto::apply_content_hash(opened->yaml, msg.env, msg.memory_limit_bytes,
                                           msg.cpu_limit_millis, msg.total_replicas);
    if (hash != owner_grant->content_hash) {
      co_return make_error(std::string(codes::kUnauthorized),
                           "owner apply grant: grant_wrong_content: the manifest, env, limits "
                           "or replicas differ from what the owner signed");
    }
  }
  for (const auto& doc : opened->manifest.documents) {
    if (membership_ && !owner->may_use_namespace(doc.namespace_)) {
      co_return make_error(
          std::string(codes::kForbidden),
          "owner " + owner->name + " may not deploy in namespace " + printable(doc.namespace_, 64));
    }
  }
  // 6. Pod security, before any engine sees the manifest.
  if (auto admitted = manifest::check_pod_security(opened->manifest, settings_.pod_security);
      !admitted) {
    co_return admitted.error();
  }
  // 7. One deployment per owner grant on this node (a compromised entry node cannot reuse
  //    the owner's grant here for more copies), then deploy through the manager's queue.
  if (owner_grant) {
    if (auto first = grants_used_.use(msg.owner_grant, owner_grant->expires_ms, clock_.now_ms());
        !first) {
      co_return first.error();
    }
  }
  workload::DeployRequest deploy;
  deploy.manifest_id = msg.manifest_id;
  deploy.owner = owner_hex;
  // Parsed and validated once on this node (above); the manager and engine use it as is.
  deploy.manifest = std::make_shared<const manifest::Manifest>(std::move(opened->manifest));
  const std::string deployed_yaml = std::move(opened->yaml);
  deploy.config.replicas = msg.replicas;
  deploy.config.manifest_id = msg.manifest_id;
  deploy.config.workload_id = msg.workload_id;
  deploy.config.env = msg.env;
  deploy.config.labels = msg.labels;
  deploy.config.labels[std::string(workload::kContentVersionLabel)] =
      content_version_label(deployed_yaml);
  if (msg.memory_limit_bytes > 0) deploy.config.memory_limit_bytes = msg.memory_limit_bytes;
  if (msg.cpu_limit_millis > 0) deploy.config.cpu_limit_millis = msg.cpu_limit_millis;
  deploy.config.publish_ports = settings_.publish_ports;
  deploy.config.publish_host_ip = settings_.publish_host_ip;
  // The encrypted record, so a restart can adopt the workload: stored with the workload row
  // in the deploy's one SQLite transaction.
  deploy.applied = workload::AppliedManifestRecord{msg.manifest_id, owner_hex,
                                                   protocol::encode_applied_manifest(applied), 0};
  // (Awaitables are built in their own statement: GCC 12 can destroy temporaries of a
  // co_await expression twice.)
  auto deploying = await_callback<Result<workload::WorkloadRecord>>(
      [this, deploy = std::move(deploy)](
          std::function<void(Result<workload::WorkloadRecord>)> done) mutable {
        workloads_.deploy_workload(std::move(deploy), std::move(done));
      });
  auto record = co_await std::move(deploying);
  if (!record) co_return codes::from_deploy_error(record.error());
  // A node running a replica keeps the manifest's desired state alive in the DHT.
  if (desired_) desired_->track(msg.manifest_id, msg.owner_public_key);
  if (on_deployed_) on_deployed_(msg.manifest_id, msg.owner_public_key, deployed_yaml);
  co_return record;
}

asio::awaitable<Result<void>> NodeHandlers::check_intent_current(
    const protocol::DesiredIntent& intent) {
  if (!desired_) co_return Result<void>{};
  // A bounded DHT read (DesiredStateSettings::dht_timeout), off the loop: a tombstone or a
  // newer intent recorded anywhere in the mesh ends what this intent authorised.
  auto fetching = run_blocking(
      blocking_, [store = desired_, id = intent.manifest_id, owner = intent.owner_public_key] {
        return store->fetch(id, owner);
      });
  auto current = co_await std::move(fetching);
  co_return check_not_superseded(intent, current);
}

Result<protocol::AppliedManifest> NodeHandlers::member_holders(
    const protocol::AppliedManifest& applied) const {
  if (!member_lookup_) return applied;
  protocol::AppliedManifest out = applied;
  out.share_holders.clear();
  for (const auto& holder : applied.share_holders) {
    auto member = member_lookup_(holder.node_id);
    if (!member || member->public_key != holder.node_public_key) continue;
    auto h = holder;
    h.rpc_endpoint = member->rpc_endpoint;  // where the member announced itself
    out.share_holders.push_back(std::move(h));
  }
  if (out.share_holders.size() < applied.threshold) {
    return make_error(std::string(codes::kTooFewShares),
                      std::to_string(out.share_holders.size()) + " of " +
                          std::to_string(applied.share_holders.size()) +
                          " share holders are members this node knows; " +
                          std::to_string(applied.threshold) + " needed");
  }
  return out;
}

asio::awaitable<Result<std::vector<crypto::KeyShare>>> NodeHandlers::fetch_shares(
    const protocol::AppliedManifest& applied, const Bytes& grant) {
  // The member lookup may read the node directory's shard of a holder (a bounded DHT read).
  auto resolving = run_blocking(blocking_, [this, applied] { return member_holders(applied); });
  auto holders = co_await std::move(resolving);
  if (!holders) co_return holders.error();
  OwnShareReader own = [this, applied = *holders, grant](const protocol::ShareHolder& holder) {
    return own_key_share(identity_, clock_, store_, blocking_, applied, grant, holder);
  };
  auto fetching = fetch_key_shares(identity_, clock_, verifier_, client_, *holders, grant,
                                   settings_.share_fetch_timeout, std::move(own), &share_batcher_,
                                   settings_.share_fetch_hedge);
  co_return co_await std::move(fetching);
}

}  // namespace beemesh::apply
