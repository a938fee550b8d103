#include "provider/selection.h"

#include <algorithm>
#include <tuple>

#include "crypto/records.h"

namespace beemesh::provider {

Result<protocol::ProviderRecord> verify_provider_value(ByteView value,
                                                       const std::string& manifest_id) {
  auto record = crypto::open_provider_record(value);
  if (!record.ok()) return record.error();
  if (record->manifest_id != manifest_id) {
    return make_error("wrong_manifest", "provider record of node " + record->node_id +
                                            " is for manifest '" + record->manifest_id +
                                            "', found under '" + manifest_id + "'");
  }
  return record;
}

Result<void> check_record_ranges(const protocol::ProviderRecord& r, int64_t now_ms,
                                 int64_t max_skew_ms) {
  if (r.ttl_s < 1 || r.ttl_s > kMaxRecordTtlS) {
    return make_error("bad_ttl", "provider record of node " + r.node_id + " has ttl_s " +
                                     std::to_string(r.ttl_s) + ", outside 1.." +
                                     std::to_string(kMaxRecordTtlS));
  }
  // now_ms is ours and max_skew_ms configured: no overflow from the untrusted timestamp.
  if (r.timestamp_ms > now_ms + max_skew_ms) {
    return make_error("record_from_future", "provider record of node " + r.node_id + " is dated " +
                                                std::to_string(r.timestamp_ms) + " ms, more than " +
                                                std::to_string(max_skew_ms) + " ms after now (" +
                                                std::to_string(now_ms) + " ms)");
  }
  return ok_result();
}

bool supersedes(const protocol::ProviderRecord& a, const protocol::ProviderRecord& b) {
  // On a full tie the withdrawal wins: hiding is the safe side, and a node that restarts
  // within the millisecond of its last announcement must still be able to withdraw it.
  return std::tie(a.sequence, a.timestamp_ms, a.withdrawn) >
         std::tie(b.sequence, b.timestamp_ms, b.withdrawn);
}

bool is_expired(const protocol::ProviderRecord& r, int64_t now_ms) {
  return r.ttl_s <= 0 || r.timestamp_ms + r.ttl_s * 1000 <= now_ms;
}

bool is_live(const protocol::ProviderRecord& r, int64_t now_ms, int64_t max_skew_ms) {
  return !r.withdrawn && !is_expired(r, now_ms) && r.timestamp_ms <= now_ms + max_skew_ms;
}

bool keep_newest(std::map<std::string, protocol::ProviderRecord>& newest,
                 const protocol::ProviderRecord& record) {
  auto it = newest.find(record.node_id);
  if (it == newest.end()) {
    newest.emplace(record.node_id, record);
    return true;
  }
  if (!supersedes(record, it->second)) return false;
  it->second = record;
  return true;
}

ProviderInfo to_info(const protocol::ProviderRecord& r) {
  ProviderInfo info;
  info.manifest_id = r.manifest_id;
  info.metadata.node_id = r.node_id;
  info.metadata.rpc_endpoint = r.rpc_endpoint;
  info.metadata.engine = r.engine;
  info.metadata.capabilities = r.capabilities;
  info.timestamp_ms = r.timestamp_ms;
  info.ttl_s = r.ttl_s;
  info.sequence = r.sequence;
  info.credential = r.credential;
  std::copy(r.signer_public_key.begin(), r.signer_public_key.end(), info.signer.begin());
  return info;
}

bool fresher(const ProviderInfo& a, const ProviderInfo& b) {
  if (a.timestamp_ms != b.timestamp_ms) return a.timestamp_ms > b.timestamp_ms;
  if (a.metadata.node_id != b.metadata.node_id) return a.metadata.node_id < b.metadata.node_id;
  return a.metadata.rpc_endpoint < b.metadata.rpc_endpoint;
}

std::vector<ProviderInfo> select_from_newest(
    const std::map<std::string, protocol::ProviderRecord>& newest_per_node, int64_t now_ms,
    size_t max, int64_t max_skew_ms) {
  std::vector<ProviderInfo> out;
  out.reserve(std::min(newest_per_node.size(), max));
  for (const auto& [node, record] : newest_per_node) {
    if (is_live(record, now_ms, max_skew_ms)) out.push_back(to_info(record));
  }
  std::sort(out.begin(), out.end(), fresher);
  if (out.size() > max) out.resize(max);
  return out;
}

std::vector<ProviderInfo> select_providers(const std::vector<protocol::ProviderRecord>& records,
                                           int64_t now_ms, size_t max, int64_t max_skew_ms) {
  std::map<std::string, protocol::ProviderRecord> newest;
  for (const auto& r : records) keep_newest(newest, r);
  return select_from_newest(newest, now_ms, max, max_skew_ms);
}

}  // namespace beemesh::provider
