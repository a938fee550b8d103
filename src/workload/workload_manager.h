// workload/workload_manager.h — one API for running workloads on this node.
//
// Promise:
//  * deploy_workload() never blocks its caller: the request is queued and run by one of
//    max_concurrent_deployments workers (FIFO). Below max_queued_deployments waiting
//    requests nothing is refused or lost; beyond it the request ends with Error{"busy"}.
//    Every request ends exactly once (callback called / future set), also on shutdown
//    (Error{"shutting_down"} for requests that had not started).
//  * A deploy validates (manifest::parse + the engine's own checks, when
//    validate_manifests), selects the engine (request's override, else preferred_runtime,
//    with the registry's fallback), emits Deploying, deploys, persists the record, emits
//    Deployed and announces this node as provider (Announced once the announcer reports
//    the first put). On any failure after it was accepted it emits DeployFailed with the
//    reason, persists nothing, announces nothing and leaves no workload behind (a refused
//    request — busy, not_started, shutting_down — emits nothing).
//    Error codes: invalid_request, invalid_workload_id (a given workload id that is not
//    runtime::is_valid_workload_id()), invalid_manifest (or the engine's validation code),
//    no_engine, already_exists, deploy_failed (engine error in the message), state_store,
//    cancelled (the manifest was removed while the request waited or ran), busy,
//    not_started, shutting_down.
//  * remove() removes the workload from its engine, then its record, withdraws the
//    provider record when no other healthy workload of that manifest runs here, and emits
//    Removed. remove_manifest(manifest id, owner) does that for every workload of the
//    manifest that `owner` deployed and also cancels that owner's deploys of it requested
//    before; other owners' workloads and deploys under the same manifest id (manifest ids
//    are public, anyone may claim one) are left alone. An empty owner is invalid_request.
//  * The provider record of a manifest is announced while at least one of its workloads
//    here is healthy and withdrawn when none is.
//  * Health monitor (every health_check_interval, or check_health_now(); one engine list()
//    per engine and pass, status() to confirm one missing from it): a workload whose
//    engine reports it not running is marked unhealthy (persisted), reported (Unhealthy with
//    the engine's note) and its manifest withdrawn when no healthy sibling remains; it is
//    restarted when its restart policy is Always, or OnFailure and it failed (failed
//    restarts back off). Back to Running: Recovered, re-announced. A workload the engine no
//    longer knows is reported (Unhealthy, then Removed), its record deleted and withdrawn.
//  * start() reconciles the state store with what the engines run (found by labels):
//    workloads in both are adopted (not redeployed) and announced when running; records
//    whose workload vanished are deleted, withdrawn and reported (Removed); engine
//    workloads unknown to the store are adopted when their manifest id has an
//    applied-manifest record, else left alone (logged). Nothing is deployed twice.
//  * status/logs/remove/remove_manifest (synchronous forms) call the engine on the calling
//    thread — bounded by the engine's timeouts, but not for an event loop: use the
//    *_async forms there. list/workloads_of never touch the engine.
//  * stop() (and the destructor) stops the health monitor, cancels queued requests, waits
//    for running ones; announcer callbacks arriving later are ignored.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "provider/provider.h"
#include "runtime/runtime.h"
#include "workload/config.h"
#include "workload/events.h"
#include "workload/record.h"
#include "workload/state_store.h"

namespace beemesh::workload {

class WorkQueue;

struct DeployRequest {
  std::string manifest_id;
  std::string owner;                  // hex public key of the manifest's owner
  std::string manifest_yaml;          // plaintext Kubernetes YAML
  runtime::DeploymentConfig config;   // manifest_id filled in when empty
  std::optional<std::string> engine;  // overrides preferred_runtime (fallback still applies)
};

using DeployCallback = std::function<void(Result<WorkloadRecord>)>;
using RemoveCallback = std::function<void(Result<void>)>;
using RemoveManifestCallback = std::function<void(Result<int>)>;

// What start() found (workload ids).
struct ReconcileReport {
  std::vector<std::string> adopted;     // running/known in the engine and now managed
  std::vector<std::string> vanished;    // records whose workload was gone: deleted
  std::vector<std::string> ignored;     // engine workloads of manifests this node never had
  std::vector<std::string> unverified;  // records of engines that could not be listed: kept
};

class WorkloadManager {
 public:
  WorkloadManager(WorkloadManagerConfig config, runtime::EngineRegistry& engines,
                  provider::Announcer* announcer, StateStore& store, EventBus& events,
                  const Clock& clock, provider::ProviderMetadata self);
  ~WorkloadManager();
  WorkloadManager(const WorkloadManager&) = delete;
  WorkloadManager& operator=(const WorkloadManager&) = delete;

  // Loads the state store, reconciles with the engines, starts workers and the monitor.
  // Before start() every request ends with Error{"not_started"}.
  Result<ReconcileReport> start();
  void stop();

  // `on_done` runs on a worker thread, or on the calling thread before this returns when
  // the request is refused at once (busy, not_started, shutting_down).
  void deploy_workload(DeployRequest request, DeployCallback on_done);
  std::future<Result<WorkloadRecord>> deploy_workload(DeployRequest request);

  // The record with the engine's current state, pods, ports and note; Error{"not_found"}.
  Result<WorkloadRecord> status(const std::string& workload_id);
  std::vector<WorkloadRecord> list() const;
  std::vector<WorkloadRecord> workloads_of(const std::string& manifest_id) const;
  Result<std::string> logs(const std::string& workload_id, int tail_lines);

  Result<void> remove(const std::string& workload_id);
  // Number of `owner`'s workloads of the manifest removed.
  Result<int> remove_manifest(const std::string& manifest_id, const std::string& owner);
  // Run on the worker pool (queued behind earlier requests); same refusals as deploy.
  void remove_async(const std::string& workload_id, RemoveCallback on_done);
  void remove_manifest_async(const std::string& manifest_id, const std::string& owner,
                             RemoveManifestCallback on_done);

  // One health-monitor pass over every workload, on the calling thread.
  void check_health_now();

  const WorkloadManagerConfig& config() const { return config_; }
  size_t queued_requests() const;

  struct CallbackGuard;  // keeps late announcer callbacks away from a stopped manager

 private:
  struct Entry {
    WorkloadRecord record;
    bool busy = false;  // a remove, health check or restart owns it
    int failed_restarts = 0;
    int64_t next_restart_ms = 0;
  };
  struct PendingDeploy;

  // deploy_flow.cpp
  Result<WorkloadRecord> run_deploy(PendingDeploy& pending);
  Result<WorkloadRecord> deploy_steps(PendingDeploy& pending, std::string& workload_id);
  bool superseded(const std::string& manifest_id, const std::string& owner, uint64_t ticket) const;
  void finish_deploy();
  bool submit(std::function<void()> run, std::function<void(Error)> refuse);

  // workload_manager.cpp
  void mark_manifest_removed(const std::string& manifest_id, const std::string& owner);
  Result<int> remove_all_of(const std::string& manifest_id, const std::string& owner);
  Result<void> remove_workload(const std::string& workload_id, const std::string& reason);
  bool acquire(const std::string& workload_id, bool wait);
  void release(const std::string& workload_id);
  std::shared_ptr<runtime::RuntimeEngine> engine_for(const std::string& engine_name) const;
  Result<void> persist_locked(Entry& entry);
  // Announces for `workload_id` when it is present and healthy; else withdraws when no
  // healthy workload of the manifest is left. Serialised by provider_mutex_.
  void update_provider(const std::string& manifest_id, const std::string& workload_id);

  // health_monitor.cpp
  void check_one(const std::string& workload_id, runtime::RuntimeEngine& engine,
                 std::optional<runtime::WorkloadInfo> listed);
  void mark_up(const std::string& workload_id, const runtime::WorkloadInfo& info);
  void vanish(const std::string& workload_id, const std::string& reason);
  void monitor_loop();
  std::chrono::milliseconds restart_backoff(int failures) const;

  // reconcile.cpp
  Result<ReconcileReport> reconcile();

  const WorkloadManagerConfig config_;
  runtime::EngineRegistry& engines_;
  provider::Announcer* announcer_;
  StateStore& store_;
  EventBus& events_;
  const Clock& clock_;
  const provider::ProviderMetadata self_;

  mutable std::mutex mutex_;  // guards the members below (never held while calling out)
  std::condition_variable idle_;
  std::map<std::string, Entry> workloads_;
  // (manifest id, owner) -> ticket of that owner's removal of the manifest
  std::map<std::pair<std::string, std::string>, uint64_t> removed_at_ticket_;
  std::set<std::string> in_flight_;  // workload ids being deployed
  uint64_t next_ticket_ = 1;         // orders deploy requests and manifest removals
  size_t outstanding_deploys_ = 0;   // submitted deploys that have not ended yet
  bool started_ = false;
  bool stopping_ = false;

  std::mutex provider_mutex_;  // order of announce/withdraw calls
  std::mutex health_mutex_;    // one health pass at a time
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_monitor_ = false;
  std::atomic<bool> stop_requested_{false};

  std::shared_ptr<CallbackGuard> guard_;
  std::unique_ptr<WorkQueue> queue_;
  std::thread monitor_;
};

}  // namespace beemesh::workload
