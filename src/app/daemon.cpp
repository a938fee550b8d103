#include "app/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "api/server.h"
#include "app/addresses.h"
#include "app/api_auth.h"
#include "app/clock_probe.h"
#include "app/mesh_admin.h"
#include "app/node_service_impl.h"
#include "app/reconcile_wiring.h"
#include "app/revocation_sync.h"
#include "app/rpc_tls.h"
#include "apply/desired_state.h"
#include "apply/node_handlers.h"
#include "apply/reconcile.h"
#include "common/log.h"
#include "crypto/identity.h"
#include "dht/opendht_dht.h"
#include "net/server.h"
#include "provider/liveness_monitor.h"
#include "runtime/engines/catalog.h"

namespace beemesh::app {

namespace {

int64_t machine_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemTotal:") return kb * 1024;
  }
  return 1LL << 30;
}

int64_t machine_cpu_millis() {
  return static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency())) * 1000;
}

// A node offers at most the memory its machine has: placement trusts these numbers.
Result<void> check_capacity(const NodeConfig& c) {
  if (c.capacity_memory_bytes && *c.capacity_memory_bytes > machine_memory_bytes()) {
    return make_error("capacity_exceeds_machine",
                      "capacity.memory is more than this machine's memory (" +
                          std::to_string(machine_memory_bytes()) + " bytes)");
  }
  // CPU may be offered beyond the cores (it is compressible); memory may not.
  return {};
}

// How long the start-up check waits for the advertised RPC endpoint to accept a connection.
constexpr std::chrono::milliseconds kAdvertiseProbeTimeout{2000};

// The engine a node uses: the configured one, which must exist and answer now, or (none
// configured) the highest-priority available one.
Result<std::shared_ptr<runtime::RuntimeEngine>> choose_engine(
    const std::optional<std::string>& preferred, const runtime::EngineRegistry& engines) {
  if (!preferred || preferred->empty()) return engines.select(std::nullopt);
  auto engine = engines.get(*preferred);
  if (!engine) {
    std::string names;
    for (const auto& n : engines.names()) names += (names.empty() ? "" : ", ") + n;
    return make_error("bad_config", "workload.preferred_runtime: no engine named '" + *preferred +
                                        "' (engines: " + (names.empty() ? "none" : names) + ")");
  }
  if (!engine->is_available()) {
    return make_error("engine_unavailable", "workload.preferred_runtime: engine '" + *preferred +
                                                "' is not available on this machine");
  }
  return engine;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "node";
  return buf;
}

}  // namespace

// Declaration order is construction order; destruction runs in reverse.
struct Daemon::Parts {
  NodeConfig config;
  std::unique_ptr<crypto::Identity> identity;
  const Clock& clock = system_clock();
  ClockSkewTable clock_skew{clock};  // peers' clocks, fed by the envelope verifier
  MetricsRegistry metrics;
  std::unique_ptr<crypto::Membership> membership;
  std::unique_ptr<dht::OpenDht> dht;
  std::unique_ptr<provider::LivenessMonitor> liveness;
  std::unique_ptr<provider::ProviderManager> providers;
  runtime::EngineRegistry engines;
  std::unique_ptr<workload::StateStore> store;
  std::unique_ptr<workload::EventBus> events;
  std::unique_ptr<net::EventLoop> loop;
  std::unique_ptr<RevocationSync> revocations;
  std::unique_ptr<crypto::EnvelopeVerifier> verifier;
  std::unique_ptr<net::Client> client;
  std::unique_ptr<net::Server> server;
  std::unique_ptr<apply::DesiredStateStore> desired;
  std::unique_ptr<workload::WorkloadManager> workloads;
  std::unique_ptr<apply::NodeHandlers> handlers;
  std::unique_ptr<apply::NodeDirectory> directory;
  std::unique_ptr<apply::Publisher> publisher;
  std::unique_ptr<apply::ReconcileLoop> reconcile;
  std::unique_ptr<NodeServiceImpl> service;
  std::unique_ptr<ApiAuthenticator> api_auth;
  std::unique_ptr<api::ApiServer> api;
  std::unique_ptr<ClockProbe> clock_probe;
  bool stopped = false;

  void stop() {
    if (stopped) return;
    stopped = true;
    // Its timer lives on the loop: stop it there.
    if (clock_probe && loop) loop->run_and_wait(loop->executor(), [this] { clock_probe.reset(); });
    if (api) api->stop();
    if (reconcile) reconcile->stop();
    if (server) server->stop();
    if (client) client->shutdown();
    if (workloads) workloads->stop();
    if (loop) loop->stop();
    if (directory) directory->stop();
    if (desired) desired->stop();
    if (liveness) liveness->stop();
    providers.reset();
    if (dht) dht->shutdown();
  }
  ~Parts() { stop(); }
};

Result<std::unique_ptr<Daemon>> Daemon::start(const NodeConfig& config, DaemonOptions options) {
  auto p = std::make_unique<Parts>();
  p->config = config;
  auto& c = p->config;
  if (c.node_name.empty()) c.node_name = host_name();
  // Addresses first: a mis-configured address is refused before anything starts.
  auto addresses = plan_addresses(c, read_host_network());
  if (!addresses) return addresses.error();
  for (const auto& w : addresses->warnings) spdlog::warn("{}", w);
  // Engines, built by name from `engines:` (extras only by name); the one this node uses
  // must be usable now: a node never starts with an engine it cannot use.
  if (options.register_default_engines) {
    BEEMESH_TRY(runtime::register_engines(c.engines, p->engines));
  }
  for (auto& e : options.extra_engines) p->engines.add(e, 0, false);
  auto engine = choose_engine(c.workload.preferred_runtime, p->engines);
  if (!engine) return engine.error();
  const std::string engine_name = (*engine)->name();
  spdlog::info("runtime engine: {}", engine_name);
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return make_error("io_error", c.data_dir.string() + ": " + ec.message());
  ::chmod(c.data_dir.c_str(), 0700);

  auto identity = crypto::Identity::load_or_create(c.data_dir / "node.key");
  if (!identity) return identity.error();
  p->identity = std::make_unique<crypto::Identity>(std::move(*identity));
  BEEMESH_TRY(check_capacity(c));

  // Membership: kept in the data dir, or made from a join token on the first start.
  auto joined = mesh_admin::load_node_membership(c.data_dir);
  if (!joined && joined.error().code == "not_admitted" && !c.join_token.empty()) {
    joined = mesh_admin::join(c.join_token, *p->identity, c.node_name, p->clock);
    if (!joined) return joined.error();
    BEEMESH_TRY(mesh_admin::save_node_membership(c.data_dir, *joined));
    spdlog::info("joined mesh {}", joined->mesh.mesh_id);
  }
  if (!joined) return joined.error();
  p->membership =
      std::make_unique<crypto::Membership>(joined->mesh.admin, joined->mesh.mesh_id, p->clock);
  auto self_member = p->membership->verify(joined->credential, p->identity->public_key());
  if (!self_member) {
    return make_error("not_admitted", "this node's credential: " + self_member.error().to_string());
  }
  if (self_member->kind != crypto::CertKind::kNode) {
    return make_error("not_admitted", "this node's credential is not a node certificate");
  }
  p->identity->set_credential(joined->credential);
  auto pod_security = manifest::parse_pod_security_level(c.pod_security);
  if (!pod_security) return make_error("bad_config", "pod_security: " + c.pod_security);
  spdlog::info("node {} ({}) starting, data dir {}", p->identity->node_id(), c.node_name,
               c.data_dir.string());

  // DHT and provider records.
  dht::DhtConfig dht_config;
  dht_config.bind_address = addresses->dht4 ? addresses->dht4->host : "";
  dht_config.port = addresses->dht4 ? addresses->dht4->port : 0;
  dht_config.bind_address6 = addresses->dht6 ? addresses->dht6->host : "";
  dht_config.port6 = addresses->dht6 ? addresses->dht6->port : 0;
  dht_config.network_id = c.network_id;
  for (const auto& b : c.bootstrap) dht_config.bootstrap.push_back(b.to_string());
  if (c.dht_listen.host.rfind("127.", 0) == 0) dht_config.max_peer_req_per_sec = -1;
  dht_config.provider_record_expiry = std::chrono::seconds(c.workload.provider_ttl_seconds);
  auto dht = dht::OpenDht::start(dht_config);
  if (!dht) {
    return make_error(dht.error().code, "dht_listen/dht_listen6: " + dht.error().message);
  }
  p->dht = std::move(*dht);
  provider::ProviderConfig pc;
  pc.cache_ttl = std::chrono::seconds(c.discovery.cache_ttl_seconds);
  pc.discovery_timeout = std::chrono::seconds(c.discovery.timeout_seconds);
  pc.max_providers = static_cast<size_t>(c.discovery.max_providers);
  pc.default_ttl = std::chrono::seconds(c.workload.provider_ttl_seconds);
  pc.membership = p->membership.get();
  // Liveness (docs/notes/liveness.md): our heartbeat, the co-providers' heartbeats, and
  // discovery that leaves dead nodes out; the node directory only drops known deaths.
  provider::LivenessConfig lc;
  lc.membership = p->membership.get();
  p->liveness = std::make_unique<provider::LivenessMonitor>(*p->dht, *p->identity, p->clock, lc);
  p->liveness->start();
  pc.liveness = p->liveness.get();
  pc.liveness_passive = apply::directory_ids();
  pc.brief_ids = {std::string(apply::kJoinsPrefix)};  // join records: kept minutes, not an hour
  pc.stable_ids = apply::directory_shard_ids();       // shard records keep their value id for hours
  p->providers = std::make_unique<provider::ProviderManager>(*p->dht, *p->identity, p->clock, pc);
  // Co-providers to watch: what the provider cache already knows (kept current by its
  // listens, no DHT read); a manifest not cached yet is discovered, at most
  // kFollowDiscoveriesPerRound per round, so a burst of applies costs a bounded number of
  // DHT reads per round instead of one per manifest (issue 15).
  p->liveness->follow(
      [providers = p->providers.get()](std::stop_token stop) {
        constexpr size_t kFollowDiscoveriesPerRound = 8;
        std::vector<std::string> co_providers;
        size_t discovered = 0;
        for (const auto& m : providers->announced()) {
          if (stop.stop_requested()) break;  // discoveries block: stop between them
          if (apply::is_directory_id(m)) continue;
          auto known = providers->cached(m);
          if (!known && discovered < kFollowDiscoveriesPerRound) {
            ++discovered;
            known = providers->discover(m);
          }
          if (!known) continue;
          for (const auto& info : *known) co_providers.push_back(info.metadata.node_id);
        }
        return co_providers;
      },
      std::chrono::seconds(5));

  auto store = workload::StateStore::open(c.data_dir / workload::StateStore::kDefaultFileName);
  if (!store) return store.error();
  p->store = std::move(*store);
  p->events = std::make_unique<workload::EventBus>(p->clock);

  // Node-to-node transport.
  p->loop = std::make_unique<net::EventLoop>(1);
  p->revocations = std::make_unique<RevocationSync>(
      *p->membership, *p->dht, c.data_dir / "revocations", p->loop->executor());
  p->revocations->start();
  crypto::EnvelopeVerifier::Options vo;
  vo.not_before_ms = p->clock.now_ms();
  vo.membership = p->membership.get();
  vo.clock_skew = &p->clock_skew;
  p->verifier = std::make_unique<crypto::EnvelopeVerifier>(p->clock, vo);
  // Every RPC link is TLS 1.3 between member nodes (app/rpc_tls.h); there is no switch.
  auto rpc_tls = make_rpc_tls(*p->identity, *p->membership);
  if (!rpc_tls) return rpc_tls.error();
  p->client = std::make_unique<net::Client>(*p->loop, net::ClientOptions{.tls = *rpc_tls});
  net::ServerOptions server_options{
      .host = c.rpc_listen.host, .port = c.rpc_listen.port, .tls = *rpc_tls};
  if (options.rpc_server_options) options.rpc_server_options(server_options);
  p->server = std::make_unique<net::Server>(*p->loop, server_options);
  auto port = p->server->listen();
  if (!port) return make_error(port.error().code, "rpc_listen: " + port.error().message);
  // Other nodes are told the advertise address; it must accept connections now.
  const HostPort rpc_advertised{addresses->rpc_advertise.host, addresses->rpc_advertise.port != 0
                                                                   ? addresses->rpc_advertise.port
                                                                   : *port};
  std::string rpc_endpoint = rpc_advertised.to_string();
  if (auto probe = probe_tcp(rpc_advertised.host, rpc_advertised.port, kAdvertiseProbeTimeout);
      !probe) {
    std::string message =
        std::string(c.rpc_advertise.host.empty() ? "rpc_listen" : "rpc_advertise") +
        ": other nodes would connect to " + rpc_endpoint +
        ", which does not accept connections here (" + probe.error().message + ")";
    if (c.check_advertise) return make_error("bad_address", message);
    spdlog::warn("{} (check_advertise: false)", message);
  }

  workload::WorkloadManagerConfig wc;
  wc.announce_as_provider = c.workload.announce_as_provider;
  wc.provider_ttl_seconds = c.workload.provider_ttl_seconds;
  wc.preferred_runtime = engine_name;
  wc.validate_manifests = c.workload.validate_manifests;
  wc.max_concurrent_deployments = c.workload.max_concurrent_deployments;
  wc.health_check_interval = std::chrono::seconds(c.workload.health_check_interval_seconds);
  p->workloads = std::make_unique<workload::WorkloadManager>(
      wc, p->engines, p->providers.get(), *p->store, *p->events, p->clock,
      provider::ProviderMetadata{p->identity->node_id(), rpc_endpoint, engine_name, {}});

  apply::NodeSettings ns;
  ns.rpc_endpoint = rpc_endpoint;
  ns.engine = engine_name;
  ns.capacity_memory_bytes = c.capacity_memory_bytes.value_or(machine_memory_bytes());
  ns.capacity_cpu_millis = c.capacity_cpu_millis.value_or(machine_cpu_millis());
  ns.publish_ports = c.publish_ports;
  ns.publish_host_ip = addresses->publish_host_ip;
  ns.pod_security = *pod_security;
  ns.max_share_holders = static_cast<size_t>(c.key_share_count);
  p->handlers = std::make_unique<apply::NodeHandlers>(ns, *p->identity, p->clock, *p->verifier,
                                                      *p->client, *p->workloads, *p->store);
  p->handlers->set_membership(p->membership.get());
  p->desired = std::make_unique<apply::DesiredStateStore>(
      apply::DesiredStateSettings{}, p->dht.get(), p->membership.get(), p->clock);
  p->handlers->set_desired_state(p->desired.get());
  p->handlers->start_housekeeping(p->loop->executor());
  BEEMESH_TRY(p->handlers->register_on(*p->server));

  auto reconciled = p->workloads->start();
  if (!reconciled) return reconciled.error();
  spdlog::info("reconciled with engines: {} adopted, {} vanished, {} ignored",
               reconciled->adopted.size(), reconciled->vanished.size(), reconciled->ignored.size());
  // What this node runs keeps its desired state alive (read again from the DHT first).
  for (const auto& w : p->workloads->list()) {
    auto owner = from_hex(w.owner);
    if (!owner || owner->size() != crypto::PublicKey{}.size()) continue;
    crypto::PublicKey key{};
    std::copy(owner->begin(), owner->end(), key.begin());
    p->desired->track(w.manifest_id, key);
  }
  p->desired->start();

  apply::NodeEntry self{p->identity->node_id(),
                        p->identity->public_key(),
                        c.node_name,
                        rpc_endpoint,
                        "http://" + c.api_listen.to_string(),
                        engine_name,
                        0};
  // Liveness tells the directory whether a node a shard read lacks has left
  // (apply/missed_entries.h).
  p->directory = std::make_unique<apply::NodeDirectory>(*p->providers, self, apply::kShardRecordTtl,
                                                        p->membership.get(), p->liveness.get());
  p->handlers->set_member_lookup(
      [dir = p->directory.get()](const std::string& node_id) -> std::optional<apply::KnownMember> {
        // Any member: the cached shards, else a bounded read of the node's shard.
        if (auto n = dir->find(node_id)) return apply::KnownMember{n->public_key, n->rpc_endpoint};
        return std::nullopt;
      });

  apply::PublisherSettings ps;
  ps.share_count = static_cast<unsigned>(c.key_share_count);
  ps.share_threshold = static_cast<unsigned>(c.key_share_threshold);
  ps.pod_security = *pod_security;
  p->publisher = std::make_unique<apply::Publisher>(ps, *p->identity, p->clock, *p->verifier,
                                                    *p->client, *p->directory, p->dht.get());
  p->publisher->set_desired_state(p->desired.get());
  p->publisher->set_member_lookup(
      [dir = p->directory.get()](const std::string& node_id) -> std::optional<apply::DeleteTarget> {
        // As the target's share lookup: any member (called off the event loop).
        if (auto n = dir->find(node_id))
          return apply::DeleteTarget{n->node_id, n->public_key, n->rpc_endpoint};
        return std::nullopt;
      });
  // The reconcile loop and what a configured apply must not place beside (app/reconcile_wiring.h).
  p->reconcile =
      make_reconcile_loop({p->identity->node_id(), *p->desired, p->liveness.get(), *p->workloads,
                           *p->providers, *p->publisher, *p->loop, *p->handlers});
  p->service = std::make_unique<NodeServiceImpl>(
      ServiceParts{*p->identity, p->clock, *p->loop, *p->client, *p->verifier, *p->directory,
                   *p->publisher, *p->workloads, *p->events, *p->providers, *p->dht, p->metrics,
                   *p->revocations, p->clock_skew, p->desired.get()});
  p->handlers->set_query_responder(
      [svc = p->service.get()](const protocol::QueryRequest& q) { return svc->answer_query(q); });

  api::ApiConfig ac;
  ac.host = c.api_listen.host;
  ac.port = c.api_listen.port;
  ac.tls_cert_file = c.api_tls_cert;
  ac.tls_key_file = c.api_tls_key;
  ac.allowed_hosts = c.api_allowed_hosts;
  // Clients that use the advertised API address send it as their Host.
  if (!is_wildcard_host(addresses->api_advertise.host)) {
    ac.allowed_hosts.push_back(addresses->api_advertise.host);
  }
  ApiAuthenticator::Options auth_options;
  auth_options.not_before_ms = vo.not_before_ms;
  p->api_auth = std::make_unique<ApiAuthenticator>(*p->membership, p->identity->public_key(),
                                                   p->clock, auth_options);
  p->api = std::make_unique<api::ApiServer>(*p->service, *p->api_auth, ac);
  BEEMESH_TRY(p->api->start());
  // The directory entry names the advertised API address and its real port (it may have
  // been 0).
  std::string api_url = p->api->url();
  std::string api_scheme =
      !addresses->api_scheme.empty() ? addresses->api_scheme : api_url.substr(0, api_url.find(':'));
  api_url = format_url(api_scheme, addresses->api_advertise.host,
                       addresses->api_advertise.port != 0 ? addresses->api_advertise.port
                                                          : static_cast<uint16_t>(p->api->port()));
  p->directory->set_api_endpoint(api_url);
  p->directory->announce_self();
  p->directory->start();
  p->clock_probe = std::make_unique<ClockProbe>(
      ClockProbe::Parts{*p->identity, p->clock, *p->verifier, *p->client, *p->directory},
      p->loop->executor());
  p->clock_probe->start();

  p->reconcile->start();
  spdlog::info("node {} up: rpc {} (listening on {}), api {} (listening on {}), dht {}",
               p->identity->node_id(), rpc_endpoint, p->server->endpoint(), api_url, p->api->url(),
               p->dht->endpoint());
  return std::unique_ptr<Daemon>(new Daemon(std::move(p)));
}

Daemon::Daemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Daemon::~Daemon() {
  stop();
}
void Daemon::stop() {
  parts_->stop();
}
std::string Daemon::node_id() const {
  return parts_->identity->node_id();
}
std::string Daemon::rpc_endpoint() const {
  return parts_->server->endpoint();
}
std::string Daemon::api_url() const {
  return parts_->api->url();
}
std::string Daemon::dht_endpoint() const {
  return parts_->dht->endpoint();
}
const crypto::Identity& Daemon::identity() const {
  return *parts_->identity;
}
workload::WorkloadManager& Daemon::workloads() {
  return *parts_->workloads;
}

int run_machine(const NodeConfig& config) {
  auto level = parse_log_level(config.log_level);
  if (!level) {
    fmt::print(stderr, "error: {}\n", level.error().message);
    return 2;
  }
  setup_logging(*level, config.log_json);
  // Block the signals in every thread; this one waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto daemon = Daemon::start(config);
  if (!daemon) {
    spdlog::error("cannot start: {}", daemon.error().to_string());
    // A configuration error does not go away by restarting (systemd:
    // RestartPreventExitStatus=2); anything else may (a port still held, a busy disk).
    const auto& code = daemon.error().code;
    return code == "bad_address" || code == "bad_config" ? 2 : 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info(
      "signal {}: shutting down (workloads keep running; provider records expire "
      "at their TTL)",
      sig);
  (*daemon)->stop();
  return 0;
}

}  // namespace beemesh::app
