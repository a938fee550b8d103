// workload/workload_manager.h — one API for running workloads on this node.
//
// Promise:
//  * deploy_workload() never blocks its caller: the request is queued and run by one of
//    max_concurrent_deployments workers (FIFO). Below max_queued_deployments waiting
//    requests nothing is refused or lost; beyond it the request ends with Error{"busy"}.
//    Every request ends exactly once (callback called / future set), also on shutdown
//    (Error{"shutting_down"} for requests that had not started).
//  * A deploy validates (manifest::parse + the engine's own checks, when
//    validate_manifests; a request carrying the parsed manifest is not parsed again, and
//    the engine gets that same parsed form: one parse per deploy on this node), selects the engine
//    (request's override, else preferred_runtime, with the registry's fallback), emits Deploying,
//    deploys, persists the record, emits Deployed and announces this node as provider (Announced
//    once the announcer reports the first put). On any failure after it was accepted it emits
//    DeployFailed with the reason, persists nothing, announces nothing and leaves no workload
//    behind (a refused request — busy, not_started, shutting_down — emits nothing). Error codes:
//    invalid_request, invalid_workload_id (a given workload id that is not
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
//  * reserved() is what the workloads here and the deploys past validation take of the
//    node's capacity (WorkloadRecord::reserved, workload/resources.h): a deploy counts
//    from its validation until it fails, or its workload is removed or vanishes.
//
// Structure: the manager owns the queue, the deploy path and removal; the WorkloadTable
// holds the workloads and who owns each (workload_table.h); the Reconciler
// (reconciler.h), the HealthMonitor (health_monitor.h) and the ProviderBookkeeper
// (provider_bookkeeper.h) are their own classes over the table and the narrow
// ProviderUpdates interface.
//
// Locks: the table's mutex and the manager's mutex_ are never held while calling out
// (engine, SQLite, event bus, announcer, callbacks): a workload's row is written outside
// them by the thread that owns the workload, so rows and table agree. Four locks are
// held while calling out, on purpose: the health monitor's pass mutex (a whole pass:
// engine, SQLite, event bus), the WorkQueue's shutdown mutex (stop() cancelling queued
// requests: their callbacks run under it), the bookkeeping's order mutex (each announcer
// call) and its callback-guard mutex (publishing Announced from an announcer thread).
// Lock order — a thread holding one takes only later ones:
//   1. HealthMonitor pass mutex
//   2. WorkQueue shutdown mutex
//   3. ProviderBookkeeper order mutex
//   4. WorkloadManager::mutex_ (lifecycle, removal tickets; takes 5 and 6 inside)
//   5. WorkQueue mutex (a leaf)
//   6. WorkloadTable mutex (a leaf)
// The callback-guard mutex comes after 3 (an announcer may call back synchronously) and
// before the event bus's own mutex only. Shared members are annotated (GUARDED_BY,
// REQUIRES, EXCLUDES: common/thread_annotations.h) and checked by clang -Wthread-safety.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "provider/provider.h"
#include "runtime/runtime.h"
#include "workload/config.h"
#include "workload/events.h"
#include "workload/health_monitor.h"
#include "workload/provider_bookkeeper.h"
#include "workload/reconciler.h"
#include "workload/record.h"
#include "workload/resources.h"
#include "workload/state_store.h"
#include "workload/workload_table.h"

namespace beemesh::workload {

class WorkQueue;

struct DeployRequest {
  std::string manifest_id;
  std::string owner;  // hex public key of the manifest's owner
  // The manifest, parsed and validated once by the caller (manifest::parse); handed to the
  // engine as is, never parsed again. When null, manifest_yaml is parsed (once) instead.
  manifest::SharedManifest manifest;
  std::string manifest_yaml;         // plaintext Kubernetes YAML; only read when `manifest` is null
  runtime::DeploymentConfig config;  // manifest_id filled in when empty
  std::optional<std::string> engine;  // overrides preferred_runtime (fallback still applies)
  // When set, stored with the workload row in one transaction once the deploy succeeded
  // (StateStore::put_deployed); a failure to store it fails (and undoes) the deploy.
  std::optional<AppliedManifestRecord> applied;
};

using DeployCallback = std::function<void(Result<WorkloadRecord>)>;
using RemoveCallback = std::function<void(Result<void>)>;
using RemoveManifestCallback = std::function<void(Result<int>)>;

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

  // What the workloads here and the deploys past validation reserve of the node.
  Resources reserved() const;

  const WorkloadManagerConfig& config() const { return config_; }
  size_t queued_requests() const;

 private:
  struct PendingDeploy;

  // deploy_flow.cpp
  Result<WorkloadRecord> run_deploy(PendingDeploy& pending) EXCLUDES(mutex_);
  Result<WorkloadRecord> deploy_steps(PendingDeploy& pending, std::string& workload_id)
      EXCLUDES(mutex_);
  bool superseded(const std::string& manifest_id, const std::string& owner, uint64_t ticket) const
      REQUIRES(mutex_);
  void finish_deploy() EXCLUDES(mutex_);
  bool submit(std::function<void()> run, std::function<void(Error)> refuse) EXCLUDES(mutex_);

  // workload_manager.cpp
  Result<void> require_started() const EXCLUDES(mutex_);
  void mark_manifest_removed(const std::string& manifest_id, const std::string& owner)
      EXCLUDES(mutex_);
  Result<int> remove_all_of(const std::string& manifest_id, const std::string& owner);
  Result<void> remove_workload(const std::string& workload_id, const std::string& reason);

  const WorkloadManagerConfig config_;
  runtime::EngineRegistry& engines_;
  StateStore& store_;
  EventBus& events_;
  const Clock& clock_;

  WorkloadTable table_;
  ProviderBookkeeper provider_;
  Reconciler reconciler_;
  HealthMonitor monitor_;

  mutable Mutex mutex_;  // lifecycle and removal tickets; see the lock order above
  // (manifest id, owner) -> ticket of that owner's removal of the manifest
  std::map<std::pair<std::string, std::string>, uint64_t> removed_at_ticket_ GUARDED_BY(mutex_);
  uint64_t next_ticket_ GUARDED_BY(mutex_) = 1;        // orders deploy requests and removals
  size_t outstanding_deploys_ GUARDED_BY(mutex_) = 0;  // submitted deploys not ended yet
  bool started_ GUARDED_BY(mutex_) = false;
  bool stopping_ GUARDED_BY(mutex_) = false;
  // Created by start() before started_ is set (under mutex_) and kept until destruction;
  // used under mutex_ (submit, queued_requests) and by stop() after stopping_ is set.
  std::unique_ptr<WorkQueue> queue_;
};

}  // namespace beemesh::workload
