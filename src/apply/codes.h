// apply/codes.h — the machine-readable codes of ApplyResponse / DeleteResponse.
//
// Promise: every way an apply can fail maps to exactly one of these codes; the message
// says what was wrong (with the underlying crypto/engine code in it where there is one).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace beemesh::apply::codes {

inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kBadSignature = "bad_signature";
inline constexpr std::string_view kReplay = "replay";
inline constexpr std::string_view kExpired = "expired";  // timestamp outside the window
inline constexpr std::string_view kMalformed = "malformed";
inline constexpr std::string_view kUnauthorized = "unauthorized";  // owner grant refused
inline constexpr std::string_view kForbidden = "forbidden";        // not the manifest's owner
inline constexpr std::string_view kUndecryptable = "undecryptable";
inline constexpr std::string_view kTooFewShares = "too_few_shares";
inline constexpr std::string_view kInvalidManifest = "invalid_manifest";
inline constexpr std::string_view kNoEngine = "no_engine";
inline constexpr std::string_view kDeployFailed = "deploy_failed";
inline constexpr std::string_view kBusy = "busy";
inline constexpr std::string_view kNoCapacity = "no_capacity";
inline constexpr std::string_view kNotFound = "not_found";

// Envelope verification codes (crypto/envelope.h) -> apply codes; membership codes
// (crypto/membership.h), replay_quota_exceeded and replay_window_closed pass unchanged.
Error from_envelope_error(const Error& e);
// Workload manager deploy codes -> apply codes; forbidden_pod_security, name_conflict,
// invalid_workload_id and quota_exceeded pass unchanged.
Error from_deploy_error(const Error& e);
// Grant check codes -> kUnauthorized, keeping the detail in the message.
Error from_grant_error(const Error& e, std::string_view what);

}  // namespace beemesh::apply::codes
