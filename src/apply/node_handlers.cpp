#include "apply/node_handlers.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "apply/async.h"
#include "apply/codes.h"
#include "apply/share_fetch.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "manifest/manifest.h"
#include "net/protocols.h"
#include "protocol/messages.h"

namespace beemesh::apply {

namespace {

using protocol::PayloadType;

std::string key_hex(const crypto::PublicKey& key) {
  return to_hex(key);
}

// Signed response with ok/code/message filled from a Result.
template <typename Response>
Bytes respond(const crypto::Identity& me, const Clock& clock, Response response,
              const Error* error) {
  response.ok = error == nullptr;
  response.code = error ? error->code : std::string(codes::kOk);
  response.message = error ? error->message : std::string();
  return crypto::sign_message(me, response, clock);
}

}  // namespace

NodeHandlers::NodeHandlers(NodeSettings settings, const crypto::Identity& identity,
                           const Clock& clock, crypto::EnvelopeVerifier& verifier,
                           net::Client& client, workload::WorkloadManager& workloads,
                           workload::StateStore& store)
    : settings_(std::move(settings)),
      identity_(identity),
      clock_(clock),
      verifier_(verifier),
      client_(client),
      workloads_(workloads),
      store_(store) {}

NodeHandlers::~NodeHandlers() {
  blocking_.join();
}

Result<void> NodeHandlers::register_on(net::Server& server) {
  struct Route {
    std::string_view protocol;
    asio::awaitable<Result<Bytes>> (NodeHandlers::*handler)(Bytes);
  };
  const Route routes[] = {
      {net::protocols::kApply, &NodeHandlers::on_apply},
      {net::protocols::kDelete, &NodeHandlers::on_delete},
      {net::protocols::kKeyShare, &NodeHandlers::on_key_share},
      {net::protocols::kStoreShare, &NodeHandlers::on_store_share},
      {net::protocols::kCapacity, &NodeHandlers::on_capacity},
      {net::protocols::kQuery, &NodeHandlers::on_query},
  };
  for (const auto& route : routes) {
    auto handler = route.handler;
    BEEMESH_TRY(server.handle(route.protocol, [this, handler](const net::PeerInfo&, Bytes req) {
      return (this->*handler)(std::move(req));
    }));
  }
  return {};
}

// ---- apply ---------------------------------------------------------------------------

asio::awaitable<Result<Bytes>> NodeHandlers::on_apply(Bytes request) {
  protocol::ApplyResponse response;
  response.node_id = identity_.node_id();
  auto req = crypto::open_message<protocol::ApplyRequest>(verifier_, request);
  if (!req) {
    auto err = codes::from_envelope_error(req.error());
    spdlog::warn("apply refused: {}", err.to_string());
    co_return respond(identity_, clock_, response, &err);
  }
  response.request_id = req->message.request_id;
  response.manifest_id = req->message.manifest_id;
  auto deployed = co_await apply_verified(*req);
  if (!deployed) {
    spdlog::warn("apply {} of manifest {} from {} failed: {}", req->message.request_id,
                 req->message.manifest_id, req->envelope.signer_node_id,
                 deployed.error().to_string());
    co_return respond(identity_, clock_, response, &deployed.error());
  }
  response.workload_id = deployed->id;
  spdlog::info("apply {}: manifest {} deployed as workload {}", req->message.request_id,
               req->message.manifest_id, deployed->id);
  co_return respond(identity_, clock_, response, nullptr);
}

asio::awaitable<Result<workload::WorkloadRecord>> NodeHandlers::apply_verified(
    const crypto::VerifiedMessage<protocol::ApplyRequest>& req) {
  const auto& msg = req.message;
  const auto& applied = msg.applied_manifest;
  // 1. The owner authorised the entry node (the envelope signer) to place this manifest.
  auto owner_grant = crypto::check_grant(msg.owner_grant,
                                         {.action = protocol::GrantAction::kApply,
                                          .manifest_id = msg.manifest_id,
                                          .owner = msg.owner_public_key,
                                          .requester = req.envelope.signer},
                                         clock_);
  if (!owner_grant) co_return codes::from_grant_error(owner_grant.error(), "owner apply grant");
  // 2. The encrypted record was published by that entry node for this manifest.
  if (applied.manifest_id != msg.manifest_id || applied.owner_public_key != req.envelope.signer) {
    co_return make_error(std::string(codes::kUnauthorized),
                         "encrypted manifest was not published by the requesting node");
  }
  // 3. Rebuild the key from k shares and decrypt.
  auto shares = co_await fetch_shares(applied, msg.grant);
  if (!shares) co_return shares.error();
  auto plaintext = crypto::decrypt_manifest(applied, *shares);
  if (!plaintext) {
    co_return make_error(std::string(codes::kUndecryptable), plaintext.error().to_string());
  }
  std::string yaml(as_string(*plaintext));
  // 4. The manifest id must be the owner's id for what the manifest names.
  auto parsed = manifest::parse(yaml, "manifest " + msg.manifest_id);
  if (!parsed) co_return codes::from_deploy_error(parsed.error());
  auto owner_hex = key_hex(msg.owner_public_key);
  auto expected_id = manifest::manifest_id(owner_hex, *parsed);
  if (!expected_id || *expected_id != msg.manifest_id) {
    co_return make_error(std::string(codes::kInvalidManifest),
                         "manifest id " + msg.manifest_id + " does not match its owner and name");
  }
  // 5. Deploy through the workload manager's queue.
  workload::DeployRequest deploy;
  deploy.manifest_id = msg.manifest_id;
  deploy.owner = owner_hex;
  deploy.manifest_yaml = std::move(yaml);
  deploy.config.replicas = std::max(1, msg.replicas);
  deploy.config.manifest_id = msg.manifest_id;
  deploy.config.workload_id = msg.workload_id;
  deploy.config.env = msg.env;
  deploy.config.labels = msg.labels;
  if (msg.memory_limit_bytes > 0) deploy.config.memory_limit_bytes = msg.memory_limit_bytes;
  if (msg.cpu_limit_millis > 0) deploy.config.cpu_limit_millis = msg.cpu_limit_millis;
  deploy.config.publish_ports = settings_.publish_ports;
  deploy.config.publish_host_ip = settings_.publish_host_ip;
  // (Awaitables are built in their own statement: GCC 12 can destroy temporaries of a
  // co_await expression twice.)
  auto deploying = await_callback<Result<workload::WorkloadRecord>>(
      [this, deploy = std::move(deploy)](
          std::function<void(Result<workload::WorkloadRecord>)> done) mutable {
        workloads_.deploy_workload(std::move(deploy), std::move(done));
      });
  auto record = co_await std::move(deploying);
  if (!record) co_return codes::from_deploy_error(record.error());
  // Keep the encrypted record so a restart can adopt the workload.
  workload::AppliedManifestRecord stored{msg.manifest_id, owner_hex,
                                         protocol::encode_applied_manifest(applied), 0};
  auto storing =
      run_blocking(blocking_, [this, stored] { return store_.put_applied_manifest(stored); });
  if (auto kept = co_await std::move(storing); !kept) {
    spdlog::warn("manifest {}: keeping its encrypted record failed: {}", msg.manifest_id,
                 kept.error().to_string());
  }
  co_return record;
}

asio::awaitable<Result<std::vector<crypto::KeyShare>>> NodeHandlers::fetch_shares(
    const protocol::AppliedManifest& applied, const Bytes& grant) {
  auto fetching = fetch_key_shares(identity_, clock_, verifier_, client_, applied, grant,
                                   settings_.share_fetch_timeout);
  co_return co_await std::move(fetching);
}

// ---- key shares ------------------------------------------------------------------------

asio::awaitable<Result<Bytes>> NodeHandlers::on_store_share(Bytes request) {
  protocol::StoreShareResponse response;
  auto req = crypto::open_message<protocol::StoreShareRequest>(verifier_, request);
  if (!req) {
    auto err = codes::from_envelope_error(req.error());
    co_return respond(identity_, clock_, response, &err);
  }
  response.request_id = req->message.request_id;
  response.manifest_id = req->message.manifest_id;
  response.share_index = req->message.share_index;
  if (req->message.owner_public_key != req->envelope.signer) {
    auto err = make_error(std::string(codes::kUnauthorized),
                          "a share may only be stored by the node that published the manifest");
    co_return respond(identity_, clock_, response, &err);
  }
  workload::KeyShareRecord share{req->message.manifest_id,  req->message.share_index,
                                 req->message.sealed_share, key_hex(req->envelope.signer),
                                 req->message.threshold,    0};
  // A share held for another publisher of this manifest id is never replaced: manifest ids
  // are public, so otherwise anyone could displace the shares a real apply needs.
  auto storing = run_blocking(blocking_, [this, share]() -> Result<void> {
    auto existing = store_.get_key_share(share.manifest_id, share.share_index);
    if (existing && existing->owner_public_key != share.owner_public_key) {
      return make_error("conflict", "share " + std::to_string(share.share_index) + " of manifest " +
                                        share.manifest_id + " is held for another publisher");
    }
    return store_.put_key_share(share);
  });
  auto stored = co_await std::move(storing);
  if (!stored) co_return respond(identity_, clock_, response, &stored.error());
  co_return respond(identity_, clock_, response, nullptr);
}

asio::awaitable<Result<Bytes>> NodeHandlers::on_key_share(Bytes request) {
  protocol::KeyShareResponse response;
  auto req = crypto::open_message<protocol::KeyShareRequest>(verifier_, request);
  if (!req) {
    auto err = codes::from_envelope_error(req.error());
    co_return respond(identity_, clock_, response, &err);
  }
  response.request_id = req->message.request_id;
  response.manifest_id = req->message.manifest_id;
  auto mid = req->message.manifest_id;
  auto reading = run_blocking(blocking_, [this, mid] { return store_.key_shares_of(mid); });
  auto shares = co_await std::move(reading);
  if (!shares || shares->empty()) {
    auto err = make_error(std::string(codes::kNotFound), "no key share held for manifest " + mid);
    co_return respond(identity_, clock_, response, &err);
  }
  // Release the share kept for the publisher that signed the grant.
  auto grant = crypto::open_grant(req->message.grant);
  auto publisher = grant ? key_hex(grant->owner_public_key) : std::string();
  auto match = std::find_if(shares->begin(), shares->end(),
                            [&](const auto& share) { return share.owner_public_key == publisher; });
  const auto& held = match != shares->end() ? *match : shares->front();
  auto owner = from_hex(held.owner_public_key);
  crypto::StoredShare stored;
  stored.manifest_id = mid;
  if (owner && owner->size() == stored.owner_public_key.size()) {
    std::copy(owner->begin(), owner->end(), stored.owner_public_key.begin());
  }
  stored.share_index = static_cast<uint8_t>(held.share_index);
  stored.sealed_share = held.sealed_share;
  auto sealed =
      crypto::release_share(identity_, stored, req->envelope.signer, req->message.grant, clock_);
  if (!sealed) co_return respond(identity_, clock_, response, &sealed.error());
  response.share_index = stored.share_index;
  response.sealed_share = std::move(*sealed);
  co_return respond(identity_, clock_, response, nullptr);
}

// ---- delete ----------------------------------------------------------------------------

asio::awaitable<Result<Bytes>> NodeHandlers::on_delete(Bytes request) {
  protocol::DeleteResponse response;
  response.node_id = identity_.node_id();
  auto req = crypto::open_message<protocol::DeleteRequest>(verifier_, request);
  if (!req) {
    auto err = codes::from_envelope_error(req.error());
    co_return respond(identity_, clock_, response, &err);
  }
  const auto& msg = req->message;
  response.request_id = msg.request_id;
  response.manifest_id = msg.manifest_id;
  // The signer is the owner, or holds the owner's delete grant.
  if (req->envelope.signer != msg.owner_public_key) {
    auto grant = crypto::check_grant(msg.grant,
                                     {.action = protocol::GrantAction::kDelete,
                                      .manifest_id = msg.manifest_id,
                                      .owner = msg.owner_public_key,
                                      .requester = req->envelope.signer},
                                     clock_);
    if (!grant) {
      auto err = codes::from_grant_error(grant.error(), "delete grant");
      co_return respond(identity_, clock_, response, &err);
    }
  }
  auto owner_hex = key_hex(msg.owner_public_key);
  for (const auto& w : workloads_.workloads_of(msg.manifest_id)) {
    if (w.owner != owner_hex) {
      auto err = make_error(std::string(codes::kForbidden),
                            "manifest " + msg.manifest_id + " belongs to another owner");
      co_return respond(identity_, clock_, response, &err);
    }
  }
  auto mid = msg.manifest_id;
  auto removing = await_callback<Result<int>>([this, mid](std::function<void(Result<int>)> done) {
    workloads_.remove_manifest_async(mid, std::move(done));
  });
  auto removed = co_await std::move(removing);
  if (!removed) co_return respond(identity_, clock_, response, &removed.error());
  // What this node keeps for the manifest goes only when it knows the owner is the
  // deleter (its encrypted record names them, or it ran the owner's workloads of it). A
  // node holding only key shares cannot tell who owns a manifest id, so it keeps them.
  bool owner_proven = *removed > 0;
  auto dropping = run_blocking(blocking_, [this, mid, owner_hex, owner_proven] {
    auto record = store_.get_applied_manifest(mid);
    bool proven = owner_proven || (record && record->owner == owner_hex);
    if (proven) {
      (void)store_.delete_key_shares(mid);
      (void)store_.delete_applied_manifest(mid);
    }
    return 0;
  });
  co_await std::move(dropping);
  response.removed = static_cast<uint32_t>(*removed);
  spdlog::info("delete of manifest {} by {}: {} workload(s) removed", mid,
               req->envelope.signer_node_id, *removed);
  co_return respond(identity_, clock_, response, nullptr);
}

// ---- capacity --------------------------------------------------------------------------

std::pair<int64_t, int64_t> NodeHandlers::free_capacity() const {
  int64_t memory = settings_.capacity_memory_bytes;
  int64_t cpu = settings_.capacity_cpu_millis;
  for (const auto& w : workloads_.list()) {
    int replicas = std::max(1, w.config.replicas);
    memory -= w.config.memory_limit_bytes.value_or(0) * replicas;
    cpu -= w.config.cpu_limit_millis.value_or(0) * replicas;
  }
  return {memory, cpu};
}

asio::awaitable<Result<Bytes>> NodeHandlers::on_capacity(Bytes request) {
  auto req = crypto::open_message<protocol::CapacityRequest>(verifier_, request);
  protocol::CapacityReply reply;
  reply.node_id = identity_.node_id();
  reply.rpc_endpoint = settings_.rpc_endpoint;
  reply.engine = settings_.engine;
  if (!req) co_return codes::from_envelope_error(req.error());
  reply.request_id = req->message.request_id;
  auto [memory, cpu] = free_capacity();
  reply.available_memory_bytes = memory;
  reply.available_cpu_millis = cpu;
  const auto& m = req->message;
  int64_t by_memory = m.memory_bytes > 0 ? memory / m.memory_bytes : m.replicas;
  int64_t by_cpu = m.cpu_millis > 0 ? cpu / m.cpu_millis : m.replicas;
  reply.max_replicas = static_cast<int32_t>(std::max<int64_t>(0, std::min(by_memory, by_cpu)));
  reply.accepts = reply.max_replicas > 0;
  co_return crypto::sign_message(identity_, reply, clock_);
}

// ---- query -----------------------------------------------------------------------------

asio::awaitable<Result<Bytes>> NodeHandlers::on_query(Bytes request) {
  protocol::QueryReply reply;
  auto req = crypto::open_message<protocol::QueryRequest>(verifier_, request);
  if (!req) {
    auto err = codes::from_envelope_error(req.error());
    co_return respond(identity_, clock_, reply, &err);
  }
  reply.request_id = req->message.request_id;
  auto q = req->message;
  auto answering = run_blocking(blocking_, [this, q]() -> Result<std::string> {
    if (!query_responder_) return make_error(std::string(codes::kNotFound), "queries not served");
    return query_responder_(q);
  });
  auto body = co_await std::move(answering);
  if (!body) co_return respond(identity_, clock_, reply, &body.error());
  reply.body = std::move(*body);
  co_return respond(identity_, clock_, reply, nullptr);
}

}  // namespace beemesh::apply
