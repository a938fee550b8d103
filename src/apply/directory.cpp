#include "apply/directory.h"

#include <algorithm>

namespace beemesh::apply {

NodeDirectory::NodeDirectory(provider::ProviderManager& providers, NodeEntry self,
                             std::chrono::seconds ttl)
    : providers_(providers), self_(std::move(self)), ttl_(ttl) {}

void NodeDirectory::announce_self() {
  provider::ProviderMetadata meta;
  meta.node_id = self_.node_id;
  meta.rpc_endpoint = self_.rpc_endpoint;
  meta.engine = self_.engine;
  meta.capabilities = {
      {"public_key", to_hex(self_.public_key)}, {"name", self_.name}, {"api", self_.api_endpoint}};
  providers_.announce(std::string(kNodesDirectoryId), meta, ttl_);
}

std::vector<NodeEntry> NodeDirectory::nodes() {
  std::vector<NodeEntry> out{self_};
  for (const auto& p : providers_.discover(std::string(kNodesDirectoryId))) {
    if (p.metadata.node_id == self_.node_id) continue;
    auto caps = p.metadata.capabilities;
    auto key = from_hex(caps["public_key"]);
    if (!key || key->size() != 32) continue;
    NodeEntry e;
    std::copy(key->begin(), key->end(), e.public_key.begin());
    if (crypto::node_id_of(e.public_key) != p.metadata.node_id) continue;
    e.node_id = p.metadata.node_id;
    e.name = caps["name"];
    e.api_endpoint = caps["api"];
    e.rpc_endpoint = p.metadata.rpc_endpoint;
    e.engine = p.metadata.engine;
    e.last_seen_ms = p.timestamp_ms;
    out.push_back(std::move(e));
  }
  std::sort(out.begin() + 1, out.end(),
            [](const NodeEntry& a, const NodeEntry& b) { return a.node_id < b.node_id; });
  return out;
}

}  // namespace beemesh::apply
