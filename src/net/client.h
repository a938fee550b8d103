// net/client.h — the requesting side of the request-response transport.
//
// Promise: request() sends one opaque payload for a protocol id to "host:port" and yields
// the peer's reply, or an Error — never throws, never hangs past its timeout. Codes:
//   timeout           no reply within the timeout (which covers queueing and connecting)
//   unreachable       the peer could not be connected to (refused, unresolvable, connect
//                     timeout)
//   handshake_failed  with TLS: the handshake failed (the peer speaks no TLS 1.3, refused
//                     our certificate, or did not finish within connect_timeout)
//   peer_certificate  with TLS: the peer's certificate carries no Ed25519 key
//   (the verify hook's code)  with TLS: the hook refused the peer, e.g. "peer_mismatch" when
//                     it is not the peer a pinned endpoint "<id>@host:port" names
//   disconnected      the connection broke before the reply; every request pending on that
//                     connection fails at once with it
//   busy              max_in_flight_per_peer requests are in flight to that peer and
//                     max_queued_per_peer more are already waiting for a slot
//   frame_too_large   the request does not fit in a frame (checked before sending), or the
//                     reply did not (the connection is then closed)
//   frame_timeout     a reply started to arrive but did not complete within frame_timeout
//                     (the connection is then closed)
//   invalid_protocol, invalid_endpoint, invalid_timeout   bad arguments
//   shutdown          the client (or its event loop) was shut down
//   wrong_thread      request_sync() called on an event-loop thread
// and any code the remote handler returned (with its message), e.g. "unknown_protocol".
// Endpoints are "host:port" or pinned "<peer id>@host:port" (net/endpoint.h).
// One connection per endpoint string is reused by all requests to it (many in flight at once,
// matched by request id) and re-established on the next request after it breaks. Outbound
// connections form a bounded pool: at most max_connections are open or opening at once (at
// most max_concurrent_connects of them opening); a request that needs a new connection while
// the pool is full waits, within its timeout, until the least recently used idle connection
// is closed for it — a connection with requests in flight is never closed for another. A
// connection with nothing in flight for idle_timeout is closed. Requests are never retried:
// the transport cannot know whether a protocol is idempotent.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <asio/awaitable.hpp>

#include "common/bytes.h"
#include "common/result.h"
#include "net/event_loop.h"
#include "net/frame.h"
#include "net/tls.h"

namespace beemesh::net {

struct ClientOptions {
  size_t max_frame_size = kDefaultMaxFrameSize;
  size_t max_in_flight_per_peer = 64;  // requests sent and not yet answered, per endpoint
  size_t max_queued_per_peer = 1024;   // requests waiting for an in-flight slot, per endpoint
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds default_timeout{30'000};
  size_t max_connections = 64;          // outbound connections open or opening, all endpoints
  size_t max_concurrent_connects = 16;  // of those, still connecting
  std::chrono::milliseconds idle_timeout{30'000};   // nothing in flight this long: closed; 0: never
  std::chrono::milliseconds frame_timeout{10'000};  // a reply frame must arrive within; 0: none
  // TLS 1.3 on every connection (net/tls.h); absent: plain TCP. connect_timeout then
  // covers connecting and the handshake together.
  std::optional<TlsOptions> tls = std::nullopt;
};

// A snapshot of one endpoint's state (for tests, metrics and diagnostics).
struct PeerStats {
  bool connected = false;
  size_t in_flight = 0;
  size_t queued = 0;
  uint64_t connections_opened = 0;
};

// The outbound connection pool of a client.
struct ClientPoolStats {
  size_t open = 0;            // connections open or being opened
  size_t connecting = 0;      // of those, still connecting
  size_t waiting = 0;         // endpoints waiting for a connection slot
  size_t peak_open = 0;       // the most ever open or opening at once
  uint64_t evicted = 0;       // idle connections closed to make room
  size_t endpoints = 0;       // endpoints the client keeps state for
  size_t buffered_bytes = 0;  // receive buffers of all its connections
};

class Peer;          // internal: the state of one endpoint
class OutboundPool;  // internal: the bound on connections
class BufferGauge;   // internal: receive-buffer accounting

class Client {
 public:
  explicit Client(EventLoop& loop, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Inside the loop: co_await client.request(...). Arguments are taken by value so the
  // coroutine owns them.
  asio::awaitable<Result<Bytes>> request(std::string endpoint, std::string protocol, Bytes payload,
                                         std::chrono::milliseconds timeout);
  asio::awaitable<Result<Bytes>> request(std::string endpoint, std::string protocol, Bytes payload);

  // From any thread: the future is fulfilled on the loop.
  std::future<Result<Bytes>> request_future(std::string endpoint, std::string protocol,
                                            Bytes payload, std::chrono::milliseconds timeout);
  // From a thread that is not one of the loop's workers: blocks until the reply.
  Result<Bytes> request_sync(std::string endpoint, std::string protocol, Bytes payload,
                             std::chrono::milliseconds timeout);

  // Fails everything queued or pending with "shutdown" and closes all connections.
  // Idempotent; called by the destructor.
  void shutdown();

  PeerStats stats(const std::string& endpoint) const;
  ClientPoolStats pool_stats() const;
  const ClientOptions& options() const { return options_; }

 private:
  Result<std::shared_ptr<Peer>> prepare(const std::string& endpoint, std::string_view protocol,
                                        size_t payload_size, std::chrono::milliseconds timeout);
  size_t max_endpoints() const;

  EventLoop& loop_;
  const ClientOptions options_;
  const std::shared_ptr<OutboundPool> pool_;
  const std::shared_ptr<BufferGauge> gauge_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Peer>> peers_;
  bool shut_down_ = false;
};

}  // namespace beemesh::net
