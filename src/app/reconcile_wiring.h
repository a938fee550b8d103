// app/reconcile_wiring.h — the daemon's reconcile loop (apply/reconcile.h) over its parts:
// what the workload manager runs (with each replica's content-version label), discovery
// (dead providers left out, each provider's announced content version), the publisher's
// re-placement run on the event loop, and removal through the workload manager's queue.
// Also tells the publisher which nodes run a manifest (a configured apply does not place
// beside them; a delete is forwarded to them) and keeps the plaintext of every deploy for the loop
// (in memory).
#pragma once

#include <memory>
#include <string>

#include "apply/desired_state.h"
#include "apply/node_handlers.h"
#include "apply/publisher.h"
#include "apply/reconcile.h"
#include "net/event_loop.h"
#include "provider/liveness.h"
#include "provider/provider_manager.h"
#include "workload/workload_manager.h"

namespace beemesh::app {

struct ReconcileWiring {
  std::string self;
  apply::DesiredStateStore& desired;
  provider::Liveness* liveness;
  workload::WorkloadManager& workloads;
  provider::ProviderManager& providers;
  apply::Publisher& publisher;
  net::EventLoop& loop;
  apply::NodeHandlers& handlers;
};

// Not started: the caller starts it once the node serves, and stops it before the parts.
std::unique_ptr<apply::ReconcileLoop> make_reconcile_loop(ReconcileWiring wiring);

}  // namespace beemesh::app
