#include "app/reconcile_wiring.h"

#include <asio.hpp>

#include <set>

#include "workload/provider_bookkeeper.h"

namespace beemesh::app {

std::unique_ptr<apply::ReconcileLoop> make_reconcile_loop(ReconcileWiring w) {
  w.publisher.set_running_nodes([providers = &w.providers](const std::string& id) {
    std::set<std::string> nodes;
    for (const auto& info : providers->discover(id)) nodes.insert(info.metadata.node_id);
    return nodes;
  });
  // A delete reaches the providers (and the holders), not every node (apply/delete_targets.h).
  w.publisher.set_provider_lookup(
      [providers = &w.providers](const std::string& id) { return providers->discover(id); });
  apply::ReconcileLoop::Parts parts{
      .self = w.self,
      .desired = w.desired,
      .liveness = w.liveness,
      .local =
          [workloads = &w.workloads] {
            std::vector<apply::LocalReplica> out;
            for (const auto& record : workloads->list()) {
              auto owner = from_hex(record.owner);
              if (!record.healthy || !workload::is_up(record.state) || !owner ||
                  owner->size() != crypto::PublicKey{}.size()) {
                continue;
              }
              apply::LocalReplica r{record.manifest_id, {}, {}};
              std::copy(owner->begin(), owner->end(), r.owner.begin());
              const auto& labels = record.config.labels;
              if (auto it = labels.find(std::string(workload::kContentVersionLabel));
                  it != labels.end()) {
                r.content_version = it->second;
              }
              out.push_back(std::move(r));
            }
            return out;
          },
      .providers =
          [providers = &w.providers, liveness = w.liveness](const std::string& manifest_id) {
            // discover() leaves out the nodes known dead; of the others, those liveness has
            // no verdict on count for a shortfall and never for a removal (apply/reconcile.h).
            std::vector<apply::ProviderView> out;
            for (const auto& info : providers->discover(manifest_id)) {
              const auto& caps = info.metadata.capabilities;
              auto version = caps.find(std::string(workload::kContentVersionCapability));
              const bool confirmed =
                  !liveness || liveness->state(info.metadata.node_id) == provider::NodeState::alive;
              out.push_back({info.metadata.node_id,
                             version == caps.end() ? std::string() : version->second, confirmed});
            }
            return out;
          },
      .place =
          [publisher = &w.publisher, loop = &w.loop](
              apply::ReplaceRequest req, std::function<void(Result<apply::PublishOutcome>)> done) {
            asio::co_spawn(
                loop->executor(),
                [publisher, req = std::move(req), done]() mutable -> asio::awaitable<void> {
                  try {
                    done(co_await publisher->replace(std::move(req)));
                  } catch (const std::exception& e) {
                    done(make_error("internal", e.what()));
                  }
                },
                asio::detached);
          },
      .remove =
          [workloads = &w.workloads](const std::string& manifest_id, const crypto::PublicKey& owner,
                                     std::function<void(Result<int>)> done) {
            workloads->remove_manifest_async(manifest_id, to_hex(owner), std::move(done));
          },
  };
  auto loop = std::make_unique<apply::ReconcileLoop>(apply::ReconcileSettings{}, std::move(parts));
  w.handlers.set_on_deployed(
      [l = loop.get()](const std::string& manifest_id, const crypto::PublicKey& owner,
                       const std::string& yaml) { l->remember(manifest_id, owner, yaml); });
  return loop;
}

}  // namespace beemesh::app
