#include "kube/mesh_gateway.h"

#include <future>

#include "api/client.h"
#include "cli/credential.h"
#include "cli/owner_auth.h"
#include "common/bytes.h"
#include "crypto/grants.h"

namespace beemesh::kube {

namespace {

api::ClientOptions client_options(const GatewayOptions& o, std::chrono::milliseconds read) {
  api::ClientOptions c;
  c.ca_cert_file = o.ca_cert_file;
  c.connect_timeout = std::chrono::seconds(3);
  c.read_timeout = read;
  return c;
}

constexpr auto kReadTimeout = std::chrono::seconds(10);
constexpr auto kApplyTimeout = std::chrono::seconds(120);

}  // namespace

MeshGateway::MeshGateway(GatewayOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}
MeshGateway::~MeshGateway() = default;

Result<std::unique_ptr<MeshGateway>> MeshGateway::open(GatewayOptions options, const Clock& clock) {
  std::unique_ptr<MeshGateway> g(new MeshGateway(std::move(options), clock));
  auto& o = g->options_;
  if (o.identity_path.empty()) {
    auto p = cli::default_identity_path();
    if (!p) return p.error();
    o.identity_path = *p;
  }
  if (o.credential_path.empty()) {
    auto p = cli::default_credential_path();
    if (!p) return p.error();
    o.credential_path = *p;
  }
  auto credential = cli::read_credential_file(o.credential_path);
  if (!credential) return credential.error();
  auto user = cli::load_user_identity(o.identity_path);
  if (!user) return user.error();
  if (credential->info.subject != user->identity.public_key()) {
    return make_error("credential_mismatch", "the credential at " + o.credential_path.string() +
                                                 " is for key " + to_hex(credential->info.subject) +
                                                 ", not for your key " +
                                                 cli::public_key_hex(user->identity));
  }
  g->user_.emplace(std::move(user->identity));
  g->user_->set_credential(credential->bytes);
  g->owner_hex_ = cli::public_key_hex(*g->user_);
  g->credential_hex_ = credential->hex;
  g->role_ = std::string(crypto::role_name(credential->info.role));
  api::ApiClient probe(o.server, client_options(o, kReadTimeout));
  auto health = probe.health();
  if (!health) return health.error();
  MutexLock lock(g->mu_);
  g->entry_ = EntryNode{o.server, health->public_key_hex};
  return g;
}

std::string MeshGateway::manifest_id(std::string_view ns, std::string_view kind,
                                     std::string_view name) const {
  return manifest::manifest_id(owner_hex_, ns, kind, name);
}

MeshGateway::EntryNode MeshGateway::entry() const {
  MutexLock lock(mu_);
  return entry_;
}

template <typename T, typename Call>
Result<T> MeshGateway::at_entry(Call call, std::chrono::milliseconds read_timeout) {
  std::vector<EntryNode> candidates{entry()};
  {
    MutexLock lock(mu_);
    for (const auto& k : known_) {
      if (k.url != candidates.front().url) candidates.push_back(k);
    }
  }
  std::optional<Error> first_error;
  for (const auto& candidate : candidates) {
    api::ApiClient client(candidate.url, client_options(options_, read_timeout));
    client.set_signer(cli::request_signer(*user_, credential_hex_, candidate.key_hex, clock_));
    Result<T> out = call(client, candidate);
    if (out || out.error().code != "unreachable") {
      if (out && candidate.url != candidates.front().url) {
        MutexLock lock(mu_);
        entry_ = candidate;
      }
      return out;
    }
    if (!first_error) first_error = out.error();
  }
  return *first_error;
}

Result<api::ApplyOutcome> MeshGateway::apply(const std::string& yaml,
                                             const manifest::Manifest& parsed, int replicas) {
  auto id = manifest::manifest_id(owner_hex_, parsed);
  if (!id) return id.error();
  auto content = crypto::apply_content_hash(yaml, {}, 0, 0, replicas);
  return at_entry<api::ApplyOutcome>(
      [&](api::ApiClient& client, const EntryNode& node) -> Result<api::ApplyOutcome> {
        // The grant names the node that receives it.
        auto auth = cli::apply_auth(*user_, *id, node.key_hex, clock_, content);
        if (!auth) return auth.error();
        auth->intent_hex = cli::intent_hex(*user_, *id, parsed, yaml, replicas, "", clock_);
        api::ApplyOptions options;
        options.replicas = replicas;
        options.source = "request";
        return client.apply(yaml, options, *auth);
      },
      kApplyTimeout);
}

Result<api::DeleteOutcome> MeshGateway::remove(const std::string& manifest_id) {
  return at_entry<api::DeleteOutcome>(
      [&](api::ApiClient& client, const EntryNode&) -> Result<api::DeleteOutcome> {
        api::OwnerAuth auth = cli::delete_auth(*user_, manifest_id, clock_);
        auth.intent_hex = cli::tombstone_hex(*user_, manifest_id, clock_);
        return client.delete_manifest(manifest_id, auth);
      },
      kApplyTimeout);
}

Result<std::optional<api::DesiredView>> MeshGateway::desired(const std::string& manifest_id) {
  auto d = at_entry<api::DesiredView>(
      [&](api::ApiClient& client, const EntryNode&) { return client.desired_state(manifest_id); },
      kReadTimeout);
  if (!d) {
    if (d.error().code == "not_found") return std::optional<api::DesiredView>{};
    return d.error();
  }
  if (d->tombstone) return std::optional<api::DesiredView>{};
  return std::optional<api::DesiredView>{std::move(*d)};
}

Result<std::vector<api::NodeInfo>> MeshGateway::nodes() {
  auto list = at_entry<std::vector<api::NodeInfo>>(
      [&](api::ApiClient& client, const EntryNode&) { return client.nodes(); }, kReadTimeout);
  if (!list) return list.error();
  std::vector<EntryNode> known;
  for (const auto& n : *list) {
    if (!n.api_endpoint.empty() && !n.public_key_hex.empty()) {
      known.push_back({n.api_endpoint, n.public_key_hex});
    }
  }
  MutexLock lock(mu_);
  known_ = std::move(known);
  return list;
}

std::string MeshGateway::endpoint_of(const api::NodeInfo& node) const {
  return node.self ? entry().url : node.api_endpoint;
}

Result<MeshSnapshot> MeshGateway::workloads() {
  auto list = nodes();
  if (!list) return list.error();
  MeshSnapshot snapshot;
  for (auto& node : *list) {
    std::string endpoint = endpoint_of(node);
    if (endpoint.empty()) {
      snapshot.unreachable.push_back(node.name);
      continue;
    }
    api::ApiClient client(endpoint, client_options(options_, std::chrono::seconds(5)));
    client.set_signer(cli::request_signer(*user_, credential_hex_, node.public_key_hex, clock_));
    auto w = client.workloads();
    if (!w) {
      if (w.error().code == "forbidden_role" || w.error().code == "unauthenticated") {
        return w.error();
      }
      snapshot.unreachable.push_back(node.name);
      continue;
    }
    snapshot.nodes.push_back({std::move(node), std::move(*w)});
  }
  return snapshot;
}

Result<std::string> MeshGateway::logs(const api::NodeInfo& node, const std::string& workload_id,
                                      int tail) {
  std::string endpoint = endpoint_of(node);
  if (endpoint.empty()) {
    return make_error("unavailable", "node " + node.name + " has no API endpoint");
  }
  api::ApiClient client(endpoint, client_options(options_, std::chrono::seconds(15)));
  client.set_signer(cli::request_signer(*user_, credential_hex_, node.public_key_hex, clock_));
  return client.logs(workload_id, tail);
}

Result<std::vector<NodeEvent>> MeshGateway::events() {
  auto list = nodes();
  if (!list) return list.error();
  std::vector<std::future<std::vector<NodeEvent>>> pending;
  for (const auto& node : *list) {
    std::string endpoint = endpoint_of(node);
    if (endpoint.empty()) continue;
    pending.push_back(std::async(std::launch::async, [this, node, endpoint] {
      api::ClientOptions o = client_options(options_, std::chrono::seconds(5));
      api::ApiClient client(endpoint, o);
      client.set_signer(cli::request_signer(*user_, credential_hex_, node.public_key_hex, clock_));
      std::vector<NodeEvent> out;
      (void)client.events(
          [&](const api::EventView& e) {
            out.push_back({node, e});
            return out.size() < kMaxEventsPerNode;
          },
          /*replay_only=*/true);  // a node that fails adds what it sent before
      return out;
    }));
  }
  std::vector<NodeEvent> all;
  for (auto& f : pending) {
    for (auto& e : f.get()) all.push_back(std::move(e));
  }
  return all;
}

}  // namespace beemesh::kube
