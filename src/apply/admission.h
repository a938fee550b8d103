// apply/admission.h — who may ask this node for what, and the ranges every number from a
// request must fall in. Checked before any work (order: size → membership →
// authorization → parse; size and membership are the envelope verifier's).
//
// Promise:
//  * require_node(): with a membership, the envelope's signer must be a member of kind
//    node; else kForbidden ("<what> must be signed by a member node, not <kind>").
//    Without a membership (in-process unit meshes) everything passes.
//  * check_owner(): with a membership, `credential` must make `owner` a member user whose
//    role is at least deployer — kUnauthorized naming the membership code when it does
//    not verify, kForbidden when the role is too low. Returns the member (or an empty one
//    without a membership).
//  * check_apply_ranges(): replicas 1..kMaxReplicasPerNode and ≤ total_replicas ≤
//    kMaxReplicas; limits 0..kMaxMemoryLimit / kMaxCpuLimit; env and labels at most
//    kMaxEnvEntries entries of at most kMaxEnvValueSize bytes; threshold ≥ 1 and ≤ the
//    share holders, which are at most `max_holders`; placement names at most
//    total_replicas nodes; a workload id runtime accepts
//    (runtime::is_valid_workload_id).
//    kMalformed naming the field.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/membership.h"
#include "protocol/messages.h"

namespace beemesh::apply {

inline constexpr int kMaxReplicasPerNode = 100;
inline constexpr int kMaxReplicas = 1000;
inline constexpr int64_t kMaxMemoryLimit = int64_t{1} << 44;  // 16 TiB
inline constexpr int64_t kMaxCpuLimit = 1'000'000;            // 1000 cores
inline constexpr size_t kMaxEnvEntries = 128;
inline constexpr size_t kMaxEnvValueSize = 32 * 1024;

Result<void> require_node(const crypto::Membership* membership,
                          const crypto::VerifiedEnvelope& envelope, std::string_view what);

Result<crypto::Member> check_owner(const crypto::Membership* membership, ByteView credential,
                                   const crypto::PublicKey& owner);

Result<void> check_apply_ranges(const protocol::ApplyRequest& request, size_t max_holders);

// Owner apply grants a node has deployed under: each grant places at most one deployment
// on a node (the entry node's legitimate retries go to other nodes). Entries live until
// the grant expires; at most kMaxEntries are kept (then the oldest-expiring are dropped
// first, and a full set of live entries refuses new grants: "busy").
class GrantLedger {
 public:
  static constexpr size_t kMaxEntries = 100'000;
  // Records `grant` (its bytes' hash) until expires_ms; "grant_reused" when it is there.
  Result<void> use(ByteView grant, int64_t expires_ms, int64_t now_ms);
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<Bytes, int64_t> used_;  // GUARDED_BY(mutex_): grant hash -> expires_ms
  // GUARDED_BY(mutex_): the same entries by expiry, so a use() drops only what expired
  // (O(expired · log n)) instead of walking every live entry.
  std::multimap<int64_t, Bytes> by_expiry_;
};

}  // namespace beemesh::apply
