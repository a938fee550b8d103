// tests/provider/records_util.h — signed provider records for tests.
#pragma once

#include <string>

#include "crypto/identity.h"
#include "crypto/records.h"
#include "protocol/records.h"

namespace beemesh::testing {

inline crypto::Identity identity_n(uint8_t n) {
  crypto::Seed seed{};
  seed.fill(n);
  return crypto::Identity::from_seed(seed);
}

inline protocol::ProviderRecord provider_record(const crypto::Identity& id,
                                                const std::string& manifest_id, uint64_t sequence,
                                                int64_t timestamp_ms, int64_t ttl_s = 3600,
                                                bool withdrawn = false) {
  protocol::ProviderRecord r;
  r.manifest_id = manifest_id;
  r.node_id = id.node_id();
  r.signer_public_key = id.public_key();
  r.rpc_endpoint = "127.0.0.1:7401";
  r.engine = "mock";
  r.capabilities = {{"arch", "x86_64"}};
  r.timestamp_ms = timestamp_ms;
  r.ttl_s = ttl_s;
  r.sequence = sequence;
  r.withdrawn = withdrawn;
  return r;
}

inline Bytes signed_provider_record(const crypto::Identity& id, const std::string& manifest_id,
                                    uint64_t sequence, int64_t timestamp_ms, int64_t ttl_s = 3600,
                                    bool withdrawn = false) {
  return crypto::sign_provider_record(
      id, provider_record(id, manifest_id, sequence, timestamp_ms, ttl_s, withdrawn));
}

}  // namespace beemesh::testing
