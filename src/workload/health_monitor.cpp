// The WorkloadManager's health monitor: periodic engine status checks, Unhealthy/Recovered
// transitions, restarts by restart policy, vanished workloads.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>

#include "workload/workload_manager.h"

namespace beemesh::workload {

namespace {

bool should_restart(const std::string& policy, runtime::WorkloadState state) {
  if (policy == "Always") return true;
  if (policy == "OnFailure") return state == runtime::WorkloadState::Failed;
  return false;
}

std::string describe(const runtime::WorkloadInfo& info) {
  std::string text(runtime::to_string(info.state));
  if (!info.message.empty()) text += ": " + info.message;
  return text;
}

}  // namespace

void WorkloadManager::monitor_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_monitor_) {
    if (stop_cv_.wait_for(lock, config_.health_check_interval, [this] { return stop_monitor_; })) {
      break;
    }
    lock.unlock();
    check_health_now();
    lock.lock();
  }
}

std::chrono::milliseconds WorkloadManager::restart_backoff(int failures) const {
  auto delay = config_.health_check_interval;
  for (int i = 1; i < failures && delay < config_.max_restart_backoff; ++i) delay *= 2;
  return std::min(delay, config_.max_restart_backoff);
}

void WorkloadManager::check_health_now() {
  std::lock_guard pass(health_mutex_);
  // The snapshot of ids is taken before the engines are listed, so every workload in it was
  // deployed before the listing: one that is missing from a listing is really gone (or
  // removed meanwhile, which acquire() notices).
  std::map<std::string, std::vector<std::string>> ids_by_engine;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : workloads_) ids_by_engine[entry.record.engine].push_back(id);
  }
  for (const auto& [engine_name, ids] : ids_by_engine) {
    auto engine = engine_for(engine_name);
    if (!engine) {
      spdlog::warn("workload: health check: engine '{}' of {} workload(s) is not registered",
                   engine_name, ids.size());
      continue;
    }
    // One listing per engine and pass instead of one status call per workload.
    std::optional<std::map<std::string, runtime::WorkloadInfo>> listed;
    if (auto all = engine->list(); all) {
      listed.emplace();
      for (auto& info : *all) {
        std::string id = info.id;
        listed->emplace(std::move(id), std::move(info));
      }
    } else {
      spdlog::warn("workload: health check: listing {} failed, asking per workload: {}",
                   engine_name, all.error().to_string());
    }
    for (const auto& id : ids) {
      if (stop_requested_) return;
      std::optional<runtime::WorkloadInfo> seen;
      if (listed) {
        if (auto it = listed->find(id); it != listed->end()) seen = it->second;
      }
      check_one(id, *engine, std::move(seen));
    }
  }
}

void WorkloadManager::check_one(const std::string& workload_id, runtime::RuntimeEngine& engine,
                                std::optional<runtime::WorkloadInfo> listed) {
  // Skip workloads a remove (or anything else) owns right now; the next pass sees them.
  if (!acquire(workload_id, /*wait=*/false)) return;
  struct Release {
    WorkloadManager* manager;
    const std::string& id;
    ~Release() { manager->release(id); }
  } release_at_end{this, workload_id};

  WorkloadRecord record;
  {
    std::lock_guard lock(mutex_);
    record = workloads_.at(workload_id).record;
  }
  // Missing from the listing (or no listing): ask for this one before concluding anything.
  auto status =
      listed ? Result<runtime::WorkloadInfo>(std::move(*listed)) : engine.status(workload_id);
  if (!status) {
    if (status.error().code == "not_found") {
      vanish(workload_id, "vanished from engine " + record.engine);
    } else {
      spdlog::warn("workload: health check of {} failed: {}", workload_id,
                   status.error().to_string());
    }
    return;
  }
  if (is_up(status->state)) {
    mark_up(workload_id, *status);
    return;
  }

  // Down: mark, report and withdraw once; restart when the policy says so.
  bool newly_down = false;
  bool restart_due = false;
  {
    std::lock_guard lock(mutex_);
    Entry& entry = workloads_.at(workload_id);
    WorkloadRecord& r = entry.record;
    newly_down = r.healthy;
    const bool changed = r.healthy || r.state != status->state || r.message != status->message;
    r.healthy = false;
    r.state = status->state;
    r.message = status->message;
    if (changed) (void)persist_locked(entry);
    restart_due =
        should_restart(r.restart_policy, status->state) && clock_.now_ms() >= entry.next_restart_ms;
  }
  if (newly_down) {
    spdlog::warn("workload: {} (manifest {}) is unhealthy: {}", workload_id, record.manifest_id,
                 describe(*status));
    events_.publish(EventKind::Unhealthy, workload_id, record.manifest_id, describe(*status));
    update_provider(record.manifest_id, workload_id);
  }
  if (!restart_due) return;

  spdlog::info("workload: restarting {} (restart policy {})", workload_id, record.restart_policy);
  auto restarted = engine.restart(workload_id);
  {
    std::lock_guard lock(mutex_);
    Entry& entry = workloads_.at(workload_id);
    entry.record.restarts += 1;
    if (restarted) {
      entry.next_restart_ms = 0;
    } else {
      entry.failed_restarts += 1;
      entry.next_restart_ms = clock_.now_ms() + restart_backoff(entry.failed_restarts).count();
      entry.record.message = "restart failed: " + restarted.error().to_string();
    }
    (void)persist_locked(entry);
  }
  if (!restarted) {
    spdlog::warn("workload: restart of {} failed: {}", workload_id, restarted.error().to_string());
    return;
  }
  // Report the recovery now rather than one interval later when it is already running.
  auto again = engine.status(workload_id);
  if (again && is_up(again->state)) mark_up(workload_id, *again);
}

void WorkloadManager::mark_up(const std::string& workload_id, const runtime::WorkloadInfo& info) {
  bool recovered = false;
  WorkloadRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = workloads_.find(workload_id);
    if (it == workloads_.end()) return;
    Entry& entry = it->second;
    WorkloadRecord& r = entry.record;
    recovered = !r.healthy;
    const bool changed = recovered || r.state != info.state || r.message != info.message ||
                         r.pods != info.pods || r.ports != info.ports;
    r.healthy = true;
    r.state = info.state;
    r.message = info.message;
    r.pods = info.pods;
    r.ports = info.ports;
    entry.failed_restarts = 0;
    entry.next_restart_ms = 0;
    if (changed) (void)persist_locked(entry);
    record = r;
  }
  if (!recovered) return;
  const std::string reason =
      describe(info) + " (restarts: " + std::to_string(record.restarts) + ")";
  spdlog::info("workload: {} (manifest {}) recovered: {}", workload_id, record.manifest_id, reason);
  events_.publish(EventKind::Recovered, workload_id, record.manifest_id, reason);
  update_provider(record.manifest_id, workload_id);
}

void WorkloadManager::vanish(const std::string& workload_id, const std::string& reason) {
  WorkloadRecord record;
  {
    std::lock_guard lock(mutex_);
    auto it = workloads_.find(workload_id);
    if (it == workloads_.end()) return;
    record = it->second.record;
    if (auto deleted = store_.delete_workload(workload_id); !deleted) {
      spdlog::error("workload: could not delete record of vanished {}: {}", workload_id,
                    deleted.error().to_string());
    }
    workloads_.erase(it);
  }
  idle_.notify_all();
  spdlog::warn("workload: {} (manifest {}) {}; record deleted", workload_id, record.manifest_id,
               reason);
  if (record.healthy) {
    events_.publish(EventKind::Unhealthy, workload_id, record.manifest_id, reason);
  }
  events_.publish(EventKind::Removed, workload_id, record.manifest_id, reason);
  update_provider(record.manifest_id, workload_id);
}

}  // namespace beemesh::workload
