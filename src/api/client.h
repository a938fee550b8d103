// api/client.h — a blocking client of the REST API (used by the CLI and by tests).
//
// Usage:
//   api::ApiClient client("http://127.0.0.1:7480");
//   auto health = client.health();        // the only call that needs no authentication
//   if (!health) { std::cerr << health.error().message; }  // "cannot reach beemesh node ..."
//   client.set_signer([&](std::string_view method, std::string_view path) {
//     return AuthHeaders{credential_hex, sign_api_auth(method, path, health->public_key_hex)};
//   });
//   auto outcome = client.apply(yaml, options, auth, [](std::string_view step) { ... });
//
// Promise:
//  * Every call returns the server's {"error":{code,message}} as an Error with that code.
//  * A node that cannot be reached gives Error "unreachable" with the message
//    "cannot reach beemesh node at <url>: <reason>" (e.g. "connection refused"); a node that
//    does not answer in time gives "timeout"; an answer that is not the expected JSON gives
//    "bad_response"; any other non-2xx answer without a JSON error gives "http_<status>".
//  * apply() with a progress callback asks for the streamed form (?progress=1) and calls
//    the callback for each step line as it arrives, before returning the final result.
//  * Every call except health() asks the signer (when set) for the X-Beemesh-Credential and
//    X-Beemesh-Auth headers of that request, once per request, with the method and the path
//    as the server decodes it (no query string); a signer error is returned as is and
//    nothing is sent.
//  * "https://" servers are verified against ClientOptions::ca_cert_file (a PEM bundle),
//    or the system's CAs when it is empty.
//  * Not thread-safe: use one client per thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/node_service.h"
#include "common/result.h"

namespace beemesh::api {

struct HealthInfo {
  std::string status;  // "ok"
  std::string node_id;
  std::string name;
  std::string version;
  std::string public_key_hex;
  std::string engine;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{3'000};
  // Long enough for an apply to place, distribute and deploy on several nodes.
  std::chrono::milliseconds read_timeout{120'000};
  std::string ca_cert_file;  // https only; empty = the system's CAs
};

// The authentication headers of one request (api/auth.h).
struct AuthHeaders {
  std::string credential_hex;  // X-Beemesh-Credential
  std::string auth_hex;        // X-Beemesh-Auth
};
using RequestSigner =
    std::function<Result<AuthHeaders>(std::string_view method, std::string_view path)>;

class ApiClient {
 public:
  // `server` is "http://host:port" (also accepts "host:port").
  explicit ApiClient(std::string server, ClientOptions options = {});
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const std::string& server() const { return server_; }
  void set_signer(RequestSigner signer);

  Result<HealthInfo> health();
  Result<std::vector<NodeInfo>> nodes();
  Result<ApplyOutcome> apply(std::string_view yaml, const ApplyOptions& options,
                             const OwnerAuth& auth, const ProgressFn& progress = {});
  Result<std::vector<WorkloadView>> workloads();
  // `node` (optional): the node the workload was placed on, the only other node asked.
  Result<WorkloadView> workload(const std::string& workload_id, const std::string& node = {});
  Result<std::string> logs(const std::string& workload_id, int tail_lines = -1);
  Result<DeleteOutcome> delete_manifest(const std::string& manifest_id, const OwnerAuth& auth);
  Result<std::vector<provider::ProviderInfo>> providers(const std::string& manifest_id);
  // `owner_hex` empty: the signing user's own manifests.
  Result<DesiredView> desired_state(const std::string& manifest_id,
                                    const std::string& owner_hex = {});
  Result<std::string> metrics();
  // Reads GET /events, calling on_event for each event until it returns false (ok), the
  // server ends the stream (ok) or the connection fails (Error). `replay_only`: the node's
  // recent events and then the end (GET /events?replay=1), no live ones.
  Result<void> events(const std::function<bool(const EventView&)>& on_event,
                      bool replay_only = false);

 private:
  struct Impl;
  std::string server_;
  std::unique_ptr<Impl> impl_;
};

// "cannot reach beemesh node at http://127.0.0.1:7480: connection refused" — why a TCP
// connection to the server's host:port fails right now (exposed for tests).
std::string describe_unreachable(const std::string& server);

}  // namespace beemesh::api
