// kube/proxy.h — `beemesh kube-proxy`: the Kubernetes API subset on the user's machine.
//
// The user's key stays in this process: kubectl talks plain HTTP to 127.0.0.1, and the
// proxy turns each call into the signed requests the CLI would send (kube/kube_api.h).
//
// Promise:
//  * start() binds host:port (port 0: ephemeral, see port()) before returning and serves
//    HTTPS with tls_cert_file/tls_key_file (`tls_failed` when they do not load): kubectl
//    sends no bearer token over plain HTTP. A host that is not a loopback address is
//    refused (`proxy_requires_loopback`): the proxy acts with the user's key.
//  * Every request is screened before routing, in this order: header count and bytes
//    (431), any `Origin` header (403: browsers), a `Host` other than localhost /
//    127.0.0.1 / [::1] (403: DNS rebinding), `Authorization: Bearer <token>` equal to the
//    configured token (401; compared in constant time). Bodies over max_body_bytes are
//    refused (413) before a handler runs; a request must arrive within read_timeout.
//  * Watches (?watch=1) poll the mesh every watch_poll and stream ADDED/MODIFIED/DELETED
//    events as JSON lines (a blank line when nothing changed, so a vanished client is
//    noticed at the next poll) for at most min(timeoutSeconds, max_watch); at most
//    max_watches at once (429 beyond). `logs -f` (?follow=1) streams the log so far, then
//    every watch_poll the lines after the last 1000-line window, for at most max_watch;
//    at most max_follows at once (429). A follower that vanished while the container is
//    silent keeps its slot until max_watch (nothing is written that could fail).
//  * stop() is idempotent, ends watches and joins every thread; the destructor stops.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "kube/kube_api.h"

namespace beemesh::kube {

struct ProxyOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8001;
  std::string token;          // required bearer token; empty refuses every request
  std::string tls_cert_file;  // PEM (kube/tls_cert.h); kubectl sends tokens over HTTPS only
  std::string tls_key_file;
  int threads = 8;
  size_t max_body_bytes = size_t{1} << 20;
  size_t max_header_count = 64;
  size_t max_header_bytes = 32 * 1024;
  std::chrono::seconds read_timeout{10};
  int max_watches = 4;
  int max_follows = 8;  // kubectl logs -f
  std::chrono::seconds max_watch{600};
  std::chrono::milliseconds watch_poll{1000};
};

class KubeProxy {
 public:
  KubeProxy(ApiHandler& api, ProxyOptions options);
  ~KubeProxy();
  KubeProxy(const KubeProxy&) = delete;
  KubeProxy& operator=(const KubeProxy&) = delete;

  Result<void> start();
  void stop();
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace beemesh::kube
