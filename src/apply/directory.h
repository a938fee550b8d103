// apply/directory.h — which nodes are in the mesh.
//
// Promise: every node announces itself as a provider of the well-known id "beemesh:nodes"
// with its public key, name, RPC and API endpoints and engine as capabilities (a signed,
// refreshed provider record like any other). nodes() discovers them (cache, kept current
// by DHT listen) and keeps only entries whose public key hashes to the node id they name;
// this node is always included. The size of a mesh seen this way is capped by discovery's
// max_providers (50 by default).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "provider/provider_manager.h"

namespace beemesh::apply {

inline constexpr std::string_view kNodesDirectoryId = "beemesh:nodes";

struct NodeEntry {
  std::string node_id;
  crypto::PublicKey public_key{};
  std::string name;
  std::string rpc_endpoint;
  std::string api_endpoint;
  std::string engine;
  int64_t last_seen_ms = 0;
};

class NodeDirectory {
 public:
  NodeDirectory(provider::ProviderManager& providers, NodeEntry self, std::chrono::seconds ttl);

  void announce_self();
  void set_api_endpoint(std::string url) { self_.api_endpoint = std::move(url); }
  std::vector<NodeEntry> nodes();  // self first, then the others by node id
  const NodeEntry& self() const { return self_; }

 private:
  provider::ProviderManager& providers_;
  NodeEntry self_;
  std::chrono::seconds ttl_;
};

}  // namespace beemesh::apply
