// The health monitor: periodic engine status checks, Unhealthy/Recovered transitions,
// restarts by restart policy, vanished workloads.
#include "workload/health_monitor.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <utility>

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

HealthMonitor::HealthMonitor(const WorkloadManagerConfig& config, WorkloadTable& table,
                             runtime::EngineRegistry& engines, StateStore& store, EventBus& events,
                             ProviderUpdates& provider, const Clock& clock)
    : interval_(config.health_check_interval),
      max_backoff_(config.max_restart_backoff),
      table_(table),
      engines_(engines),
      store_(store),
      events_(events),
      provider_(provider),
      clock_(clock) {}

HealthMonitor::~HealthMonitor() {
  stop();
}

void HealthMonitor::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
  ::pthread_setname_np(thread_.native_handle(), "health-mon");
}

void HealthMonitor::stop() {
  stop_requested_ = true;
  {
    MutexLock lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthMonitor::loop() {
  while (true) {
    {
      MutexLock lock(wake_mutex_);
      const auto deadline = std::chrono::steady_clock::now() + interval_;
      while (!stopping_ && wake_.wait_until(wake_mutex_, deadline)) {
      }
      if (stopping_) return;
    }
    check_now();
  }
}

std::chrono::milliseconds HealthMonitor::restart_backoff(int failures) const {
  auto delay = interval_;
  for (int i = 1; i < failures && delay < max_backoff_; ++i) delay *= 2;
  return std::min(delay, max_backoff_);
}

void HealthMonitor::persist(const std::optional<WorkloadRecord>& record) {
  if (!record) return;
  if (auto saved = store_.put_workload(*record); !saved) {
    spdlog::error("workload: could not persist {}: {}", record->id, saved.error().to_string());
  }
}

void HealthMonitor::check_now() {
  MutexLock pass(pass_);
  // The snapshot of ids is taken before the engines are listed, so every workload in it was
  // deployed before the listing: one that is missing from a listing is really gone (or
  // removed meanwhile, which acquire() notices).
  for (const auto& [engine_name, ids] : table_.ids_by_engine()) {
    auto engine = engines_.get(engine_name);
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

void HealthMonitor::check_one(const std::string& workload_id, runtime::RuntimeEngine& engine,
                              std::optional<runtime::WorkloadInfo> listed) {
  // Skip workloads a remove (or anything else) owns right now; the next pass sees them.
  if (!table_.acquire(workload_id, /*wait=*/false)) return;
  struct Release {
    WorkloadTable& table;
    const std::string& id;
    ~Release() { table.release(id); }
  } release_at_end{table_, workload_id};

  auto current = table_.get(workload_id);
  if (!current) return;
  const WorkloadRecord record = std::move(*current);
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
  bool changed = false;
  bool restart_due = false;
  const int64_t now = clock_.now_ms();
  auto down = table_.update(workload_id, [&](WorkloadTable::Entry& entry) {
    WorkloadRecord& r = entry.record;
    newly_down = r.healthy;
    changed = r.healthy || r.state != status->state || r.message != status->message;
    r.healthy = false;
    r.state = status->state;
    r.message = status->message;
    if (changed) r.updated_at_ms = now;
    restart_due = should_restart(r.restart_policy, status->state) && now >= entry.next_restart_ms;
  });
  if (changed) persist(down);
  if (newly_down) {
    spdlog::warn("workload: {} (manifest {}) is unhealthy: {}", workload_id, record.manifest_id,
                 describe(*status));
    events_.publish(EventKind::Unhealthy, workload_id, record.manifest_id, describe(*status));
    provider_.update(record.manifest_id, workload_id);
  }
  if (!restart_due) return;

  spdlog::info("workload: restarting {} (restart policy {})", workload_id, record.restart_policy);
  auto restarted = engine.restart(workload_id);
  const int64_t after = clock_.now_ms();
  persist(table_.update(workload_id, [&](WorkloadTable::Entry& entry) {
    entry.record.restarts += 1;
    if (restarted) {
      entry.next_restart_ms = 0;
    } else {
      entry.failed_restarts += 1;
      entry.next_restart_ms = after + restart_backoff(entry.failed_restarts).count();
      entry.record.message = "restart failed: " + restarted.error().to_string();
    }
    entry.record.updated_at_ms = after;
  }));
  if (!restarted) {
    spdlog::warn("workload: restart of {} failed: {}", workload_id, restarted.error().to_string());
    return;
  }
  // Report the recovery now rather than one interval later when it is already running.
  auto again = engine.status(workload_id);
  if (again && is_up(again->state)) mark_up(workload_id, *again);
}

void HealthMonitor::mark_up(const std::string& workload_id, const runtime::WorkloadInfo& info) {
  bool recovered = false;
  bool changed = false;
  const int64_t now = clock_.now_ms();
  auto record = table_.update(workload_id, [&](WorkloadTable::Entry& entry) {
    WorkloadRecord& r = entry.record;
    recovered = !r.healthy;
    changed = recovered || r.state != info.state || r.message != info.message ||
              r.pods != info.pods || r.ports != info.ports;
    r.healthy = true;
    r.state = info.state;
    r.message = info.message;
    r.pods = info.pods;
    r.ports = info.ports;
    entry.failed_restarts = 0;
    entry.next_restart_ms = 0;
    if (changed) r.updated_at_ms = now;
  });
  if (!record) return;
  if (changed) persist(record);
  if (!recovered) return;
  const std::string reason =
      describe(info) + " (restarts: " + std::to_string(record->restarts) + ")";
  spdlog::info("workload: {} (manifest {}) recovered: {}", workload_id, record->manifest_id,
               reason);
  events_.publish(EventKind::Recovered, workload_id, record->manifest_id, reason);
  provider_.update(record->manifest_id, workload_id);
}

void HealthMonitor::vanish(const std::string& workload_id, const std::string& reason) {
  auto record = table_.get(workload_id);
  if (!record) return;
  if (auto deleted = store_.delete_workload(workload_id); !deleted) {
    spdlog::error("workload: could not delete record of vanished {}: {}", workload_id,
                  deleted.error().to_string());
  }
  table_.erase(workload_id);
  spdlog::warn("workload: {} (manifest {}) {}; record deleted", workload_id, record->manifest_id,
               reason);
  if (record->healthy) {
    events_.publish(EventKind::Unhealthy, workload_id, record->manifest_id, reason);
  }
  events_.publish(EventKind::Removed, workload_id, record->manifest_id, reason);
  provider_.update(record->manifest_id, workload_id);
}

}  // namespace beemesh::workload
