#include "apply/admission.h"

#include <sodium.h>

#include "apply/codes.h"
#include "runtime/runtime.h"

namespace beemesh::apply {

namespace {
Error malformed(const std::string& field, const std::string& why) {
  return make_error(std::string(codes::kMalformed), "apply request: " + field + ": " + why);
}

Result<void> check_map(const std::map<std::string, std::string>& m, const std::string& field) {
  if (m.size() > kMaxEnvEntries) {
    return malformed(
        field, std::to_string(m.size()) + " entries, at most " + std::to_string(kMaxEnvEntries));
  }
  for (const auto& [k, v] : m) {
    if (k.empty() || k.size() > 256 || v.size() > kMaxEnvValueSize) {
      return malformed(field,
                       "an entry's name is empty or longer than 256 bytes, or its value "
                       "longer than " +
                           std::to_string(kMaxEnvValueSize) + " bytes");
    }
  }
  return {};
}
}  // namespace

Result<void> require_node(const crypto::Membership* membership,
                          const crypto::VerifiedEnvelope& envelope, std::string_view what) {
  if (!membership) return {};
  if (!envelope.member || envelope.member->kind != crypto::CertKind::kNode) {
    return make_error(
        std::string(codes::kForbidden),
        std::string(what) + " must be signed by a member node, not " +
            (envelope.member ? std::string(crypto::cert_kind_name(envelope.member->kind))
                             : std::string("an unchecked signer")));
  }
  return {};
}

Result<crypto::Member> check_owner(const crypto::Membership* membership, ByteView credential,
                                   const crypto::PublicKey& owner) {
  if (!membership) return crypto::Member{};
  auto member = membership->verify(credential, owner);
  if (!member) {
    return make_error(std::string(codes::kUnauthorized),
                      "owner credential: " + member.error().to_string());
  }
  if (member->kind != crypto::CertKind::kUser || member->role < crypto::Role::kDeployer) {
    return make_error(std::string(codes::kForbidden),
                      "owner " + member->name + " has role " +
                          std::string(crypto::role_name(member->role)) +
                          "; applying needs deployer or admin");
  }
  return member;
}

Result<void> check_apply_ranges(const protocol::ApplyRequest& r, size_t max_holders) {
  if (r.replicas < 1 || r.replicas > kMaxReplicasPerNode) {
    return malformed("replicas", "must be 1.." + std::to_string(kMaxReplicasPerNode));
  }
  if (r.total_replicas < r.replicas || r.total_replicas > kMaxReplicas) {
    return malformed("total_replicas", "must be replicas.." + std::to_string(kMaxReplicas));
  }
  if (r.memory_limit_bytes < 0 || r.memory_limit_bytes > kMaxMemoryLimit) {
    return malformed("memory_limit_bytes", "out of range");
  }
  if (r.cpu_limit_millis < 0 || r.cpu_limit_millis > kMaxCpuLimit) {
    return malformed("cpu_limit_millis", "out of range");
  }
  BEEMESH_TRY(check_map(r.env, "env"));
  BEEMESH_TRY(check_map(r.labels, "labels"));
  const auto& holders = r.applied_manifest.share_holders;
  if (holders.size() > max_holders) {
    return malformed("share_holders", std::to_string(holders.size()) + " holders, at most " +
                                          std::to_string(max_holders));
  }
  if (r.applied_manifest.threshold < 1 || r.applied_manifest.threshold > holders.size()) {
    return malformed("threshold", "must be 1..share holders");
  }
  if (r.placement.size() > static_cast<size_t>(r.total_replicas)) {
    return malformed("placement", std::to_string(r.placement.size()) + " nodes for " +
                                      std::to_string(r.total_replicas) + " replicas");
  }
  if (!runtime::is_valid_workload_id(r.workload_id)) {
    return malformed("workload_id", "must be 16 lowercase hex characters");
  }
  return {};
}

Result<void> GrantLedger::use(ByteView grant, int64_t expires_ms, int64_t now_ms) {
  Bytes hash(crypto_generichash_BYTES);
  crypto_generichash(hash.data(), hash.size(), grant.data(), grant.size(), nullptr, 0);
  std::lock_guard lock(mutex_);
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now_ms) {
    used_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  if (used_.count(hash) > 0) {
    return make_error(std::string(codes::kUnauthorized),
                      "owner apply grant: grant_reused: this node already deployed under it");
  }
  if (used_.size() >= kMaxEntries) {
    return make_error(std::string(codes::kBusy), "too many live apply grants on this node");
  }
  by_expiry_.emplace(expires_ms, hash);
  used_.emplace(std::move(hash), expires_ms);
  return {};
}

size_t GrantLedger::size() const {
  std::lock_guard lock(mutex_);
  return used_.size();
}

}  // namespace beemesh::apply
