#include "app/node_service_impl.h"

#include <future>

#include <chrono>

#include "api/json.h"
#include "apply/async.h"
#include "apply/share_fetch.h"
#include "net/protocols.h"
#include "runtime/runtime.h"
#include "workload/provider_bookkeeper.h"

namespace beemesh::app {

namespace {

// What a user applies or deletes is owned by that user: the owner key of the request is
// the authenticated caller's.
Result<void> check_owner_is_caller(const api::OwnerAuth& auth, const api::Caller& caller) {
  if (caller.user_key_hex.empty()) return {};  // no authenticator (unit wiring)
  if (auth.owner_public_key_hex != caller.user_key_hex) {
    return make_error("forbidden",
                      "the owner key of the request is not the authenticated "
                      "user's (" +
                          caller.name + ")");
  }
  return {};
}

api::NodeInfo info_of(const apply::NodeEntry& e, bool self) {
  api::NodeInfo n;
  n.node_id = e.node_id;
  n.public_key_hex = to_hex(e.public_key);
  n.name = e.name;
  n.rpc_endpoint = e.rpc_endpoint;
  n.api_endpoint = e.api_endpoint;
  n.engine = e.engine;
  n.last_seen_ms = e.last_seen_ms;
  n.self = self;
  return n;
}

api::PlacementOutcome outcome_of(const apply::Placement& p) {
  return {p.node_id, p.rpc_endpoint, p.ok, p.code, p.message, p.workload_id};
}

// Runs a coroutine returning a Result on the loop and waits for it from this (non-loop)
// thread.
template <typename T>
T run_on(net::EventLoop& loop, asio::awaitable<T> task) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  asio::co_spawn(
      loop.executor(),
      [task = std::move(task), promise]() mutable -> asio::awaitable<void> {
        try {
          promise->set_value(co_await std::move(task));
        } catch (const std::exception& e) {
          promise->set_value(make_error("internal", e.what()));
        }
      },
      asio::detached);
  return future.get();
}

}  // namespace

NodeServiceImpl::NodeServiceImpl(ServiceParts parts)
    : p_(parts),
      applies_ok_(p_.metrics.counter("beemesh_deployments_total", "Applies by result.")
                      .labels({{"result", "ok"}})),
      applies_failed_(p_.metrics.counter("beemesh_deployments_total", "Applies by result.")
                          .labels({{"result", "failed"}})),
      applies_partial_(p_.metrics.counter("beemesh_deployments_total", "Applies by result.")
                           .labels({{"result", "partial"}})),
      apply_latency_(p_.metrics
                         .histogram("beemesh_apply_latency_seconds",
                                    "Time from apply request to every placement answered.",
                                    default_latency_buckets())
                         .labels()) {
  p_.metrics.callback_gauge("beemesh_providers_announced", "Manifests this node announces.",
                            [this] { return double(p_.providers.stats().providers_announced); });
  p_.metrics.callback_gauge("beemesh_discovery_cache_hits", "Discovery cache hits.",
                            [this] { return double(p_.providers.stats().cache_hits); });
  p_.metrics.callback_gauge("beemesh_discovery_cache_misses", "Discovery cache misses.",
                            [this] { return double(p_.providers.stats().cache_misses); });
  p_.metrics.callback_gauge("beemesh_dht_nodes", "DHT nodes known (good).",
                            [this] { return double(p_.dht.node_count()); });
  p_.metrics.callback_gauge("beemesh_workloads", "Workloads on this node.",
                            [this] { return double(p_.workloads.list().size()); });
}

api::NodeInfo NodeServiceImpl::self() {
  return info_of(p_.directory.self(), true);
}

std::vector<api::NodeInfo> NodeServiceImpl::nodes() {
  std::vector<api::NodeInfo> out;
  for (const auto& e : p_.directory.nodes()) {
    out.push_back(info_of(e, e.node_id == p_.directory.self().node_id));
    if (out.back().self) continue;
    if (auto skew = p_.clock_skew.get(e.node_id)) out.back().clock_skew_ms = skew->skew_ms;
  }
  return out;
}

Result<api::ApplyOutcome> NodeServiceImpl::apply(std::string_view yaml,
                                                 const api::ApplyOptions& options,
                                                 const api::OwnerAuth& auth,
                                                 const api::Caller& caller,
                                                 const api::ProgressFn& progress) {
  BEEMESH_TRY(check_owner_is_caller(auth, caller));
  auto started = std::chrono::steady_clock::now();
  apply::PublishRequest req{std::string(yaml),
                            options.source,
                            options.replicas,
                            options.node,
                            auth.owner_public_key_hex,
                            auth.token_hex,
                            caller.credential,
                            caller.namespaces,
                            auth.intent_hex};
  auto result = run_on(p_.loop, p_.publisher.apply(std::move(req), progress));
  apply_latency_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (!result) {
    applies_failed_.inc();
    return result.error();
  }
  api::ApplyOutcome out;
  out.manifest_id = result->manifest_id;
  out.result = result->result;
  out.message = result->message;
  out.replicas_requested = result->replicas_requested;
  out.replicas_placed = result->replicas_placed;
  for (const auto& p : result->placements) out.placements.push_back(outcome_of(p));
  if (out.replicas_placed >= out.replicas_requested) {
    applies_ok_.inc();
  } else if (out.replicas_placed > 0) {
    applies_partial_.inc();
  } else {
    applies_failed_.inc();
  }
  return out;
}

Result<api::DesiredView> NodeServiceImpl::desired_state(const std::string& manifest_id,
                                                        const std::string& owner_hex) {
  if (!p_.desired) return make_error("not_found", "this node keeps no desired state");
  auto owner = from_hex(owner_hex);
  if (!owner || owner->size() != crypto::PublicKey{}.size()) {
    return make_error("bad_request", "owner: expected 64 hex characters");
  }
  crypto::PublicKey key{};
  std::copy(owner->begin(), owner->end(), key.begin());
  auto state = p_.desired->fetch(manifest_id, key);  // bounded by the store's DHT timeout
  if (!state) return make_error("not_found", "no desired state for manifest " + manifest_id);
  const auto& i = state->intent;
  return api::DesiredView{i.manifest_id, i.name,
                          i.tombstone,   to_hex(i.content_version),
                          i.sequence,    static_cast<int>(i.replicas),
                          i.pinned_node, i.issued_ms,
                          i.expires_ms};
}

Result<void> NodeServiceImpl::install_revocations(const std::string& signed_list_bytes) {
  auto installed = p_.revocations.install(as_bytes(signed_list_bytes));
  if (!installed) return installed.error();
  return {};
}

Result<api::DeleteOutcome> NodeServiceImpl::delete_manifest(const std::string& manifest_id,
                                                            const api::OwnerAuth& auth,
                                                            const api::Caller& caller) {
  BEEMESH_TRY(check_owner_is_caller(auth, caller));
  auto envelope = from_hex(auth.token_hex);
  if (!envelope || envelope->empty()) {
    return make_error("unauthorized", "delete needs an owner-signed DeleteRequest token");
  }
  auto tombstone = from_hex(auth.intent_hex);
  if (!tombstone) return make_error("bad_request", "X-Beemesh-Intent: expected hex");
  auto result =
      run_on(p_.loop, p_.publisher.delete_manifest(manifest_id, std::move(*envelope),
                                                   std::move(*tombstone), caller.credential));
  if (!result) return result.error();
  api::DeleteOutcome out;
  out.manifest_id = result->manifest_id;
  out.removed = result->removed;
  for (const auto& n : result->nodes) out.nodes.push_back(outcome_of(n));
  // Every node refusing with the same authorisation code is the caller's error.
  bool all_refused = !out.nodes.empty();
  for (const auto& n : out.nodes) all_refused = all_refused && !n.ok;
  if (all_refused && out.removed == 0) {
    return make_error(out.nodes.front().code, out.nodes.front().message);
  }
  return out;
}

api::WorkloadView NodeServiceImpl::view_of(const workload::WorkloadRecord& r) const {
  api::WorkloadView v;
  v.info.id = r.id;
  v.info.manifest_id = r.manifest_id;
  v.info.engine = r.engine;
  v.info.state = r.state;
  v.info.restart_policy = r.restart_policy;
  v.info.pods = r.pods;
  v.info.ports = r.ports;
  v.info.created_at_ms = r.created_at_ms;
  v.info.message = r.message;
  v.owner = r.owner;
  v.node_id = p_.directory.self().node_id;
  v.health = r.healthy ? "healthy" : "unhealthy";
  if (auto it = r.config.labels.find(std::string(workload::kContentVersionLabel));
      it != r.config.labels.end()) {
    v.content_version = it->second;
  }
  return v;
}

std::vector<api::WorkloadView> NodeServiceImpl::workloads() {
  std::vector<api::WorkloadView> out;
  for (const auto& r : p_.workloads.list()) out.push_back(view_of(r));
  return out;
}

Result<std::string> NodeServiceImpl::answer_query(const protocol::QueryRequest& q) {
  if (q.kind == "logs") return p_.workloads.logs(q.workload_id, q.tail_lines);
  auto rec = p_.workloads.status(q.workload_id);
  if (!rec) return rec.error();
  return api::workload_to_json(view_of(*rec)).dump();
}

Result<std::string> NodeServiceImpl::ask_others(const protocol::QueryRequest& query,
                                                const std::string& node_id) {
  auto self_id = p_.directory.self().node_id;
  std::vector<apply::NodeEntry> others;
  for (const auto& n : p_.directory.nodes()) {
    if (n.node_id == self_id) continue;
    if (!node_id.empty() && n.node_id == node_id) {
      others.assign(1, n);
      break;
    }
    if (others.size() < kMaxQueryFanout) others.push_back(n);
  }
  // A named node not in this node's view: the bounded search (the first others) instead.
  auto task = [&]() -> asio::awaitable<Result<std::string>> {
    std::vector<asio::awaitable<Result<protocol::QueryReply>>> asks;
    for (const auto& n : others) {
      asks.push_back(apply::signed_call<protocol::QueryRequest, protocol::QueryReply>(
          p_.identity, p_.clock, p_.verifier, p_.client, n.rpc_endpoint,
          std::string(net::protocols::kQuery), query, n.public_key, std::chrono::seconds(10)));
    }
    auto replies = co_await apply::gather(std::move(asks));
    for (auto& r : replies) {
      if (r && *r && (*r)->ok) co_return std::move((*r)->body);
    }
    co_return make_error("not_found", "no node knows workload " + query.workload_id);
  };
  return run_on(p_.loop, task());
}

Result<api::WorkloadView> NodeServiceImpl::workload(const std::string& workload_id) {
  return find_workload(workload_id, {});
}

Result<api::WorkloadView> NodeServiceImpl::workload_on(const std::string& workload_id,
                                                       const std::string& node_id) {
  return find_workload(workload_id, node_id);
}

Result<api::WorkloadView> NodeServiceImpl::find_workload(const std::string& workload_id,
                                                         const std::string& node_id) {
  auto rec = p_.workloads.status(workload_id);
  if (rec) return view_of(*rec);
  if (rec.error().code != "not_found") return rec.error();
  if (node_id == p_.directory.self().node_id) return rec.error();
  protocol::QueryRequest q;
  q.request_id = runtime::new_workload_id();
  q.kind = "workload";
  q.workload_id = workload_id;
  auto body = ask_others(q, node_id);
  if (!body) return body.error();
  auto json = api::parse_json(*body);
  if (!json) return json.error();
  return api::workload_from_json(*json);
}

Result<std::string> NodeServiceImpl::logs(const std::string& workload_id, int tail_lines) {
  auto local = p_.workloads.logs(workload_id, tail_lines);
  if (local || local.error().code != "not_found") return local;
  protocol::QueryRequest q;
  q.request_id = runtime::new_workload_id();
  q.kind = "logs";
  q.workload_id = workload_id;
  q.tail_lines = tail_lines;
  return ask_others(q);
}

std::vector<provider::ProviderInfo> NodeServiceImpl::providers(const std::string& manifest_id) {
  return p_.providers.discover(manifest_id);
}

namespace {
class EventSubscription final : public api::Subscription {
 public:
  explicit EventSubscription(workload::EventBus::Subscription s) : sub_(std::move(s)) {}

 private:
  workload::EventBus::Subscription sub_;
};

api::EventView view_of_event(const workload::WorkloadEvent& e) {
  return {std::string(workload::to_string(e.kind)), e.workload_id, e.manifest_id, e.time_ms,
          e.reason};
}
}  // namespace

std::unique_ptr<api::Subscription> NodeServiceImpl::subscribe_events(
    std::function<void(const api::EventView&)> on_event) {
  // Subscribe first, then replay what happened before, skipping what the live feed sends.
  auto last_replayed = std::make_shared<std::atomic<uint64_t>>(0);
  auto sub = p_.events.subscribe([on_event, last_replayed](const workload::WorkloadEvent& e) {
    if (e.sequence > last_replayed->load()) on_event(view_of_event(e));
  });
  for (const auto& e : p_.events.recent()) {
    on_event(view_of_event(e));
    last_replayed->store(e.sequence);
  }
  return std::make_unique<EventSubscription>(std::move(sub));
}

std::string NodeServiceImpl::metrics_text() {
  return p_.metrics.render();
}

}  // namespace beemesh::app
