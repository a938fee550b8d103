// net/peer.h — internal: a Client's state for one endpoint (connection, pending requests,
// in-flight slots). Not part of the public API.
//
// Promise: everything here runs on the peer's strand except stats(). A request holds one of
// max_in_flight slots from the moment it is admitted until it ends; requests beyond that wait
// FIFO for a slot (at most max_queued of them; more fail "busy"). One deadline timer per
// request bounds the wait for a slot, for the connection and for the reply together.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "net/client.h"
#include "net/connection.h"
#include "net/endpoint.h"

namespace beemesh::net {

// The result of one call in a default-constructible form (what co_spawn requires).
using Outcome = std::variant<Bytes, Error>;

// One request's rendezvous: the waiting coroutine sleeps on `timer` (set to the deadline);
// whoever completes a phase sets its fields and calls wake().
struct Call {
  explicit Call(const asio::any_io_executor& ex) : timer(ex) {}
  void wake() {
    woken = true;
    timer.cancel();
  }
  void fail(Error e) {
    error = std::move(e);
    wake();
  }

  asio::steady_timer timer;
  bool woken = false;
  std::optional<Error> error;
  Bytes reply;
};

class Peer;

class ClientSession final : public Connection {
 public:
  ClientSession(asio::ip::tcp::socket socket, std::string remote, size_t max_frame_size,
                std::weak_ptr<Peer> peer)
      : Connection(std::move(socket), max_frame_size, std::move(remote)), peer_(std::move(peer)) {}

  uint64_t next_request_id() { return next_id_++; }
  void add_pending(uint64_t id, std::shared_ptr<Call> call) {
    pending_.emplace(id, std::move(call));
  }
  void drop_pending(uint64_t id) { pending_.erase(id); }

 protected:
  void on_frame(Frame frame) override;
  void on_closed(const Error& reason) override;

 private:
  std::weak_ptr<Peer> peer_;
  std::unordered_map<uint64_t, std::shared_ptr<Call>> pending_;
  uint64_t next_id_ = 1;
};

class Peer : public std::enable_shared_from_this<Peer> {
 public:
  Peer(asio::io_context& io, std::string name, Endpoint endpoint, const ClientOptions& options);

  const asio::any_io_executor& executor() const { return strand_; }
  const std::string& name() const { return name_; }

  static asio::awaitable<Outcome> call(std::shared_ptr<Peer> self, std::string protocol,
                                       Bytes payload, std::chrono::milliseconds timeout);
  void shutdown();
  PeerStats stats() const;

  void session_closed(const ClientSession* session);

 private:
  class SlotLease;
  static asio::awaitable<void> connect(std::shared_ptr<Peer> self);
  void release_slot();
  Error timeout_error(const std::string& protocol, std::chrono::milliseconds timeout,
                      std::string_view phase) const;

  asio::any_io_executor strand_;
  const std::string name_;
  const Endpoint endpoint_;
  const ClientOptions options_;

  bool shut_down_ = false;
  size_t in_flight_ = 0;
  std::deque<std::shared_ptr<Call>> slot_waiters_;
  bool connecting_ = false;
  std::vector<std::shared_ptr<Call>> connect_waiters_;
  std::shared_ptr<ClientSession> session_;

  // Mirrors for stats() from other threads.
  std::atomic<bool> connected_{false};
  std::atomic<size_t> in_flight_seen_{0};
  std::atomic<size_t> queued_seen_{0};
  std::atomic<uint64_t> connections_opened_{0};
};

}  // namespace beemesh::net
