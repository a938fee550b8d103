// kube/status.h — beemesh errors as Kubernetes `Status` objects: one table.
//
// Promise:
//  * status_for(code) maps every beemesh error code the proxy can meet (the REST API's,
//    the apply path's, the CLI's own and the proxy's) to one HTTP status and one
//    Kubernetes StatusReason; unknown codes are 500 InternalError. The table is
//    kStatusTable below (also printed in docs/notes/kube.md).
//  * status_object() is a v1 Status {status: Failure, reason, code, message, details{name,
//    group, kind, causes}} — what kubectl turns into "Error from server (NotFound): ...".
//  * An `invalid_manifest` error whose message names a field ("<source> doc N: <field>:
//    <reason>", manifest/manifest.h) becomes reason Invalid (422) with one cause
//    {reason: FieldValueInvalid, field, message} (FieldValueRequired with "Required value"
//    when the reason is "missing") and the message kubectl prints as
//    `<Kind>.<group> "<name>" is invalid: <field>: Invalid value: <reason>`.
//  * Messages are the error's own text (ASCII-escaped by JSON); nothing else from the
//    mesh is echoed.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace beemesh::kube {

using Json = nlohmann::json;

struct StatusMapping {
  std::string_view code;    // beemesh error code
  int http_status;          // HTTP status of the answer
  std::string_view reason;  // metav1.StatusReason
};

// Not an exhaustive list of codes: anything else is 500 InternalError.
inline constexpr std::array kStatusTable{
    StatusMapping{"invalid_manifest", 422, "Invalid"},
    StatusMapping{"invalid", 422, "Invalid"},
    StatusMapping{"invalid_quantity", 422, "Invalid"},
    StatusMapping{"invalid_argument", 400, "BadRequest"},
    StatusMapping{"bad_request", 400, "BadRequest"},
    StatusMapping{"malformed", 400, "BadRequest"},
    StatusMapping{"unsupported_media_type", 415, "UnsupportedMediaType"},
    StatusMapping{"unauthenticated", 401, "Unauthorized"},
    StatusMapping{"no_credential", 401, "Unauthorized"},
    StatusMapping{"credential_mismatch", 401, "Unauthorized"},
    StatusMapping{"forbidden_role", 403, "Forbidden"},
    StatusMapping{"forbidden_namespace", 403, "Forbidden"},
    StatusMapping{"forbidden_pod_security", 403, "Forbidden"},
    StatusMapping{"forbidden", 403, "Forbidden"},
    StatusMapping{"unauthorized", 403, "Forbidden"},
    StatusMapping{"bad_signature", 403, "Forbidden"},
    StatusMapping{"signer_mismatch", 403, "Forbidden"},
    StatusMapping{"expired", 403, "Forbidden"},
    StatusMapping{"replay", 403, "Forbidden"},
    StatusMapping{"wrong_mesh", 403, "Forbidden"},
    StatusMapping{"forbidden_origin", 403, "Forbidden"},
    StatusMapping{"forbidden_host", 403, "Forbidden"},
    StatusMapping{"not_found", 404, "NotFound"},
    StatusMapping{"method_not_allowed", 405, "MethodNotAllowed"},
    StatusMapping{"already_exists", 409, "AlreadyExists"},
    StatusMapping{"conflict", 409, "Conflict"},
    StatusMapping{"stale_intent", 409, "Conflict"},
    StatusMapping{"name_conflict", 409, "Conflict"},
    StatusMapping{"intent_mismatch", 409, "Conflict"},
    StatusMapping{"payload_too_large", 413, "RequestEntityTooLarge"},
    StatusMapping{"header_too_large", 431, "BadRequest"},
    StatusMapping{"too_many_requests", 429, "TooManyRequests"},
    StatusMapping{"busy", 429, "TooManyRequests"},
    StatusMapping{"no_capacity", 503, "ServiceUnavailable"},
    StatusMapping{"no_engine", 503, "ServiceUnavailable"},
    StatusMapping{"unavailable", 503, "ServiceUnavailable"},
    StatusMapping{"unreachable", 503, "ServiceUnavailable"},
    StatusMapping{"partially_placed", 503, "ServiceUnavailable"},
    StatusMapping{"timeout", 504, "Timeout"},
};

StatusMapping status_for(std::string_view code);

// What the failed request was about (for the message and details); empty = unknown.
struct Subject {
  std::string group;     // "" (core) or "apps"
  std::string kind;      // "Deployment"
  std::string resource;  // "deployments"
  std::string name;
};

Json status_object(const Error& error, const Subject& subject = {});
// The HTTP status status_object() carries.
int http_status(const Json& status);
// {"kind":"Status","status":"Success",...} for deletes.
Json success_status(const Subject& subject);

}  // namespace beemesh::kube
