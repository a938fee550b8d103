// apply/directory.h — which nodes are in the mesh.
//
// Promise: every node announces itself as a provider of the well-known id "beemesh:nodes"
// with its public key, name, RPC and API endpoints and engine as capabilities (a signed,
// refreshed provider record like any other, carrying the node's credential).
//  * nodes() never waits on the DHT: it returns the last snapshot (self first, then the
//    others by node id). start() refreshes the snapshot on a thread of its own every
//    `refresh` (and once at once); without start() (in-process unit meshes) nodes()
//    refreshes synchronously.
//  * A snapshot keeps only entries whose public key hashes to the node id they name and,
//    with a membership, whose record's credential still makes its signer a member node at
//    refresh time — so a revoked node leaves the directory within one refresh of the
//    revocation reaching this node. This node is always included. With liveness wired into
//    the provider manager (the daemon: ProviderConfig::liveness_passive holds this id), nodes
//    this node already knows dead are left out; nothing is checked or watched for it.
//  * The size of a mesh seen this way is capped by discovery's max_providers (50).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/identity.h"
#include "crypto/membership.h"
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
  NodeDirectory(provider::ProviderManager& providers, NodeEntry self, std::chrono::seconds ttl,
                const crypto::Membership* membership = nullptr);
  ~NodeDirectory();
  NodeDirectory(const NodeDirectory&) = delete;
  NodeDirectory& operator=(const NodeDirectory&) = delete;

  void announce_self();
  void set_api_endpoint(std::string url) { self_.api_endpoint = std::move(url); }
  void start(std::chrono::milliseconds refresh = std::chrono::seconds(2));
  void stop();  // joins the refresher; idempotent (the destructor calls it)
  std::vector<NodeEntry> nodes();
  const NodeEntry& self() const { return self_; }

 private:
  std::vector<NodeEntry> discover_now();

  provider::ProviderManager& providers_;
  NodeEntry self_;
  std::chrono::seconds ttl_;
  const crypto::Membership* membership_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<NodeEntry> snapshot_;
  bool started_ = false;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace beemesh::apply
