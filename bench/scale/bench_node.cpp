#include "bench_node.h"

#include "app/config.h"
#include "app/mesh_admin.h"
#include "app/rpc_tls.h"

namespace beemesh::bench {

namespace {
// Mock deploys take no time: one worker per node instead of the daemon's 10 (threads).
constexpr int kDeployWorkers = 1;
}  // namespace

Result<std::unique_ptr<BenchNode>> BenchNode::start(const BenchNodeSpec& spec, dht::OpenDht& dht,
                                                    net::EventLoop& loop) {
  const app::NodeConfig defaults;  // the daemon's settings, unless said otherwise below
  std::unique_ptr<BenchNode> n(new BenchNode());
  std::error_code ec;
  std::filesystem::create_directories(spec.data_dir, ec);
  if (ec) return make_error("io_error", spec.data_dir.string() + ": " + ec.message());

  // Identity and membership: admitted by key, as `beemesh mesh admit --node-key` does.
  n->identity_ = std::make_unique<crypto::Identity>(crypto::Identity::generate());
  auto token = app::mesh_admin::admit_node(spec.admin_dir, n->identity_->public_key(), spec.name,
                                           std::chrono::hours(24), n->clock_);
  if (!token) return token.error();
  auto joined = app::mesh_admin::join(*token, *n->identity_, spec.name, n->clock_);
  if (!joined) return joined.error();
  n->identity_->set_credential(joined->credential);
  n->membership_ =
      std::make_unique<crypto::Membership>(joined->mesh.admin, joined->mesh.mesh_id, n->clock_);

  // Provider records (the daemon's ProviderConfig from NodeConfig's defaults).
  n->dht_ = &dht;
  provider::ProviderConfig pc;
  pc.cache_ttl = std::chrono::seconds(defaults.discovery.cache_ttl_seconds);
  pc.discovery_timeout = std::chrono::seconds(defaults.discovery.timeout_seconds);
  pc.max_providers = static_cast<size_t>(defaults.discovery.max_providers);
  pc.default_ttl = std::chrono::seconds(defaults.workload.provider_ttl_seconds);
  pc.membership = n->membership_.get();
  pc.brief_ids = {std::string(apply::kJoinsPrefix)};  // as the daemon
  pc.stable_ids = apply::directory_shard_ids();
  n->providers_ = std::make_unique<provider::ProviderManager>(dht, *n->identity_, n->clock_, pc);

  n->mock_ = std::make_shared<runtime::MockEngine>();
  n->engines_.add(n->mock_, 0, false);
  auto store = workload::StateStore::open(spec.data_dir / workload::StateStore::kDefaultFileName);
  if (!store) return store.error();
  n->store_ = std::move(*store);
  n->events_ = std::make_unique<workload::EventBus>(n->clock_);

  crypto::EnvelopeVerifier::Options vo;
  vo.not_before_ms = n->clock_.now_ms();
  vo.membership = n->membership_.get();
  n->verifier_ = std::make_unique<crypto::EnvelopeVerifier>(n->clock_, vo);
  auto tls = app::make_rpc_tls(*n->identity_, *n->membership_);
  if (!tls) return tls.error();
  n->client_ = std::make_unique<net::Client>(loop, net::ClientOptions{.tls = *tls});
  // Every node of the bench connects from 127.0.0.1, where a real mesh has one address per
  // machine: the per-address cap (32) would count all peers as one address and close their
  // connections (docs/notes/bench-scale.md). --per-address-cap sets it; 0 = max_connections.
  net::ServerOptions so{.host = "127.0.0.1", .port = 0, .tls = *tls};
  so.max_connections_per_address =
      spec.max_connections_per_address != 0 ? spec.max_connections_per_address : so.max_connections;
  n->server_ = std::make_unique<net::Server>(loop, so);
  auto port = n->server_->listen();
  if (!port) return port.error();
  n->rpc_endpoint_ = "127.0.0.1:" + std::to_string(*port);

  workload::WorkloadManagerConfig wc;
  wc.announce_as_provider = defaults.workload.announce_as_provider;
  wc.provider_ttl_seconds = defaults.workload.provider_ttl_seconds;
  wc.preferred_runtime = n->mock_->name();
  wc.validate_manifests = defaults.workload.validate_manifests;
  wc.max_concurrent_deployments = kDeployWorkers;
  wc.health_check_interval = std::chrono::seconds(defaults.workload.health_check_interval_seconds);
  n->workloads_ = std::make_unique<workload::WorkloadManager>(
      wc, n->engines_, n->providers_.get(), *n->store_, *n->events_, n->clock_,
      provider::ProviderMetadata{n->identity_->node_id(), n->rpc_endpoint_, n->mock_->name(), {}});

  apply::NodeSettings ns;
  ns.rpc_endpoint = n->rpc_endpoint_;
  ns.engine = n->mock_->name();
  ns.capacity_memory_bytes = spec.capacity_memory_bytes;
  ns.capacity_cpu_millis = spec.capacity_cpu_millis;
  ns.max_share_holders = static_cast<size_t>(defaults.key_share_count);
  n->handlers_ = std::make_unique<apply::NodeHandlers>(ns, *n->identity_, n->clock_, *n->verifier_,
                                                       *n->client_, *n->workloads_, *n->store_);
  n->handlers_->set_membership(n->membership_.get());
  // malloc_trim() acts on the whole process: one node trims for all, every 60 s, as a
  // daemon's process does (N trims per minute of a heap N times a daemon's cost ~1 core at
  // 300 nodes in TLB shootdowns: docs/notes/bench-scale.md).
  n->handlers_->start_housekeeping(
      loop.executor(), std::chrono::seconds(60),
      spec.trims_heap ? apply::NodeHandlers::HeapTrim::yes : apply::NodeHandlers::HeapTrim::no);
  BEEMESH_TRY(n->handlers_->register_on(*n->server_));
  auto reconciled = n->workloads_->start();
  if (!reconciled) return reconciled.error();

  apply::NodeEntry self{
      n->identity_->node_id(), n->identity_->public_key(), spec.name, n->rpc_endpoint_,
      "http://127.0.0.1:0",    n->mock_->name(),           0};
  n->directory_ = std::make_unique<apply::NodeDirectory>(
      *n->providers_, self, apply::kShardRecordTtl, n->membership_.get());
  // As the daemon: share holders and targets are looked up in the directory (any member:
  // the cached shards, else a bounded read of the node's shard).
  n->handlers_->set_member_lookup(
      [dir = n->directory_.get()](const std::string& id) -> std::optional<apply::KnownMember> {
        if (auto e = dir->find(id)) return apply::KnownMember{e->public_key, e->rpc_endpoint};
        return std::nullopt;
      });
  if (spec.entry) {
    apply::PublisherSettings ps;
    ps.share_count = static_cast<unsigned>(defaults.key_share_count);
    ps.share_threshold = static_cast<unsigned>(defaults.key_share_threshold);
    n->publisher_ = std::make_unique<apply::Publisher>(ps, *n->identity_, n->clock_, *n->verifier_,
                                                       *n->client_, *n->directory_, &dht);
  }
  n->directory_->announce_self();
  n->directory_->start();
  return n;
}

void BenchNode::stop_io() {
  if (io_stopped_) return;
  io_stopped_ = true;
  if (server_) server_->stop();
  if (client_) client_->shutdown();
  if (workloads_) workloads_->stop();
}

BenchNode::~BenchNode() {
  stop_io();
  publisher_.reset();
  if (directory_) directory_->stop();
  directory_.reset();
  handlers_.reset();
  workloads_.reset();
  providers_.reset();
}

}  // namespace beemesh::bench
