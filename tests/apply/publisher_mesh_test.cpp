// The whole path through an entry node: a user applies through A's REST API; A places,
// encrypts, distributes shares and sends signed ApplyRequests; any node discovers the result.
#include <gtest/gtest.h>

#include <set>

#include "api/client.h"
#include "cli/owner_auth.h"
#include "crypto/grants.h"
#include "mesh_fixture.h"

namespace beemesh::apply_test {
namespace {

class PublisherMeshTest : public MeshTest {
 protected:
  // Waits until A's directory (DHT) lists A, B and C: A places only on nodes it knows.
  void wait_for_directory(api::ApiClient& api) {
    ASSERT_TRUE(eventually(
        [&] {
          auto nodes = api.nodes();
          return nodes && nodes->size() == 3;
        },
        30s))
        << "A's directory never listed A, B and C";
  }

  // What `beemesh apply` sends: an apply grant naming A that binds the manifest and its
  // replica count (cli apply_command).
  api::OwnerAuth apply_auth(const std::string& yaml, const std::string& manifest_id, int replicas) {
    auto auth = cli::apply_auth(entry.owner(), manifest_id, to_hex(a().key()), system_clock(),
                                crypto::apply_content_hash(yaml, {}, 0, 0, replicas));
    EXPECT_TRUE(auth) << auth.error().to_string();
    return auth ? *auth : api::OwnerAuth{};
  }

  size_t workloads_in_mesh() {
    return a().engine->workload_count() + b().engine->workload_count() +
           c().engine->workload_count();
  }
};

TEST_F(PublisherMeshTest, TwoReplicaApplyThroughTheApiLandsOnTwoNodesThatEveryNodeDiscovers) {
  auto client = api_as_owner(a());
  auto& api = *client;
  wait_for_directory(api);
  const std::string yaml = deployment_yaml("spread", 2);
  const std::string manifest_id = entry.manifest_id_of(yaml);
  api::OwnerAuth auth = apply_auth(yaml, manifest_id, 2);

  auto outcome = api.apply(yaml, api::ApplyOptions{}, auth);

  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(outcome->manifest_id, manifest_id);
  EXPECT_EQ(outcome->replicas_requested, 2);
  EXPECT_EQ(outcome->replicas_placed, 2);
  std::set<std::string> placed;
  for (const auto& p : outcome->placements) {
    EXPECT_TRUE(p.ok) << p.node_id << ": " << p.code << ": " << p.message;
    placed.insert(p.node_id);
    for (auto* n : {&a(), &b(), &c()}) {
      if (n->id() != p.node_id) continue;
      EXPECT_EQ(n->engine->get_workload_manifest(p.workload_id), yaml) << "on " << n->name;
    }
  }
  EXPECT_EQ(placed.size(), 2u) << "both replicas on one node";
  EXPECT_EQ(workloads_in_mesh(), 2u);

  EXPECT_TRUE(discovers_exactly(c(), manifest_id, placed));
  EXPECT_TRUE(discovers_exactly(a(), manifest_id, placed));
}

TEST_F(PublisherMeshTest, OwnerDeleteThroughTheApiRemovesEveryReplicaAndReachesOnlyItsNodes) {
  auto client = api_as_owner(a());
  auto& api = *client;
  wait_for_directory(api);
  const std::string yaml = deployment_yaml("short-lived", 2);
  const std::string manifest_id = entry.manifest_id_of(yaml);
  auto applied = api.apply(yaml, api::ApplyOptions{}, apply_auth(yaml, manifest_id, 2));
  ASSERT_TRUE(applied) << applied.error().to_string();
  ASSERT_EQ(applied->replicas_placed, 2);
  std::set<std::string> placed;
  for (const auto& p : applied->placements) placed.insert(p.node_id);
  ASSERT_TRUE(discovers_exactly(c(), manifest_id, placed));
  // The token is the owner-signed DeleteRequest envelope (with U's credential); A
  // forwards it unchanged to the providers A discovers (no intent: no desired-state record
  // names holders), each of which checks U as a member deployer. The third node, which
  // runs nothing of it, is not contacted (apply/delete_targets.h).
  api::OwnerAuth auth = cli::delete_auth(entry.owner(), manifest_id, system_clock());

  auto deleted = api.delete_manifest(manifest_id, auth);

  ASSERT_TRUE(deleted) << deleted.error().to_string();
  EXPECT_EQ(deleted->removed, 2);
  std::set<std::string> contacted;
  for (const auto& n : deleted->nodes) {
    EXPECT_TRUE(n.ok) << n.node_id << ": " << n.code << ": " << n.message;
    contacted.insert(n.node_id);
  }
  EXPECT_EQ(contacted, placed);
  EXPECT_EQ(deleted->nodes.size(), placed.size());
  EXPECT_EQ(workloads_in_mesh(), 0u);
  EXPECT_TRUE(discovers_exactly(c(), manifest_id, {}, 20s));
}

TEST_F(PublisherMeshTest, SecondApplyLandsOnAnotherNodeBecauseTheFirstNodesFreeCapacityDropped) {
  auto client = api_as_owner(a());
  auto& api = *client;
  wait_for_directory(api);
  // Equal nodes: placement takes the one with the most free memory, ties by node id, so
  // without truthful capacity both single-replica applies would land on the same node.
  const std::string first_yaml = deployment_yaml("first", 1);
  const std::string first_id = entry.manifest_id_of(first_yaml);
  auto first = api.apply(first_yaml, api::ApplyOptions{}, apply_auth(first_yaml, first_id, 1));
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(first->placements.size(), 1u);
  const std::string first_node = first->placements[0].node_id;
  Node* runs_first = nullptr;
  for (auto* n : {&a(), &b(), &c()}) {
    if (n->id() == first_node) runs_first = n;
  }
  ASSERT_NE(runs_first, nullptr);
  // Its capacity reply now subtracts the container's limit (32Mi, 100m; no request).
  EXPECT_EQ((*runs_first)->workloads().reserved(), (workload::Resources{32 << 20, 100}));

  const std::string second_yaml = deployment_yaml("second", 1);
  const std::string second_id = entry.manifest_id_of(second_yaml);
  auto second = api.apply(second_yaml, api::ApplyOptions{}, apply_auth(second_yaml, second_id, 1));

  ASSERT_TRUE(second) << second.error().to_string();
  ASSERT_EQ(second->placements.size(), 1u);
  EXPECT_TRUE(second->placements[0].ok) << second->placements[0].message;
  EXPECT_NE(second->placements[0].node_id, first_node);
}

}  // namespace
}  // namespace beemesh::apply_test
