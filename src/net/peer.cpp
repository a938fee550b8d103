#include "net/peer.h"

#include "net/tls_handshake.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

namespace beemesh::net {

namespace {

// Sleeps until the call is woken or its deadline passes; true when woken.
asio::awaitable<bool> wait_for_wake(Call& call) {
  std::error_code ignored;
  co_await call.timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return call.woken;
}

template <typename Container>
void erase_call(Container& c, const std::shared_ptr<Call>& call) {
  c.erase(std::remove(c.begin(), c.end(), call), c.end());
}

}  // namespace

// ---- ClientSession ----

void ClientSession::on_frame(Frame frame) {
  if (frame.kind == FrameKind::request) {
    close(make_error("protocol_error", "unexpected request frame from server " + remote()));
    return;
  }
  auto it = pending_.find(frame.request_id);
  if (it == pending_.end()) {
    // Its request timed out meanwhile.
    spdlog::debug("component=net event=late_reply peer={} protocol={} id={}", remote(),
                  frame.protocol, frame.request_id);
    return;
  }
  auto call = std::move(it->second);
  pending_.erase(it);
  if (frame.kind == FrameKind::error) {
    call->fail(decode_error_payload(frame.payload));
    return;
  }
  call->reply = std::move(frame.payload);
  call->wake();
}

void ClientSession::on_closed(const Error& reason) {
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, call] : pending) call->fail(reason);
  if (auto peer = peer_.lock()) peer->session_closed(this);
}

// ---- Peer ----

class Peer::SlotLease {
 public:
  explicit SlotLease(Peer& peer) : peer_(peer) {}
  ~SlotLease() { peer_.release_slot(); }
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;

 private:
  Peer& peer_;
};

Peer::Peer(asio::io_context& io, std::string name, Endpoint endpoint, const ClientOptions& options,
           std::shared_ptr<OutboundPool> pool, std::shared_ptr<BufferGauge> gauge)
    : strand_(asio::make_strand(io)),
      name_(std::move(name)),
      endpoint_(std::move(endpoint)),
      options_(options),
      pool_(std::move(pool)),
      gauge_(std::move(gauge)),
      idle_timer_(strand_),
      last_active_(asio::steady_timer::clock_type::now()) {}

Peer::~Peer() {
  pool_->release(this);  // nothing when it holds no slot
}

Error Peer::timeout_error(const std::string& protocol, std::chrono::milliseconds timeout,
                          std::string_view phase) const {
  return make_error("timeout", "no reply to '" + protocol + "' from " + name_ + " within " +
                                   std::to_string(timeout.count()) + " ms (" + std::string(phase) +
                                   ")");
}

void Peer::release_slot() {
  if (!slot_waiters_.empty()) {
    // Hand the slot straight to the longest waiter: in_flight_ stays the same.
    auto next = std::move(slot_waiters_.front());
    slot_waiters_.pop_front();
    queued_seen_ = slot_waiters_.size();
    next->wake();
    return;
  }
  --in_flight_;
  in_flight_seen_ = in_flight_;
  if (in_flight_ == 0) {
    last_active_ = asio::steady_timer::clock_type::now();
    pool_->touch(this, true);
  }
}

asio::awaitable<Outcome> Peer::call(std::shared_ptr<Peer> self, std::string protocol, Bytes payload,
                                    std::chrono::milliseconds timeout) {
  auto call = std::make_shared<Call>(self->strand_);
  call->timer.expires_after(timeout);
  if (self->shut_down_) {
    co_return make_error("shutdown", "client shut down; request to " + self->name_ + " dropped");
  }

  // 1. An in-flight slot.
  if (self->in_flight_ >= self->options_.max_in_flight_per_peer) {
    if (self->slot_waiters_.size() >= self->options_.max_queued_per_peer) {
      co_return make_error("busy", std::to_string(self->in_flight_) + " requests in flight and " +
                                       std::to_string(self->slot_waiters_.size()) + " queued to " +
                                       self->name_ + "; '" + protocol + "' refused");
    }
    self->slot_waiters_.push_back(call);
    self->queued_seen_ = self->slot_waiters_.size();
    bool woken = co_await wait_for_wake(*call);
    if (!woken) {
      erase_call(self->slot_waiters_, call);
      self->queued_seen_ = self->slot_waiters_.size();
      co_return self->timeout_error(protocol, timeout, "waiting for an in-flight slot");
    }
    if (call->error) co_return std::move(*call->error);
    // The releasing request handed its slot over.
  } else {
    if (self->in_flight_++ == 0) self->pool_->touch(self.get(), false);
    self->in_flight_seen_ = self->in_flight_;
  }
  SlotLease lease(*self);
  if (self->shut_down_) {
    co_return make_error("shutdown", "client shut down; request to " + self->name_ + " dropped");
  }

  // 2. A connection.
  if (!self->session_ || !self->session_->is_open()) {
    self->ensure_connecting();
    call->woken = false;
    self->connect_waiters_.push_back(call);
    bool woken = co_await wait_for_wake(*call);
    if (!woken) {
      erase_call(self->connect_waiters_, call);
      co_return self->timeout_error(protocol, timeout,
                                    self->slot_ == Slot::waiting
                                        ? "waiting for an outbound connection slot"
                                        : "still connecting");
    }
    if (call->error) co_return std::move(*call->error);
    if (!self->session_ || !self->session_->is_open()) {
      co_return make_error("disconnected",
                           "connection to " + self->name_ + " closed right after it opened");
    }
  }

  // 3. Send and wait for the reply.
  auto session = self->session_;
  uint64_t id = session->next_request_id();
  call->woken = false;
  session->add_pending(id, call);
  session->send(id, FrameKind::request, protocol, std::move(payload));
  bool woken = co_await wait_for_wake(*call);
  if (!woken) {
    session->drop_pending(id);
    co_return self->timeout_error(protocol, timeout, "request sent");
  }
  if (call->error) co_return std::move(*call->error);
  co_return std::move(call->reply);
}

void Peer::ensure_connecting() {
  if (slot_ != Slot::none) return;  // waiting for a slot, or connecting already
  slot_ = Slot::waiting;
  holds_slot_ = true;
  if (pool_->acquire(shared_from_this())) start_connect();
}

void Peer::start_connect() {
  slot_ = Slot::connecting;
  asio::co_spawn(strand_, connect(shared_from_this()), asio::detached);
}

void Peer::slot_granted() {
  if (slot_ != Slot::waiting) return;  // shut down meanwhile: the slot went back already
  if (shut_down_ || connect_waiters_.empty()) {
    slot_ = Slot::none;
    holds_slot_ = false;
    pool_->release(this);
    return;
  }
  start_connect();
}

void Peer::evict_if_idle() {
  if (!session_ || !session_->is_open() || in_flight_ > 0) {
    pool_->eviction_declined(this);
    return;
  }
  session_->close(make_error(
      "evicted", "outbound connection pool full; idle connection to " + name_ + " closed"));
}

bool Peer::dormant() const {
  return !holds_slot_.load() && in_flight_seen_.load() == 0 && queued_seen_.load() == 0;
}

asio::awaitable<void> Peer::watch_idle(std::shared_ptr<Peer> self,
                                       std::shared_ptr<ClientSession> session) {
  const auto idle = self->options_.idle_timeout;
  while (self->session_ == session && session->is_open()) {
    auto now = asio::steady_timer::clock_type::now();
    auto due = self->last_active_ + idle;
    if (self->in_flight_ == 0 && now >= due) {
      session->close(make_error("idle_timeout", "no request to " + self->name_ + " for " +
                                                    std::to_string(idle.count()) + " ms"));
      co_return;
    }
    self->idle_timer_.expires_at(self->in_flight_ > 0 ? now + idle : due);
    std::error_code ignored;
    co_await self->idle_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<void> Peer::connect(std::shared_ptr<Peer> self) {
  std::optional<Error> failure;
  const auto& tls = self->options_.tls;
  auto stream =
      std::make_shared<Stream>(tls ? Stream(TlsSocket(TcpSocket(self->strand_), *tls->context))
                                   : Stream(TcpSocket(self->strand_)));
  std::vector<asio::ip::tcp::endpoint> candidates;
  std::error_code ec;
  auto address = asio::ip::make_address(self->endpoint_.host, ec);
  if (!ec) {
    candidates.emplace_back(address, self->endpoint_.port);
  } else {
    asio::ip::tcp::resolver resolver(self->strand_);
    auto results =
        co_await resolver.async_resolve(self->endpoint_.host, std::to_string(self->endpoint_.port),
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec || results.empty()) {
      failure = make_error("unreachable", "cannot resolve " + self->name_ + ": " + ec.message());
    }
    for (const auto& r : results) candidates.push_back(r.endpoint());
  }

  if (!failure) {
    // One deadline for connecting and, with TLS, the handshake.
    auto timed_out = std::make_shared<bool>(false);
    auto finished = std::make_shared<bool>(false);
    asio::steady_timer guard(self->strand_, self->options_.connect_timeout);
    guard.async_wait([stream, timed_out, finished](const std::error_code& e) {
      if (e || *finished) return;
      *timed_out = true;
      stream->close();
    });
    co_await asio::async_connect(stream->tcp(), candidates,
                                 asio::redirect_error(asio::use_awaitable, ec));
    auto timeout_text = [&] {
      return std::to_string(self->options_.connect_timeout.count()) + " ms";
    };
    if (*timed_out || (!ec && !stream->tcp().is_open())) {
      failure = make_error("unreachable",
                           "connect to " + self->name_ + " timed out after " + timeout_text());
    } else if (ec) {
      failure = make_error("unreachable", "connect to " + self->name_ + ": " + ec.message());
    } else if (tls) {
      std::error_code ignored;
      stream->tcp().set_option(asio::ip::tcp::no_delay(true), ignored);
      auto done = co_await tls_handshake(*stream->tls(), asio::ssl::stream_base::client, *tls,
                                         self->endpoint_.peer_id, self->name_);
      if (*timed_out) {
        failure = make_error("handshake_failed", "TLS handshake with " + self->name_ +
                                                     " not done within " + timeout_text());
      } else if (!done.ok()) {
        failure = done.error();
      }
    }
    *finished = true;
    guard.cancel();
  }

  if (!failure && self->shut_down_) {
    failure = make_error("shutdown", "client shut down while connecting to " + self->name_);
  }
  if (!failure) {
    std::error_code ignored;
    stream->tcp().set_option(asio::ip::tcp::no_delay(true), ignored);
    self->slot_ = Slot::connected;
    self->pool_->connected(self.get());
    self->session_ = std::make_shared<ClientSession>(
        std::move(*stream), self->name_,
        ConnectionOptions{.max_frame_size = self->options_.max_frame_size,
                          .frame_timeout = self->options_.frame_timeout,
                          .gauge = self->gauge_,
                          .warnings = self->warnings_},
        self);
    self->session_->start();
    self->connected_ = true;
    ++self->connections_opened_;
    self->last_active_ = asio::steady_timer::clock_type::now();
    if (self->options_.idle_timeout.count() > 0) {
      asio::co_spawn(self->strand_, watch_idle(self, self->session_), asio::detached);
    }
    spdlog::debug("component=net event=connected peer={}", self->name_);
  } else {
    self->slot_ = Slot::none;
    self->holds_slot_ = false;
    self->pool_->release(self.get());
    // A peer refused at the TLS handshake (wrong node, not a member) is worth a warning; a
    // peer that is down is not.
    bool refused = failure->code != "unreachable" && failure->code != "shutdown";
    auto budget = refused ? self->warnings_->take() : std::optional<int64_t>();
    if (budget) {
      spdlog::warn("component=net event=connect_failed peer={} reason=\"{}\"{}", self->name_,
                   failure->to_string(),
                   *budget > 0 ? " (" + std::to_string(*budget) + " similar lines not logged)"
                               : std::string());
    } else {
      spdlog::debug("component=net event=connect_failed peer={} reason=\"{}\"", self->name_,
                    failure->to_string());
    }
  }
  auto waiters = std::move(self->connect_waiters_);
  self->connect_waiters_.clear();
  for (auto& w : waiters) {
    if (failure) {
      w->fail(*failure);
    } else {
      w->wake();
    }
  }
}

void Peer::session_closed(const ClientSession* session) {
  if (session_.get() != session) return;
  session_.reset();
  connected_ = false;
  slot_ = Slot::none;
  holds_slot_ = false;
  idle_timer_.cancel();
  pool_->release(this);
}

void Peer::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  auto error = make_error("shutdown", "client shut down; request to " + name_ + " abandoned");
  auto slot_waiters = std::move(slot_waiters_);
  slot_waiters_.clear();
  queued_seen_ = 0;
  for (auto& w : slot_waiters) w->fail(error);
  auto connect_waiters = std::move(connect_waiters_);
  connect_waiters_.clear();
  for (auto& w : connect_waiters) w->fail(error);
  if (slot_ == Slot::waiting) {
    slot_ = Slot::none;
    holds_slot_ = false;
    pool_->release(this);
  }
  if (auto session = session_) session->close(error);
  idle_timer_.cancel();
}

PeerStats Peer::stats() const {
  PeerStats s;
  s.connected = connected_.load();
  s.in_flight = in_flight_seen_.load();
  s.queued = queued_seen_.load();
  s.connections_opened = connections_opened_.load();
  return s;
}

}  // namespace beemesh::net
