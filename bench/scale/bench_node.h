// bench/scale/bench_node.h — one beemesh node built from the daemon's real components, light
// enough that 1,000 of them fit in one process (mesh_scale_bench).
//
// Promise: a BenchNode is what app::Daemon::start() wires for the apply path, in the same
// order and with the daemon's defaults (app::NodeConfig{}): its own identity with a node
// credential (admitted the product's way, app::mesh_admin), crypto::Membership, an OpenDHT
// node (given: dht::LoopbackMesh), provider::ProviderManager, a Mock engine, SQLite state
// store, workload::WorkloadManager, envelope verifier, TLS RPC client and server,
// apply::NodeHandlers, apply::NodeDirectory (announced and refreshed on its own thread) and,
// for entry nodes only, apply::Publisher. What differs from a daemon, and why it does not
// change the figures, is in docs/notes/bench-scale.md: one net::EventLoop is shared by all
// nodes (the daemon has one 1-thread loop per node), the DHT nodes share one epoll receive
// thread, state lives on tmpfs, the per-address connection cap is lifted (all nodes share
// 127.0.0.1), no REST API, no liveness monitor, desired-state store,
// reconcile loop, revocation sync or clock probe.
// stop_io() stops the node's server, client and workload workers (call it on every node
// before stopping the shared loop); the destructor does the rest in the daemon's order.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "apply/directory.h"
#include "apply/node_handlers.h"
#include "apply/publisher.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "dht/opendht_dht.h"
#include "net/client.h"
#include "net/event_loop.h"
#include "net/server.h"
#include "provider/provider_manager.h"
#include "runtime/mock/mock_engine.h"
#include "runtime/runtime.h"
#include "workload/events.h"
#include "workload/state_store.h"
#include "workload/workload_manager.h"

namespace beemesh::bench {

struct BenchNodeSpec {
  std::string name;
  std::filesystem::path data_dir;   // state.db (tmpfs)
  std::filesystem::path admin_dir;  // the mesh admin (mesh_admin::init)
  bool entry = false;               // gets an apply::Publisher
  bool trims_heap = false;          // the one node whose housekeeping calls malloc_trim()
  int64_t capacity_memory_bytes = 8LL << 30;
  int64_t capacity_cpu_millis = 8'000;
  // net::ServerOptions::max_connections_per_address; 0 = max_connections (see bench_node.cpp).
  size_t max_connections_per_address = 0;
};

class BenchNode {
 public:
  static Result<std::unique_ptr<BenchNode>> start(const BenchNodeSpec& spec, dht::OpenDht& dht,
                                                  net::EventLoop& loop);
  ~BenchNode();
  BenchNode(const BenchNode&) = delete;
  BenchNode& operator=(const BenchNode&) = delete;

  void stop_io();

  const crypto::Identity& identity() const { return *identity_; }
  std::string node_id() const { return identity_->node_id(); }
  provider::ProviderManager& providers() { return *providers_; }
  apply::NodeDirectory& directory() { return *directory_; }
  dht::OpenDht& dht() { return *dht_; }
  apply::Publisher* publisher() { return publisher_.get(); }
  runtime::MockEngine& engine() { return *mock_; }
  const std::string& rpc_endpoint() const { return rpc_endpoint_; }
  // Connections the node's RPC server accepted so far (each one a TLS handshake).
  uint64_t connections_accepted() const { return server_->stats().accepted; }

 private:
  BenchNode() = default;

  const Clock& clock_ = system_clock();
  std::unique_ptr<crypto::Identity> identity_;
  std::unique_ptr<crypto::Membership> membership_;
  dht::OpenDht* dht_ = nullptr;
  std::unique_ptr<provider::ProviderManager> providers_;
  runtime::EngineRegistry engines_;
  std::shared_ptr<runtime::MockEngine> mock_;
  std::unique_ptr<workload::StateStore> store_;
  std::unique_ptr<workload::EventBus> events_;
  std::unique_ptr<crypto::EnvelopeVerifier> verifier_;
  std::unique_ptr<net::Client> client_;
  std::unique_ptr<net::Server> server_;
  std::unique_ptr<workload::WorkloadManager> workloads_;
  std::unique_ptr<apply::NodeHandlers> handlers_;
  std::unique_ptr<apply::NodeDirectory> directory_;
  std::unique_ptr<apply::Publisher> publisher_;
  std::string rpc_endpoint_;
  bool io_stopped_ = false;
};

}  // namespace beemesh::bench
