// The WorkloadManager's life cycle, queries, removal and provider bookkeeping. The deploy
// path is in deploy_flow.cpp, the health monitor in health_monitor.cpp, start-up
// reconciliation in reconcile.cpp.
#include "workload/workload_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "workload/work_queue.h"

namespace beemesh::workload {

struct WorkloadManager::CallbackGuard {
  std::mutex mutex;
  EventBus* events = nullptr;  // null once the manager stopped
};

WorkloadManager::WorkloadManager(WorkloadManagerConfig config, runtime::EngineRegistry& engines,
                                 provider::Announcer* announcer, StateStore& store,
                                 EventBus& events, const Clock& clock,
                                 provider::ProviderMetadata self)
    : config_(std::move(config)),
      engines_(engines),
      announcer_(announcer),
      store_(store),
      events_(events),
      clock_(clock),
      self_(std::move(self)),
      guard_(std::make_shared<CallbackGuard>()) {
  guard_->events = &events_;
}

WorkloadManager::~WorkloadManager() {
  stop();
}

Result<ReconcileReport> WorkloadManager::start() {
  {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_) {
      return make_error("already_started", "workload manager: start() called twice");
    }
  }
  auto report = reconcile();
  if (!report) return report.error();
  queue_ = std::make_unique<WorkQueue>(
      static_cast<size_t>(std::max(config_.max_concurrent_deployments, 1)),
      config_.max_queued_deployments);
  if (config_.run_health_monitor) monitor_ = std::thread([this] { monitor_loop(); });
  {
    std::lock_guard lock(mutex_);
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
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_requested_ = true;
  {
    std::lock_guard lock(stop_mutex_);
    stop_monitor_ = true;
  }
  stop_cv_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  if (queue_) queue_->shutdown();  // cancels queued requests, waits for running ones
  std::lock_guard lock(guard_->mutex);
  guard_->events = nullptr;
}

size_t WorkloadManager::queued_requests() const {
  std::lock_guard lock(mutex_);
  return queue_ ? queue_->queued() : 0;
}

// ---- queries

std::vector<WorkloadRecord> WorkloadManager::list() const {
  std::vector<WorkloadRecord> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(workloads_.size());
    for (const auto& [id, entry] : workloads_) out.push_back(entry.record);
  }
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
  WorkloadRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = workloads_.find(workload_id);
    if (it == workloads_.end()) {
      return make_error("not_found", "no workload " + workload_id + " on this node");
    }
    record = it->second.record;
  }
  auto engine = engine_for(record.engine);
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
  std::string engine_name;
  {
    std::lock_guard lock(mutex_);
    auto it = workloads_.find(workload_id);
    if (it == workloads_.end()) {
      return make_error("not_found", "no workload " + workload_id + " on this node");
    }
    engine_name = it->second.record.engine;
  }
  auto engine = engine_for(engine_name);
  if (!engine) {
    return make_error("no_engine", "engine '" + engine_name + "' of workload " + workload_id +
                                       " is not registered on this node");
  }
  return engine->logs(workload_id, tail_lines);
}

// ---- removal

Result<void> WorkloadManager::remove(const std::string& workload_id) {
  {
    std::lock_guard lock(mutex_);
    if (!started_) return make_error("not_started", "workload manager is not started");
  }
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
  {
    std::lock_guard lock(mutex_);
    if (!started_) return make_error("not_started", "workload manager is not started");
  }
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
  std::lock_guard lock(mutex_);
  // Only deploys submitted before now can be cancelled; with none outstanding, none can.
  if (outstanding_deploys_ > 0) removed_at_ticket_[{manifest_id, owner}] = next_ticket_++;
}

Result<int> WorkloadManager::remove_all_of(const std::string& manifest_id,
                                           const std::string& owner) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : workloads_) {
      if (entry.record.manifest_id == manifest_id && entry.record.owner == owner) {
        ids.push_back(id);
      }
    }
  }
  int removed = 0;
  std::optional<Error> first_error;
  for (const auto& id : ids) {
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
  if (!acquire(workload_id, /*wait=*/true)) {
    return make_error("not_found", "no workload " + workload_id + " on this node");
  }
  WorkloadRecord record;
  {
    std::lock_guard lock(mutex_);
    record = workloads_.at(workload_id).record;
  }
  auto engine = engine_for(record.engine);
  if (!engine) {
    release(workload_id);
    return make_error("no_engine", "engine '" + record.engine + "' of workload " + workload_id +
                                       " is not registered on this node");
  }
  auto removed = engine->remove(workload_id);
  if (!removed) {
    release(workload_id);
    spdlog::warn("workload: remove of {} from {} failed: {}", workload_id, record.engine,
                 removed.error().to_string());
    return removed.error();
  }
  {
    std::lock_guard lock(mutex_);
    if (auto deleted = store_.delete_workload(workload_id); !deleted) {
      // The engine no longer runs it; a stale row is cleaned by the next reconcile.
      spdlog::error("workload: removed {} but could not delete its record: {}", workload_id,
                    deleted.error().to_string());
    }
    workloads_.erase(workload_id);
  }
  idle_.notify_all();
  spdlog::info("workload: removed {} (manifest {}): {}", workload_id, record.manifest_id, reason);
  events_.publish(EventKind::Removed, workload_id, record.manifest_id, reason);
  update_provider(record.manifest_id, workload_id);
  return ok_result();
}

// ---- helpers

bool WorkloadManager::acquire(const std::string& workload_id, bool wait) {
  std::unique_lock lock(mutex_);
  while (true) {
    auto it = workloads_.find(workload_id);
    if (it == workloads_.end()) return false;
    if (!it->second.busy) {
      it->second.busy = true;
      return true;
    }
    if (!wait) return false;
    idle_.wait(lock);
  }
}

void WorkloadManager::release(const std::string& workload_id) {
  {
    std::lock_guard lock(mutex_);
    auto it = workloads_.find(workload_id);
    if (it != workloads_.end()) it->second.busy = false;
  }
  idle_.notify_all();
}

std::shared_ptr<runtime::RuntimeEngine> WorkloadManager::engine_for(
    const std::string& engine_name) const {
  return engines_.get(engine_name);
}

Result<void> WorkloadManager::persist_locked(Entry& entry) {
  entry.record.updated_at_ms = clock_.now_ms();
  auto saved = store_.put_workload(entry.record);
  if (!saved) {
    spdlog::error("workload: could not persist {}: {}", entry.record.id, saved.error().to_string());
  }
  return saved;
}

void WorkloadManager::update_provider(const std::string& manifest_id,
                                      const std::string& workload_id) {
  if (announcer_ == nullptr || !config_.announce_as_provider) return;
  std::lock_guard order(provider_mutex_);
  enum class Action { None, Announce, Withdraw } action = Action::None;
  std::string engine_name;
  {
    std::lock_guard lock(mutex_);
    auto it = workloads_.find(workload_id);
    if (it != workloads_.end() && it->second.record.healthy &&
        it->second.record.manifest_id == manifest_id) {
      action = Action::Announce;
      engine_name = it->second.record.engine;
    } else {
      const bool any_healthy = std::any_of(workloads_.begin(), workloads_.end(), [&](auto& kv) {
        return kv.second.record.manifest_id == manifest_id && kv.second.record.healthy;
      });
      if (!any_healthy) action = Action::Withdraw;
    }
  }
  if (action == Action::Announce) {
    provider::ProviderMetadata metadata = self_;
    metadata.engine = engine_name;
    const auto ttl = std::chrono::seconds(config_.provider_ttl_seconds);
    spdlog::info("workload: announcing provider of {} (workload {}, ttl {}s)", manifest_id,
                 workload_id, ttl.count());
    announcer_->announce(manifest_id, metadata, ttl,
                         [guard = guard_, manifest_id, workload_id, ttl](Result<void> result) {
                           std::lock_guard lock(guard->mutex);
                           if (guard->events == nullptr) return;  // manager stopped
                           if (result) {
                             guard->events->publish(
                                 EventKind::Announced, workload_id, manifest_id,
                                 "provider record put, ttl " + std::to_string(ttl.count()) + "s");
                           } else {
                             spdlog::warn("workload: announcing {} failed (announcer retries): {}",
                                          manifest_id, result.error().to_string());
                           }
                         });
  } else if (action == Action::Withdraw) {
    spdlog::info("workload: withdrawing provider of {} (no healthy workload left)", manifest_id);
    announcer_->withdraw(manifest_id, [manifest_id](Result<void> result) {
      if (!result) {
        spdlog::warn("workload: withdrawing {} failed: {}", manifest_id,
                     result.error().to_string());
      }
    });
  }
}

}  // namespace beemesh::workload
