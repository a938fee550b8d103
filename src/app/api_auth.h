// app/api_auth.h — the daemon's REST Authenticator (api/auth.h): a mesh user's credential
// plus a single-use request signature.
//
// Usage (daemon wiring):
//   app::ApiAuthenticator auth(membership, node_identity.public_key(), clock,
//                              {.not_before_ms = start_ms});
//   api::ApiServer server(service, auth, api_config);
//
// Promise: authenticate() returns the Caller only when all of these hold, checked in this
// order, else an Error with exactly one code:
//  * X-Beemesh-Credential is present ("no_credential"), hex and at most
//    crypto::kMaxCredentialSize bytes ("malformed_credential"); X-Beemesh-Auth is hex of
//    at most kMaxApiAuthSize bytes that decodes as an Envelope ("malformed").
//  * The credential makes the envelope's signer a member (crypto::Membership::verify: its
//    codes, e.g. "not_a_member", "credential_expired", "credential_revoked",
//    "credential_mismatch") and is a user certificate ("not_a_user": node credentials and
//    join tickets cannot use the API). Nothing below runs for a non-member.
//  * The envelope passes a crypto::EnvelopeVerifier of its own (PayloadType kApiAuth):
//    timestamp window, not_before_ms, signature, replay cache with a per-signer quota (its
//    codes: "timestamp_out_of_window", "bad_signature", "replay", ...). So a captured
//    X-Beemesh-Auth cannot be used twice, nor after the window.
//  * The ApiAuth inside names this request's method and path and this node's key
//    ("auth_mismatch" otherwise), so a token for one request or node is useless for another.
// The Caller carries the member's role, name and namespaces and the signer's key (hex).
// Thread-safe (Membership and EnvelopeVerifier are); `membership` and `clock` must outlive it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "api/auth.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/membership.h"

namespace beemesh::app {

// An ApiAuth envelope is a few hundred bytes, plus the signer's credential if it attaches one.
inline constexpr size_t kMaxApiAuthSize = crypto::kMaxCredentialSize + 2048;

class ApiAuthenticator : public api::Authenticator {
 public:
  struct Options {
    std::chrono::milliseconds window{30'000};  // accepted clock skew, both directions
    size_t replay_capacity = 50'000;           // live tokens remembered at most
    size_t replay_quota_per_signer = 5'000;    // live tokens per user
    int64_t not_before_ms = 0;                 // the daemon's start time (Unix ms)
  };

  ApiAuthenticator(const crypto::Membership& membership, const crypto::PublicKey& node_key,
                   const Clock& clock);
  ApiAuthenticator(const crypto::Membership& membership, const crypto::PublicKey& node_key,
                   const Clock& clock, Options options);

  Result<api::Caller> authenticate(const api::AuthRequest& request) override;

 private:
  const crypto::Membership& membership_;
  const crypto::PublicKey node_key_;
  crypto::EnvelopeVerifier verifier_;
};

}  // namespace beemesh::app
