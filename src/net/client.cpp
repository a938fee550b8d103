#include "net/client.h"

#include <algorithm>
#include <exception>

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

#include "net/endpoint.h"
#include "net/peer.h"
#include "net/pool.h"

namespace beemesh::net {

namespace {

Result<Bytes> to_result(Outcome&& outcome) {
  if (auto* bytes = std::get_if<Bytes>(&outcome)) return std::move(*bytes);
  return std::get<Error>(std::move(outcome));
}

Error internal_error(const std::string& endpoint, std::exception_ptr e) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  return make_error("internal", "request to " + endpoint + " failed: " + what);
}

}  // namespace

Client::Client(EventLoop& loop, ClientOptions options)
    : loop_(loop),
      options_(std::move(options)),
      pool_(std::make_shared<OutboundPool>(options_.max_connections,
                                           options_.max_concurrent_connects)),
      gauge_(std::make_shared<BufferGauge>()) {}

Client::~Client() {
  shutdown();
}

Result<std::shared_ptr<Peer>> Client::prepare(const std::string& endpoint,
                                              std::string_view protocol, size_t payload_size,
                                              std::chrono::milliseconds timeout) {
  if (auto v = validate_protocol_id(protocol); !v.ok()) return v.error();
  if (timeout.count() <= 0) {
    return make_error("invalid_timeout", "request timeout must be positive, got " +
                                             std::to_string(timeout.count()) + " ms");
  }
  if (body_size_for(protocol, payload_size) > options_.max_frame_size) {
    return make_error("frame_too_large", "request of " + std::to_string(payload_size) +
                                             " bytes for '" + std::string(protocol) + "' to " +
                                             endpoint + " exceeds the frame limit of " +
                                             std::to_string(options_.max_frame_size) + " bytes");
  }
  std::lock_guard lock(mutex_);
  if (shut_down_) {
    return make_error("shutdown", "client shut down; request to " + endpoint + " refused");
  }
  auto it = peers_.find(endpoint);
  if (it != peers_.end()) return it->second;
  auto parsed = parse_endpoint(endpoint);
  if (!parsed.ok()) return parsed.error();
  // Endpoints come and go (and may be named by peers): forget the ones with nothing going on
  // before the map outgrows a few times the connection bound.
  if (peers_.size() >= max_endpoints()) {
    std::erase_if(peers_, [](const auto& entry) { return entry.second->dormant(); });
  }
  auto peer = std::make_shared<Peer>(loop_.context(), endpoint, std::move(parsed).value(), options_,
                                     pool_, gauge_);
  peers_.emplace(endpoint, peer);
  return peer;
}

asio::awaitable<Result<Bytes>> Client::request(std::string endpoint, std::string protocol,
                                               Bytes payload) {
  return request(std::move(endpoint), std::move(protocol), std::move(payload),
                 options_.default_timeout);
}

asio::awaitable<Result<Bytes>> Client::request(std::string endpoint, std::string protocol,
                                               Bytes payload, std::chrono::milliseconds timeout) {
  auto prepared = prepare(endpoint, protocol, payload.size(), timeout);
  if (!prepared.ok()) co_return prepared.error();
  auto peer = std::move(prepared).value();
  // Nothing below touches `this`: the client may be gone when the reply arrives.
  std::optional<Result<Bytes>> result;
  try {
    auto executor = peer->executor();
    Outcome outcome = co_await asio::co_spawn(
        executor, Peer::call(std::move(peer), std::move(protocol), std::move(payload), timeout),
        asio::use_awaitable);
    result.emplace(to_result(std::move(outcome)));
  } catch (...) {
    result.emplace(internal_error(endpoint, std::current_exception()));
  }
  co_return std::move(*result);
}

std::future<Result<Bytes>> Client::request_future(std::string endpoint, std::string protocol,
                                                  Bytes payload,
                                                  std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<Bytes>>>();
  auto future = promise->get_future();
  auto prepared = prepare(endpoint, protocol, payload.size(), timeout);
  if (!prepared.ok()) {
    promise->set_value(prepared.error());
    return future;
  }
  auto peer = std::move(prepared).value();
  auto executor = peer->executor();
  asio::co_spawn(executor,
                 Peer::call(std::move(peer), std::move(protocol), std::move(payload), timeout),
                 [promise, endpoint](std::exception_ptr e, Outcome outcome) {
                   if (e) {
                     promise->set_value(internal_error(endpoint, e));
                   } else {
                     promise->set_value(to_result(std::move(outcome)));
                   }
                 });
  return future;
}

Result<Bytes> Client::request_sync(std::string endpoint, std::string protocol, Bytes payload,
                                   std::chrono::milliseconds timeout) {
  if (loop_.running_in_this_thread()) {
    return make_error("wrong_thread", "request_sync to " + endpoint +
                                          " called on an event-loop thread; co_await "
                                          "request() there instead");
  }
  auto future = request_future(endpoint, std::move(protocol), std::move(payload), timeout);
  // The request's own deadline always completes it while the loop runs; only a stopped
  // loop can leave it unanswered.
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (loop_.stopped()) {
      return make_error("shutdown", "event loop stopped; request to " + endpoint + " abandoned");
    }
  }
  return future.get();
}

void Client::shutdown() {
  std::unordered_map<std::string, std::shared_ptr<Peer>> peers;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    peers.swap(peers_);
  }
  for (auto& [name, peer] : peers) {
    loop_.run_and_wait(peer->executor(), [peer] { peer->shutdown(); });
  }
}

size_t Client::max_endpoints() const {
  return std::max<size_t>(256, 4 * options_.max_connections);
}

ClientPoolStats Client::pool_stats() const {
  auto pool = pool_->stats();
  ClientPoolStats s{.open = pool.open,
                    .connecting = pool.connecting,
                    .waiting = pool.waiting,
                    .peak_open = pool.peak_open,
                    .evicted = pool.evicted,
                    .buffered_bytes = gauge_->bytes()};
  std::lock_guard lock(mutex_);
  s.endpoints = peers_.size();
  return s;
}

PeerStats Client::stats(const std::string& endpoint) const {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(endpoint);
  return it == peers_.end() ? PeerStats{} : it->second->stats();
}

}  // namespace beemesh::net
