#include "api/http_status.h"

#include <array>
#include <utility>

namespace beemesh::api {

int http_status_for(std::string_view code) {
  static constexpr std::array<std::pair<std::string_view, int>, 38> kStatuses{{
      {"invalid_manifest", 400},
      {"bad_request", 400},
      {"invalid_argument", 400},
      {"malformed", 400},
      {"bad_signature", 403},
      {"unauthorized", 403},
      {"forbidden", 403},
      {"expired", 403},
      {"replay", 403},
      {"signer_mismatch", 403},
      {"unauthenticated", 401},
      {"forbidden_role", 403},
      {"forbidden_origin", 403},
      {"forbidden_host", 421},
      {"wrong_mesh", 403},
      {"stale_revocations", 409},
      {"header_too_large", 431},
      {"not_found", 404},
      {"conflict", 409},
      {"payload_too_large", 413},
      {"busy", 503},
      {"no_capacity", 503},
      {"no_engine", 503},
      {"unavailable", 503},
      {"timeout", 504},
      {"too_many_requests", 429},
      {"forbidden_pod_security", 403},
      {"name_conflict", 409},
      {"quota_exceeded", 403},
      {"no_credential", 401},
      {"not_a_member", 403},
      {"credential_revoked", 403},
      {"credential_expired", 403},
      {"too_few_shares", 503},
      {"capacity_exceeds_machine", 400},
      {"intent_mismatch", 400},
      {"stale_intent", 409},
      {"forbidden_namespace", 403},
  }};
  for (const auto& [known, status] : kStatuses) {
    if (known == code) return status;
  }
  return 500;
}

}  // namespace beemesh::api
