#include "apply/delete_targets.h"

#include <set>

#include "net/endpoint.h"

namespace beemesh::apply {

std::vector<protocol::ShareHolder> known_holders(const std::vector<protocol::ShareHolder>& holders,
                                                 const MemberLookup& find) {
  if (!find) return holders;
  std::vector<protocol::ShareHolder> out;
  for (const auto& h : holders) {
    auto member = find(h.node_id);
    if (!member || member->public_key != h.node_public_key) continue;
    auto known = h;
    known.rpc_endpoint = member->rpc_endpoint;
    out.push_back(std::move(known));
  }
  return out;
}

std::vector<DeleteTarget> delete_targets(const std::string& manifest_id,
                                         const std::vector<provider::ProviderInfo>& providers,
                                         const std::vector<protocol::ShareHolder>& holders,
                                         size_t cap) {
  std::vector<DeleteTarget> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& node_id, const crypto::PublicKey& key,
                 const std::string& endpoint) {
    if (out.size() >= cap || seen.count(node_id)) return;
    if (crypto::node_id_of(key) != node_id) return;
    // The node id pinned on the connection is ours to add (net::pinned_endpoint).
    if (endpoint.find('@') != std::string::npos || !net::parse_endpoint(endpoint)) return;
    seen.insert(node_id);
    out.push_back({node_id, key, endpoint});
  };
  for (const auto& p : providers) {
    if (p.manifest_id != manifest_id) continue;
    add(p.metadata.node_id, p.signer, p.metadata.rpc_endpoint);
  }
  for (const auto& h : holders) add(h.node_id, h.node_public_key, h.rpc_endpoint);
  return out;
}

}  // namespace beemesh::apply
