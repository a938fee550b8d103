// workload/health_monitor.h — keeps the table's verdict (healthy or not) in line with what
// the engines report, and restarts workloads by their restart policy.
//
// Promise:
//  * check_now() runs one pass, on the calling thread (one pass at a time: a second caller
//    waits): one engine list() per engine, status() to confirm a workload missing from it.
//    A workload the engine reports not running is marked unhealthy (persisted), reported
//    (Unhealthy with the engine's note) and handed to the provider bookkeeping; restarted
//    when its restart policy is Always, or OnFailure and it failed (failed restarts back
//    off: interval x 2^(failures-1), capped). Back up: Recovered and the bookkeeping told.
//    A workload the engine no longer knows is reported (Unhealthy when it was healthy,
//    then Removed), its row and table entry deleted, and the bookkeeping told.
//  * A workload owned by someone else (a remove, a deploy) is skipped for this pass.
//  * start() runs a pass every health_check_interval on its own thread until stop();
//    stop() also ends a running pass at the next workload. Both are idempotent.
//  * Locks: pass_ is held for a whole pass (across engine and SQLite calls); the table's
//    mutex is taken only inside WorkloadTable calls; wake_mutex_ only around the wait.
//    Lock order: pass_, then the bookkeeping's order mutex, then the table's mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "runtime/runtime.h"
#include "workload/config.h"
#include "workload/events.h"
#include "workload/provider_bookkeeper.h"
#include "workload/state_store.h"
#include "workload/workload_table.h"

namespace beemesh::workload {

class HealthMonitor {
 public:
  HealthMonitor(const WorkloadManagerConfig& config, WorkloadTable& table,
                runtime::EngineRegistry& engines, StateStore& store, EventBus& events,
                ProviderUpdates& provider, const Clock& clock);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  void start();
  void stop();
  void check_now() EXCLUDES(pass_);

 private:
  void loop();
  void check_one(const std::string& workload_id, runtime::RuntimeEngine& engine,
                 std::optional<runtime::WorkloadInfo> listed) REQUIRES(pass_);
  void mark_up(const std::string& workload_id, const runtime::WorkloadInfo& info) REQUIRES(pass_);
  void vanish(const std::string& workload_id, const std::string& reason) REQUIRES(pass_);
  void persist(const std::optional<WorkloadRecord>& record);
  std::chrono::milliseconds restart_backoff(int failures) const;

  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds max_backoff_;
  WorkloadTable& table_;
  runtime::EngineRegistry& engines_;
  StateStore& store_;
  EventBus& events_;
  ProviderUpdates& provider_;
  const Clock& clock_;

  Mutex pass_;  // one pass at a time
  Mutex wake_mutex_;
  CondVar wake_;
  bool stopping_ GUARDED_BY(wake_mutex_) = false;
  std::atomic<bool> stop_requested_{false};  // read by a running pass without a lock
  std::thread thread_;  // started by start(), joined by stop(); only those two touch it
};

}  // namespace beemesh::workload
