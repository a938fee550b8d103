#include "app/api_auth.h"

#include "common/bytes.h"
#include "common/safe_text.h"
#include "protocol/envelope.h"
#include "protocol/messages.h"

namespace beemesh::app {

namespace {

crypto::EnvelopeVerifier::Options verifier_options(const ApiAuthenticator::Options& options) {
  crypto::EnvelopeVerifier::Options v;
  v.window = options.window;
  v.replay_capacity = options.replay_capacity;
  v.replay_quota_per_signer = options.replay_quota_per_signer;
  v.max_envelope_size = kMaxApiAuthSize;
  v.not_before_ms = options.not_before_ms;
  return v;
}

}  // namespace

ApiAuthenticator::ApiAuthenticator(const crypto::Membership& membership,
                                   const crypto::PublicKey& node_key, const Clock& clock)
    : ApiAuthenticator(membership, node_key, clock, Options{}) {}

ApiAuthenticator::ApiAuthenticator(const crypto::Membership& membership,
                                   const crypto::PublicKey& node_key, const Clock& clock,
                                   Options options)
    : membership_(membership), node_key_(node_key), verifier_(clock, verifier_options(options)) {}

Result<api::Caller> ApiAuthenticator::authenticate(const api::AuthRequest& request) {
  // Size first: nothing of untrusted size is decoded.
  if (request.credential_hex.empty()) {
    return make_error("no_credential", "no X-Beemesh-Credential header");
  }
  if (request.credential_hex.size() > 2 * crypto::kMaxCredentialSize) {
    return make_error("malformed_credential", "X-Beemesh-Credential is larger than " +
                                                  std::to_string(crypto::kMaxCredentialSize) +
                                                  " bytes");
  }
  if (request.auth_hex.empty() || request.auth_hex.size() > 2 * kMaxApiAuthSize) {
    return make_error("malformed", "X-Beemesh-Auth is missing or larger than " +
                                       std::to_string(kMaxApiAuthSize) + " bytes");
  }
  auto credential = from_hex(request.credential_hex);
  if (!credential) return make_error("malformed_credential", "X-Beemesh-Credential is not hex");
  auto auth = from_hex(request.auth_hex);
  if (!auth) return make_error("malformed", "X-Beemesh-Auth is not hex");

  // Membership of the claimed signer before any signature or replay-cache work.
  auto envelope = protocol::decode_envelope(*auth, kMaxApiAuthSize);
  if (!envelope) return make_error("malformed", "X-Beemesh-Auth: " + envelope.error().message);
  const crypto::PublicKey signer = envelope->signer_public_key;
  auto member = membership_.verify(*credential, signer);
  if (!member) return member.error();
  if (member->kind != crypto::CertKind::kUser) {
    return make_error("not_a_user", "a " + std::string(crypto::cert_kind_name(member->kind)) +
                                        " credential cannot use the API; users hold user "
                                        "credentials (beemesh mesh user)");
  }

  // Window, signature and single use.
  auto verified = verifier_.verify(*auth, protocol::PayloadType::kApiAuth);
  if (!verified) return verified.error();
  if (verified->signer != signer) {
    return make_error("credential_mismatch", "X-Beemesh-Auth signer changed while checking");
  }
  auto signed_auth = protocol::decode<protocol::ApiAuth>(verified->payload, kMaxApiAuthSize);
  if (!signed_auth) return signed_auth.error();
  if (signed_auth->method != request.method || signed_auth->path != request.path) {
    return make_error("auth_mismatch",
                      "X-Beemesh-Auth was signed for " + printable(signed_auth->method, 16) + " " +
                          printable(signed_auth->path, 256) + ", not " +
                          printable(request.method, 16) + " " + printable(request.path, 256));
  }
  if (signed_auth->audience_public_key != node_key_) {
    return make_error("auth_mismatch", "X-Beemesh-Auth was signed for another node (" +
                                           to_hex(signed_auth->audience_public_key) + ")");
  }

  api::Caller caller;
  caller.role = member->role;
  caller.user_key_hex = to_hex(signer);
  caller.name = member->name;
  caller.namespaces = member->namespaces;
  caller.credential = *credential;
  return caller;
}

}  // namespace beemesh::app
