// app/node_service_impl.h — api::NodeService on top of the node's parts.
//
// Promise: every call is bounded: applies and deletes run as coroutines on the node's
// event loop (the API thread waits for them), reads of another node's workload go to every
// known node in parallel with a short timeout, and metrics are recorded for each apply
// (result counter, latency histogram).
#pragma once

#include <memory>
#include <string>

#include "api/node_service.h"
#include "app/revocation_sync.h"
#include "apply/directory.h"
#include "apply/publisher.h"
#include "common/metrics.h"
#include "net/event_loop.h"
#include "provider/provider_manager.h"
#include "workload/events.h"
#include "workload/workload_manager.h"

namespace beemesh::app {

struct ServiceParts {
  const crypto::Identity& identity;
  const Clock& clock;
  net::EventLoop& loop;
  net::Client& client;
  crypto::EnvelopeVerifier& verifier;
  apply::NodeDirectory& directory;
  apply::Publisher& publisher;
  workload::WorkloadManager& workloads;
  workload::EventBus& events;
  provider::ProviderManager& providers;
  dht::Dht& dht;
  MetricsRegistry& metrics;
  RevocationSync& revocations;
  const ClockSkewTable& clock_skew;
  apply::DesiredStateStore* desired = nullptr;
};

// A workload looked up by id without its node asks at most this many other nodes
// (docs/LIMITS.md): the lookup is bounded whatever the mesh size, and callers that know the
// node (apply --wait) name it.
inline constexpr size_t kMaxQueryFanout = 32;

class NodeServiceImpl final : public api::NodeService {
 public:
  explicit NodeServiceImpl(ServiceParts parts);

  api::NodeInfo self() override;
  std::vector<api::NodeInfo> nodes() override;
  Result<api::ApplyOutcome> apply(std::string_view yaml, const api::ApplyOptions& options,
                                  const api::OwnerAuth& auth, const api::Caller& caller,
                                  const api::ProgressFn& progress) override;
  Result<api::DeleteOutcome> delete_manifest(const std::string& manifest_id,
                                             const api::OwnerAuth& auth,
                                             const api::Caller& caller) override;
  Result<void> install_revocations(const std::string& signed_list_bytes) override;
  std::vector<api::WorkloadView> workloads() override;
  Result<api::WorkloadView> workload(const std::string& workload_id) override;
  Result<api::WorkloadView> workload_on(const std::string& workload_id,
                                        const std::string& node_id) override;
  Result<std::string> logs(const std::string& workload_id, int tail_lines) override;
  std::vector<provider::ProviderInfo> providers(const std::string& manifest_id) override;
  Result<api::DesiredView> desired_state(const std::string& manifest_id,
                                         const std::string& owner_hex) override;
  std::unique_ptr<api::Subscription> subscribe_events(
      std::function<void(const api::EventView&)> on_event) override;
  std::string metrics_text() override;

  // The body of a QueryRequest answered for another node (apply::NodeHandlers).
  Result<std::string> answer_query(const protocol::QueryRequest& query);

 private:
  api::WorkloadView view_of(const workload::WorkloadRecord& record) const;
  // Asks `node_id` only when given and known, else at most kMaxQueryFanout other nodes of
  // the directory (the first answer wins).
  Result<std::string> ask_others(const protocol::QueryRequest& query,
                                 const std::string& node_id = {});
  Result<api::WorkloadView> find_workload(const std::string& workload_id,
                                          const std::string& node_id);

  ServiceParts p_;
  Counter& applies_ok_;
  Counter& applies_failed_;
  Counter& applies_partial_;
  Histogram& apply_latency_;
};

}  // namespace beemesh::app
