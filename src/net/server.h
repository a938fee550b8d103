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
// finishes; at most max_connections connections are kept open (more are closed on accept).
// Handlers must not block: they co_await (they may issue their own requests through
// a Client). stop() closes the listener and every connection; running handlers finish on
// their own and their replies are dropped. Nothing throws.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>

#include "common/bytes.h"
#include "common/result.h"
#include "net/event_loop.h"
#include "net/frame.h"

namespace beemesh::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  size_t max_frame_size = kDefaultMaxFrameSize;
  size_t max_concurrent_requests_per_connection = 256;
  size_t max_connections = 1024;  // beyond it, new connections are closed at once (logged)
};

// Who sent a request. The reference handed to a handler stays valid until it completes.
struct PeerInfo {
  std::string address;  // the remote "ip:port" of the connection
  uint64_t connection_id = 0;
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

  struct State;  // shared with the accept loop and the sessions

 private:
  EventLoop& loop_;
  std::shared_ptr<State> state_;
};

}  // namespace beemesh::net
