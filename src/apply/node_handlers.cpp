#include "apply/node_handlers.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "apply/admission.h"
#include "apply/async.h"
#include "apply/codes.h"
#include "apply/handler_util.h"
#include "apply/share_fetch.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "manifest/manifest.h"
#include "net/protocols.h"
#include "protocol/messages.h"

namespace beemesh::apply {

namespace {

using protocol::PayloadType;

}  // namespace

NodeHandlers::NodeHandlers(NodeSettings settings, const crypto::Identity& identity,
                           const Clock& clock, crypto::EnvelopeVerifier& verifier,
                           net::Client& client, workload::WorkloadManager& workloads,
                           workload::StateStore& store)
    : settings_(std::move(settings)),
      identity_(identity),
      clock_(clock),
      verifier_(verifier),
      client_(client),
      workloads_(workloads),
      store_(store),
      share_batcher_(identity, clock, verifier, client) {}

NodeHandlers::~NodeHandlers() {
  if (housekeeping_) housekeeping_->cancel();
  blocking_.join();
}

void NodeHandlers::start_housekeeping(asio::any_io_executor executor,
                                      std::chrono::milliseconds every, HeapTrim trim) {
  housekeeping_ = std::make_unique<asio::steady_timer>(executor);
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [this, every, trim, weak = std::weak_ptr<std::function<void()>>(tick)] {
    asio::post(blocking_, [this, trim] {
      auto dropped = store_.drop_expired_key_shares(clock_.now_ms());
      if (dropped && *dropped > 0) spdlog::info("dropped {} expired key share(s)", *dropped);
      // Heap freed after a burst (a flood of refused requests) goes back to the system.
      if (trim == HeapTrim::yes) ::malloc_trim(0);
    });
    housekeeping_->expires_after(every);
    housekeeping_->async_wait([weak](const std::error_code& ec) {
      if (ec) return;
      if (auto again = weak.lock()) (*again)();
    });
  };
  housekeeping_tick_ = tick;
  asio::post(executor, [tick] { (*tick)(); });
}

Result<void> NodeHandlers::register_on(net::Server& server) {
  struct Route {
    std::string_view protocol;
    asio::awaitable<Result<Bytes>> (NodeHandlers::*handler)(Bytes, net::PeerInfo);
  };
  const Route routes[] = {
      {net::protocols::kApply, &NodeHandlers::on_apply},
      {net::protocols::kDelete, &NodeHandlers::on_delete},
      {net::protocols::kKeyShare, &NodeHandlers::on_key_share},
      {net::protocols::kKeyShareBatch, &NodeHandlers::on_key_share_batch},
      {net::protocols::kStoreShare, &NodeHandlers::on_store_share},
      {net::protocols::kCapacity, &NodeHandlers::on_capacity},
      {net::protocols::kQuery, &NodeHandlers::on_query},
  };
  for (const auto& route : routes) {
    auto handler = route.handler;
    BEEMESH_TRY(
        server.handle(route.protocol, [this, handler](const net::PeerInfo& peer, Bytes req) {
          return (this->*handler)(std::move(req), peer);
        }));
  }
  return {};
}

// ---- capacity --------------------------------------------------------------------------

std::pair<int64_t, int64_t> NodeHandlers::free_capacity() const {
  const workload::Resources reserved = workloads_.reserved();
  return {settings_.capacity_memory_bytes - reserved.memory_bytes,
          settings_.capacity_cpu_millis - reserved.cpu_millis};
}

asio::awaitable<Result<Bytes>> NodeHandlers::on_capacity(Bytes request, net::PeerInfo peer) {
  auto req = open_request<protocol::CapacityRequest>(verifier_, request, peer);
  protocol::CapacityReply reply;
  reply.node_id = identity_.node_id();
  reply.rpc_endpoint = settings_.rpc_endpoint;
  reply.engine = settings_.engine;
  if (!req) co_return req.error();
  if (auto allowed = require_node(membership_, req->envelope, "a capacity request"); !allowed) {
    co_return allowed.error();
  }
  reply.request_id = req->message.request_id;
  auto [memory, cpu] = free_capacity();
  memory = std::max<int64_t>(0, memory);
  cpu = std::max<int64_t>(0, cpu);
  reply.available_memory_bytes = memory;
  reply.available_cpu_millis = cpu;
  const auto& m = req->message;
  int64_t by_memory = m.memory_bytes > 0 ? memory / m.memory_bytes : m.replicas;
  int64_t by_cpu = m.cpu_millis > 0 ? cpu / m.cpu_millis : m.replicas;
  reply.max_replicas = static_cast<int32_t>(std::max<int64_t>(0, std::min(by_memory, by_cpu)));
  reply.accepts = reply.max_replicas > 0;
  co_return crypto::sign_message(identity_, reply, clock_);
}

// ---- query -----------------------------------------------------------------------------

asio::awaitable<Result<Bytes>> NodeHandlers::on_query(Bytes request, net::PeerInfo peer) {
  protocol::QueryReply reply;
  auto req = open_request<protocol::QueryRequest>(verifier_, request, peer);
  if (!req) co_return respond(identity_, clock_, reply, &req.error());
  reply.request_id = req->message.request_id;
  if (auto allowed = require_node(membership_, req->envelope, "a query"); !allowed) {
    co_return respond(identity_, clock_, reply, &allowed.error());
  }
  auto q = req->message;
  auto answering = run_blocking(blocking_, [this, q]() -> Result<std::string> {
    if (!query_responder_) return make_error(std::string(codes::kNotFound), "queries not served");
    return query_responder_(q);
  });
  auto body = co_await std::move(answering);
  if (!body) co_return respond(identity_, clock_, reply, &body.error());
  reply.body = std::move(*body);
  co_return respond(identity_, clock_, reply, nullptr);
}

}  // namespace beemesh::apply
