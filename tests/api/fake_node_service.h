// A NodeService that answers from fields the test sets and records what it was asked.
// Shared by the API and CLI tests.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/node_service.h"

namespace beemesh::api::testing {

class FakeNodeService : public NodeService {
 public:
  // --- what the fake answers -----------------------------------------------------------
  NodeInfo self_info{.node_id = "bmselfnode",
                     .public_key_hex = std::string(64, 'a'),
                     .name = "node-a",
                     .rpc_endpoint = "127.0.0.1:7401",
                     .api_endpoint = "127.0.0.1:7480",
                     .engine = "mock",
                     .last_seen_ms = 0,
                     .self = true,
                     .clock_skew_ms = std::nullopt};
  std::vector<NodeInfo> node_list;
  std::optional<Error> apply_error;
  ApplyOutcome apply_outcome;
  std::vector<std::string> apply_steps{"placing", "encrypting", "distributing shares",
                                       "deploying on 1 nodes", "announced"};
  std::optional<Error> delete_error;
  DeleteOutcome delete_outcome;
  std::optional<Error> revocations_error;
  std::vector<WorkloadView> workload_list;
  std::map<std::string, std::string> workload_logs;
  std::map<std::string, std::vector<provider::ProviderInfo>> provider_map;
  std::vector<EventView> recent_events;
  std::string metrics = "# HELP beemesh_up Up.\n# TYPE beemesh_up gauge\nbeemesh_up 1\n";

  // --- what the fake was asked ---------------------------------------------------------
  struct ApplyCall {
    std::string yaml;
    ApplyOptions options;
    OwnerAuth auth;
    Caller caller;
  };
  std::vector<ApplyCall> apply_calls() const {
    std::lock_guard lock(mutex_);
    return apply_calls_;
  }
  struct DeleteCall {
    std::string manifest_id;
    OwnerAuth auth;
    Caller caller;
  };
  std::vector<DeleteCall> delete_calls() const {
    std::lock_guard lock(mutex_);
    return delete_calls_;
  }
  std::vector<std::string> revocation_lists() const {
    std::lock_guard lock(mutex_);
    return revocation_lists_;
  }
  std::atomic<int> last_tail{-2};  // set from server threads
  std::string last_workload_node() const {
    std::lock_guard lock(mutex_);
    return last_workload_node_;
  }

  // Delivers a live event to every subscriber.
  void publish(const EventView& event) {
    std::lock_guard lock(mutex_);
    for (auto& [id, fn] : subscribers_) fn(event);
  }
  int subscriber_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(subscribers_.size());
  }

  // --- NodeService ---------------------------------------------------------------------
  NodeInfo self() override { return self_info; }
  std::vector<NodeInfo> nodes() override { return node_list; }

  Result<ApplyOutcome> apply(std::string_view yaml, const ApplyOptions& options,
                             const OwnerAuth& auth, const Caller& caller,
                             const ProgressFn& progress) override {
    {
      std::lock_guard lock(mutex_);
      apply_calls_.push_back({std::string(yaml), options, auth, caller});
    }
    if (progress) {
      for (const auto& step : apply_steps) progress(step);
    }
    if (apply_error) return *apply_error;
    return apply_outcome;
  }

  Result<DeleteOutcome> delete_manifest(const std::string& manifest_id, const OwnerAuth& auth,
                                        const Caller& caller) override {
    {
      std::lock_guard lock(mutex_);
      delete_calls_.push_back({manifest_id, auth, caller});
    }
    if (delete_error) return *delete_error;
    DeleteOutcome out = delete_outcome;
    out.manifest_id = manifest_id;
    return out;
  }

  Result<void> install_revocations(const std::string& signed_list_bytes) override {
    {
      std::lock_guard lock(mutex_);
      revocation_lists_.push_back(signed_list_bytes);
    }
    if (revocations_error) return *revocations_error;
    return ok_result();
  }

  std::vector<WorkloadView> workloads() override { return workload_list; }

  Result<WorkloadView> workload(const std::string& workload_id) override {
    for (const auto& w : workload_list) {
      if (w.info.id == workload_id) return w;
    }
    return make_error("not_found", "no workload " + workload_id);
  }

  Result<WorkloadView> workload_on(const std::string& workload_id,
                                   const std::string& node_id) override {
    {
      std::lock_guard lock(mutex_);
      last_workload_node_ = node_id;
    }
    return workload(workload_id);
  }

  Result<std::string> logs(const std::string& workload_id, int tail_lines) override {
    last_tail = tail_lines;
    auto it = workload_logs.find(workload_id);
    if (it == workload_logs.end()) return make_error("not_found", "no workload " + workload_id);
    return it->second;
  }

  std::vector<provider::ProviderInfo> providers(const std::string& manifest_id) override {
    auto it = provider_map.find(manifest_id);
    return it == provider_map.end() ? std::vector<provider::ProviderInfo>{} : it->second;
  }

  std::unique_ptr<Subscription> subscribe_events(
      std::function<void(const EventView&)> on_event) override {
    for (const auto& e : recent_events) on_event(e);
    std::lock_guard lock(mutex_);
    int id = next_id_++;
    subscribers_[id] = std::move(on_event);
    return std::make_unique<Sub>(*this, id);
  }

  std::string metrics_text() override { return metrics; }

 private:
  struct Sub : Subscription {
    Sub(FakeNodeService& s, int i) : service(s), id(i) {}
    ~Sub() override {
      std::lock_guard lock(service.mutex_);
      service.subscribers_.erase(id);
    }
    FakeNodeService& service;
    int id;
  };

  mutable std::mutex mutex_;
  std::vector<ApplyCall> apply_calls_;
  std::string last_workload_node_;
  std::vector<DeleteCall> delete_calls_;
  std::vector<std::string> revocation_lists_;
  std::map<int, std::function<void(const EventView&)>> subscribers_;
  int next_id_ = 0;
};

// Builders (designated initializers would trip -Wmissing-field-initializers).
inline EventView make_event(std::string type, std::string workload_id = "",
                            std::string manifest_id = "", int64_t time_ms = 0,
                            std::string reason = "") {
  EventView e;
  e.type = std::move(type);
  e.workload_id = std::move(workload_id);
  e.manifest_id = std::move(manifest_id);
  e.time_ms = time_ms;
  e.reason = std::move(reason);
  return e;
}

inline ApplyOutcome make_outcome(std::string manifest_id, int requested = 1, int placed = 1) {
  ApplyOutcome o;
  o.manifest_id = std::move(manifest_id);
  o.replicas_requested = requested;
  o.replicas_placed = placed;
  return o;
}

inline PlacementOutcome make_placement(std::string node_id, bool ok, std::string code,
                                       std::string message = "", std::string workload_id = "") {
  PlacementOutcome p;
  p.node_id = std::move(node_id);
  p.rpc_endpoint = "127.0.0.1:7401";
  p.ok = ok;
  p.code = std::move(code);
  p.message = std::move(message);
  p.workload_id = std::move(workload_id);
  return p;
}

inline NodeInfo make_node(std::string node_id, std::string name, std::string engine) {
  NodeInfo n;
  n.node_id = std::move(node_id);
  n.name = std::move(name);
  n.engine = std::move(engine);
  return n;
}

inline provider::ProviderInfo make_provider(std::string manifest_id, std::string node_id,
                                            std::string rpc_endpoint, std::string engine) {
  provider::ProviderInfo p;
  p.manifest_id = std::move(manifest_id);
  p.metadata.node_id = std::move(node_id);
  p.metadata.rpc_endpoint = std::move(rpc_endpoint);
  p.metadata.engine = std::move(engine);
  return p;
}

// A workload view with the fields tables show.
inline WorkloadView make_workload(std::string id, std::string manifest_id,
                                  runtime::WorkloadState state, std::string node_id) {
  WorkloadView w;
  w.info.id = std::move(id);
  w.info.manifest_id = std::move(manifest_id);
  w.info.engine = "mock";
  w.info.state = state;
  w.info.pods = {"web-" + w.info.id.substr(0, 8) + "-0"};
  w.info.created_at_ms = 1'700'000'000'000;
  w.owner = std::string(64, 'b');
  w.node_id = std::move(node_id);
  w.health = "healthy";
  return w;
}

}  // namespace beemesh::api::testing
