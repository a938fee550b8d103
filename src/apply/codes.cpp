#include "apply/codes.h"

namespace beemesh::apply::codes {

namespace {
Error with_code(std::string_view code, const Error& e) {
  return make_error(std::string(code), e.message.empty() ? e.code : e.code + ": " + e.message);
}
}  // namespace

Error from_envelope_error(const Error& e) {
  if (e.code == "bad_signature") return with_code(kBadSignature, e);
  if (e.code == "replay") return with_code(kReplay, e);
  if (e.code == "timestamp_out_of_window") return with_code(kExpired, e);
  if (e.code == "replay_cache_full") return with_code(kBusy, e);
  // Membership and replay-quota refusals keep their own codes: they say what to fix.
  for (std::string_view own :
       {"no_credential", "malformed_credential", "not_a_member", "wrong_mesh",
        "credential_mismatch", "credential_expired", "credential_not_yet_valid",
        "credential_revoked", "replay_quota_exceeded", "replay_window_closed"}) {
    if (e.code == own) return e;
  }
  return with_code(kMalformed, e);
}

Error from_deploy_error(const Error& e) {
  if (e.code == "invalid_manifest" || e.code == "invalid_request") {
    return with_code(kInvalidManifest, e);
  }
  if (e.code == "no_engine") return with_code(kNoEngine, e);
  if (e.code == "busy") return with_code(kBusy, e);
  for (std::string_view own :
       {"forbidden_pod_security", "name_conflict", "invalid_workload_id", "quota_exceeded"}) {
    if (e.code == own) return e;
  }
  return with_code(kDeployFailed, e);
}

Error from_grant_error(const Error& e, std::string_view what) {
  return make_error(std::string(kUnauthorized), std::string(what) + " refused: " + e.code +
                                                    (e.message.empty() ? "" : ": " + e.message));
}

}  // namespace beemesh::apply::codes
