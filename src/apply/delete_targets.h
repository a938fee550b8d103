// apply/delete_targets.h — whom a delete is forwarded to: the nodes that run or hold a
// manifest, never the whole mesh (docs/ARCHITECTURE.md "Fan-out per operation").
//
// Promise: delete_targets() is a pure function of what the entry node learnt about one
// manifest, in this order:
//  1. the providers discovery returned for it (they run a replica), then
//  2. the key-share holders named in its desired-state record (the publisher-signed
//     encrypted manifest of the owner's current intent), which drop their shares on delete.
// Holders are first resolved through the node directory (known_holders, as a deploying
// node does for share fetches): a holder the directory does not list with the same key —
// gone, known dead, revoked, or outside this node's view — is not contacted, and one that
// is listed is reached where it announced itself now (not the endpoint of the split's
// time: a restarted node may have moved).
// An entry is dropped (hostile or stale input, never an error) when: it is a provider
// record of another manifest id; its node id is not node_id_of() its key (a provider's
// signer, a holder's key); its RPC endpoint does not parse as host:port (or names a peer id:
// 'id@'). The first entry of a node id wins (one request per node). At most `cap` targets are
// returned (default kMaxDeleteTargets, docs/LIMITS.md), providers first. Replicas and holders
// beyond what is reached learn the owner's tombstone from the DHT and remove themselves
// (reconcile).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "protocol/records.h"
#include "provider/provider.h"

namespace beemesh::apply {

// Discovery returns at most 50 providers and a split at most 255 holders; the cap keeps a
// delete's fan-out bounded whatever the records say.
inline constexpr size_t kMaxDeleteTargets = 128;

struct DeleteTarget {
  std::string node_id;
  crypto::PublicKey public_key{};  // the reply must be signed by it
  std::string rpc_endpoint;
};

// A member node as the directory knows it, by node id (nullopt: not known). May block (a
// directory shard read): call it off the event loop.
using MemberLookup = std::function<std::optional<DeleteTarget>(const std::string& node_id)>;

// The holders `find` knows under the same key, with the endpoint it knows. `find` unset:
// the holders as named (in-process unit meshes).
std::vector<protocol::ShareHolder> known_holders(const std::vector<protocol::ShareHolder>& holders,
                                                 const MemberLookup& find);

std::vector<DeleteTarget> delete_targets(const std::string& manifest_id,
                                         const std::vector<provider::ProviderInfo>& providers,
                                         const std::vector<protocol::ShareHolder>& holders,
                                         size_t cap = kMaxDeleteTargets);

}  // namespace beemesh::apply
