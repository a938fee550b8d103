// net/peer.h — internal: a Client's state for one endpoint (connection, pending requests,
// in-flight slots). Not part of the public API.
//
// Promise: everything here runs on the peer's strand except stats() and dormant(). A request
// holds one of max_in_flight slots from the moment it is admitted until it ends; requests
// beyond that wait FIFO for a slot (at most max_queued of them; more fail "busy"). A peer
// connects only with a connection slot of the client's OutboundPool (net/pool.h) and gives
// it back when the connection closes or the connect fails. Its connection is closed after
// idle_timeout with nothing in flight, or earlier when the pool needs the slot and nothing is
// in flight. One deadline timer per request bounds the wait for a slot, for the connection
// slot, for the connection and for the reply together.
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
#include "net/pool.h"

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
  ClientSession(Stream stream, std::string remote, ConnectionOptions options,
                std::weak_ptr<Peer> peer)
      : Connection(std::move(stream), std::move(remote), std::move(options)),
        peer_(std::move(peer)) {}

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
  Peer(asio::io_context& io, std::string name, Endpoint endpoint, const ClientOptions& options,
       std::shared_ptr<OutboundPool> pool, std::shared_ptr<BufferGauge> gauge);
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  const asio::any_io_executor& executor() const { return strand_; }
  const std::string& name() const { return name_; }

  static asio::awaitable<Outcome> call(std::shared_ptr<Peer> self, std::string protocol,
                                       Bytes payload, std::chrono::milliseconds timeout);
  void shutdown();
  PeerStats stats() const;

  void session_closed(const ClientSession* session);
  // From the pool (posted to the strand).
  void slot_granted();
  void evict_if_idle();
  // Nothing open, nothing running, nothing waiting: the client may forget this peer.
  bool dormant() const;

 private:
  class SlotLease;
  // Where the peer stands with its connection slot.
  enum class Slot { none, waiting, connecting, connected };

  void ensure_connecting();
  void start_connect();
  static asio::awaitable<void> connect(std::shared_ptr<Peer> self);
  static asio::awaitable<void> watch_idle(std::shared_ptr<Peer> self,
                                          std::shared_ptr<ClientSession> session);
  void release_slot();
  Error timeout_error(const std::string& protocol, std::chrono::milliseconds timeout,
                      std::string_view phase) const;

  asio::any_io_executor strand_;
  const std::string name_;
  const Endpoint endpoint_;
  const ClientOptions options_;
  const std::shared_ptr<OutboundPool> pool_;
  const std::shared_ptr<BufferGauge> gauge_;
  // Warnings about this endpoint's closed connections: at most 5 lines a second.
  const std::shared_ptr<LogBudget> warnings_ = std::make_shared<LogBudget>(5);

  bool shut_down_ = false;
  size_t in_flight_ = 0;
  std::deque<std::shared_ptr<Call>> slot_waiters_;
  Slot slot_ = Slot::none;
  std::vector<std::shared_ptr<Call>> connect_waiters_;
  std::shared_ptr<ClientSession> session_;
  asio::steady_timer idle_timer_;
  asio::steady_timer::time_point last_active_;

  // Mirrors for stats() and dormant() from other threads.
  std::atomic<bool> holds_slot_{false};
  std::atomic<bool> connected_{false};
  std::atomic<size_t> in_flight_seen_{0};
  std::atomic<size_t> queued_seen_{0};
  std::atomic<uint64_t> connections_opened_{0};
};

}  // namespace beemesh::net
