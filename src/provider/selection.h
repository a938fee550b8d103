// provider/selection.h — which provider records discovery returns, and in what order.
//
// Promise (pure functions, no I/O, no clock of their own):
//  * verify_provider_value() accepts a DHT value only if it is a provider record whose
//    signature verifies, whose signer is the node it names (crypto::open_provider_record),
//    and which is for `manifest_id`; anything else is an Error (the reason in `code`).
//  * supersedes(a, b): for records of one node, a replaces b when its sequence is higher,
//    or equal with a newer timestamp, or both equal and a is a withdrawal and b is not.
//  * select_providers(): keeps the newest record per node (by supersedes, withdrawn ones
//    included, so a withdrawal hides every older announcement), then drops withdrawn ones,
//    expired ones (timestamp + ttl <= now) and ones timestamped more than `max_skew_ms` in
//    the future, orders the rest freshest first (timestamp descending; ties by node id
//    ascending, then endpoint), and returns at most `max` of them.
//  * check_record_ranges() range-checks a verified record before anything keeps it:
//    ttl_s in 1..kMaxRecordTtlS ("bad_ttl") and timestamp_ms at most `max_skew_ms` after
//    `now_ms` ("record_from_future"; records dated ahead would otherwise sort first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "protocol/records.h"
#include "provider/provider.h"

namespace beemesh::provider {

Result<protocol::ProviderRecord> verify_provider_value(ByteView value,
                                                       const std::string& manifest_id);

inline constexpr int64_t kMaxRecordTtlS = 86'400;
Result<void> check_record_ranges(const protocol::ProviderRecord& r, int64_t now_ms,
                                 int64_t max_skew_ms);

bool supersedes(const protocol::ProviderRecord& a, const protocol::ProviderRecord& b);
bool is_expired(const protocol::ProviderRecord& r, int64_t now_ms);
bool is_live(const protocol::ProviderRecord& r, int64_t now_ms, int64_t max_skew_ms);

// Folds `record` into `newest` (node id -> newest record); true if it changed anything.
bool keep_newest(std::map<std::string, protocol::ProviderRecord>& newest,
                 const protocol::ProviderRecord& record);

ProviderInfo to_info(const protocol::ProviderRecord& r);

// Freshest first: timestamp descending, then node id, then endpoint ascending.
bool fresher(const ProviderInfo& a, const ProviderInfo& b);

// The same, from records already reduced to the newest per node (see keep_newest).
std::vector<ProviderInfo> select_from_newest(
    const std::map<std::string, protocol::ProviderRecord>& newest_per_node, int64_t now_ms,
    size_t max, int64_t max_skew_ms);
std::vector<ProviderInfo> select_providers(const std::vector<protocol::ProviderRecord>& records,
                                           int64_t now_ms, size_t max, int64_t max_skew_ms);

}  // namespace beemesh::provider
