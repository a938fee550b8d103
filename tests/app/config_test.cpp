#include "app/config.h"

#include <gtest/gtest.h>

namespace beemesh::app {
namespace {

TEST(Config, EmptyFileGivesLoopbackDefaults) {
  auto c = parse_config("", "beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->api_listen.to_string(), "127.0.0.1:7480");
  EXPECT_EQ(c->rpc_listen.host, "127.0.0.1");
  EXPECT_TRUE(c->workload.announce_as_provider);
  EXPECT_EQ(c->workload.provider_ttl_seconds, 3600);
  EXPECT_EQ(c->workload.preferred_runtime, "podman");
  EXPECT_EQ(c->workload.max_concurrent_deployments, 10);
  EXPECT_EQ(c->discovery.cache_ttl_seconds, 300);
  EXPECT_EQ(c->discovery.timeout_seconds, 30);
  EXPECT_EQ(c->discovery.max_providers, 50);
}

TEST(Config, ReadsEveryKey) {
  auto c = parse_config(R"(
data_dir: /tmp/bm
node_name: n1
rpc_listen: 127.0.0.1:9001
api_listen: 127.0.0.1:9002
dht_listen: 127.0.0.1:9003
bootstrap: ["127.0.0.1:9103", "127.0.0.1:9203"]
network_id: 77
publish_ports: false
capacity: {memory: 2Gi, cpu: 1500m}
key_shares: {count: 3, threshold: 2}
workload: {preferred_runtime: docker, max_concurrent_deployments: 4}
discovery: {timeout_seconds: 5}
log_level: debug
)",
                        "beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->data_dir, "/tmp/bm");
  EXPECT_EQ(c->node_name, "n1");
  EXPECT_EQ(c->dht_listen.port, 9003);
  ASSERT_EQ(c->bootstrap.size(), 2u);
  EXPECT_EQ(c->bootstrap[1].port, 9203);
  EXPECT_EQ(c->network_id, 77u);
  EXPECT_FALSE(c->publish_ports);
  EXPECT_EQ(c->capacity_memory_bytes, 2LL * 1024 * 1024 * 1024);
  EXPECT_EQ(c->capacity_cpu_millis, 1500);
  EXPECT_EQ(c->key_share_threshold, 2);
  EXPECT_EQ(c->workload.preferred_runtime, "docker");
  EXPECT_EQ(c->workload.max_concurrent_deployments, 4);
  EXPECT_EQ(c->discovery.timeout_seconds, 5);
}

TEST(Config, UnknownKeyIsAnErrorNamingIt) {
  auto c = parse_config("rpc_lisen: 127.0.0.1:1\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "beemesh.yaml: rpc_lisen: unknown key");
}

TEST(Config, BadHostPortNamesKeyAndValue) {
  auto c = parse_config("api_listen: nonsense\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "beemesh.yaml: api_listen: not host:port: 'nonsense'");
}

TEST(Config, BadNestedValueNamesThePath) {
  auto c = parse_config("workload: {max_concurrent_deployments: 0}\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "b.yaml: workload.max_concurrent_deployments: must be >= 1");
}

TEST(Config, ThresholdAboveCountIsRejected) {
  auto c = parse_config("key_shares: {count: 2, threshold: 3}\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "b.yaml: key_shares.threshold: must be 1..count");
}

TEST(Config, WrongTypeIsRejected) {
  auto c = parse_config("publish_ports: maybe\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "b.yaml: publish_ports: wrong type");
}

TEST(Config, BadCapacityQuantityIsRejected) {
  auto c = parse_config("capacity: {memory: lots}\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "b.yaml: capacity.memory: not a Kubernetes quantity: 'lots'");
}

TEST(Config, UnknownPodSecurityLevelIsRejected) {
  auto c = parse_config("pod_security: lax\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "b.yaml: pod_security: must be baseline, restricted or privileged");
}

TEST(Config, PodSecurityDefaultsToBaseline) {
  auto c = parse_config("", "b.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->pod_security, "baseline");
}

TEST(Config, CapacityBeyondOnePebibyteIsRejected) {
  auto c = parse_config("capacity: {memory: 2Pi}\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "b.yaml: capacity.memory: must be more than 0 and at most 1Pi");
}

TEST(Config, TlsCertificateWithoutKeyIsRejected) {
  auto c = parse_config("api_tls_cert: /etc/beemesh/api.pem\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "b.yaml: api_tls_cert: api_tls_cert and api_tls_key go together");
}

TEST(Config, AdvertiseAddressesAreRead) {
  auto c = parse_config(
      "rpc_advertise: 192.0.2.2\napi_advertise: https://n1.example.org:7480\n"
      "check_advertise: false\n",
      "b.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->rpc_advertise.host, "192.0.2.2");
  EXPECT_EQ(c->rpc_advertise.port, 0);
  EXPECT_EQ(c->api_advertise.scheme, "https");
  EXPECT_EQ(c->api_advertise.at.to_string(), "n1.example.org:7480");
  EXPECT_FALSE(c->check_advertise);
}

TEST(Config, AdvertiseDefaultsAreDerived) {
  auto c = parse_config("", "b.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->rpc_advertise.host.empty());
  EXPECT_TRUE(c->api_advertise.at.host.empty());
  EXPECT_FALSE(c->dht_listen6);
  EXPECT_TRUE(c->publish_host_ip.empty());
  EXPECT_TRUE(c->check_advertise);
}

TEST(Config, Ipv6AddressesTakeBrackets) {
  auto c = parse_config(
      "rpc_listen: '[::]:7401'\nrpc_advertise: '[fd00::2]:7401'\n"
      "dht_listen6: '[fd00::2]:4222'\nbootstrap: ['[fd00::3]:4222']\n",
      "b.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->rpc_listen.host, "::");
  EXPECT_EQ(c->rpc_advertise.host, "fd00::2");
  EXPECT_EQ(c->dht_listen6->to_string(), "[fd00::2]:4222");
  EXPECT_EQ(c->bootstrap[0].to_string(), "[fd00::3]:4222");
}

TEST(Config, DhtFamiliesCanBeTurnedOff) {
  auto c = parse_config("dht_listen: off\ndht_listen6: '[::]:4222'\n", "b.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->dht_listen.host.empty());
  EXPECT_EQ(c->dht_listen6->host, "::");
}

TEST(Config, BothDhtFamiliesOffIsRejected) {
  auto c = parse_config("dht_listen: off\ndht_listen6: off\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "b.yaml: dht_listen6: dht_listen and dht_listen6 are both off; the DHT needs one");
}

TEST(Config, ApiAdvertiseWithAnotherSchemeIsRejected) {
  auto c = parse_config("api_advertise: ftp://n1:21\n", "b.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "b.yaml: api_advertise: only http:// and https:// URLs: 'ftp://n1:21'");
}

TEST(Config, MissingFileIsAnError) {
  auto c = load_config_file("/nonexistent/beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "/nonexistent/beemesh.yaml: cannot read file");
}

}  // namespace
}  // namespace beemesh::app

namespace beemesh::app {
namespace {

TEST(Config, ShippedExampleConfigIsValid) {
  auto c = load_config_file(std::string(BEEMESH_SOURCE_DIR) + "/packaging/beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->rpc_listen.to_string(), "127.0.0.1:7401");
  EXPECT_EQ(c->key_share_count, 5);
}

}  // namespace
}  // namespace beemesh::app

// ---- engines: ------------------------------------------------------------------------------
namespace beemesh::app {
namespace {

TEST(ConfigEngines, WithoutASectionANodeBuildsPodmanAndDocker) {
  auto c = parse_config("", "beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  ASSERT_EQ(c->engines.size(), 2u);
  EXPECT_EQ(c->engines[0].name, "podman");
  EXPECT_EQ(c->engines[0].priority, 100);
  EXPECT_EQ(c->engines[1].name, "docker");
  EXPECT_EQ(c->engines[1].priority, 50);
}

TEST(ConfigEngines, ASectionBuildsOnlyTheListedEnginesWithTheirSettings) {
  auto c = parse_config(R"(
engines:
  podman:
    binary: /usr/bin/podman
    root: /var/lib/bm/storage
    runroot: /run/bm/storage
    storage_driver: overlay
    play_timeout_seconds: 90
    probe_timeout_seconds: 0.5
    stop_grace_seconds: 5
  podman-compat:
    kind: docker
    socket: /run/bm/podman.sock
    priority: 10
    implicit: false
    request_timeout_seconds: 12
workload: {preferred_runtime: podman-compat}
)",
                        "beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  ASSERT_EQ(c->engines.size(), 2u);
  const auto& podman = std::get<runtime::PodmanRestConfig>(c->engines[0].config);
  EXPECT_EQ(c->engines[0].kind, "podman");
  EXPECT_EQ(podman.podman_binary, "/usr/bin/podman");
  EXPECT_EQ(podman.root, "/var/lib/bm/storage");
  EXPECT_EQ(podman.runroot, "/run/bm/storage");
  EXPECT_EQ(podman.storage_driver, "overlay");
  EXPECT_EQ(podman.play_timeout, std::chrono::seconds(90));
  EXPECT_EQ(podman.probe_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(podman.stop_grace_seconds, 5);
  EXPECT_EQ(podman.query_timeout, runtime::PodmanRestConfig{}.query_timeout);
  EXPECT_EQ(podman.socket_path, "") << "empty: the engine starts its own service";
  const auto& compat = c->engines[1];
  EXPECT_EQ(compat.name, "podman-compat");
  EXPECT_EQ(compat.kind, "docker");
  EXPECT_EQ(compat.priority, 10);
  EXPECT_FALSE(compat.implicit);
  const auto& docker = std::get<runtime::docker::DockerEngineOptions>(compat.config);
  EXPECT_EQ(docker.socket_path, "/run/bm/podman.sock");
  EXPECT_EQ(docker.request_timeout, std::chrono::seconds(12));
  EXPECT_EQ(c->workload.preferred_runtime, "podman-compat");
}

TEST(ConfigEngines, AnEngineWithoutSettingsGetsItsKindsDefaults) {
  auto c =
      parse_config("engines:\n  docker:\nworkload: {preferred_runtime: docker}\n", "beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  ASSERT_EQ(c->engines.size(), 1u);
  EXPECT_EQ(c->engines[0].kind, "docker");
  EXPECT_EQ(c->engines[0].priority, 50);
  EXPECT_TRUE(c->engines[0].implicit);
}

TEST(ConfigEngines, AnUnknownKeyIsNamed) {
  auto c = parse_config("engines:\n  podman: {sockt: /x}\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "bad_config");
  EXPECT_EQ(c.error().message, "beemesh.yaml: engines.podman.sockt: unknown key");
}

TEST(ConfigEngines, ABadTimeoutNamesItsKey) {
  auto c = parse_config("engines:\n  podman: {play_timeout_seconds: 0}\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "beemesh.yaml: engines.podman.play_timeout_seconds: must be more than 0 and at "
            "most 3600 (seconds)");
}

TEST(ConfigEngines, AValueOfTheWrongTypeNamesItsKey) {
  auto c = parse_config("engines:\n  docker: {pull_missing_images: maybe}\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "beemesh.yaml: engines.docker.pull_missing_images: wrong type");
}

TEST(ConfigEngines, ARelativeSocketPathIsRejected) {
  auto c = parse_config("engines:\n  docker: {socket: run/docker.sock}\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "beemesh.yaml: engines.docker.socket: must be an absolute path");
}

TEST(ConfigEngines, AnUnknownKindIsNamed) {
  auto c = parse_config("engines:\n  mock: {}\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "beemesh.yaml: engines.mock: unknown engine kind 'mock' (known: podman, "
            "podman-cli, docker)");
  auto k = parse_config("engines:\n  fast: {kind: crio}\n", "beemesh.yaml");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(
      k.error().message,
      "beemesh.yaml: engines.fast.kind: unknown engine kind 'crio' (known: podman, podman-cli, "
      "docker)");
}

TEST(ConfigEngines, PreferredRuntimeMustNameAConfiguredEngine) {
  auto c = parse_config("workload: {preferred_runtime: mock}\n", "beemesh.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "beemesh.yaml: workload.preferred_runtime: no engine named 'mock' (engines: podman, "
            "docker)");
  auto d = parse_config("engines: {docker: {}}\n", "beemesh.yaml");  // default podman
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message,
            "beemesh.yaml: workload.preferred_runtime: no engine named 'podman' (engines: "
            "docker)");
}

TEST(ConfigEngines, EmptyPreferredRuntimeMeansAutoDetection) {
  auto c =
      parse_config("engines: {docker: {}}\nworkload: {preferred_runtime: ''}\n", "beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_FALSE(c->workload.preferred_runtime.has_value());
}

}  // namespace
}  // namespace beemesh::app

namespace beemesh::app {
namespace {

TEST(ConfigEngines, PodmanCanTalkToAGivenSocketOrRunTheCli) {
  auto c = parse_config(R"(
engines:
  podman: {socket: /run/podman/podman.sock, service_start_timeout_seconds: 5,
           service_idle_timeout_seconds: 0}
  podman-cli: {binary: /usr/bin/podman}
)",
                        "beemesh.yaml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  ASSERT_EQ(c->engines.size(), 2u);
  const auto& rest = std::get<runtime::PodmanRestConfig>(c->engines[0].config);
  EXPECT_EQ(rest.socket_path, "/run/podman/podman.sock");
  EXPECT_EQ(rest.service_start_timeout, std::chrono::seconds(5));
  EXPECT_EQ(rest.service_idle_timeout_seconds, 0);
  EXPECT_EQ(c->engines[1].kind, "podman-cli");
  EXPECT_EQ(std::get<runtime::PodmanConfig>(c->engines[1].config).podman_binary, "/usr/bin/podman");
}

}  // namespace
}  // namespace beemesh::app
