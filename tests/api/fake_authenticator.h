// An Authenticator for API and CLI tests: credentials are looked up in a table the test
// fills (credential hex -> Caller), and it records every request it was asked about.
// With `node` set it also checks X-Beemesh-Auth for real: an Envelope{ApiAuth} for this
// method, path and node, signed by the caller's key, fresh and not replayed.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/auth.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "protocol/messages.h"

namespace beemesh::api::testing {

inline constexpr const char* kViewerCredential = "c1e0";
inline constexpr const char* kDeployerCredential = "c1d0";
inline constexpr const char* kAdminCredential = "c1a0";
inline constexpr const char* kGoodAuth = "a0a0";  // accepted when signatures are not checked

inline Caller make_caller(crypto::Role role, std::string name,
                          std::string key_hex = std::string(64, 'e')) {
  Caller c;
  c.role = role;
  c.name = std::move(name);
  c.user_key_hex = std::move(key_hex);
  return c;
}

// A credential whose user is over its replay quota (sends too fast).
inline constexpr std::string_view kFloodingCredential = "f100d0";

class FakeAuthenticator : public Authenticator {
 public:
  FakeAuthenticator() {
    callers[kViewerCredential] = make_caller(crypto::Role::kViewer, "vera");
    callers[kDeployerCredential] = make_caller(crypto::Role::kDeployer, "dave");
    callers[kAdminCredential] = make_caller(crypto::Role::kAdmin, "ada");
  }

  // Checks signatures against this node key from now on (clock must outlive this).
  void check_signatures(const crypto::PublicKey& node, const Clock& clock) {
    std::lock_guard lock(mutex_);
    node_ = node;
    verifier_ = std::make_unique<crypto::EnvelopeVerifier>(clock);
  }

  std::map<std::string, Caller> callers;  // credential hex -> caller (set before requests)

  std::vector<AuthRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  Result<Caller> authenticate(const AuthRequest& request) override {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    auto it = callers.find(request.credential_hex);
    if (request.credential_hex == kFloodingCredential) {
      return make_error("replay_quota_exceeded", "this user holds too many live tokens");
    }
    if (it == callers.end()) return make_error("not_a_member", "unknown credential");
    if (!verifier_) {
      if (request.auth_hex != kGoodAuth) return make_error("bad_signature", "bad auth token");
      return it->second;
    }
    auto bytes = from_hex(request.auth_hex);
    if (!bytes) return make_error("malformed", "X-Beemesh-Auth is not hex");
    auto opened = crypto::open_message<protocol::ApiAuth>(*verifier_, *bytes);
    if (!opened) return opened.error();
    if (to_hex(opened->envelope.signer) != it->second.user_key_hex) {
      return make_error("credential_mismatch", "signed by another key");
    }
    const auto& auth = opened->message;
    if (auth.method != request.method || auth.path != request.path ||
        auth.audience_public_key != *node_) {
      return make_error("auth_mismatch", "signed for " + auth.method + " " + auth.path);
    }
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<AuthRequest> requests_;
  std::optional<crypto::PublicKey> node_;
  std::unique_ptr<crypto::EnvelopeVerifier> verifier_;
};

}  // namespace beemesh::api::testing
