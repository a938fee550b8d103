// tests/e2e/mesh.h — a local mesh of real `beemesh machine` processes, for end-to-end tests
// and benchmarks.
//
// Usage:
//   e2e::MeshOptions options;            // 3 nodes, podman, binary from $BEEMESH_BINARY
//   auto mesh = e2e::Mesh::start(options);
//   if (!mesh) FAIL() << mesh.error().to_string();
//   (*mesh)->node(0).api_url();          // "http://127.0.0.1:<port>"
//   auto out = (*mesh)->cli(0, {"get", "nodes", "-o", "json"});
//   (*mesh)->kill9(1); (*mesh)->restart(1);
//
// Promise:
//  * Every node listens on 127.0.0.1 only, on ports found free by a bind test, with its own
//    data directory under the mesh's temporary work directory, a network id drawn at random
//    (so meshes of concurrent runs never mix) and --bootstrap to node 0.
//  * start() returns once every node answers GET /health and lists every node in GET /nodes
//    (the DHT directory), or an Error naming the node, what it was waiting for and the tail
//    of that node's log.
//  * With own_podman_storage (the default) every node runs its own Podman storage, like a
//    machine of its own; podman(i, ...) and pods_with_label(i, ...) look at node i's.
//  * Daemons die with the process that started them (PR_SET_PDEATHSIG), and the Mesh's
//    destructor stops any still running; it then removes every Podman pod labelled with a
//    manifest id handed to track_manifest() (and, with own storage, every pod of each
//    node's Podman), so a failing test leaves nothing behind.
//  * restart(i) starts node i again with the same data directory, ports and flags.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/result.h"

namespace beemesh::e2e {

// A port on 127.0.0.1 nobody listens on right now (TCP, or UDP on 127.0.0.1 and ::1).
Result<uint16_t> free_tcp_port();
Result<uint16_t> free_udp_port();

// One child process with its output appended to a log file.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::filesystem::path log_file,
               std::map<std::string, std::string> env = {});
  ~ChildProcess();  // SIGKILL + reap when still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  Result<void> start();
  bool running();  // reaps it when it has exited
  pid_t pid() const { return pid_; }
  int exit_status() const { return exit_status_; }
  void kill9();                                     // SIGKILL and reap
  bool terminate(std::chrono::milliseconds grace);  // SIGTERM, wait, else SIGKILL; true if clean

 private:
  void reap(bool block);
  std::vector<std::string> argv_;
  std::filesystem::path log_file_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

struct MeshOptions {
  int nodes = 3;
  std::filesystem::path binary;  // empty: $BEEMESH_BINARY
  std::string engine = "podman";
  int health_check_interval_seconds = 1;
  int discovery_cache_ttl_seconds = 300;
  std::string capacity_memory = "4Gi";
  std::string capacity_cpu = "4000m";
  std::string log_level = "info";
  std::chrono::milliseconds start_timeout{30'000};
  // Each node its own Podman storage (graphroot/runroot in its data directory, images read
  // from the system store), as if every node were its own machine: a node then sees only
  // the pods it started. With false all nodes share the system's Podman.
  bool own_podman_storage = true;
  bool keep_work_dir = false;  // also when $BEEMESH_E2E_KEEP is set
};

struct MeshNode {
  std::string name;
  std::filesystem::path data_dir;
  std::filesystem::path log_file;
  uint16_t rpc_port = 0;
  uint16_t api_port = 0;
  uint16_t dht_port = 0;
  std::filesystem::path storage_conf;  // CONTAINERS_STORAGE_CONF of its Podman (may be empty)
  std::string node_id;                 // from GET /health once up
  std::string public_key_hex;          // from GET /health once up
  std::unique_ptr<ChildProcess> process;

  std::string api_url() const { return "http://127.0.0.1:" + std::to_string(api_port); }
  std::string rpc_endpoint() const { return "127.0.0.1:" + std::to_string(rpc_port); }
};

class Mesh {
 public:
  static Result<std::unique_ptr<Mesh>> start(MeshOptions options = {});
  ~Mesh();
  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  MeshNode& node(int i) { return nodes_.at(static_cast<size_t>(i)); }
  const std::filesystem::path& work_dir() const { return work_dir_; }
  const std::filesystem::path& binary() const { return options_.binary; }
  // $BEEMESH_HOME for CLI calls: the user's key lives here.
  std::filesystem::path user_home() const { return work_dir_ / "user"; }

  void kill9(int i);
  bool terminate(int i);
  Result<void> restart(int i);
  // Waits until node i answers /health and lists `expected_nodes` nodes in /nodes.
  Result<void> wait_ready(int i, int expected_nodes, std::chrono::milliseconds timeout);

  // `beemesh --server <node i> ARGS...` with BEEMESH_HOME = user_home().
  Result<ProcessResult> cli(int i, std::vector<std::string> args,
                            std::chrono::milliseconds timeout = std::chrono::seconds(120));
  std::string log_tail(int i, size_t lines = 30) const;

  // Pods labelled with this manifest id are removed when the Mesh goes away.
  void track_manifest(const std::string& manifest_id) { manifests_.insert(manifest_id); }

  // `podman ARGS...` as node i's Podman (its storage).
  Result<ProcessResult> podman(int i, std::vector<std::string> args);
  // IDs of the pods node i's Podman runs with label key=value.
  Result<std::vector<std::string>> pods_with_label(int i, const std::string& key,
                                                   const std::string& value);
  // The same over every node's Podman (each Podman once).
  Result<std::vector<std::string>> pods_with_label(const std::string& key,
                                                   const std::string& value);

 private:
  explicit Mesh(MeshOptions options);
  Result<void> spawn(int i);

  MeshOptions options_;
  std::filesystem::path work_dir_;
  std::filesystem::path config_file_;
  uint32_t network_id_ = 0;
  std::vector<MeshNode> nodes_;
  std::set<std::string> manifests_;
};

// --- Podman, as an operator would look at it ---------------------------------------------

// Environment for podman calls: CONTAINERS_CONF must be set (ctest sets it).
Result<void> check_podman_ready();
// `podman ARGS...` (60 s timeout); `storage_conf` (CONTAINERS_STORAGE_CONF) may be empty.
Result<ProcessResult> podman(std::vector<std::string> args,
                             const std::filesystem::path& storage_conf = {});
// IDs of the pods carrying label key=value (podman pod ls --filter label=...).
Result<std::vector<std::string>> pods_with_label(const std::string& key, const std::string& value,
                                                 const std::filesystem::path& storage_conf = {});
// Removes every pod carrying label key=value (best effort).
void remove_pods_with_label(const std::string& key, const std::string& value,
                            const std::filesystem::path& storage_conf = {});

// --- HTTP ----------------------------------------------------------------------------------

// GET http://127.0.0.1:<port><path>; the body on a 200, else an Error.
Result<std::string> http_get(uint16_t port, const std::string& path = "/",
                             std::chrono::milliseconds timeout = std::chrono::seconds(2));

// Polls `probe` every `interval` until it returns true or `timeout` passes.
bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

}  // namespace beemesh::e2e
