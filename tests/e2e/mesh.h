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
//   auto viewer = (*mesh)->add_user("vera", "viewer");         // its own $BEEMESH_HOME
//   (*mesh)->cli_as(*viewer, 0, {"get", "workloads"});
//
// Promise:
//  * Every mesh is an admitted mesh (docs/notes/trust.md): start() runs
//    `beemesh mesh --dir <work>/admin init --mesh-id <id>`, makes one join token
//    (`mesh admit --ttl`) and starts every node with --join on its first start (restarts
//    pass no token). It then creates the deployer user "deployer" (`whoami` in its own
//    $BEEMESH_HOME = user_home(), `mesh user --role deployer`, `login`), which cli(i, ...)
//    uses. add_user() makes more users, with a role or with no certificate at all.
//  * The harness reads the REST API as the deployer (signed X-Beemesh-Auth headers,
//    e2e/rest.h); GET /health is the only call it makes without them.
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
#include "crypto/identity.h"

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
  std::string mesh_id;         // empty: "e2e-<network id>"
  std::string pod_security;    // --pod-security of every node; empty: the daemon's default
  std::chrono::seconds join_token_ttl{3600};
};

// A user of the mesh: its own $BEEMESH_HOME (user.key, credential after login).
struct MeshUser {
  std::string name;
  std::string role;  // "admin" | "deployer" | "viewer"; empty: no certificate
  std::filesystem::path home;
  std::string public_key_hex;  // from `beemesh whoami`
  std::string credential_hex;  // from `beemesh mesh user`; empty without a certificate
};

// How a process that was expected to refuse to start ended.
struct StartAttempt {
  bool exited = false;  // false: still running after the timeout (then killed)
  int exit_status = -1;
  std::string log;  // everything it printed
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
  std::vector<std::string> extra_flags;  // given to every start
  bool joined = false;                   // started once with --join

  std::string api_url() const { return "http://127.0.0.1:" + std::to_string(api_port); }
  std::string rpc_endpoint() const { return "127.0.0.1:" + std::to_string(rpc_port); }
};

// A `beemesh machine` that is not one of the mesh's nodes (a stranger's daemon).
struct StrangerNode {
  MeshNode node;
  std::filesystem::path admin_dir;  // the stranger's own mesh
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
  // $BEEMESH_HOME of the deployer user (cli(i, ...)): its key and credential live here.
  std::filesystem::path user_home() const { return work_dir_ / "user"; }

  // --- membership ---------------------------------------------------------------------
  const std::filesystem::path& admin_dir() const { return admin_dir_; }
  const std::string& mesh_id() const { return mesh_id_; }
  const std::string& join_token() const { return join_token_; }
  // `beemesh mesh --dir admin_dir() ARGS...` (the admin's commands).
  Result<ProcessResult> admin(std::vector<std::string> args,
                              std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The user every cli(i, ...) runs as (role deployer).
  const MeshUser& deployer() const { return deployer_; }
  // A new user with its own $BEEMESH_HOME: `whoami` makes its key; with a role, the admin
  // issues it a certificate (namespaces: none = all) and it logs in with it.
  Result<MeshUser> add_user(const std::string& name, const std::string& role,
                            const std::vector<std::string>& namespaces = {});
  // The user's key with its credential attached (for signing requests in the test).
  Result<crypto::Identity> identity_of(const MeshUser& user) const;
  // A fresh node identity with a node credential signed by this mesh's admin (a member
  // that is not running a daemon: the test acts as that node).
  Result<crypto::Identity> admitted_node_identity(const std::string& name) const;
  // REST headers of `user` for `method path` on node i (e2e/rest.h).
  Result<std::multimap<std::string, std::string>> auth_headers(const MeshUser& user, int i,
                                                               const std::string& method,
                                                               const std::string& path);

  // Starts one more node of this mesh (index size()-1 on success) with the join token and
  // `extra_flags`; waits until every node lists it. On failure the node is stopped and
  // forgotten, and the Error carries its log.
  Result<int> add_node(const std::string& name, std::vector<std::string> extra_flags = {});
  // Runs `beemesh machine` with a fresh data directory, no --join and --bootstrap to node 0:
  // a machine that was never admitted. Waits up to `timeout` for it to exit.
  Result<StartAttempt> start_non_member(
      const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // A daemon admitted to a mesh of its own (its own admin), on this mesh's network id with
  // --bootstrap to node 0: a stranger's process next to the mesh. Returns once it answers
  // GET /health.
  Result<std::unique_ptr<StrangerNode>> start_stranger(const std::string& name);

  void kill9(int i);
  bool terminate(int i);
  Result<void> restart(int i);
  // Waits until node i answers /health and lists `expected_nodes` nodes in /nodes.
  Result<void> wait_ready(int i, int expected_nodes, std::chrono::milliseconds timeout);

  // `beemesh --server <node i> ARGS...` as the deployer (BEEMESH_HOME = user_home()).
  Result<ProcessResult> cli(int i, std::vector<std::string> args,
                            std::chrono::milliseconds timeout = std::chrono::seconds(120));
  // The same as `user`.
  Result<ProcessResult> cli_as(const MeshUser& user, int i, std::vector<std::string> args,
                               std::chrono::milliseconds timeout = std::chrono::seconds(120));
  // `beemesh ARGS...` as `user`, without --server.
  Result<ProcessResult> run_as(const MeshUser& user, std::vector<std::string> args,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));
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
  Result<void> set_up_membership();
  Result<MeshUser> create_user(const std::string& name, const std::string& role,
                               const std::vector<std::string>& namespaces,
                               const std::filesystem::path& home);
  Result<MeshNode> new_node(const std::string& name);  // ports, data dir, Podman storage
  std::vector<std::string> machine_argv(const MeshNode& n, bool bootstrap) const;
  Result<size_t> nodes_listed(int i);

  std::filesystem::path admin_dir_;
  std::string mesh_id_;
  std::string join_token_;
  MeshUser deployer_;
  std::set<uint16_t> taken_ports_;
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
// GET http://<host>:<port><path>; the body on a 200, else an Error.
Result<std::string> http_get(const std::string& host, uint16_t port, const std::string& path,
                             std::chrono::milliseconds timeout);

// Polls `probe` every `interval` until it returns true or `timeout` passes.
bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

}  // namespace beemesh::e2e
