// tests/e2e/rest.h — raw HTTP calls to a node's REST API, with the headers a user's CLI
// sends (or deliberately wrong ones), for tests that look at what the API accepts.
//
// Usage:
//   auto user = mesh->identity_of(mesh->deployer());            // key + credential
//   auto headers = e2e::user_auth_headers(*user, "GET", "/workloads", node.public_key_hex);
//   auto reply = e2e::rest_call(node.api_port, "GET", "/workloads", headers);
//   reply->status; reply->error_code;                            // 200, "" | 401,
//   "unauthenticated"
//
// Promise:
//  * user_auth_headers() builds what docs/notes/trust.md says every REST call carries:
//    X-Beemesh-Credential = hex of the user's credential (left out when the identity has
//    none) and X-Beemesh-Auth = hex of an Envelope{ApiAuth{method, path without the query,
//    audience = the node's public key}} signed by the user now, with a fresh nonce.
//  * rest_call() sends exactly the given headers (a "Host" among them replaces the
//    default one) and returns the status, the body and the {"error":{"code"}} of the body
//    when there is one; an Error only when no HTTP answer came back.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/result.h"
#include "crypto/identity.h"

namespace beemesh::e2e {

using HeaderMap = std::multimap<std::string, std::string>;

HeaderMap user_auth_headers(const crypto::Identity& user, const std::string& method,
                            const std::string& path, const std::string& node_public_key_hex);

struct RestReply {
  int status = 0;
  std::string body;
  std::string error_code;  // from {"error":{"code":...}}, empty when none
  std::string error_message;
};

Result<RestReply> rest_call(uint16_t port, const std::string& method, const std::string& path,
                            const HeaderMap& headers, const std::string& body = {},
                            const std::string& content_type = "application/yaml",
                            std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace beemesh::e2e
