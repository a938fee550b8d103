// api/http_status.h — which HTTP status answers which error code.
//
// Promise: a total, stable mapping from the machine-readable error codes of the apply path
// (and of the API itself) to HTTP statuses; unknown codes map to 500.
//   400 invalid_manifest, bad_request, invalid_argument, malformed
//   401 unauthenticated
//   403 bad_signature, unauthorized, forbidden, expired, replay, signer_mismatch,
//       forbidden_role, forbidden_origin, wrong_mesh
//   404 not_found
//   409 conflict, stale_revocations
//   413 payload_too_large
//   421 forbidden_host
//   431 header_too_large
//   503 busy, no_capacity, no_engine, unavailable
//   504 timeout
//   500 everything else
#pragma once

#include <string_view>

namespace beemesh::api {

int http_status_for(std::string_view error_code);

}  // namespace beemesh::api
