// api/server.h — the REST API of a node: JSON over HTTP(S), served by cpp-httplib worker
// threads that call a NodeService (see docs/notes/api.md for every endpoint).
//
// Usage:
//   api::ApiServer server(service, authenticator, {.host = "127.0.0.1", .port = 7480});
//   if (auto started = server.start(); !started) return started.error();  // "bind_failed"
//   ... server.port() is the bound port (useful with port 0) ...
//   server.stop();  // or let the destructor do it
//
// Promise:
//  * start() binds before it returns (so a client may connect at once) and serves on a
//    background thread; it fails with "bind_failed" naming host:port, "already_started",
//    "api_requires_tls" when `host` is not a loopback address and no TLS certificate and
//    key are configured, "tls_config" when only one of them is, "tls_failed" when they
//    cannot be loaded. With TLS configured the API serves HTTPS only.
//  * Before any route runs, every request is screened (answered with JSON errors):
//      more than max_header_count headers or max_header_bytes of them  431 "header_too_large"
//      an Origin header (browsers send it; no CORS headers are ever sent) 403 "forbidden_origin"
//      a Host that is not localhost, 127.0.0.1 or [::1] (any port), the
//      configured `host` (when it is a specific address) or one of
//      allowed_hosts ("name" = any port, "name:port" = that port)     421 "forbidden_host"
//    so a web page cannot reach the API through DNS rebinding or a cross-site request.
//  * Every route except GET /health and POST /mesh/revocations needs an authenticated
//    caller (api/auth.h): missing X-Beemesh-Credential/X-Beemesh-Auth headers are refused
//    with 401 "unauthenticated" before the body is read; otherwise the Authenticator runs
//    once per request before the handler reads anything of the body (401 "unauthenticated"
//    when it fails) and the caller's role is checked (403 "forbidden_role"): POST /apply
//    and DELETE /manifests/{id} need deployer, every read (nodes, workloads, logs,
//    providers, events, metrics) needs viewer. POST /mesh/revocations hands the body (hex,
//    or raw with Content-Type application/octet-stream) to
//    NodeService::install_revocations, which accepts only admin-signed lists.
//  * stop() is idempotent, ends open event streams, waits for running handlers (each bounded
//    by the NodeService's own timeouts) and joins every thread; the destructor calls it.
//  * Every error answer is JSON {"error":{"code","message"}} with the status of
//    http_status_for(code); bodies over max_body_bytes get 413 "payload_too_large" without
//    the handler running; unknown routes get 404 "not_found". Request paths and header
//    values are logged only through printable() (common/safe_text.h).
//  * GET /events holds one worker thread per client; at most max_event_streams run at once
//    (503 "busy" beyond that) so the other endpoints always keep workers.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/node_service.h"
#include "common/result.h"

namespace beemesh::api {

struct ApiConfig {
  std::string host = "127.0.0.1";  // loopback by default; any other address needs TLS
  int port = 7480;                 // 0 = an ephemeral port (see ApiServer::port())
  int threads = 8;                 // worker threads (blocking NodeService calls run on them)
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_count = 64;
  std::size_t max_header_bytes = 32 * 1024;  // names + values of all headers together
  int max_event_streams = 0;                 // 0 = threads / 2 (at least 1)
  // An idle event stream sends an SSE comment this often, which is also how a client that
  // went away is noticed.
  std::chrono::milliseconds event_heartbeat{15'000};
  // Host header values accepted besides the loopback names and `host` itself, e.g. the
  // name clients use to reach this node: "node1.example.org" (any port) or
  // "node1.example.org:7480".
  std::vector<std::string> allowed_hosts{};
  // PEM files; both or neither. Required when `host` is not a loopback address.
  std::string tls_cert_file{};
  std::string tls_key_file{};
};

class ApiServer {
 public:
  // `service` and `authenticator` must outlive the server.
  ApiServer(NodeService& service, Authenticator& authenticator, ApiConfig config);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  Result<void> start();
  void stop();

  int port() const;         // the bound port once started (0 before)
  std::string url() const;  // "http://127.0.0.1:<port>" ("https://..." with TLS)
  int active_event_streams() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True for "localhost", 127.0.0.0/8 and ::1 (with or without brackets).
bool is_loopback_host(std::string_view host);

}  // namespace beemesh::api
