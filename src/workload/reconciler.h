// workload/reconciler.h — start-up reconciliation of the state store with what the
// engines run (found by their beemesh labels).
//
// Promise: run() (once, before any deploy or health check) lists every available engine
// and the store's workload rows, then: workloads in both are adopted (not redeployed),
// their rows refreshed; rows whose workload vanished from an engine that could be listed
// are deleted and reported (Unhealthy when they were healthy, then Removed); rows of
// engines that could not be listed are kept unverified; engine workloads unknown to the
// store are adopted when their manifest id has an applied-manifest record, else left
// alone (logged). Adopted workloads found down are reported Unhealthy. Every workload
// kept is inserted into the table, and the provider bookkeeping is told about every
// adopted and vanished one (announces the running, withdraws manifests with none
// running). Nothing is deployed. It holds no lock of its own.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "runtime/runtime.h"
#include "workload/events.h"
#include "workload/provider_bookkeeper.h"
#include "workload/state_store.h"
#include "workload/workload_table.h"

namespace beemesh::workload {

// What start() found (workload ids).
struct ReconcileReport {
  std::vector<std::string> adopted;     // running/known in the engine and now managed
  std::vector<std::string> vanished;    // records whose workload was gone: deleted
  std::vector<std::string> ignored;     // engine workloads of manifests this node never had
  std::vector<std::string> unverified;  // records of engines that could not be listed: kept
};

class Reconciler {
 public:
  Reconciler(WorkloadTable& table, runtime::EngineRegistry& engines, StateStore& store,
             EventBus& events, ProviderUpdates& provider, const Clock& clock)
      : table_(table),
        engines_(engines),
        store_(store),
        events_(events),
        provider_(provider),
        clock_(clock) {}

  Result<ReconcileReport> run();

 private:
  WorkloadTable& table_;
  runtime::EngineRegistry& engines_;
  StateStore& store_;
  EventBus& events_;
  ProviderUpdates& provider_;
  const Clock& clock_;
};

}  // namespace beemesh::workload
