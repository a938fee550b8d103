// Publisher::replace — a re-placement under the owner's intent (promise in publisher.h).
#include <spdlog/spdlog.h>

#include "apply/async.h"
#include "apply/codes.h"
#include "apply/publisher.h"
#include "apply/publisher_context.h"
#include "crypto/intent.h"

namespace beemesh::apply {

asio::awaitable<Result<PublishOutcome>> Publisher::replace(ReplaceRequest request) {
  Context ctx;
  ctx.progress = [](std::string_view) {};
  auto parsing = run_blocking(parsing_, [yaml = request.yaml, mid = request.manifest_id] {
    return manifest::parse(yaml, "manifest " + mid);
  });
  auto parsed = co_await std::move(parsing);
  if (!parsed) co_return parsed.error();
  ctx.manifest = std::move(*parsed);
  ctx.owner = request.owner;
  ctx.manifest_id = request.manifest_id;
  ctx.replicas = std::max(1, request.count);
  ctx.demand = demand_of(ctx.manifest);
  ctx.intent_bytes = request.intent;
  ctx.request.yaml = std::move(request.yaml);
  ctx.request.owner_credential = std::move(request.owner_credential);
  ctx.request.source = "re-placement";

  PublishOutcome outcome;
  outcome.manifest_id = ctx.manifest_id;
  outcome.result = "replaced";
  outcome.replicas_requested = ctx.replicas;
  auto intent = crypto::open_intent(ctx.intent_bytes);
  if (!intent) co_return intent.error();
  // A bounded random sample is asked (apply/sampling.h). A pinned intent is placed on its
  // node only (when that node does not run it yet).
  std::vector<scheduler::Candidate> candidates;
  // A named request, not a braced temporary in the co_await: GCC 12 destroys such a
  // temporary twice (free(): invalid pointer in the re-placement).
  scheduler::PlacementRequest place_req{ctx.replicas, ctx.demand, intent->pinned_node,
                                        std::move(request.exclude)};
  auto picks = co_await place_sampled(ctx, std::move(place_req), candidates);
  std::map<std::string, int> per_node;
  for (const auto& p : picks) {
    if (static_cast<int>(per_node.size()) < ctx.replicas) per_node[p.node_id] = 1;
  }
  if (per_node.empty()) {
    co_return make_error(std::string(codes::kNoCapacity),
                         "no other node has room for a replica (" +
                             std::to_string(candidates.size()) + " of " +
                             std::to_string(ctx.nodes.size()) + " nodes answered)");
  }
  ctx.replicas = static_cast<int>(per_node.size());
  // The fresh shares go to nodes that just answered (the directory may still list a dead
  // node nobody watched): n = min(configured n, those), k = min(configured k, n).
  std::set<std::string> answered;
  for (const auto& c : candidates) answered.insert(c.node_id);
  std::erase_if(ctx.nodes, [&](const NodeEntry& n) { return !answered.count(n.node_id); });
  BEEMESH_CO_TRY(encrypt_for_holders(ctx));
  BEEMESH_CO_TRY(co_await distribute_shares(ctx));
  auto placements = co_await deploy_on(ctx, per_node);
  for (const auto& p : placements) {
    if (p.ok) outcome.replicas_placed += p.replicas;
  }
  outcome.placements = std::move(placements);
  co_return outcome;
}

}  // namespace beemesh::apply
