// tests/e2e/direct_rpc.h — talking straight to a node's RPC port: valid, forged, replayed and
// stale ApplyRequest envelopes, without going through any node's REST API or publisher.
//
// Usage:
//   e2e::DirectRpc rpc(*mesh);             // connects as a member node of the mesh (TLS)
//   auto owner = mesh->identity_of(mesh->deployer());           // a user with a credential
//   auto entry = mesh->admitted_node_identity("entry");         // the test acts as a node
//   auto prepared = e2e::prepare_apply(rpc, *owner, *entry, yaml, target, holders, clock);
//   auto wire = crypto::sign_message(*entry, prepared->request, clock);  // a valid apply
//   auto answer = rpc.apply(target, wire);                               // -> code "ok"
//   rpc.apply(target, wire);                                             // -> code "replay"
//
// Promise:
//  * Every RPC link is TLS 1.3 (app/rpc_tls.h), as between nodes. DirectRpc(mesh) presents a
//    fresh node identity the mesh's admin admitted (Mesh::admitted_node_identity) and checks
//    that every node it reaches is a member; DirectRpc(as, admin, mesh_id) presents `as` (its
//    credential) and checks peers against that admin key and mesh id. DirectRpc(as, AnyPeer{})
//    presents `as` whatever its credential (a stranger's) and accepts any node certificate:
//    what an outsider can do. When the TLS setup fails, every call returns its Error.
//  * prepare_apply() does what an entry node does for one replica, with `owner` acting as
//    both the manifest's owner and the entry node: computes the manifest id, issues the
//    owner's apply grant (bound to the content: the YAML, no env or limits, one replica),
//    encrypts the manifest under the entry node's key (the publisher), stores one sealed
//    key share on each holder (with the owner's grant and credential; n = min(5, holders), k =
//    min(3, n) as the daemon's defaults; signed StoreShareRequests); fails unless at least k
//    holders accept) and fills an ApplyRequest with the key-share grant for `target`. Nothing is
//    deployed until an ApplyRequest envelope is sent. The overload with `entry` separates the two
//    roles as the mesh does: `owner` (a user) signs the grants, `entry` (a member node identity,
//    Mesh::admitted_node_identity) signs the store-share requests and is the node the owner's apply
//    grant names; the caller signs the ApplyRequest with `entry` too. PrepareOptions can skip
//    storing shares and take the manifest id as given (for manifests that must not be parsed here).
//  * apply()/remove()/store_share() send an envelope to the "apply"/"delete"/"storeshare"
//    protocol and return the node's answer after checking it is signed by the target node;
//    an ErrorReply (a request refused before any handler) comes back as a response with
//    ok = false and its code. A transport failure is an Error.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "net/client.h"
#include "net/event_loop.h"
#include "protocol/messages.h"

namespace beemesh::e2e {

struct TargetNode {
  std::string node_id;
  crypto::PublicKey public_key{};
  std::string rpc_endpoint;  // "127.0.0.1:port"
};
Result<TargetNode> target_node(const std::string& public_key_hex, const std::string& rpc_endpoint);

class Mesh;

class DirectRpc {
 public:
  struct AnyPeer {};
  explicit DirectRpc(const Mesh& mesh);
  DirectRpc(const crypto::Identity& as, const crypto::PublicKey& admin, const std::string& mesh_id);
  DirectRpc(const crypto::Identity& as, AnyPeer);
  ~DirectRpc();
  DirectRpc(const DirectRpc&) = delete;
  DirectRpc& operator=(const DirectRpc&) = delete;

  Result<protocol::ApplyResponse> apply(const TargetNode& target, const Bytes& envelope);
  Result<protocol::DeleteResponse> remove(const TargetNode& target, const Bytes& envelope);
  Result<protocol::StoreShareResponse> store_share(const TargetNode& holder, const Bytes& envelope);
  // Any protocol: the reply's bytes, unchecked.
  Result<Bytes> raw(const std::string& endpoint, std::string_view protocol, const Bytes& envelope,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  template <typename Response>
  Result<Response> call(const TargetNode& target, std::string_view protocol, const Bytes& envelope);

  void connect_as(const crypto::Identity& as, net::PeerVerifier verify);

  const Clock& clock_;
  net::EventLoop loop_{1};
  crypto::EnvelopeVerifier verifier_;
  std::unique_ptr<crypto::Membership> membership_;  // checks the nodes reached
  std::unique_ptr<net::Client> client_;
  std::optional<Error> setup_error_;
};

struct PreparedApply {
  std::string manifest_id;
  protocol::ApplyRequest request;
};

struct PrepareOptions {
  std::string manifest_id;   // empty: computed from the YAML (which is then parsed)
  bool store_shares = true;  // false: shares are made but sent nowhere
  int64_t share_ttl_ms = 3'600'000;

  static PrepareOptions without_storing_shares() {
    PrepareOptions o;
    o.store_shares = false;
    return o;
  }
  static PrepareOptions for_manifest_id(std::string id) {
    PrepareOptions o;
    o.manifest_id = std::move(id);
    return o;
  }
};

Result<PreparedApply> prepare_apply(DirectRpc& rpc, const crypto::Identity& owner,
                                    const std::string& yaml, const TargetNode& target,
                                    const std::vector<TargetNode>& holders, const Clock& clock);
Result<PreparedApply> prepare_apply(DirectRpc& rpc, const crypto::Identity& owner,
                                    const crypto::Identity& entry, const std::string& yaml,
                                    const TargetNode& target,
                                    const std::vector<TargetNode>& holders, const Clock& clock,
                                    const PrepareOptions& options = {});

// The same envelope with one bit of its signature flipped.
Result<Bytes> with_corrupted_signature(const Bytes& envelope);

// An owner-signed DeleteRequest for every workload of the manifest.
Bytes delete_envelope(const crypto::Identity& owner, const std::string& manifest_id,
                      const Clock& clock);

// A clock running `offset_ms` behind (negative) or ahead of the system clock.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  int64_t now_ms() const override { return system_clock().now_ms() + offset_ms_; }

 private:
  int64_t offset_ms_;
};

}  // namespace beemesh::e2e
