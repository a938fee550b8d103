#include "e2e/rest.h"

#include <httplib.h>

#include <algorithm>

#include "api/json.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "protocol/messages.h"

namespace beemesh::e2e {

HeaderMap user_auth_headers(const crypto::Identity& user, const std::string& method,
                            const std::string& path, const std::string& node_public_key_hex) {
  protocol::ApiAuth auth;
  auth.method = method;
  auth.path = path.substr(0, path.find('?'));
  if (auto key = from_hex(node_public_key_hex);
      key && key->size() == auth.audience_public_key.size()) {
    std::copy(key->begin(), key->end(), auth.audience_public_key.begin());
  }
  HeaderMap headers;
  if (!user.credential().empty())
    headers.emplace("X-Beemesh-Credential", to_hex(user.credential()));
  headers.emplace("X-Beemesh-Auth", to_hex(crypto::sign_message(user, auth, system_clock())));
  return headers;
}

Result<RestReply> rest_call(uint16_t port, const std::string& method, const std::string& path,
                            const HeaderMap& headers, const std::string& body,
                            const std::string& content_type, std::chrono::milliseconds timeout) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(3));
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Headers h(headers.begin(), headers.end());
  if (method != "GET" && method != "POST" && method != "DELETE") {
    return make_error("invalid_argument", "rest_call: unsupported method " + method);
  }
  httplib::Result res = method == "GET"    ? client.Get(path, h)
                        : method == "POST" ? client.Post(path, h, body, content_type)
                                           : client.Delete(path, h);
  if (!res) {
    return make_error("unreachable", method + " http://127.0.0.1:" + std::to_string(port) + path +
                                         ": " + httplib::to_string(res.error()));
  }
  RestReply reply;
  reply.status = res->status;
  reply.body = res->body;
  if (auto json = api::parse_json(res->body); json) {
    if (auto error = api::error_from_json(*json); error) {
      reply.error_code = error->code;
      reply.error_message = error->message;
    }
  }
  return reply;
}

}  // namespace beemesh::e2e
