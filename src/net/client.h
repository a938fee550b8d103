// net/client.h — the requesting side of the request-response transport.
//
// Promise: request() sends one opaque payload for a protocol id to "host:port" and yields
// the peer's reply, or an Error — never throws, never hangs past its timeout. Codes:
//   timeout           no reply within the timeout (which covers queueing and connecting)
//   unreachable       the peer could not be connected to (refused, unresolvable, connect
//                     timeout)
//   disconnected      the connection broke before the reply; every request pending on that
//                     connection fails at once with it
//   busy              max_in_flight_per_peer requests are in flight to that peer and
//                     max_queued_per_peer more are already waiting for a slot
//   frame_too_large   the request does not fit in a frame (checked before sending), or the
//                     reply did not (the connection is then closed)
//   invalid_protocol, invalid_endpoint, invalid_timeout   bad arguments
//   shutdown          the client (or its event loop) was shut down
//   wrong_thread      request_sync() called on an event-loop thread
// and any code the remote handler returned (with its message), e.g. "unknown_protocol".
// One connection per endpoint string is reused by all requests to it (many in flight at once,
// matched by request id) and re-established on the next request after it breaks. Requests are
// never retried: the transport cannot know whether a protocol is idempotent.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <asio/awaitable.hpp>

#include "common/bytes.h"
#include "common/result.h"
#include "net/event_loop.h"
#include "net/frame.h"

namespace beemesh::net {

struct ClientOptions {
  size_t max_frame_size = kDefaultMaxFrameSize;
  size_t max_in_flight_per_peer = 64;  // requests sent and not yet answered, per endpoint
  size_t max_queued_per_peer = 1024;   // requests waiting for an in-flight slot, per endpoint
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds default_timeout{30'000};
};

// A snapshot of one endpoint's state (for tests, metrics and diagnostics).
struct PeerStats {
  bool connected = false;
  size_t in_flight = 0;
  size_t queued = 0;
  uint64_t connections_opened = 0;
};

class Peer;  // internal: the state of one endpoint

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
  const ClientOptions& options() const { return options_; }

 private:
  Result<std::shared_ptr<Peer>> prepare(const std::string& endpoint, std::string_view protocol,
                                        size_t payload_size, std::chrono::milliseconds timeout);

  EventLoop& loop_;
  const ClientOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Peer>> peers_;
  bool shut_down_ = false;
};

}  // namespace beemesh::net
