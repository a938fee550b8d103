// app/config.h — the daemon's configuration: YAML file, then command-line flags on top.
//
// Promise: load_config() returns a complete NodeConfig or an Error naming the file, the
// key and what was wrong ("beemesh.yaml: rpc_listen: not host:port: 'abc'"). Unknown keys
// are errors (a typo must not silently fall back to a default). Every field has a default
// that runs a single loopback node.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/engines/catalog.h"

namespace beemesh::app {

struct HostPort {
  std::string host;  // a name or an address literal, without brackets
  uint16_t port = 0;
  // "host:port", "[v6]:port" for IPv6 literals.
  std::string to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
  }
};
// "host:port" or "[ipv6]:port".
Result<HostPort> parse_host_port(std::string_view text);
// "host", "[ipv6]", "ipv6" or any of those with ":port" (port 0: none given).
Result<HostPort> parse_host_optional_port(std::string_view text);

// Where the REST API says it is reachable: scheme ("" = http, or https with TLS), host
// and port (0 = the port the API is bound to). Empty host: derived (app/addresses.h).
struct ApiAdvertise {
  std::string scheme;
  HostPort at;
};
Result<ApiAdvertise> parse_api_advertise(std::string_view text);

struct WorkloadSettings {  // the seed's WorkloadManagerConfig
  bool announce_as_provider = true;
  int provider_ttl_seconds = 3600;
  std::optional<std::string> preferred_runtime = "podman";
  bool validate_manifests = true;
  int max_concurrent_deployments = 10;
  int health_check_interval_seconds = 10;
};

struct DiscoverySettings {
  int cache_ttl_seconds = 300;
  int timeout_seconds = 30;
  int max_providers = 50;
};

struct NodeConfig {
  std::filesystem::path data_dir = "/var/lib/beemesh";
  std::string node_name;  // default: hostname
  HostPort rpc_listen{"127.0.0.1", 7401};
  HostPort api_listen{"127.0.0.1", 7480};
  HostPort dht_listen{"127.0.0.1", 4222};  // IPv4; host "" = off ("dht_listen: off")
  // IPv6 socket of the DHT. nullopt: derived from dht_listen (app/addresses.h); host "":
  // off ("dht_listen6: off").
  std::optional<HostPort> dht_listen6;
  // What other nodes are told. Empty host: derived from the listen address (a wildcard
  // listen advertises the address of the interface holding the default route); port 0:
  // the bound port. See app/addresses.h for every rule and check.
  HostPort rpc_advertise;
  ApiAdvertise api_advertise;
  // false: an advertise address that is not on this machine's interfaces (1:1 NAT) or
  // does not answer the start-up probe is logged as a warning instead of refused.
  bool check_advertise = true;
  std::vector<HostPort> bootstrap;
  uint32_t network_id = 0xbee;
  bool publish_ports = true;
  std::string publish_host_ip;                   // empty: the RPC advertise address
  std::optional<int64_t> capacity_memory_bytes;  // default: this machine's memory
  std::optional<int64_t> capacity_cpu_millis;    // default: this machine's cores
  int key_share_count = 5;                       // n, capped by the nodes known
  int key_share_threshold = 3;                   // k, capped by n
  WorkloadSettings workload;
  // The engines this node builds (`engines:`, runtime/engines/catalog.h); the engine it
  // uses is workload.preferred_runtime (empty: the highest-priority available one).
  std::vector<runtime::EngineSettings> engines = runtime::default_engines();
  DiscoverySettings discovery;
  std::string log_level = "info";
  bool log_json = false;
  // Join a mesh on first start (a token from `beemesh mesh admit`); afterwards the
  // membership lives in data_dir (mesh.json + credential) and this is ignored.
  std::string join_token;
  std::string pod_security = "baseline";  // baseline | restricted | privileged
  // REST API off loopback: TLS only (PEM files), and the Host names clients use.
  std::string api_tls_cert;
  std::string api_tls_key;
  std::vector<std::string> api_allowed_hosts;
};

// Upper bounds for configured capacity (a node also refuses more than its machine has).
inline constexpr int64_t kMaxCapacityMemoryBytes = int64_t{1} << 50;  // 1 PiB
inline constexpr int64_t kMaxCapacityCpuMillis = 100'000'000;         // 100,000 cores

// Reads a YAML config file (see packaging/beemesh.yaml for every key).
Result<NodeConfig> load_config_file(const std::filesystem::path& path);
Result<NodeConfig> parse_config(std::string_view yaml, std::string_view source);

}  // namespace beemesh::app
