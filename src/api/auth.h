// api/auth.h — who is calling the REST API. The server asks an Authenticator (the daemon's
// is app/api_auth.h: membership credential + a signed, single-use ApiAuth envelope) and
// checks the Caller's role against the route before any handler runs.
//
// Promise (what ApiServer does with it, see api/server.h):
//  * Every route except GET /health and POST /mesh/revocations calls authenticate() once
//    per request, after the body size check and before anything reads the body.
//  * An Error from authenticate() becomes 401 "unauthenticated" whose message carries the
//    authenticator's code and message; a Caller whose role is below the route's becomes
//    403 "forbidden_role" naming the role needed and the role held.
//  * Headers: X-Beemesh-Credential = hex of the user's credential (crypto/membership.h),
//    X-Beemesh-Auth = hex of an Envelope{ApiAuth{method, path, audience = the node's
//    public key}} signed by the credential's subject. `path` is the request path as the
//    server decodes it, without the query string.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/membership.h"

namespace beemesh::api {

inline constexpr const char* kCredentialHeader = "X-Beemesh-Credential";
inline constexpr const char* kAuthHeader = "X-Beemesh-Auth";

struct AuthRequest {
  std::string method;          // "GET", "POST", "DELETE"
  std::string path;            // decoded path without the query, e.g. "/workloads/w1/logs"
  std::string credential_hex;  // X-Beemesh-Credential
  std::string auth_hex;        // X-Beemesh-Auth
};

struct Caller {
  crypto::Role role = crypto::Role::kNone;
  std::string user_key_hex;             // the user's Ed25519 public key (64 hex)
  std::string name;                     // from the certificate
  std::vector<std::string> namespaces;  // empty = every namespace
  Bytes credential;                     // the verified credential (forwarded with applies)
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Must be thread-safe: called from every API worker thread.
  virtual Result<Caller> authenticate(const AuthRequest& request) = 0;
};

}  // namespace beemesh::api
