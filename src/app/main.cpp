// The `beemesh` binary: the client commands (src/cli) plus `beemesh machine`, the daemon.
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/config.h"
#include "app/daemon.h"
#include "app/mesh_commands.h"
#include "cli/cli.h"
#include "kube/commands.h"

namespace {

struct MachineFlags {
  std::string config_file;
  std::string data_dir;
  std::string node_name;
  std::string rpc_listen;
  std::string api_listen;
  std::string dht_listen;
  std::string rpc_advertise;
  std::string api_advertise;
  std::vector<std::string> bootstrap;
  int64_t network_id = -1;
  std::string engine;
  std::string log_level;
  std::string capacity_memory;
  std::string capacity_cpu;
  std::string join_token;
  std::string pod_security;
};

// Config file first, flags on top; errors name the flag.
beemesh::Result<beemesh::app::NodeConfig> resolve(const MachineFlags& f) {
  using namespace beemesh;
  app::NodeConfig c;
  if (!f.config_file.empty()) {
    auto loaded = app::load_config_file(f.config_file);
    if (!loaded) return loaded.error();
    c = *loaded;
  }
  auto host_port = [](const std::string& flag, const std::string& v,
                      app::HostPort& out) -> Result<void> {
    if (v.empty()) return {};
    auto hp = app::parse_host_port(v);
    if (!hp) return make_error("bad_flag", "--" + flag + ": " + hp.error().message);
    out = *hp;
    return {};
  };
  BEEMESH_TRY(host_port("rpc-listen", f.rpc_listen, c.rpc_listen));
  BEEMESH_TRY(host_port("api-listen", f.api_listen, c.api_listen));
  BEEMESH_TRY(host_port("dht-listen", f.dht_listen, c.dht_listen));
  if (!f.rpc_advertise.empty()) {
    auto hp = app::parse_host_optional_port(f.rpc_advertise);
    if (!hp) return make_error("bad_flag", "--rpc-advertise: " + hp.error().message);
    c.rpc_advertise = *hp;
  }
  if (!f.api_advertise.empty()) {
    auto a = app::parse_api_advertise(f.api_advertise);
    if (!a) return make_error("bad_flag", "--api-advertise: " + a.error().message);
    c.api_advertise = *a;
  }
  for (const auto& b : f.bootstrap) {
    app::HostPort hp;
    BEEMESH_TRY(host_port("bootstrap", b, hp));
    c.bootstrap.push_back(hp);
  }
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  if (!f.node_name.empty()) c.node_name = f.node_name;
  if (f.network_id >= 0) c.network_id = static_cast<uint32_t>(f.network_id);
  if (!f.engine.empty()) c.workload.preferred_runtime = f.engine;
  if (!f.log_level.empty()) c.log_level = f.log_level;
  if (!f.join_token.empty()) c.join_token = f.join_token;
  if (!f.pod_security.empty()) {
    auto checked = app::parse_config("pod_security: '" + f.pod_security + "'", "--pod-security");
    if (!checked) return checked.error();
    c.pod_security = f.pod_security;
  }
  if (!f.capacity_memory.empty() || !f.capacity_cpu.empty()) {
    std::string yaml = "capacity: {";
    if (!f.capacity_memory.empty()) yaml += "memory: '" + f.capacity_memory + "',";
    if (!f.capacity_cpu.empty()) yaml += "cpu: '" + f.capacity_cpu + "'";
    yaml += "}";
    auto cap = app::parse_config(yaml, "flags");
    if (!cap) return cap.error();
    if (cap->capacity_memory_bytes) c.capacity_memory_bytes = cap->capacity_memory_bytes;
    if (cap->capacity_cpu_millis) c.capacity_cpu_millis = cap->capacity_cpu_millis;
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  MachineFlags flags;
  beemesh::cli::ExtraCommand machine{
      "machine", "Run the beemesh daemon on this machine",
      [&](CLI::App& cmd) {
        cmd.add_option("-c,--config", flags.config_file, "YAML config file");
        cmd.add_option("--data-dir", flags.data_dir, "Data directory (keys, state.db)");
        cmd.add_option("--name", flags.node_name, "Node name (default: hostname)");
        cmd.add_option("--rpc-listen", flags.rpc_listen, "Node-to-node host:port");
        cmd.add_option("--api-listen", flags.api_listen, "REST API host:port (loopback)");
        cmd.add_option("--dht-listen", flags.dht_listen, "DHT UDP host:port");
        cmd.add_option("--bootstrap", flags.bootstrap, "DHT bootstrap host:port (repeatable)");
        cmd.add_option("--network-id", flags.network_id, "Mesh network id");
        cmd.add_option("--engine", flags.engine, "Preferred runtime engine (podman|docker)");
        cmd.add_option("--rpc-advertise", flags.rpc_advertise,
                       "RPC address other nodes are told (IP[:port]); default: derived");
        cmd.add_option("--api-advertise", flags.api_advertise,
                       "API URL other nodes are told (e.g. https://n1.example.org:7480)");
        cmd.add_option("--log-level", flags.log_level, "trace|debug|info|warn|error");
        cmd.add_option("--capacity-memory", flags.capacity_memory, "Memory offered, e.g. 4Gi");
        cmd.add_option("--capacity-cpu", flags.capacity_cpu, "CPU offered, e.g. 2000m");
        cmd.add_option("--join", flags.join_token,
                       "Join token from `beemesh mesh admit` (first start only)");
        cmd.add_option("--pod-security", flags.pod_security,
                       "Pod security level: baseline (default), restricted, privileged");
      },
      [&]() -> int {
        auto config = resolve(flags);
        if (!config) {
          std::cerr << "error: " << config.error().message << "\n";
          return 2;
        }
        return beemesh::app::run_machine(*config);
      }};
  std::vector<beemesh::cli::ExtraCommand> extra{machine, beemesh::app::mesh_command()};
  for (auto& command : beemesh::kube::kube_commands()) extra.push_back(std::move(command));
  return beemesh::cli::run_cli(argc, argv, extra);
}
