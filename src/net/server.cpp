#include "net/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include "net/admission.h"
#include "net/connection.h"
#include "net/endpoint.h"
#include "net/peer_budget.h"

namespace beemesh::net {

namespace {
class ServerSession;
}

struct Server::State {
  State(asio::io_context& io, ServerOptions opts)
      : io(io),
        options(std::move(opts)),
        acceptor(asio::make_strand(io)),
        gauge(std::make_shared<BufferGauge>()),
        admission({.max_connections = options.max_connections,
                   .max_per_address = options.max_connections_per_address,
                   .max_pending = options.max_pending_connections}),
        budgets({.max_in_flight = options.max_in_flight_per_peer,
                 .rate = options.peer_request_rate,
                 .burst = options.peer_request_burst}) {}

  std::shared_ptr<const Handler> find_handler(const std::string& protocol) {
    std::lock_guard lock(mutex);
    auto it = handlers.find(protocol);
    return it == handlers.end() ? nullptr : it->second;
  }

  // Takes n bytes of the server-wide budget for unverified frames; false when it is spent.
  bool take_unverified(size_t n) {
    size_t used = unverified_buffered.load();
    do {
      if (used + n > options.max_unverified_buffered_bytes) return false;
    } while (!unverified_buffered.compare_exchange_weak(used, used + n));
    return true;
  }

  asio::io_context& io;
  const ServerOptions options;
  asio::ip::tcp::acceptor acceptor;  // used on its own strand only (after listen())
  std::atomic<uint16_t> bound_port{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> evicted{0};
  std::atomic<size_t> unverified_buffered{0};
  std::atomic<uint64_t> budget_waits{0};
  const std::shared_ptr<BufferGauge> gauge;
  // Warnings about closed connections: at most 20 lines a second for the whole server.
  const std::shared_ptr<LogBudget> warnings = std::make_shared<LogBudget>(20);

  mutable std::mutex mutex;  // guards everything below
  std::unordered_map<std::string, std::shared_ptr<const Handler>> handlers;
  std::unordered_map<uint64_t, std::shared_ptr<ServerSession>> sessions;
  Admission admission;
  PeerBudgets budgets;  // thread-safe on its own
  bool listening = false;
  bool stopped = false;
};

namespace {

ConnectionOptions connection_options(const Server::State& state) {
  return {.max_frame_size = state.options.max_frame_size,
          .frame_timeout = state.options.frame_timeout,
          .idle_timeout = state.options.idle_timeout,
          .gauge = state.gauge,
          .max_unsent_bytes = state.options.max_unsent_bytes,
          .warnings = state.warnings};
}

class ServerSession final : public Connection {
 public:
  // `budget_key`: whose budget the connection's requests count against until a TLS peer
  // certificate names the node (the remote address, for plain TCP).
  ServerSession(Stream stream, std::string remote, std::shared_ptr<Server::State> state,
                uint64_t id, std::string budget_key)
      : Connection(std::move(stream), remote, connection_options(*state)),
        state_(std::move(state)),
        peer_{std::move(remote), id, std::make_shared<std::atomic<bool>>(false)},
        budget_key_("addr:" + std::move(budget_key)),
        budget_timer_(executor()) {}

  uint64_t id() const { return peer_.connection_id; }

 protected:
  void on_frame(Frame frame) override {
    if (frame.kind != FrameKind::request) {
      close(make_error("protocol_error", "unexpected " + std::string(to_string(frame.kind)) +
                                             " frame from " + this->remote() +
                                             " (a server takes requests only)"));
      return;
    }
    auto handler = state_->find_handler(frame.protocol);
    if (!handler) {
      send(frame.request_id, FrameKind::error, frame.protocol,
           encode_error_payload(
               make_error("unknown_protocol",
                          "no handler for protocol '" + frame.protocol + "' on " +
                              format_endpoint(state_->options.host, state_->bound_port.load()))));
      return;
    }
    if (!established_) {
      established_ = true;
      std::lock_guard lock(state_->mutex);
      state_->admission.establish(id());
    }
    ++active_;
    state_->budgets.begin(budget_key_);
    if (active_ >= state_->options.max_concurrent_requests_per_connection) pause_reading();
    auto self = std::static_pointer_cast<ServerSession>(shared_from_this());
    asio::co_spawn(executor(),
                   run_handler(std::move(self), std::move(handler), frame.request_id,
                               std::move(frame.protocol), std::move(frame.payload)),
                   asio::detached);
  }

  void on_closed(const Error&) override {
    budget_timer_.cancel();
    if (attached_) state_->budgets.detach(budget_key_, id());
    attached_ = false;
    std::lock_guard lock(state_->mutex);
    state_->sessions.erase(id());
    state_->admission.remove(id());
  }

  void on_peer_certificate(const PeerCertificate& peer) override {
    budget_key_ = "node:" + std::string(reinterpret_cast<const char*>(peer.public_key.data()),
                                        peer.public_key.size());
  }

  // Waits (never blocking the loop) until the peer's budget lets this connection read one
  // more request: a token of its rate and a handler slot under max_in_flight_per_peer.
  asio::awaitable<void> before_frame() override {
    if (!attached_) {
      state_->budgets.attach(budget_key_);
      attached_ = true;
    }
    std::weak_ptr<ServerSession> weak = std::static_pointer_cast<ServerSession>(shared_from_this());
    bool counted = false;
    while (is_open()) {
      auto wait = state_->budgets.take(budget_key_, PeerBudgets::Clock::now(), id(), [weak] {
        if (auto self = weak.lock()) {
          asio::post(self->executor(), [self] { self->budget_timer_.cancel(); });
        }
      });
      if (wait == PeerBudgets::Wait::zero()) co_return;
      if (!counted) {
        counted = true;
        state_->budget_waits.fetch_add(1);
      }
      budget_timer_.expires_after(wait);
      std::error_code ignored;
      co_await budget_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }

  size_t frame_limit() const override {
    if (verified()) return state_->options.max_frame_size;
    return std::min(state_->options.max_frame_size, state_->options.max_unverified_frame_size);
  }

  Result<void> admit(size_t n) override {
    if (verified()) return {};
    if (!state_->take_unverified(n)) {
      return make_error("overloaded",
                        "frames from unverified peers already hold " +
                            std::to_string(state_->unverified_buffered.load()) +
                            " bytes, the limit is " +
                            std::to_string(state_->options.max_unverified_buffered_bytes));
    }
    unverified_held_ += n;
    return {};
  }

  void released(size_t n) override {
    size_t unverified = std::min(n, unverified_held_);
    unverified_held_ -= unverified;
    state_->unverified_buffered.fetch_sub(unverified);
  }

  bool busy() const override { return active_ > 0; }

 private:
  bool verified() const { return peer_.verified->load(std::memory_order_relaxed); }

  static asio::awaitable<void> run_handler(std::shared_ptr<ServerSession> self,
                                           std::shared_ptr<const Handler> handler,
                                           uint64_t request_id, std::string protocol,
                                           Bytes payload) {
    std::optional<Result<Bytes>> reply;
    try {
      reply.emplace(co_await (*handler)(self->peer_, std::move(payload)));
    } catch (const std::exception& e) {
      reply.emplace(
          make_error("handler_failed", "handler for '" + protocol + "' threw: " + e.what()));
    } catch (...) {
      reply.emplace(make_error("handler_failed", "handler for '" + protocol + "' threw"));
    }
    self->finish(request_id, protocol, std::move(*reply));
  }

  void finish(uint64_t request_id, const std::string& protocol, Result<Bytes> reply) {
    --active_;
    state_->budgets.release(budget_key_);
    if (active_ < state_->options.max_concurrent_requests_per_connection) resume_reading();
    if (active_ == 0) refresh_idle();
    if (!is_open()) {
      spdlog::debug("component=net event=reply_dropped peer={} protocol={} id={}", remote(),
                    protocol, request_id);
      return;
    }
    if (!reply.ok()) {
      send(request_id, FrameKind::error, protocol, encode_error_payload(reply.error()));
      return;
    }
    if (body_size_for(protocol, reply->size()) > max_frame_size()) {
      send(request_id, FrameKind::error, protocol,
           encode_error_payload(make_error(
               "frame_too_large", "reply of " + std::to_string(reply->size()) + " bytes to '" +
                                      protocol + "' exceeds the frame limit of " +
                                      std::to_string(max_frame_size()) + " bytes")));
      return;
    }
    send(request_id, FrameKind::response, protocol, std::move(reply).value());
  }

  std::shared_ptr<Server::State> state_;
  PeerInfo peer_;
  size_t active_ = 0;
  bool established_ = false;
  std::string budget_key_;  // fixed once reading starts
  bool attached_ = false;   // counted as a connection of budget_key_
  asio::steady_timer budget_timer_;
  size_t unverified_held_ = 0;
};

// Registers a new connection under the caps; closes the ones it evicts. False: refused.
bool admit(Server::State& state, const std::shared_ptr<ServerSession>& session,
           const std::string& address) {
  std::vector<std::shared_ptr<ServerSession>> evicted;
  {
    std::lock_guard lock(state.mutex);
    if (state.stopped) return false;
    auto decision = state.admission.admit(session->id(), address);
    for (uint64_t id : decision.evict) {
      auto it = state.sessions.find(id);
      if (it == state.sessions.end()) continue;
      evicted.push_back(std::move(it->second));
      state.sessions.erase(it);
    }
    if (!decision.admitted) {
      state.refused.fetch_add(1);
      spdlog::debug("component=net event=connection_refused peer={} reason=\"{}\"",
                    session->remote(), decision.refusal);
      return false;
    }
    state.sessions.emplace(session->id(), session);
  }
  state.evicted.fetch_add(evicted.size());
  for (auto& victim : evicted) {
    asio::dispatch(victim->executor(), [victim, by = session->remote()] {
      victim->close(make_error("evicted", "a pending connection, evicted to admit " + by));
    });
  }
  return true;
}

// What the per-address cap counts by: the IPv4 address, or the /64 an IPv6 address is in
// (one host commonly has a whole /64).
std::string address_key(const asio::ip::address& address) {
  if (!address.is_v6()) return address.to_string();
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

asio::awaitable<void> accept_loop(std::shared_ptr<Server::State> state) {
  uint64_t next_id = 1;
  for (;;) {
    std::error_code ec;
    auto socket =
        co_await state->acceptor.async_accept(asio::any_io_executor(asio::make_strand(state->io)),
                                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
      spdlog::warn("component=net event=accept_failed port={} error=\"{}\"",
                   state->bound_port.load(), ec.message());
      // Out of descriptors and the like: back off instead of spinning.
      asio::steady_timer pause(state->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    state->accepted.fetch_add(1);
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    auto remote_ep = socket.remote_endpoint(ignored);
    std::string remote = format_endpoint(remote_ep.address().to_string(), remote_ep.port());
    const auto& tls = state->options.tls;
    auto stream =
        tls ? Stream(TlsSocket(std::move(socket), *tls->context)) : Stream(std::move(socket));
    auto key = address_key(remote_ep.address());
    auto session =
        std::make_shared<ServerSession>(std::move(stream), remote, state, next_id++, key);
    if (!admit(*state, session, key)) continue;  // socket closes
    spdlog::debug("component=net event=accepted peer={} port={}", remote, state->bound_port.load());
    asio::dispatch(session->executor(), [session, state] {
      if (state->options.tls) {
        session->start_tls(*state->options.tls);
      } else {
        session->start();
      }
    });
  }
}

}  // namespace

Server::Server(EventLoop& loop, ServerOptions options)
    : loop_(loop), state_(std::make_shared<State>(loop.context(), std::move(options))) {}

Server::~Server() {
  stop();
}

Result<void> Server::handle(std::string_view protocol, Handler handler) {
  if (auto v = validate_protocol_id(protocol); !v.ok()) return v.error();
  std::lock_guard lock(state_->mutex);
  state_->handlers[std::string(protocol)] = std::make_shared<const Handler>(std::move(handler));
  return ok_result();
}

Result<uint16_t> Server::listen() {
  std::lock_guard lock(state_->mutex);
  if (state_->listening || state_->stopped) {
    return make_error("already_listening", "server on " + endpoint() + " was already started");
  }
  const auto& opts = state_->options;
  std::error_code ec;
  auto address = asio::ip::make_address(opts.host, ec);
  asio::ip::tcp::endpoint ep;
  if (ec) {
    asio::ip::tcp::resolver resolver(state_->io);
    auto results = resolver.resolve(opts.host, std::to_string(opts.port), ec);
    if (ec || results.empty()) {
      return make_error("invalid_endpoint",
                        "cannot resolve listen host '" + opts.host + "': " + ec.message());
    }
    ep = results.begin()->endpoint();
  } else {
    ep = asio::ip::tcp::endpoint(address, opts.port);
  }
  auto& acceptor = state_->acceptor;
  auto fail = [&](std::string_view step) {
    std::error_code ignored;
    acceptor.close(ignored);
    return make_error("bind_failed", std::string(step) + " " +
                                         format_endpoint(ep.address().to_string(), ep.port()) +
                                         ": " + ec.message());
  };
  acceptor.open(ep.protocol(), ec);
  if (ec) return fail("open");
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("reuse_address on");
  acceptor.bind(ep, ec);
  if (ec) return fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  state_->bound_port = acceptor.local_endpoint(ec).port();
  state_->listening = true;
  asio::co_spawn(acceptor.get_executor(), accept_loop(state_), asio::detached);
  spdlog::info("component=net event=listening endpoint={}",
               format_endpoint(opts.host, state_->bound_port.load()));
  return state_->bound_port.load();
}

uint16_t Server::port() const {
  return state_->bound_port.load();
}

std::string Server::endpoint() const {
  return format_endpoint(state_->options.host, state_->bound_port.load());
}

void Server::stop() {
  std::unordered_map<uint64_t, std::shared_ptr<ServerSession>> sessions;
  bool was_listening = false;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopped) return;
    state_->stopped = true;
    was_listening = state_->listening;
    sessions.swap(state_->sessions);
  }
  if (was_listening) {
    auto state = state_;
    loop_.run_and_wait(state->acceptor.get_executor(), [state] {
      std::error_code ignored;
      state->acceptor.close(ignored);
    });
  }
  for (const auto& [id, session] : sessions) {
    loop_.run_and_wait(session->executor(),
                       [session] { session->close(make_error("shutdown", "server stopped")); });
  }
}

uint64_t Server::accepted_connections() const {
  return state_->accepted.load();
}

size_t Server::open_connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->sessions.size();
}

ServerStats Server::stats() const {
  ServerStats s;
  {
    std::lock_guard lock(state_->mutex);
    s.open = state_->sessions.size();
    s.pending = state_->admission.pending();
  }
  s.accepted = state_->accepted.load();
  s.refused = state_->refused.load();
  s.evicted = state_->evicted.load();
  s.buffered_bytes = state_->gauge->bytes();
  s.unverified_buffered_bytes = state_->unverified_buffered.load();
  s.budget_waits = state_->budget_waits.load();
  s.budget_peers = state_->budgets.peers();
  return s;
}

}  // namespace beemesh::net
