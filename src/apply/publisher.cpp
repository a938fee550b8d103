#include "apply/publisher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>

#include "apply/admission.h"
#include "apply/async.h"
#include "apply/codes.h"
#include "apply/publisher_context.h"
#include "apply/sampling.h"
#include "apply/share_fetch.h"
#include "common/safe_text.h"
#include "crypto/grants.h"
#include "crypto/intent.h"
#include "crypto/manifest_crypto.h"
#include "crypto/records.h"
#include "manifest/manifest.h"
#include "net/endpoint.h"
#include "net/protocols.h"
#include "protocol/intent.h"
#include "protocol/messages.h"
#include "runtime/runtime.h"

namespace beemesh::apply {

namespace {
constexpr std::string_view kManifestKeyPrefix = "beemesh/manifest/";
// A capacity claim beyond these is not believed (a machine of 1 PiB / 100,000 cores).
constexpr int64_t kMaxCapacityMemory = int64_t{1} << 50;
constexpr int64_t kMaxCapacityCpu = 100'000'000;

// Forwards the owner's DeleteRequest envelope and opens the answer as soon as it arrives:
// its timestamp must be checked against the window now, not after the slowest node has
// answered (which may be longer than the window). The answer must name the request.
asio::awaitable<Result<crypto::VerifiedMessage<protocol::DeleteResponse>>> forward_delete(
    net::Client& client, crypto::EnvelopeVerifier& verifier, std::string endpoint, Bytes envelope,
    std::string request_id, std::chrono::milliseconds timeout) {
  auto sending = client.request(std::move(endpoint), std::string(net::protocols::kDelete),
                                std::move(envelope), timeout);
  auto reply = co_await std::move(sending);
  if (!reply) co_return reply.error();
  auto opened = crypto::open_reply<protocol::DeleteResponse>(verifier, *reply);
  if (!opened) co_return opened.error();
  if (opened->message.request_id != request_id) {
    co_return make_error("reply_mismatch", "delete response names request " +
                                               printable(opened->message.request_id, 64) + " (" +
                                               printable(opened->message.code, 64) + ")");
  }
  co_return opened;
}
}  // namespace

namespace {

Error intent_mismatch(const std::string& why) {
  return make_error("intent_mismatch", "the owner's intent " + why);
}

// The intent must describe exactly this apply (the owner signed what it asked for).
Result<void> check_intent_matches(const protocol::DesiredIntent& intent,
                                  const crypto::PublicKey& owner, const std::string& manifest_id,
                                  const manifest::Manifest& manifest, const std::string& yaml,
                                  int replicas, const std::string& pinned_node) {
  if (intent.owner_public_key != owner) return intent_mismatch("is signed by another key");
  if (intent.tombstone) return intent_mismatch("is a tombstone");
  if (intent.manifest_id != manifest_id) {
    return intent_mismatch("names manifest " + printable(intent.manifest_id, 128));
  }
  if (intent.content_version != crypto::content_version(yaml)) {
    return intent_mismatch("names another content version");
  }
  if (static_cast<int>(intent.replicas) != replicas) {
    return intent_mismatch("asks for " + std::to_string(intent.replicas) + " replicas, not " +
                           std::to_string(replicas));
  }
  if (intent.pinned_node != pinned_node) return intent_mismatch("names another pinned node");
  std::set<std::string> doc_namespaces;
  for (const auto& d : manifest.documents) doc_namespaces.insert(d.namespace_);
  if (std::set<std::string>(intent.namespaces.begin(), intent.namespaces.end()) != doc_namespaces) {
    return intent_mismatch("names other namespaces than the manifest's documents");
  }
  return ok_result();
}

}  // namespace

scheduler::Demand demand_of(const manifest::Manifest& m) {
  int manifest_replicas = 0;
  for (const auto& d : m.documents) {
    if (d.is_workload()) manifest_replicas += std::max(1, d.replicas);
  }
  manifest_replicas = std::max(1, manifest_replicas);
  return scheduler::Demand{m.total_memory_bytes() / manifest_replicas,
                           m.total_cpu_millis() / manifest_replicas};
}

Publisher::Publisher(PublisherSettings settings, const crypto::Identity& identity,
                     const Clock& clock, crypto::EnvelopeVerifier& verifier, net::Client& client,
                     NodeDirectory& directory, dht::Dht* dht)
    : settings_(settings),
      identity_(identity),
      clock_(clock),
      verifier_(verifier),
      client_(client),
      directory_(directory),
      dht_(dht) {}

Publisher::~Publisher() {
  parsing_.join();
  desired_io_.join();
  if (!dht_) return;
  std::lock_guard lock(mutex_);
  for (const auto& [mid, id] : published_) {
    dht_->cancel_permanent(dht::Key::of(std::string(kManifestKeyPrefix) + mid), id);
  }
}

asio::awaitable<Result<PublishOutcome>> Publisher::apply(PublishRequest request,
                                                         Progress progress) {
  Context ctx;
  ctx.progress = progress ? std::move(progress) : [](std::string_view) {};
  // 1. Validate before anything leaves this node (parsing off the event loop: the size is
  //    the user's choice, bounded by manifest::parse's limits).
  auto parsing = run_blocking(parsing_, [yaml = request.yaml, source = request.source] {
    return manifest::parse(yaml, source);
  });
  auto parsed = co_await std::move(parsing);
  if (!parsed) co_return parsed.error();
  ctx.manifest = std::move(*parsed);
  const auto* primary = ctx.manifest.primary();
  if (!primary) {
    co_return make_error(std::string(codes::kInvalidManifest),
                         request.source + ": no Pod, Deployment or StatefulSet to run");
  }
  auto owner = from_hex(request.owner_public_key_hex);
  if (!owner || owner->size() != ctx.owner.size()) {
    co_return make_error(std::string(codes::kUnauthorized),
                         "owner public key must be 64 hex characters");
  }
  std::copy(owner->begin(), owner->end(), ctx.owner.begin());
  auto mid = manifest::manifest_id(request.owner_public_key_hex, ctx.manifest);
  if (!mid) co_return mid.error();
  ctx.manifest_id = *mid;
  auto grant = from_hex(request.owner_grant_hex);
  if (!grant) co_return make_error(std::string(codes::kUnauthorized), "owner grant is not hex");
  ctx.owner_grant = std::move(*grant);
  ctx.replicas = request.replicas >= 0 ? request.replicas : primary->replicas;
  if (ctx.replicas > kMaxReplicas) {
    co_return make_error(std::string(codes::kInvalidManifest),
                         "at most " + std::to_string(kMaxReplicas) + " replicas");
  }
  auto opened_grant = crypto::open_grant(ctx.owner_grant);
  Bytes content_hash;
  if (opened_grant && !opened_grant->content_hash.empty()) {
    content_hash = crypto::apply_content_hash(request.yaml, {}, 0, 0, ctx.replicas);
  }
  auto checked = crypto::check_grant(ctx.owner_grant,
                                     {.action = protocol::GrantAction::kApply,
                                      .manifest_id = ctx.manifest_id,
                                      .owner = ctx.owner,
                                      .requester = identity_.public_key(),
                                      .content_hash = content_hash},
                                     clock_);
  if (!checked) co_return codes::from_grant_error(checked.error(), "owner apply grant");
  if (!request.intent_hex.empty() && desired_) {
    auto intent_bytes = from_hex(request.intent_hex);
    if (!intent_bytes) co_return intent_mismatch("is not hex");
    auto intent = crypto::open_intent(*intent_bytes);
    if (!intent) co_return intent.error();
    BEEMESH_CO_TRY(check_intent_matches(*intent, ctx.owner, ctx.manifest_id, ctx.manifest,
                                        request.yaml, ctx.replicas, request.node));
    ctx.intent = std::move(*intent);
    ctx.intent_bytes = std::move(*intent_bytes);
  }
  for (const auto& doc : ctx.manifest.documents) {
    const auto& allowed = request.namespaces;
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), doc.namespace_) == allowed.end()) {
      co_return make_error(std::string(codes::kForbidden),
                           request.source + " doc " + std::to_string(doc.index) +
                               ": the owner may not deploy in namespace " +
                               printable(doc.namespace_, 64));
    }
  }
  if (auto admitted = manifest::check_pod_security(ctx.manifest, settings_.pod_security);
      !admitted) {
    co_return admitted.error();
  }
  ctx.demand = demand_of(ctx.manifest);
  ctx.request = std::move(request);

  PublishOutcome outcome;
  outcome.manifest_id = ctx.manifest_id;
  outcome.replicas_requested = ctx.replicas;

  // 2. Compare with the desired state the mesh holds.
  int deploy_count = ctx.replicas;
  if (ctx.intent) {
    auto fetching =
        run_blocking(desired_io_, [store = desired_, id = ctx.manifest_id, owner = ctx.owner] {
          return store->fetch(id, owner);
        });
    auto current = co_await std::move(fetching);
    if (current && !crypto::supersedes(*ctx.intent, current->intent)) {
      const auto& cur = current->intent;
      if (!cur.tombstone && cur.content_version == ctx.intent->content_version &&
          cur.replicas == ctx.intent->replicas && cur.pinned_node == ctx.intent->pinned_node) {
        outcome.result = "unchanged";
        outcome.replicas_requested = 0;
        outcome.message = "the mesh already holds this content version with " +
                          std::to_string(cur.replicas) + " replica(s)";
        co_return outcome;
      }
      co_return make_error("stale_intent", "the mesh holds a newer desired state for " +
                                               ctx.manifest_id + " (sequence " +
                                               std::to_string(cur.sequence) +
                                               " >= " + std::to_string(ctx.intent->sequence) + ")");
    }
    if (current && !current->intent.tombstone) {
      const auto& cur = current->intent;
      const bool same_content = cur.content_version == ctx.intent->content_version;
      if (same_content && cur.replicas == ctx.intent->replicas &&
          cur.pinned_node == ctx.intent->pinned_node) {
        outcome.result = "unchanged";
        outcome.replicas_requested = 0;
        outcome.message = "the mesh already holds this content version with " +
                          std::to_string(cur.replicas) + " replica(s)";
        // Nothing runs differently, but the newer intent (and the owner's current
        // credential) replaces the record, with the encrypted manifest it already carries:
        // a re-apply renews a record whose owner credential is about to expire.
        BEEMESH_CO_TRY(co_await renew_desired_state(ctx, current->value));
        co_return outcome;
      }
      outcome.result = "configured";
      const int before = static_cast<int>(cur.replicas);
      if (same_content && ctx.replicas > before) {
        deploy_count = ctx.replicas - before;
        outcome.message = "scaled from " + std::to_string(before) + " to " +
                          std::to_string(ctx.replicas) + " replicas";
      } else if (same_content) {
        deploy_count = 0;
        outcome.message = "recorded " + std::to_string(ctx.replicas) + " replica(s) (was " +
                          std::to_string(before) +
                          "); the replicas above the count remove themselves (reconcile loop)";
      } else {
        // A rolling update: one replica of the new version (surge 1) on a node not running
        // the manifest; the reconcile loop then retires an old one at a time and places the
        // rest (apply/reconcile.h).
        deploy_count = 1;
        outcome.message =
            "rolling update to the new content version started (one replica "
            "at a time; beemesh rollout status follows it)";
      }
    }
  }
  outcome.replicas_requested = deploy_count;
  if (ctx.replicas == 0 && !ctx.intent) co_return outcome;

  // 3. Placement: a bounded random sample is asked (apply/sampling.h).
  std::vector<scheduler::Pick> picks;
  std::vector<scheduler::Candidate> candidates;
  if (deploy_count > 0) {
    ctx.progress("placing");
    scheduler::PlacementRequest place_req{deploy_count, ctx.demand, ctx.request.node, {}};
    // A configured apply adds replicas beside running ones: not on the nodes running it.
    if (outcome.result == "configured" && running_nodes_) {
      auto finding = run_blocking(
          desired_io_, [find = running_nodes_, id = ctx.manifest_id] { return find(id); });
      place_req.exclude = co_await std::move(finding);
    }
    picks = co_await place_sampled(ctx, std::move(place_req), candidates);
    // Holders: the sample excluded the nodes already running the manifest, and some of it
    // may not have answered; when fewer than n answered, more members are drawn (the
    // running ones included). encrypt_for_holders takes those that answered first.
    if (ctx.answers.answered() < settings_.share_count) {
      std::set<std::string> have;
      for (const auto& n : ctx.nodes) have.insert(n.node_id);
      for (auto& n : directory_.sample(settings_.share_count, have)) ctx.nodes.push_back(n);
    }
  } else {
    ctx.nodes = directory_.sample(settings_.share_count);  // share holders only
  }
  if (deploy_count > 0 && picks.empty()) {
    co_return make_error(std::string(codes::kNoCapacity),
                         "no node has room for one replica (" + std::to_string(candidates.size()) +
                             " of " + std::to_string(ctx.nodes.size()) + " nodes answered" +
                             (ctx.request.node.empty() ? "" : ", pinned to " + ctx.request.node) +
                             ")");
  }

  // 4. Encrypt and distribute key shares; record the desired state.
  ctx.progress("encrypting");
  BEEMESH_CO_TRY(encrypt_for_holders(ctx));
  ctx.progress("distributing shares");
  BEEMESH_CO_TRY(co_await distribute_shares(ctx));
  if (ctx.intent) {
    BEEMESH_CO_TRY(co_await record_desired_state(ctx));
  } else {
    publish_record(ctx);
  }
  if (deploy_count == 0) co_return outcome;

  // 5. Deploy on the chosen nodes; retry missing replicas once elsewhere.
  std::map<std::string, int> per_node;
  for (const auto& p : picks) ++per_node[p.node_id];
  ctx.progress("deploying on " + std::to_string(per_node.size()) + " node" +
               (per_node.size() == 1 ? "" : "s"));
  auto placements = co_await deploy_on(ctx, per_node);
  std::set<std::string> failed_nodes;
  int missing = deploy_count - static_cast<int>(picks.size());
  for (const auto& p : placements) {
    if (!p.ok) {
      failed_nodes.insert(p.node_id);
      missing += p.replicas;
    }
  }
  if (missing > 0 && ctx.request.node.empty()) {
    std::vector<scheduler::Candidate> retry_candidates;
    // Named, not a braced temporary in the co_await (GCC 12 destroys those twice).
    scheduler::PlacementRequest retry_req{missing, ctx.demand, "", failed_nodes};
    auto retry_picks = co_await place_sampled(ctx, std::move(retry_req), retry_candidates);
    if (!retry_picks.empty()) {
      std::map<std::string, int> retry_nodes;
      for (const auto& p : retry_picks) ++retry_nodes[p.node_id];
      ctx.progress("retrying " + std::to_string(retry_picks.size()) + " replica(s) on " +
                   std::to_string(retry_nodes.size()) + " other node(s)");
      auto more = co_await deploy_on(ctx, retry_nodes);
      placements.insert(placements.end(), more.begin(), more.end());
    }
  }
  for (const auto& p : placements) {
    if (p.ok) outcome.replicas_placed += p.replicas;
  }
  outcome.placements = std::move(placements);
  if (outcome.replicas_placed > 0) ctx.progress("announced");
  co_return outcome;
}

Result<void> Publisher::encrypt_for_holders(Context& ctx) {
  // Holders are drawn at random among the members this node knows.
  std::vector<protocol::ShareHolder> holders;
  for (const auto& n : ctx.nodes) {
    holders.push_back({n.node_id, n.public_key, n.rpc_endpoint, 0});
  }
  std::shuffle(holders.begin(), holders.end(), std::random_device{});
  // Nodes that just answered the capacity request first: a node of the sample that did not
  // answer may be dead (liveness has not told this node yet). apply/holder_order.h.
  order_holders(holders, ctx.answers);
  crypto::ShareParams params{std::min<unsigned>(settings_.share_count, holders.size()),
                             settings_.share_threshold};
  params.k = std::min(params.k, params.n);
  auto encrypted =
      crypto::encrypt_manifest(ctx.manifest_id, identity_.public_key(), as_bytes(ctx.request.yaml),
                               holders, params, clock_.now_ms());
  if (!encrypted) return encrypted.error();
  ctx.encrypted = std::move(*encrypted);
  return {};
}

asio::awaitable<std::optional<NodeEntry>> Publisher::resolve_pinned(std::string node) {
  auto resolving = run_blocking(desired_io_, [dir = &directory_, node] {
    if (auto by_id = dir->find(node)) return by_id;
    for (auto& n : dir->nodes()) {
      if (n.name == node) return std::optional<NodeEntry>(std::move(n));
    }
    return std::optional<NodeEntry>();
  });
  co_return co_await std::move(resolving);
}

asio::awaitable<std::vector<scheduler::Pick>> Publisher::place_sampled(
    Context& ctx, scheduler::PlacementRequest request,
    std::vector<scheduler::Candidate>& answered) {
  std::optional<NodeEntry> pinned;
  if (!request.pinned_node.empty()) {
    pinned = co_await resolve_pinned(request.pinned_node);
    if (!pinned) co_return std::vector<scheduler::Pick>{};  // no such member: nobody to ask
  }
  const size_t size = capacity_sample_size(request.replicas, settings_.share_count);
  auto placed = co_await place_by_sampling(directory_, std::move(request), std::move(pinned), size,
                                           [this, &ctx](std::vector<NodeEntry> nodes) {
                                             return collect_capacity(ctx, std::move(nodes));
                                           });
  for (const auto& n : placed.asked) ctx.answers.asked.insert(n.node_id);
  for (auto& n : placed.asked) {
    auto known = std::find_if(ctx.nodes.begin(), ctx.nodes.end(),
                              [&](const NodeEntry& e) { return e.node_id == n.node_id; });
    if (known == ctx.nodes.end()) ctx.nodes.push_back(std::move(n));
  }
  answered = std::move(placed.candidates);
  co_return placed.picks;
}

asio::awaitable<std::vector<scheduler::Candidate>> Publisher::collect_capacity(
    Context& ctx, std::vector<NodeEntry> nodes) {
  protocol::CapacityRequest req;
  req.request_id = runtime::new_workload_id();
  req.manifest_id = ctx.manifest_id;
  req.memory_bytes = ctx.demand.memory_bytes;
  req.cpu_millis = ctx.demand.cpu_millis;
  req.replicas = ctx.replicas;
  std::vector<asio::awaitable<Result<protocol::CapacityReply>>> asks;
  for (const auto& n : nodes) {
    asks.push_back(signed_call<protocol::CapacityRequest, protocol::CapacityReply>(
        identity_, clock_, verifier_, client_, n.rpc_endpoint,
        std::string(net::protocols::kCapacity), req, n.public_key, settings_.capacity_window));
  }
  auto replies = co_await gather(std::move(asks));
  std::vector<scheduler::Candidate> out;
  for (size_t i = 0; i < replies.size(); ++i) {
    const auto& r = replies[i];
    if (!r || !*r) {
      spdlog::info("node {} did not answer the capacity request: {}", nodes[i].node_id,
                   r ? (*r).error().to_string() : "failed");
      continue;
    }
    const auto& reply = r->value();
    if (!reply.accepts) {
      ctx.answers.without_room.insert(nodes[i].node_id);
      continue;
    }
    if (reply.available_memory_bytes < 0 || reply.available_memory_bytes > kMaxCapacityMemory ||
        reply.available_cpu_millis < 0 || reply.available_cpu_millis > kMaxCapacityCpu ||
        reply.max_replicas < 0) {
      spdlog::warn("node {} claims capacity out of range ({} bytes, {} millicores); ignored",
                   nodes[i].node_id, reply.available_memory_bytes, reply.available_cpu_millis);
      continue;
    }
    ctx.answers.with_room.insert(nodes[i].node_id);
    out.push_back({nodes[i].node_id, nodes[i].name, nodes[i].rpc_endpoint,
                   reply.available_memory_bytes, reply.available_cpu_millis});
  }
  co_return out;
}

asio::awaitable<Result<void>> Publisher::distribute_shares(Context& ctx) {
  const auto& applied = ctx.encrypted.applied;
  std::vector<asio::awaitable<Result<protocol::StoreShareResponse>>> stores;
  for (const auto& share : ctx.encrypted.shares) {
    protocol::StoreShareRequest req;
    req.request_id = runtime::new_workload_id();
    req.manifest_id = ctx.manifest_id;
    req.owner_public_key = identity_.public_key();
    req.share_index = share.holder.share_index;
    req.sealed_share = share.sealed;
    req.key_commitment = applied.key_commitment;
    req.threshold = applied.threshold;
    req.expires_ms = clock_.now_ms() + settings_.share_ttl.count();
    req.manifest_owner_public_key = ctx.owner;
    req.owner_grant = ctx.owner_grant;
    req.owner_credential = ctx.request.owner_credential;
    if (ctx.owner_grant.empty()) req.intent = ctx.intent_bytes;  // a re-placement
    stores.push_back(signed_call<protocol::StoreShareRequest, protocol::StoreShareResponse>(
        identity_, clock_, verifier_, client_, share.holder.rpc_endpoint,
        std::string(net::protocols::kStoreShare), req, share.holder.node_public_key,
        settings_.share_timeout));
  }
  auto results = co_await gather(std::move(stores));
  size_t stored = 0;
  std::string failures;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (r && *r && (*r)->ok) {
      ++stored;
    } else {
      failures += (failures.empty() ? "" : "; ") + ctx.encrypted.shares[i].holder.node_id + ": " +
                  (!r    ? "failed"
                   : !*r ? (*r).error().to_string()
                         : (*r)->code);
    }
  }
  if (stored < applied.threshold) {
    co_return make_error(std::string(codes::kTooFewShares),
                         "only " + std::to_string(stored) + " of " +
                             std::to_string(results.size()) + " share holders stored a share (" +
                             failures + ")");
  }
  co_return Result<void>{};
}

void Publisher::publish_record(const Context& ctx) {
  if (!dht_) return;
  auto signed_record = crypto::sign_applied_manifest(identity_, ctx.encrypted.applied);
  if (signed_record.size() > dht::kMaxValueSize) {
    spdlog::warn("encrypted manifest {} is {} bytes, too large for the DHT; not stored there",
                 ctx.manifest_id, signed_record.size());
    return;
  }
  auto key = dht::Key::of(std::string(kManifestKeyPrefix) + ctx.manifest_id);
  std::lock_guard lock(mutex_);
  if (auto it = published_.find(ctx.manifest_id); it != published_.end()) {
    dht_->cancel_permanent(key, it->second);
  }
  published_[ctx.manifest_id] =
      dht_->put_permanent(key, dht::Value{0, dht::ValueKind::raw, std::move(signed_record)});
}

asio::awaitable<Result<void>> Publisher::renew_desired_state(const Context& ctx,
                                                             Bytes current_value) {
  auto current = protocol::decode_desired_state_record(current_value);
  if (!current) co_return current.error();
  Bytes value = crypto::make_desired_state_value(ctx.intent_bytes, ctx.request.owner_credential,
                                                 current->applied_manifest);
  auto kept = desired_->offer(value);
  if (!kept) co_return kept.error();
  if (!*kept) co_return Result<void>{};  // a newer one arrived meanwhile: it stands
  auto putting =
      run_blocking(desired_io_, [store = desired_, id = ctx.manifest_id, owner = ctx.owner] {
        return store->publish(id, owner);
      });
  if (auto put = co_await std::move(putting); !put) {
    spdlog::warn("desired state of {}: DHT put failed: {}", ctx.manifest_id,
                 put.error().to_string());
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> Publisher::record_desired_state(const Context& ctx) {
  const Bytes applied = crypto::sign_applied_manifest(identity_, ctx.encrypted.applied);
  Bytes value =
      crypto::make_desired_state_value(ctx.intent_bytes, ctx.request.owner_credential, applied);
  if (value.size() > dht::kMaxValueSize) {
    // The ciphertext does not fit one DHT value: the record carries the intent only.
    value = crypto::make_desired_state_value(ctx.intent_bytes, ctx.request.owner_credential, {});
  }
  auto kept = desired_->offer(value);
  if (!kept) co_return kept.error();
  if (!*kept) {
    co_return make_error("stale_intent",
                         "a newer desired state for " + ctx.manifest_id + " arrived meanwhile");
  }
  auto putting =
      run_blocking(desired_io_, [store = desired_, id = ctx.manifest_id, owner = ctx.owner] {
        return store->publish(id, owner);
      });
  auto put = co_await std::move(putting);
  if (!put) {
    // Not fatal: every target and share holder reads and republishes it.
    spdlog::warn("desired state of {}: DHT put failed: {}", ctx.manifest_id,
                 put.error().to_string());
  }
  co_return Result<void>{};
}

asio::awaitable<std::vector<Placement>> Publisher::deploy_on(
    Context& ctx, const std::map<std::string, int>& per_node) {
  std::vector<asio::awaitable<Result<protocol::ApplyResponse>>> calls;
  std::vector<Placement> placements;
  int64_t now = clock_.now_ms();
  std::vector<std::string> placement_ids;
  for (const auto& [node_id, count] : per_node) placement_ids.push_back(node_id);
  for (const auto& [node_id, count] : per_node) {
    auto node = std::find_if(ctx.nodes.begin(), ctx.nodes.end(),
                             [&](const NodeEntry& n) { return n.node_id == node_id; });
    protocol::ApplyRequest req;
    req.request_id = runtime::new_workload_id();
    req.manifest_id = ctx.manifest_id;
    req.owner_public_key = ctx.owner;
    req.applied_manifest = ctx.encrypted.applied;
    req.threshold = ctx.encrypted.applied.threshold;
    req.owner_grant = ctx.owner_grant;
    req.owner_credential = ctx.request.owner_credential;
    if (ctx.owner_grant.empty()) req.intent = ctx.intent_bytes;  // a re-placement
    req.grant = crypto::issue_grant(identity_, protocol::GrantAction::kKeyShare, ctx.manifest_id,
                                    node->public_key, now, now + settings_.grant_ttl.count());
    req.workload_id = runtime::new_workload_id();
    req.replicas = count;
    req.total_replicas = ctx.replicas;
    req.placement = placement_ids;
    calls.push_back(signed_call<protocol::ApplyRequest, protocol::ApplyResponse>(
        identity_, clock_, verifier_, client_, node->rpc_endpoint,
        std::string(net::protocols::kApply), req, node->public_key, settings_.apply_timeout));
    placements.push_back({node_id, node->rpc_endpoint, count, false, "", "", req.workload_id});
  }
  auto results = co_await gather(std::move(calls));
  for (size_t i = 0; i < results.size(); ++i) {
    auto& p = placements[i];
    const auto& r = results[i];
    if (!r || !*r) {
      p.code = !r ? "failed" : (*r).error().code;
      p.message = !r ? "request failed" : (*r).error().message;
      continue;
    }
    const auto& resp = r->value();
    p.ok = resp.ok;
    p.code = resp.code;
    p.message = resp.message;
    if (!resp.workload_id.empty()) p.workload_id = resp.workload_id;
  }
  co_return placements;
}

asio::awaitable<Result<DeleteForward>> Publisher::delete_manifest(std::string manifest_id,
                                                                  Bytes owner_envelope,
                                                                  Bytes tombstone,
                                                                  Bytes owner_credential) {
  DeleteForward out;
  out.manifest_id = manifest_id;
  // Checked here too (signature, window, membership), without taking the request's
  // replay-cache entry: every node that acts on it checks it again.
  auto owner_request = crypto::open_reply<protocol::DeleteRequest>(verifier_, owner_envelope);
  if (!owner_request) co_return codes::from_envelope_error(owner_request.error());
  if (owner_request->message.manifest_id != manifest_id) {
    co_return make_error(std::string(codes::kUnauthorized),
                         "the delete token names another manifest id");
  }
  const auto request_id = owner_request->message.request_id;
  // Whom to tell (apply/delete_targets.h): the key-share holders named in the desired
  // state, read before the tombstone replaces it (from the DHT, so a split made by another
  // entry node counts; bounded, off the loop), then the providers.
  auto reading = run_blocking(desired_io_, [store = desired_, id = manifest_id,
                                            owner = owner_request->message.owner_public_key] {
    std::vector<protocol::ShareHolder> holders;
    if (!store) return holders;
    auto state = store->fetch(id, owner);  // merged with what is kept here
    if (state && state->applied) holders = state->applied->share_holders;
    return holders;
  });
  const auto holders = co_await std::move(reading);
  if (!tombstone.empty() && desired_) {
    // The owner's tombstone ends the desired state before any node removes anything, so
    // nothing re-places the manifest meanwhile.
    auto opened = crypto::open_intent(tombstone);
    if (!opened) co_return opened.error();
    if (!opened->tombstone || opened->manifest_id != manifest_id ||
        opened->owner_public_key != owner_request->message.owner_public_key) {
      co_return intent_mismatch("is not the owner's tombstone for " + manifest_id);
    }
    auto value = crypto::make_desired_state_value(tombstone, owner_credential, {});
    auto kept = desired_->offer(value);
    if (!kept) co_return kept.error();
    auto putting = run_blocking(
        desired_io_, [store = desired_, id = manifest_id, owner = opened->owner_public_key] {
          return store->publish(id, owner);
        });
    if (auto put = co_await std::move(putting); !put) {
      spdlog::warn("tombstone of {}: DHT put failed: {}", manifest_id, put.error().to_string());
    }
  }
  // Discovery may block up to its timeout: after the tombstone is out, so replicas that
  // read it meanwhile remove themselves whatever this takes.
  // The holders are resolved there too: a member lookup may read a directory shard.
  auto finding = run_blocking(
      desired_io_, [find = provider_lookup_, lookup = member_lookup_, id = manifest_id, holders] {
        return delete_targets(id, find ? find(id) : std::vector<provider::ProviderInfo>{},
                              known_holders(holders, lookup));
      });
  const auto nodes = co_await std::move(finding);
  std::vector<asio::awaitable<Result<crypto::VerifiedMessage<protocol::DeleteResponse>>>> calls;
  for (const auto& n : nodes) {
    calls.push_back(forward_delete(client_, verifier_,
                                   net::pinned_endpoint(n.node_id, n.rpc_endpoint), owner_envelope,
                                   request_id, settings_.delete_timeout));
  }
  auto results = co_await gather(std::move(calls));
  for (size_t i = 0; i < results.size(); ++i) {
    Placement p{nodes[i].node_id, nodes[i].rpc_endpoint, 0, false, "", "", ""};
    const auto& r = results[i];
    if (!r || !*r) {
      p.code = !r ? "failed" : (*r).error().code;
      p.message = !r ? "request failed" : (*r).error().message;
    } else {
      const auto& opened = r->value();
      if (opened.envelope.signer != nodes[i].public_key) {
        p.code = "bad_signature";
        p.message = "delete response not signed by the node";
      } else {
        p.ok = opened.message.ok;
        p.code = opened.message.code;
        p.message = opened.message.message;
        p.replicas = static_cast<int>(opened.message.removed);
        out.removed += p.replicas;
      }
    }
    out.nodes.push_back(std::move(p));
  }
  if (dht_) {
    std::lock_guard lock(mutex_);
    if (auto it = published_.find(manifest_id); it != published_.end()) {
      dht_->cancel_permanent(dht::Key::of(std::string(kManifestKeyPrefix) + manifest_id),
                             it->second);
      published_.erase(it);
    }
  }
  co_return out;
}

}  // namespace beemesh::apply
