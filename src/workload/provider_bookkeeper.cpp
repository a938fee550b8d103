#include "workload/provider_bookkeeper.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

namespace beemesh::workload {

struct ProviderBookkeeper::CallbackGuard {
  Mutex mutex;
  EventBus* events GUARDED_BY(mutex) = nullptr;  // null once stopped
};

ProviderBookkeeper::ProviderBookkeeper(const WorkloadManagerConfig& config,
                                       provider::Announcer* announcer,
                                       provider::ProviderMetadata self, const WorkloadTable& table,
                                       EventBus& events)
    : enabled_(announcer != nullptr && config.announce_as_provider),
      ttl_seconds_(config.provider_ttl_seconds),
      announcer_(announcer),
      self_(std::move(self)),
      table_(table),
      guard_(std::make_shared<CallbackGuard>()) {
  MutexLock lock(guard_->mutex);
  guard_->events = &events;
}

ProviderBookkeeper::~ProviderBookkeeper() {
  stop();
}

void ProviderBookkeeper::stop() {
  MutexLock lock(guard_->mutex);
  guard_->events = nullptr;
}

void ProviderBookkeeper::update(const std::string& manifest_id, const std::string& workload_id) {
  if (!enabled_) return;
  MutexLock order(order_);
  if (auto engine = table_.healthy_engine(manifest_id, workload_id)) {
    provider::ProviderMetadata metadata = self_;
    metadata.engine = *engine;
    // The content version the replica runs (a label the apply handler sets), so readers
    // count replicas per version (apply/reconcile.h).
    if (auto record = table_.get(workload_id)) {
      if (auto it = record->config.labels.find(std::string(kContentVersionLabel));
          it != record->config.labels.end()) {
        metadata.capabilities[std::string(kContentVersionCapability)] = it->second;
      }
    }
    const auto ttl = std::chrono::seconds(ttl_seconds_);
    spdlog::info("workload: announcing provider of {} (workload {}, ttl {}s)", manifest_id,
                 workload_id, ttl.count());
    announcer_->announce(manifest_id, metadata, ttl,
                         [guard = guard_, manifest_id, workload_id, ttl](Result<void> result) {
                           MutexLock lock(guard->mutex);
                           if (guard->events == nullptr) return;  // stopped
                           if (result) {
                             guard->events->publish(
                                 EventKind::Announced, workload_id, manifest_id,
                                 "provider record put, ttl " + std::to_string(ttl.count()) + "s");
                           } else {
                             spdlog::warn("workload: announcing {} failed (announcer retries): {}",
                                          manifest_id, result.error().to_string());
                           }
                         });
    return;
  }
  if (table_.any_healthy(manifest_id)) return;
  spdlog::info("workload: withdrawing provider of {} (no healthy workload left)", manifest_id);
  announcer_->withdraw(manifest_id, [manifest_id](Result<void> result) {
    if (!result) {
      spdlog::warn("workload: withdrawing {} failed: {}", manifest_id, result.error().to_string());
    }
  });
}

}  // namespace beemesh::workload
