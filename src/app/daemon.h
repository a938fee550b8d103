// app/daemon.h — one beemesh node: every component wired together.
//
// Promise: Daemon::start() brings a node up in dependency order (engines — the one the node
// uses must be built and available, else it refuses to start —, identity, DHT, provider
// manager, state store, workload manager with reconcile, RPC server, directory
// announcement, REST API) and returns only when all of it listens; any failure stops what
// was started and returns the Error. stop() (and the destructor) shuts down in reverse:
// the API, the RPC server, the workload manager's threads, the DHT; destroying the daemon
// then stops the engines' own processes (the podman engine's service). Workloads keep running
// and their provider records are left to expire at their TTL (they still serve; a restart
// re-adopts and re-announces them).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "common/result.h"
#include "net/server.h"
#include "runtime/runtime.h"

namespace beemesh::crypto {
class Identity;
}
namespace beemesh::workload {
class WorkloadManager;
}

namespace beemesh::app {

struct DaemonOptions {
  // Engines registered in addition to the configured ones (NodeConfig::engines); tests add a
  // mock engine here. Registered with implicit = false (used only when named).
  std::vector<std::shared_ptr<runtime::RuntimeEngine>> extra_engines;
  bool register_default_engines = true;  // false: build none of NodeConfig::engines
  // Adjusts the RPC server's options before it listens (test builds only, not configurable:
  // e.g. bench/scale runs hundreds of daemons that all connect from 127.0.0.1).
  std::function<void(net::ServerOptions&)> rpc_server_options;
};

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> start(const NodeConfig& config,
                                               DaemonOptions options = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void stop();

  std::string node_id() const;
  std::string rpc_endpoint() const;
  std::string api_url() const;
  std::string dht_endpoint() const;
  const crypto::Identity& identity() const;
  workload::WorkloadManager& workloads();

  struct Parts;

 private:
  explicit Daemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// `beemesh machine`: loads the config, starts the daemon, waits for SIGINT/SIGTERM.
// Exit status: 0 after a signal; 2 when the configuration is wrong (bad_config,
// bad_address: restarting cannot help); 1 for any other failure to start.
int run_machine(const NodeConfig& config);

}  // namespace beemesh::app
