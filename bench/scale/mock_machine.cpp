// beemesh_mock_machine — `beemesh machine` with the Mock engine (tests/runtime/mock) instead of
// Podman or Docker: a test build of the daemon for scripts/scale-daemons.sh, which runs
// hundreds of them on one machine. Everything else is app::Daemon as `beemesh machine` runs
// it (same config defaults, same join, DHT, TLS RPC and REST API); only the engine differs.
//
//   beemesh_mock_machine --data-dir D --name N --rpc-listen H:P --api-listen H:P
//                        --dht-listen H:P [--bootstrap H:P]... [--network-id ID] [--join TOKEN]
//                        [--capacity-memory 1Gi] [--capacity-cpu 2000m] [--log-level warn]
//                        [--per-address-cap N]
// --per-address-cap: the RPC server's max_connections_per_address (default 32). Every daemon
// here connects from 127.0.0.1, so with more than ~32 peers the cap closes their connections;
// on real machines each peer has its own address (docs/notes/bench-scale.md).
// Runs until SIGINT/SIGTERM; exit status as `beemesh machine` (2: bad configuration).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

#include "app/config.h"
#include "app/daemon.h"
#include "common/log.h"
#include "runtime/mock/mock_engine.h"

using namespace beemesh;

namespace {

struct Flags {
  app::NodeConfig config;
  size_t per_address_cap = 0;  // 0: the daemon's (net::ServerOptions default)
};

Result<Flags> parse_flags(int argc, char** argv) {
  Flags f;
  app::NodeConfig& c = f.config;
  std::string memory, cpu;
  auto host_port = [](const std::string& flag, const std::string& v,
                      app::HostPort& out) -> Result<void> {
    auto hp = app::parse_host_port(v);
    if (!hp) return make_error("bad_flag", flag + ": " + hp.error().message);
    out = *hp;
    return {};
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return make_error("bad_flag", flag + " needs a value");
    const std::string v = argv[i + 1];
    if (flag == "--data-dir") {
      c.data_dir = v;
    } else if (flag == "--name") {
      c.node_name = v;
    } else if (flag == "--rpc-listen") {
      BEEMESH_TRY(host_port(flag, v, c.rpc_listen));
    } else if (flag == "--api-listen") {
      BEEMESH_TRY(host_port(flag, v, c.api_listen));
    } else if (flag == "--dht-listen") {
      BEEMESH_TRY(host_port(flag, v, c.dht_listen));
    } else if (flag == "--bootstrap") {
      app::HostPort hp;
      BEEMESH_TRY(host_port(flag, v, hp));
      c.bootstrap.push_back(hp);
    } else if (flag == "--network-id") {
      c.network_id = static_cast<uint32_t>(std::stoul(v));
    } else if (flag == "--join") {
      c.join_token = v;
    } else if (flag == "--capacity-memory") {
      memory = v;
    } else if (flag == "--capacity-cpu") {
      cpu = v;
    } else if (flag == "--log-level") {
      c.log_level = v;
    } else if (flag == "--per-address-cap") {
      f.per_address_cap = std::stoul(v);
    } else {
      return make_error("bad_flag", "unknown flag " + flag);
    }
  }
  if (!memory.empty() || !cpu.empty()) {
    std::string yaml = "capacity: {";
    if (!memory.empty()) yaml += "memory: '" + memory + "',";
    if (!cpu.empty()) yaml += "cpu: '" + cpu + "'";
    yaml += "}";
    auto cap = app::parse_config(yaml, "flags");
    if (!cap) return cap.error();
    c.capacity_memory_bytes = cap->capacity_memory_bytes;
    c.capacity_cpu_millis = cap->capacity_cpu_millis;
  }
  c.workload.preferred_runtime = "mock";
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = parse_flags(argc, argv);
  if (!flags) {
    std::fprintf(stderr, "error: %s\n", flags.error().to_string().c_str());
    return 2;
  }
  const app::NodeConfig* config = &flags->config;
  auto level = parse_log_level(config->log_level);
  if (!level) {
    std::fprintf(stderr, "error: %s\n", level.error().message.c_str());
    return 2;
  }
  setup_logging(*level, config->log_json);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  app::DaemonOptions options;
  options.extra_engines = {std::make_shared<runtime::MockEngine>()};
  options.register_default_engines = false;
  if (flags->per_address_cap != 0) {
    options.rpc_server_options = [cap = flags->per_address_cap](net::ServerOptions& so) {
      so.max_connections_per_address = cap;
    };
  }
  auto daemon = app::Daemon::start(*config, options);
  if (!daemon) {
    spdlog::error("cannot start: {}", daemon.error().to_string());
    const auto& code = daemon.error().code;
    return code == "bad_address" || code == "bad_config" ? 2 : 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  (*daemon)->stop();
  return 0;
}
