// provider/provider.h — the contract of provider announcements and discovery.
//
// Promise:
//  * announce() returns at once; the signed ProviderRecord is put into the DHT in the
//    background, re-announced well before its TTL runs out and retried with backoff when a
//    put fails, until withdraw() is called. `on_done` (optional) reports the first put.
//  * withdraw() stops refreshing and publishes a newer signed record marked withdrawn, so
//    discovery on other nodes stops returning this node within seconds, not at TTL.
//  * discover() never throws and never blocks longer than its timeout: cache first, then
//    the DHT; only records whose signature verifies and whose signer is the node they name,
//    not expired, not withdrawn, TTL within 1 s..1 day, dated at most 30 s ahead, (with a
//    membership configured) signed by a member node, one per node, freshest first, at
//    most 50.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/identity.h"

namespace beemesh::provider {

struct ProviderMetadata {
  std::string node_id;       // printable node id (crypto::Identity::node_id())
  std::string rpc_endpoint;  // "127.0.0.1:7401"
  std::string engine;        // "podman", "docker", "mock"
  std::map<std::string, std::string> capabilities;
};

struct ProviderInfo {
  std::string manifest_id;
  ProviderMetadata metadata;
  int64_t timestamp_ms = 0;  // when the record was signed
  int64_t ttl_s = 0;
  uint64_t sequence = 0;
  Bytes credential;            // the signer's membership credential (crypto/membership.h)
  crypto::PublicKey signer{};  // the key that signed the record
};

using DoneCallback = std::function<void(Result<void>)>;

// What the workload manager needs: announce after deploy, withdraw after remove/failure.
class Announcer {
 public:
  virtual ~Announcer() = default;
  virtual void announce(const std::string& manifest_id, const ProviderMetadata& metadata,
                        std::chrono::seconds ttl, DoneCallback on_done = {}) = 0;
  virtual void withdraw(const std::string& manifest_id, DoneCallback on_done = {}) = 0;
};

// What the API and the delete path need: who provides a manifest.
class Discoverer {
 public:
  virtual ~Discoverer() = default;
  virtual std::vector<ProviderInfo> discover(const std::string& manifest_id) = 0;
};

}  // namespace beemesh::provider
