// net/server.h — the serving side of the request-response transport.
//
// Promise: a Server listens on host:port (port 0 picks a free port, reported by listen()),
// reads request frames from any number of connections and runs the handler registered for
// each frame's protocol id as a coroutine on the loop, several at once per connection
// (pipelined by request id), replying with a response frame or, when the handler returns an
// Error, an error frame with its code and message. A request for a protocol without a
// handler gets error "unknown_protocol"; a handler that throws gets "handler_failed"; a reply
// too large for a frame gets "frame_too_large". At most max_concurrent_requests_per_connection
// handlers run per connection; beyond that the server stops reading that connection until one
// finishes.
// Hostile peers are bounded (docs/notes/net.md, "Limits"): receive memory grows only as bytes
// arrive; a frame must arrive in full within frame_timeout and a connection with nothing to
// do is closed after idle_timeout; a connection is *pending* until it has delivered one
// complete request for a registered protocol, and a new connection over
// max_pending_connections, max_connections_per_address or max_connections evicts the oldest
// pending connection (of its address, for the per-address cap) or, when there is none, is
// closed at once — an established connection is never evicted. Frames on a connection are
// limited to max_unverified_frame_size and count against max_unverified_buffered_bytes
// (server-wide) until a handler calls PeerInfo::mark_verified(); then max_frame_size applies.
// Each peer (member node by TLS key, else remote address) gets a budget: at most
// max_in_flight_per_peer handlers (plus one per other connection of it reading at the time)
// and peer_request_rate requests a second after a burst of peer_request_burst; a peer over
// it is not read from until the budget allows, which never delays other peers' requests.
// With ServerOptions::tls, every connection first completes a TLS 1.3 handshake whose peer
// certificate the verify hook accepts; a connection that fails it (or does not finish it
// within the handshake timeout) is closed before any frame is read.
// Handlers must not block: they co_await (they may issue their own requests through
// a Client). stop() closes the listener and every connection; running handlers finish on
// their own and their replies are dropped. Nothing throws.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>

#include "common/bytes.h"
#include "common/result.h"
#include "net/event_loop.h"
#include "net/frame.h"
#include "net/tls.h"

namespace beemesh::net {

inline constexpr size_t kDefaultMaxUnverifiedFrameSize = 1536 * 1024;  // a 1 MiB manifest fits

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  size_t max_frame_size = kDefaultMaxFrameSize;  // on verified connections, and for replies
  size_t max_unverified_frame_size = kDefaultMaxUnverifiedFrameSize;
  // Receive buffers of partly read frames on unverified connections, all connections together;
  // a frame that would take more closes its connection ("overloaded").
  size_t max_unverified_buffered_bytes = 32 * 1024 * 1024;
  size_t max_concurrent_requests_per_connection = 256;
  // Replies not yet taken by a peer: above this its connection stops reading requests
  // until half has drained (a peer that never reads cannot pile up answers).
  size_t max_unsent_bytes = 8 * 1024 * 1024;
  // Each peer's share of the server (docs/notes/net.md, "Per-peer budget"): a peer is a
  // member node by its TLS-verified key (all its connections together) or, without TLS, a
  // remote address. Beyond either bound the server stops reading that peer's connections
  // until its budget allows (TCP pushes back); nothing is refused, other peers are unaffected.
  size_t max_in_flight_per_peer = 512;      // handlers running for one peer; 0: no cap
  double peer_request_rate = 500;           // requests a second per peer, sustained; 0: no limit
  double peer_request_burst = 1000;         // requests a quiet peer may send at once
  size_t max_connections = 512;             // open inbound connections
  size_t max_connections_per_address = 32;  // per remote IPv4 address or IPv6 /64
  size_t max_pending_connections = 64;      // not yet delivered a complete request
  std::chrono::milliseconds frame_timeout{10'000};  // 0: none
  // Counted from the last frame or the end of the last handler; keep it above the clients'
  // idle_timeout (30 s), so that clients close first and no request races a server's close.
  std::chrono::milliseconds idle_timeout{60'000};  // 0: none
  // TLS 1.3 on every connection (net/tls.h); absent: plain TCP. A connection's handshake
  // must complete within tls->handshake_timeout of its accept, and it is pending meanwhile.
  std::optional<TlsOptions> tls = std::nullopt;
};

// What a server has seen (for tests, metrics and diagnostics).
struct ServerStats {
  uint64_t accepted = 0;                 // connections accepted (including refused ones)
  size_t open = 0;                       // connections open now
  size_t pending = 0;                    // of those, not yet delivered a complete request
  uint64_t refused = 0;                  // closed on accept: a cap was full and nothing to evict
  uint64_t evicted = 0;                  // pending connections closed to make room for a new one
  size_t buffered_bytes = 0;             // receive buffers held by all connections now
  size_t unverified_buffered_bytes = 0;  // of partly read frames on unverified connections
  uint64_t budget_waits = 0;  // times a connection waited for its peer's budget to read on
  size_t budget_peers = 0;    // peers with a connection or a request in flight now
};

// Who sent a request. The reference handed to a handler stays valid until it completes.
struct PeerInfo {
  std::string address;  // the remote "ip:port" of the connection
  uint64_t connection_id = 0;
  // A handler calls this once it has verified who sent the request (a member's valid
  // signature): later frames on this connection may then be max_frame_size long and no longer
  // count against max_unverified_buffered_bytes. Thread-safe; idempotent.
  void mark_verified() const {
    if (verified) verified->store(true, std::memory_order_relaxed);
  }
  std::shared_ptr<std::atomic<bool>> verified;
};

using Handler = std::function<asio::awaitable<Result<Bytes>>(const PeerInfo& peer, Bytes request)>;

class Server {
 public:
  explicit Server(EventLoop& loop, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers (or replaces) the handler for a protocol id; allowed at any time.
  // Code "invalid_protocol" for a malformed id.
  Result<void> handle(std::string_view protocol, Handler handler);

  // Binds and starts accepting; returns the bound port. Codes: "invalid_endpoint",
  // "bind_failed", "already_listening".
  Result<uint16_t> listen();
  uint16_t port() const;
  // "host:port" clients use to reach this server.
  std::string endpoint() const;

  // Idempotent; after it returns (off the loop) the port is closed and no connection is open.
  void stop();

  uint64_t accepted_connections() const;
  size_t open_connections() const;
  ServerStats stats() const;

  struct State;  // shared with the accept loop and the sessions

 private:
  EventLoop& loop_;
  std::shared_ptr<State> state_;
};

}  // namespace beemesh::net
