#include "e2e/direct_rpc.h"

#include <algorithm>

#include "app/rpc_tls.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "crypto/tls_identity.h"
#include "e2e/mesh.h"
#include "manifest/manifest.h"
#include "net/endpoint.h"
#include "net/protocols.h"
#include "net/tls.h"
#include "protocol/envelope.h"
#include "runtime/runtime.h"

namespace beemesh::e2e {

using namespace std::chrono_literals;

Result<TargetNode> target_node(const std::string& public_key_hex, const std::string& rpc_endpoint) {
  auto key = from_hex(public_key_hex);
  TargetNode t;
  if (!key || key->size() != t.public_key.size()) {
    return make_error("bad_public_key", "not a 64-hex Ed25519 key: '" + public_key_hex + "'");
  }
  std::copy(key->begin(), key->end(), t.public_key.begin());
  t.node_id = crypto::node_id_of(t.public_key);
  t.rpc_endpoint = rpc_endpoint;
  return t;
}

DirectRpc::DirectRpc(const Mesh& mesh) : clock_(system_clock()), verifier_(clock_) {
  auto admin = crypto::Identity::load_or_create(mesh.admin_dir() / "admin.key");
  auto as = mesh.admitted_node_identity("direct-rpc");
  if (!admin || !as) {
    setup_error_ = admin ? as.error() : admin.error();
    return;
  }
  membership_ = std::make_unique<crypto::Membership>(admin->public_key(), mesh.mesh_id(), clock_);
  connect_as(*as, app::member_node_verifier(*membership_));
}

DirectRpc::DirectRpc(const crypto::Identity& as, const crypto::PublicKey& admin,
                     const std::string& mesh_id)
    : clock_(system_clock()),
      verifier_(clock_),
      membership_(std::make_unique<crypto::Membership>(admin, mesh_id, clock_)) {
  connect_as(as, app::member_node_verifier(*membership_));
}

DirectRpc::DirectRpc(const crypto::Identity& as, AnyPeer)
    : clock_(system_clock()), verifier_(clock_) {
  connect_as(as, [](const net::PeerCertificate&, std::string_view) { return ok_result(); });
}

void DirectRpc::connect_as(const crypto::Identity& as, net::PeerVerifier verify) {
  auto certificate = crypto::make_tls_certificate(as, as.credential());
  if (!certificate) {
    setup_error_ = certificate.error();
    return;
  }
  auto context =
      net::make_tls_context(certificate->certificate.get(), certificate->private_key.get());
  if (!context) {
    setup_error_ = context.error();
    return;
  }
  client_ = std::make_unique<net::Client>(
      loop_, net::ClientOptions{
                 .tls = net::TlsOptions{.context = *context,
                                        .extension_oid = std::string(crypto::kTlsCredentialOid),
                                        .verify = std::move(verify)}});
}

DirectRpc::~DirectRpc() {
  if (client_) client_->shutdown();
  loop_.stop();
}

template <typename Response>
Result<Response> DirectRpc::call(const TargetNode& target, std::string_view protocol,
                                 const Bytes& envelope) {
  if (setup_error_) return *setup_error_;
  auto reply = client_->request_sync(net::pinned_endpoint(target.node_id, target.rpc_endpoint),
                                     std::string(protocol), envelope, 30s);
  if (!reply) return reply.error();
  auto opened = crypto::open_message<Response>(verifier_, *reply);
  if (!opened && opened.error().code == "unexpected_payload_type") {
    // Refused before any handler: an ErrorReply.
    auto refused = crypto::open_message<protocol::ErrorReply>(verifier_, *reply);
    if (refused && refused->envelope.signer == target.public_key) {
      Response response;
      response.request_id = refused->message.request_id;
      response.ok = false;
      response.code = refused->message.code;
      response.message = refused->message.message;
      return response;
    }
  }
  if (!opened) return opened.error();
  if (opened->envelope.signer != target.public_key) {
    return make_error("bad_signature", "answer from " + target.rpc_endpoint +
                                           " is not signed by node " + target.node_id);
  }
  return std::move(opened->message);
}

Result<protocol::ApplyResponse> DirectRpc::apply(const TargetNode& target, const Bytes& envelope) {
  return call<protocol::ApplyResponse>(target, net::protocols::kApply, envelope);
}

Result<protocol::DeleteResponse> DirectRpc::remove(const TargetNode& target,
                                                   const Bytes& envelope) {
  return call<protocol::DeleteResponse>(target, net::protocols::kDelete, envelope);
}

Result<protocol::StoreShareResponse> DirectRpc::store_share(const TargetNode& holder,
                                                            const Bytes& envelope) {
  return call<protocol::StoreShareResponse>(holder, net::protocols::kStoreShare, envelope);
}

Result<Bytes> DirectRpc::raw(const std::string& endpoint, std::string_view protocol,
                             const Bytes& envelope, std::chrono::milliseconds timeout) {
  if (setup_error_) return *setup_error_;
  return client_->request_sync(endpoint, std::string(protocol), envelope, timeout);
}

Result<PreparedApply> prepare_apply(DirectRpc& rpc, const crypto::Identity& owner,
                                    const std::string& yaml, const TargetNode& target,
                                    const std::vector<TargetNode>& holders, const Clock& clock) {
  return prepare_apply(rpc, owner, owner, yaml, target, holders, clock);
}

Result<PreparedApply> prepare_apply(DirectRpc& rpc, const crypto::Identity& owner,
                                    const crypto::Identity& entry, const std::string& yaml,
                                    const TargetNode& target,
                                    const std::vector<TargetNode>& holders, const Clock& clock,
                                    const PrepareOptions& options) {
  Result<std::string> mid = options.manifest_id;
  if (options.manifest_id.empty()) {
    auto parsed = manifest::parse(yaml, "direct apply");
    if (!parsed) return parsed.error();
    mid = manifest::manifest_id(to_hex(owner.public_key()), *parsed);
    if (!mid) return mid.error();
  }

  std::vector<protocol::ShareHolder> share_holders;
  for (const auto& h : holders)
    share_holders.push_back({h.node_id, h.public_key, h.rpc_endpoint, 0});
  // The daemon's defaults (key_shares: {count: 5, threshold: 3}), capped by the holders.
  crypto::ShareParams params{std::min<unsigned>(5, static_cast<unsigned>(holders.size())), 3};
  params.k = std::min(params.k, params.n);
  int64_t now = clock.now_ms();
  // The entry node publishes: the encrypted record and the shares are filed under its key.
  auto encrypted = crypto::encrypt_manifest(*mid, entry.public_key(), as_bytes(yaml), share_holders,
                                            params, now);
  if (!encrypted) return encrypted.error();
  // The owner's apply grant names the entry node and binds what is deployed (no env or
  // limits added, one replica).
  Bytes owner_grant =
      crypto::issue_grant(owner, protocol::GrantAction::kApply, *mid, entry.public_key(), now,
                          now + 10 * 60'000, crypto::apply_content_hash(yaml, {}, 0, 0, 1));

  unsigned stored = 0;
  std::string failures;
  for (const auto& share : encrypted->shares) {
    if (!options.store_shares) break;
    protocol::StoreShareRequest req;
    req.request_id = runtime::new_workload_id();
    req.manifest_id = *mid;
    req.owner_public_key = entry.public_key();  // the publisher
    req.manifest_owner_public_key = owner.public_key();
    req.owner_grant = owner_grant;
    req.owner_credential = owner.credential();
    req.share_index = share.holder.share_index;
    req.sealed_share = share.sealed;
    req.key_commitment = encrypted->applied.key_commitment;
    req.threshold = encrypted->applied.threshold;
    req.expires_ms = now + options.share_ttl_ms;
    auto holder = std::find_if(holders.begin(), holders.end(), [&](const TargetNode& h) {
      return h.node_id == share.holder.node_id;
    });
    auto answer = rpc.store_share(*holder, crypto::sign_message(entry, req, clock));
    if (answer && answer->ok) {
      ++stored;
    } else {
      failures += " " + holder->rpc_endpoint + ": " +
                  (answer ? answer->code + " " + answer->message : answer.error().to_string());
    }
  }
  if (options.store_shares && stored < encrypted->applied.threshold) {
    return make_error("too_few_shares",
                      "only " + std::to_string(stored) + " holders stored a share:" + failures);
  }

  PreparedApply out;
  out.manifest_id = *mid;
  auto& req = out.request;
  req.request_id = runtime::new_workload_id();
  req.manifest_id = *mid;
  req.owner_public_key = owner.public_key();
  req.applied_manifest = encrypted->applied;
  req.threshold = encrypted->applied.threshold;
  // The publisher lets the target fetch the shares it filed.
  req.grant = crypto::issue_grant(entry, protocol::GrantAction::kKeyShare, *mid, target.public_key,
                                  now, now + 10 * 60'000);
  req.owner_grant = owner_grant;
  req.owner_credential = owner.credential();
  req.workload_id = runtime::new_workload_id();
  req.replicas = 1;
  req.total_replicas = 1;
  req.placement = {target.node_id};
  return out;
}

Result<Bytes> with_corrupted_signature(const Bytes& envelope) {
  auto decoded = protocol::decode_envelope(envelope);
  if (!decoded) return decoded.error();
  decoded->signature[7] ^= 0x01;
  return protocol::encode_envelope(*decoded);
}

Bytes delete_envelope(const crypto::Identity& owner, const std::string& manifest_id,
                      const Clock& clock) {
  protocol::DeleteRequest req;
  req.request_id = runtime::new_workload_id();
  req.manifest_id = manifest_id;
  req.owner_public_key = owner.public_key();
  return crypto::sign_message(owner, req, clock);
}

}  // namespace beemesh::e2e
