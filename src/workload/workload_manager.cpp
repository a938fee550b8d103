// The WorkloadManager's life cycle, queries and removal. The deploy path is in
// deploy_flow.cpp; the reconciler, the health monitor and the provider bookkeeping are
// their own classes (reconciler.h, health_monitor.h, provider_bookkeeper.h).
#include "workload/workload_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "workload/work_queue.h"

namespace beemesh::workload {

WorkloadManager::WorkloadManager(WorkloadManagerConfig config, runtime::EngineRegistry& engines,
                                 provider::Announcer* announcer, StateStore& store,
                                 EventBus& events, const Clock& clock,
                                 provider::ProviderMetadata self)
    : config_(std::move(config)),
      engines_(engines),
      store_(store),
      events_(events),
      clock_(clock),
      provider_(config_, announcer, std::move(self), table_, events_),
      reconciler_(table_, engines_, store_, events_, provider_, clock_),
      monitor_(config_, table_, engines_, store_, events_, provider_, clock_) {}

WorkloadManager::~WorkloadManager() {
  stop();
}

Result<ReconcileReport> WorkloadManager::start() {
  {
    MutexLock lock(mutex_);
    if (started_ || stopping_) {
      return make_error("already_started", "workload manager: start() called twice");
    }
  }
  auto report = reconciler_.run();
  if (!report) return report.error();
  auto queue = std::make_unique<WorkQueue>(
      static_cast<size_t>(std::max(config_.max_concurrent_deployments, 1)),
      config_.max_queued_deployments);
  if (config_.run_health_monitor) monitor_.start();
  {
    MutexLock lock(mutex_);
    queue_ = std::move(queue);
    started_ = true;
  }
  spdlog::info(
      "workload: started with {} workloads (adopted={} vanished={} ignored={} unverified={})",
      list().size(), report->adopted.size(), report->vanished.size(), report->ignored.size(),
      report->unverified.size());
  return report;
}

void WorkloadManager::stop() {
  {
    MutexLock lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  monitor_.stop();
  // queue_ is only set while !stopping_, so it is stable from here on.
  if (queue_) queue_->shutdown();  // cancels queued requests, waits for running ones
  provider_.stop();
}

size_t WorkloadManager::queued_requests() const {
  MutexLock lock(mutex_);
  return queue_ ? queue_->queued() : 0;
}

Result<void> WorkloadManager::require_started() const {
  MutexLock lock(mutex_);
  if (!started_) return make_error("not_started", "workload manager is not started");
  return ok_result();
}

void WorkloadManager::check_health_now() {
  monitor_.check_now();
}

Resources WorkloadManager::reserved() const {
  return table_.reserved_total();
}

// ---- queries

std::vector<WorkloadRecord> WorkloadManager::list() const {
  auto out = table_.records();
  std::stable_sort(out.begin(), out.end(), [](const WorkloadRecord& a, const WorkloadRecord& b) {
    return a.created_at_ms < b.created_at_ms;
  });
  return out;
}

std::vector<WorkloadRecord> WorkloadManager::workloads_of(const std::string& manifest_id) const {
  auto all = list();
  std::erase_if(all, [&](const WorkloadRecord& r) { return r.manifest_id != manifest_id; });
  return all;
}

Result<WorkloadRecord> WorkloadManager::status(const std::string& workload_id) {
  auto found = table_.get(workload_id);
  if (!found) return make_error("not_found", "no workload " + workload_id + " on this node");
  WorkloadRecord record = std::move(*found);
  auto engine = engines_.get(record.engine);
  if (!engine) {
    record.message = "engine '" + record.engine + "' is not registered on this node";
    return record;
  }
  auto info = engine->status(workload_id);
  if (info) {
    record.state = info->state;
    record.pods = info->pods;
    record.ports = info->ports;
    record.message = info->message;
  } else if (info.error().code == "not_found") {
    record.state = runtime::WorkloadState::Unknown;
    record.message = "engine '" + record.engine + "' no longer knows it";
  } else {
    record.message = "status unavailable: " + info.error().to_string();
  }
  return record;
}

Result<std::string> WorkloadManager::logs(const std::string& workload_id, int tail_lines) {
  auto found = table_.get(workload_id);
  if (!found) return make_error("not_found", "no workload " + workload_id + " on this node");
  auto engine = engines_.get(found->engine);
  if (!engine) {
    return make_error("no_engine", "engine '" + found->engine + "' of workload " + workload_id +
                                       " is not registered on this node");
  }
  return engine->logs(workload_id, tail_lines);
}

// ---- removal

Result<void> WorkloadManager::remove(const std::string& workload_id) {
  BEEMESH_TRY(require_started());
  return remove_workload(workload_id, "removed");
}

namespace {

Error no_owner(const std::string& manifest_id) {
  return make_error("invalid_request", "remove of manifest " + manifest_id + ": owner is empty");
}

}  // namespace

Result<int> WorkloadManager::remove_manifest(const std::string& manifest_id,
                                             const std::string& owner) {
  if (owner.empty()) return no_owner(manifest_id);
  BEEMESH_TRY(require_started());
  mark_manifest_removed(manifest_id, owner);
  return remove_all_of(manifest_id, owner);
}

void WorkloadManager::remove_async(const std::string& workload_id, RemoveCallback on_done) {
  auto done = std::make_shared<RemoveCallback>(std::move(on_done));
  submit([this, workload_id, done] { (*done)(remove_workload(workload_id, "removed")); },
         [done](Error error) { (*done)(std::move(error)); });
}

void WorkloadManager::remove_manifest_async(const std::string& manifest_id,
                                            const std::string& owner,
                                            RemoveManifestCallback on_done) {
  if (owner.empty()) {
    on_done(no_owner(manifest_id));
    return;
  }
  auto done = std::make_shared<RemoveManifestCallback>(std::move(on_done));
  // The owner's deploys requested before this removal are cancelled, later ones are not.
  mark_manifest_removed(manifest_id, owner);
  submit([this, manifest_id, owner, done] { (*done)(remove_all_of(manifest_id, owner)); },
         [done](Error error) { (*done)(std::move(error)); });
}

void WorkloadManager::mark_manifest_removed(const std::string& manifest_id,
                                            const std::string& owner) {
  MutexLock lock(mutex_);
  // Only deploys submitted before now can be cancelled; with none outstanding, none can.
  if (outstanding_deploys_ > 0) removed_at_ticket_[{manifest_id, owner}] = next_ticket_++;
}

Result<int> WorkloadManager::remove_all_of(const std::string& manifest_id,
                                           const std::string& owner) {
  // A deploy that passed its cancellation check is already in the table (owned by it
  // until it ends), so this sees it and waits for it.
  int removed = 0;
  std::optional<Error> first_error;
  for (const auto& id : table_.ids_of(manifest_id, owner)) {
    auto done = remove_workload(id, "manifest removed");
    if (done) {
      ++removed;
    } else if (done.error().code != "not_found" && !first_error) {
      first_error = done.error();
    }
  }
  if (first_error) return *first_error;
  return removed;
}

Result<void> WorkloadManager::remove_workload(const std::string& workload_id,
                                              const std::string& reason) {
  if (!table_.acquire(workload_id, /*wait=*/true)) {
    return make_error("not_found", "no workload " + workload_id + " on this node");
  }
  auto found = table_.get(workload_id);
  if (!found) return make_error("not_found", "no workload " + workload_id + " on this node");
  const WorkloadRecord record = std::move(*found);
  auto engine = engines_.get(record.engine);
  if (!engine) {
    table_.release(workload_id);
    return make_error("no_engine", "engine '" + record.engine + "' of workload " + workload_id +
                                       " is not registered on this node");
  }
  auto removed = engine->remove(workload_id);
  if (!removed) {
    table_.release(workload_id);
    spdlog::warn("workload: remove of {} from {} failed: {}", workload_id, record.engine,
                 removed.error().to_string());
    return removed.error();
  }
  if (auto deleted = store_.delete_workload(workload_id); !deleted) {
    // The engine no longer runs it; a stale row is cleaned by the next reconcile.
    spdlog::error("workload: removed {} but could not delete its record: {}", workload_id,
                  deleted.error().to_string());
  }
  table_.erase(workload_id);
  spdlog::info("workload: removed {} (manifest {}): {}", workload_id, record.manifest_id, reason);
  events_.publish(EventKind::Removed, workload_id, record.manifest_id, reason);
  provider_.update(record.manifest_id, workload_id);
  return ok_result();
}

}  // namespace beemesh::workload
