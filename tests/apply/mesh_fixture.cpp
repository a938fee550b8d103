#include "mesh_fixture.h"

#include <spdlog/spdlog.h>

#include <random>
#include <thread>

#include "api/client.h"
#include "app/mesh_admin.h"
#include "app/rpc_tls.h"
#include "cli/credential.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "manifest/manifest.h"
#include "net/protocols.h"
#include "runtime/runtime.h"

namespace beemesh::apply_test {

namespace {

constexpr auto kRequestTimeout = 30s;
constexpr auto kShareTtl = 60min;

std::string random_hex(size_t bytes) {
  std::random_device rd;
  Bytes b(bytes);
  for (auto& x : b) x = static_cast<uint8_t>(rd());
  return to_hex(b);
}

template <typename Response>
Result<Response> open_reply(crypto::EnvelopeVerifier& verifier, const Node& from,
                            const Bytes& reply) {
  auto opened = crypto::open_message<Response>(verifier, reply);
  if (!opened) return opened.error();
  if (opened->envelope.signer != from.key()) {
    return make_error("bad_signature", "reply not signed by node " + from.name);
  }
  return std::move(opened->message);
}

}  // namespace

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(step);
  }
}

std::string pod_yaml(std::string_view name) {
  return "apiVersion: v1\n"
         "kind: Pod\n"
         "metadata:\n"
         "  name: " +
         std::string(name) +
         "\n"
         "spec:\n"
         "  containers:\n"
         "    - name: main\n"
         "      image: localhost/busybox:latest\n"
         "      command: [\"sleep\", \"3600\"]\n";
}

std::string deployment_yaml(std::string_view name, int replicas) {
  const std::string n(name);
  return "apiVersion: apps/v1\n"
         "kind: Deployment\n"
         "metadata:\n"
         "  name: " +
         n +
         "\n"
         "spec:\n"
         "  replicas: " +
         std::to_string(replicas) +
         "\n"
         "  selector:\n"
         "    matchLabels:\n"
         "      app: " +
         n +
         "\n"
         "  template:\n"
         "    metadata:\n"
         "      labels:\n"
         "        app: " +
         n +
         "\n"
         "    spec:\n"
         "      containers:\n"
         "        - name: main\n"
         "          image: localhost/busybox:latest\n"
         "          command: [\"sleep\", \"3600\"]\n"
         "          resources:\n"
         "            limits:\n"
         "              memory: 32Mi\n"
         "              cpu: 100m\n";
}

const crypto::PublicKey& Node::key() const {
  return daemon->identity().public_key();
}

// ---- MeshTest ---------------------------------------------------------------------------

void MeshTest::SetUp() {
  spdlog::set_level(spdlog::level::warn);
  std::random_device rd;
  network_id_ = (static_cast<uint32_t>(rd()) & 0x7fffffff) | 0x1000;
  root_ = std::filesystem::temp_directory_path() / ("beemesh-apply-test-" + random_hex(6));
  std::filesystem::create_directories(root_);
  // The mesh, as `beemesh mesh init` and `beemesh mesh admit --ttl 1h` make it.
  admin_dir_ = root_ / "admin";
  auto mesh = app::mesh_admin::init(admin_dir_, "apply-test", system_clock());
  ASSERT_TRUE(mesh) << mesh.error().to_string();
  auto token = app::mesh_admin::create_join_token(admin_dir_, 1h, system_clock());
  ASSERT_TRUE(token) << token.error().to_string();
  join_token_ = std::move(*token);
  // U is a deployer user; E a node admitted by key.
  auto owner_credential =
      app::mesh_admin::issue_user(admin_dir_, "owner-u", crypto::Role::kDeployer,
                                  entry.owner().public_key(), {}, 24h, system_clock());
  ASSERT_TRUE(owner_credential) << owner_credential.error().to_string();
  auto owner_bytes = from_hex(*owner_credential);
  ASSERT_TRUE(owner_bytes);
  auto entry_token = app::mesh_admin::admit_node(admin_dir_, entry.node().public_key(), "entry-e",
                                                 24h, system_clock());
  ASSERT_TRUE(entry_token) << entry_token.error().to_string();
  auto entry_joined = app::mesh_admin::join(*entry_token, entry.node(), "entry-e", system_clock());
  ASSERT_TRUE(entry_joined) << entry_joined.error().to_string();
  entry.admit(std::move(*owner_bytes), entry_joined->credential, entry_joined->mesh.admin,
              entry_joined->mesh.mesh_id);

  const auto opts = options();
  const char* names[] = {"A", "B", "C"};
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    n.name = names[i];
    n.data_dir = root_ / names[i];
    runtime::MockConfig mc;
    mc.deploy_delay = opts.deploy_delay;
    n.engine = std::make_shared<runtime::MockEngine>(mc);
    auto started = start(n);
    ASSERT_TRUE(started) << "node " << n.name << ": " << started.error().to_string();
  }
  for (const auto& n : nodes_) {
    ASSERT_TRUE(directory_complete(n)) << "node " << n.name << " never listed A, B and C";
  }
}

void MeshTest::TearDown() {
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) stop(*it);
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

app::NodeConfig MeshTest::config_for(const Node& node) const {
  const auto opts = options();
  app::NodeConfig c;
  c.data_dir = node.data_dir;
  c.node_name = node.name;
  c.rpc_listen = {"127.0.0.1", 0};
  c.api_listen = {"127.0.0.1", 0};
  c.dht_listen = {"127.0.0.1", 0};
  for (const auto& other : nodes_) {
    if (&other == &node || !other.daemon) continue;
    auto hp = app::parse_host_port(other->dht_endpoint());
    if (hp) c.bootstrap.push_back(*hp);
  }
  c.network_id = network_id_;
  // Fixed capacity: placement must not depend on the machine running the test.
  c.capacity_memory_bytes = 8LL << 30;
  c.capacity_cpu_millis = 8'000;
  c.key_share_count = opts.key_share_count;
  c.key_share_threshold = opts.key_share_threshold;
  c.workload.preferred_runtime = "mock";
  c.workload.max_concurrent_deployments = opts.max_concurrent_deployments;
  c.workload.health_check_interval_seconds = 1;
  c.discovery.cache_ttl_seconds = 1;
  c.discovery.timeout_seconds = 5;
  c.log_level = "warn";
  c.join_token = join_token_;  // used on the first start only
  return c;
}

Result<void> MeshTest::start(Node& node) {
  app::DaemonOptions options;
  options.extra_engines.push_back(node.engine);
  options.register_default_engines = false;
  auto daemon = app::Daemon::start(config_for(node), options);
  if (!daemon) return daemon.error();
  node.daemon = std::move(*daemon);
  return {};
}

void MeshTest::stop(Node& node) {
  if (!node.daemon) return;
  node.daemon->stop();
  node.daemon.reset();
}

Result<void> MeshTest::restart(Node& node) {
  stop(node);
  BEEMESH_TRY(start(node));
  if (!directory_complete(node)) {
    return make_error("timeout", "node " + node.name + " never listed A, B and C again");
  }
  return {};
}

crypto::Identity MeshTest::member_node(const std::string& name) const {
  auto id = crypto::Identity::generate();
  auto token = app::mesh_admin::admit_node(admin_dir_, id.public_key(), name, 24h, system_clock());
  EXPECT_TRUE(token) << token.error().to_string();
  if (!token) return id;
  auto joined = app::mesh_admin::join(*token, id, name, system_clock());
  EXPECT_TRUE(joined) << joined.error().to_string();
  if (joined) id.set_credential(joined->credential);
  return id;
}

crypto::Identity MeshTest::member_user(const std::string& name, crypto::Role role) const {
  auto id = crypto::Identity::generate();
  auto hex =
      app::mesh_admin::issue_user(admin_dir_, name, role, id.public_key(), {}, 24h, system_clock());
  EXPECT_TRUE(hex) << hex.error().to_string();
  if (!hex) return id;
  auto bytes = from_hex(*hex);
  EXPECT_TRUE(bytes);
  if (bytes) id.set_credential(std::move(*bytes));
  return id;
}

std::unique_ptr<api::ApiClient> MeshTest::api_as_owner(const Node& node) const {
  auto client = std::make_unique<api::ApiClient>(node->api_url());
  client->set_signer(cli::request_signer(entry.owner(), entry.owner_credential_hex(),
                                         to_hex(node.key()), system_clock()));
  return client;
}

bool MeshTest::directory_complete(const Node& node, std::chrono::milliseconds deadline) const {
  std::set<std::string> all;
  for (const auto& n : nodes_) all.insert(n.id());
  auto api = api_as_owner(node);
  return eventually(
      [&] {
        auto listed = api->nodes();
        if (!listed) return false;
        std::set<std::string> ids;
        for (const auto& n : *listed) ids.insert(n.node_id);
        return ids == all;
      },
      deadline, 100ms);
}

std::optional<std::vector<provider::ProviderInfo>> MeshTest::providers_seen_by(
    Node& observer, const std::string& manifest_id) {
  auto client = api_as_owner(observer);
  auto found = client->providers(manifest_id);
  if (!found) return std::nullopt;
  return std::move(*found);
}

bool MeshTest::discovers_exactly(Node& observer, const std::string& manifest_id,
                                 const std::set<std::string>& expected,
                                 std::chrono::milliseconds deadline) {
  return eventually(
      [&] {
        auto seen = providers_seen_by(observer, manifest_id);
        if (!seen) return false;
        std::set<std::string> ids;
        for (const auto& p : *seen) ids.insert(p.metadata.node_id);
        return ids == expected;
      },
      deadline, 250ms);
}

// ---- Entry ------------------------------------------------------------------------------

Entry::Entry() : owner_(crypto::Identity::generate()), entry_(crypto::Identity::generate()) {}

Entry::~Entry() {
  if (client_) client_->shutdown();
  loop_.stop();
}

void Entry::admit(Bytes owner_credential, Bytes entry_credential, const crypto::PublicKey& admin,
                  const std::string& mesh_id) {
  owner_.set_credential(std::move(owner_credential));
  entry_.set_credential(std::move(entry_credential));
  membership_ = std::make_unique<crypto::Membership>(admin, mesh_id, system_clock());
  auto tls = app::make_rpc_tls(entry_, *membership_);
  ASSERT_TRUE(tls) << tls.error().to_string();
  client_ = std::make_unique<net::Client>(loop_, net::ClientOptions{.tls = *tls});
}

std::string Entry::manifest_id_of(std::string_view yaml) const {
  auto parsed = manifest::parse(yaml, "test manifest");
  if (!parsed) return "unparsable: " + parsed.error().to_string();
  auto mid = manifest::manifest_id(to_hex(owner_.public_key()), *parsed);
  return mid ? *mid : "no id: " + mid.error().to_string();
}

Bytes Entry::apply_grant(const crypto::Identity& signer, const std::string& manifest_id,
                         const crypto::PublicKey& grantee, ByteView content_hash) const {
  const int64_t now = system_clock().now_ms();
  return crypto::issue_grant(signer, protocol::GrantAction::kApply, manifest_id, grantee, now,
                             now + 10 * 60'000, content_hash);
}

Bytes Entry::content_hash(std::string_view yaml, const protocol::ApplyRequest& request) {
  return crypto::apply_content_hash(yaml, request.env, request.memory_limit_bytes,
                                    request.cpu_limit_millis, request.total_replicas);
}

void Entry::regrant(PreparedApply& prepared) const {
  prepared.request.owner_grant = apply_grant(owner_, prepared.manifest_id, entry_.public_key(),
                                             content_hash(prepared.yaml, prepared.request));
}

Result<PreparedApply> Entry::prepare(std::string_view yaml, const Node& target,
                                     const std::vector<const Node*>& holders, unsigned k,
                                     std::string manifest_id) {
  PreparedApply out;
  out.yaml = std::string(yaml);
  out.manifest_id = manifest_id.empty() ? manifest_id_of(yaml) : std::move(manifest_id);
  std::vector<protocol::ShareHolder> share_holders;
  for (const auto* h : holders) {
    share_holders.push_back({h->id(), h->key(), (*h)->rpc_endpoint(), 0});
  }
  const int64_t now = system_clock().now_ms();
  auto encrypted =
      crypto::encrypt_manifest(out.manifest_id, entry_.public_key(), as_bytes(yaml), share_holders,
                               {static_cast<unsigned>(share_holders.size()), k}, now);
  if (!encrypted) return encrypted.error();
  auto& req = out.request;
  req.replicas = 1;
  req.total_replicas = 1;
  // What the owner signs: E may place exactly this manifest, one replica, nothing added.
  const Bytes owner_grant =
      apply_grant(owner_, out.manifest_id, entry_.public_key(), content_hash(yaml, req));
  for (size_t i = 0; i < encrypted->shares.size(); ++i) {
    const auto& share = encrypted->shares[i];
    protocol::StoreShareRequest store;
    store.request_id = random_hex(8);
    store.manifest_id = out.manifest_id;
    store.owner_public_key = entry_.public_key();
    store.share_index = share.holder.share_index;
    store.sealed_share = share.sealed;
    store.key_commitment = encrypted->applied.key_commitment;
    store.threshold = encrypted->applied.threshold;
    store.expires_ms = now + std::chrono::milliseconds(kShareTtl).count();
    store.manifest_owner_public_key = owner_.public_key();
    store.owner_grant = owner_grant;
    store.owner_credential = owner_.credential();
    auto stored = store_share(entry_, *holders[i], store);
    if (!stored) return stored.error();
    if (!stored->ok) {
      return make_error(stored->code, "holder " + holders[i]->name + ": " + stored->message);
    }
  }
  req.request_id = random_hex(8);
  req.manifest_id = out.manifest_id;
  req.owner_public_key = owner_.public_key();
  req.owner_credential = owner_.credential();
  req.applied_manifest = encrypted->applied;
  req.threshold = encrypted->applied.threshold;
  req.owner_grant = owner_grant;
  req.grant = crypto::issue_grant(entry_, protocol::GrantAction::kKeyShare, out.manifest_id,
                                  target.key(), now, now + 10 * 60'000);
  req.workload_id = runtime::new_workload_id();
  req.placement = {target.id()};
  return out;
}

Bytes Entry::sign(const protocol::ApplyRequest& request, const Clock& clock) const {
  return crypto::sign_message(entry_, request, clock);
}

Bytes Entry::sign_delete(const crypto::Identity& signer,
                         const protocol::DeleteRequest& request) const {
  return crypto::sign_message(signer, request, system_clock());
}

std::future<Result<Bytes>> Entry::send_apply_async(const Node& target, Bytes wire) {
  return client_->request_future(target->rpc_endpoint(), std::string(net::protocols::kApply),
                                 std::move(wire), kRequestTimeout);
}

Result<protocol::ApplyResponse> Entry::open_apply_response(const Node& target, const Bytes& reply) {
  return open_reply<protocol::ApplyResponse>(verifier_, target, reply);
}

Result<protocol::ApplyResponse> Entry::send_apply(const Node& target, Bytes wire) {
  auto reply = client_->request_sync(target->rpc_endpoint(), std::string(net::protocols::kApply),
                                     std::move(wire), kRequestTimeout);
  if (!reply) return reply.error();
  return open_apply_response(target, *reply);
}

Result<protocol::DeleteResponse> Entry::send_delete(const Node& target, Bytes wire) {
  auto reply = client_->request_sync(target->rpc_endpoint(), std::string(net::protocols::kDelete),
                                     std::move(wire), kRequestTimeout);
  if (!reply) return reply.error();
  return open_reply<protocol::DeleteResponse>(verifier_, target, *reply);
}

Result<protocol::CapacityReply> Entry::capacity(const Node& target) {
  protocol::CapacityRequest request;
  request.request_id = runtime::new_workload_id();
  auto reply =
      client_->request_sync(target->rpc_endpoint(), std::string(net::protocols::kCapacity),
                            crypto::sign_message(entry_, request, system_clock()), kRequestTimeout);
  if (!reply) return reply.error();
  return open_reply<protocol::CapacityReply>(verifier_, target, *reply);
}

Result<protocol::StoreShareResponse> Entry::store_share(
    const crypto::Identity& signer, const Node& holder,
    const protocol::StoreShareRequest& request) {
  auto reply =
      client_->request_sync(holder->rpc_endpoint(), std::string(net::protocols::kStoreShare),
                            crypto::sign_message(signer, request, system_clock()), kRequestTimeout);
  if (!reply) return reply.error();
  return open_reply<protocol::StoreShareResponse>(verifier_, holder, *reply);
}

Result<protocol::KeyShareBatchResponse> Entry::key_share_batch(
    const crypto::Identity& signer, const Node& holder,
    const protocol::KeyShareBatchRequest& request) {
  auto reply =
      client_->request_sync(holder->rpc_endpoint(), std::string(net::protocols::kKeyShareBatch),
                            crypto::sign_message(signer, request, system_clock()), kRequestTimeout);
  if (!reply) return reply.error();
  return open_reply<protocol::KeyShareBatchResponse>(verifier_, holder, *reply);
}

}  // namespace beemesh::apply_test
