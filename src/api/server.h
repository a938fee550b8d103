// api/server.h — the REST API of a node: JSON over HTTP, served by cpp-httplib worker
// threads that call a NodeService (see docs/notes/api.md for every endpoint).
//
// Usage:
//   api::ApiServer server(service, {.host = "127.0.0.1", .port = 7480});
//   if (auto started = server.start(); !started) return started.error();  // "bind_failed"
//   ... server.port() is the bound port (useful with port 0) ...
//   server.stop();  // or let the destructor do it
//
// Promise:
//  * start() binds before it returns (so a client may connect at once) and serves on a
//    background thread; it fails with "bind_failed" naming host:port, or "already_started".
//  * stop() is idempotent, ends open event streams, waits for running handlers (each bounded
//    by the NodeService's own timeouts) and joins every thread; the destructor calls it.
//  * Every error answer is JSON {"error":{"code","message"}} with the status of
//    http_status_for(code); bodies over max_body_bytes get 413 "payload_too_large" without
//    the handler running; unknown routes get 404 "not_found".
//  * GET /events holds one worker thread per client; at most max_event_streams run at once
//    (503 "busy" beyond that) so the other endpoints always keep workers.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "api/node_service.h"
#include "common/result.h"

namespace beemesh::api {

struct ApiConfig {
  std::string host = "127.0.0.1";  // loopback by default; the API has no transport security
  int port = 7480;                 // 0 = an ephemeral port (see ApiServer::port())
  int threads = 8;                 // worker threads (blocking NodeService calls run on them)
  std::size_t max_body_bytes = 1024 * 1024;
  int max_event_streams = 0;  // 0 = threads / 2 (at least 1)
  // An idle event stream sends an SSE comment this often, which is also how a client that
  // went away is noticed.
  std::chrono::milliseconds event_heartbeat{15'000};
};

class ApiServer {
 public:
  ApiServer(NodeService& service, ApiConfig config);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  Result<void> start();
  void stop();

  int port() const;         // the bound port once started (0 before)
  std::string url() const;  // "http://127.0.0.1:<port>"
  int active_event_streams() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace beemesh::api
