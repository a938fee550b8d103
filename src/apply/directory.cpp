#include "apply/directory.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace beemesh::apply {

NodeDirectory::NodeDirectory(provider::ProviderManager& providers, NodeEntry self,
                             std::chrono::seconds ttl, const crypto::Membership* membership)
    : providers_(providers), self_(std::move(self)), ttl_(ttl), membership_(membership) {}

NodeDirectory::~NodeDirectory() {
  stop();
}

void NodeDirectory::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

void NodeDirectory::announce_self() {
  provider::ProviderMetadata meta;
  meta.node_id = self_.node_id;
  meta.rpc_endpoint = self_.rpc_endpoint;
  meta.engine = self_.engine;
  meta.capabilities = {
      {"public_key", to_hex(self_.public_key)}, {"name", self_.name}, {"api", self_.api_endpoint}};
  providers_.announce(std::string(kNodesDirectoryId), meta, ttl_);
}

void NodeDirectory::start(std::chrono::milliseconds refresh) {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  refresher_ = std::thread([this, refresh] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      auto fresh = discover_now();  // may wait on the DHT: never under the lock
      lock.lock();
      snapshot_ = std::move(fresh);
      wake_.wait_for(lock, refresh, [this] { return stopping_; });
    }
  });
}

std::vector<NodeEntry> NodeDirectory::nodes() {
  {
    std::lock_guard lock(mutex_);
    if (started_) {
      if (snapshot_.empty()) return {self_};
      return snapshot_;
    }
  }
  return discover_now();
}

std::vector<NodeEntry> NodeDirectory::discover_now() {
  std::vector<NodeEntry> out{self_};
  for (const auto& p : providers_.discover(std::string(kNodesDirectoryId))) {
    if (p.metadata.node_id == self_.node_id) continue;
    auto caps = p.metadata.capabilities;
    auto key = from_hex(caps["public_key"]);
    if (!key || key->size() != 32) continue;
    NodeEntry e;
    std::copy(key->begin(), key->end(), e.public_key.begin());
    if (crypto::node_id_of(e.public_key) != p.metadata.node_id) continue;
    if (membership_) {
      auto member = membership_->verify(p.credential, p.signer);
      if (!member || member->kind != crypto::CertKind::kNode || p.signer != e.public_key) {
        spdlog::debug("directory: node {} is not a member ({})", p.metadata.node_id,
                      member ? "not a node key" : member.error().code);
        continue;
      }
    }
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
