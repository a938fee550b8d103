// Key reconstruction on the deploying node: k of n share holders are enough; fewer fail
// cleanly. Shares are spread over A, B and C (n = 3, k = 2) and the manifest goes to B.
#include <gtest/gtest.h>

#include "crypto/grants.h"
#include "mesh_fixture.h"

namespace beemesh::apply_test {
namespace {

class KeySharesTest : public MeshTest {
 protected:
  PreparedApply prepare_on_every_node(std::string_view name) {
    auto prepared = entry.prepare(pod_yaml(name), b(), {&a(), &b(), &c()}, 2);
    EXPECT_TRUE(prepared) << prepared.error().to_string();
    return prepared ? std::move(*prepared) : PreparedApply{};
  }

  Entry entry;
};

TEST_F(KeySharesTest, OneHolderDownButKSharesReachableStillDeploys) {
  auto prepared = prepare_on_every_node("one-down");
  stop(c());

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->get_workload_manifest(prepared.request.workload_id), prepared.yaml);
}

TEST_F(KeySharesTest, FewerThanKSharesReachableFailsAsTooFewSharesAndDeploysNothing) {
  auto prepared = prepare_on_every_node("two-down");
  stop(a());
  stop(c());

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "too_few_shares") << response->message;
  EXPECT_NE(response->message.find("got 1 of 2"), std::string::npos) << response->message;
  EXPECT_EQ(b().engine->workload_count(), 0u);
  EXPECT_EQ(b().engine->deploy_calls(), 0);
  EXPECT_TRUE(b()->workloads().list().empty());
}

TEST_F(KeySharesTest, KeyShareGrantNamingAnotherNodeGetsNoSharesAndDeploysNothing) {
  // E's key-share grant names C; the holders refuse to release shares to B.
  auto prepared = prepare_on_every_node("wrong-grantee");
  auto request = prepared.request;
  const int64_t now = system_clock().now_ms();
  request.grant = crypto::issue_grant(entry.node(), protocol::GrantAction::kKeyShare,
                                      prepared.manifest_id, c().key(), now, now + 60'000);

  auto response = entry.send_apply(b(), entry.sign(request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "too_few_shares") << response->message;
  EXPECT_NE(response->message.find("grant_wrong_node"), std::string::npos) << response->message;
  EXPECT_EQ(b().engine->workload_count(), 0u);
  EXPECT_EQ(b().engine->deploy_calls(), 0);
}

// Shares held for the same manifest id by another publisher must not stand in for the
// publisher's own: the holder keys its shares by (manifest id, share index) only.
TEST_F(KeySharesTest, ShareStoredByAStrangerForTheSameManifestDoesNotDisplaceThePublishersShare) {
  auto prepared = prepare_on_every_node("contested");
  auto stranger = crypto::Identity::generate();
  for (const auto& holder : prepared.request.applied_manifest.share_holders) {
    if (holder.node_id == b().id()) continue;
    Node& node = holder.node_id == a().id() ? a() : c();
    protocol::StoreShareRequest store;
    store.request_id = runtime::new_workload_id();
    store.manifest_id = prepared.manifest_id;  // public: it is the DHT key of the providers
    store.owner_public_key = stranger.public_key();
    store.share_index = holder.share_index;
    store.sealed_share = Bytes(82, 0x42);
    store.threshold = 2;
    auto stored = entry.store_share(stranger, node, store);
    ASSERT_TRUE(stored) << stored.error().to_string();
  }

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
}

// Only the manifest's owner may have a node drop what it keeps for the manifest; a node
// that runs no workload of it must not take a stranger's word either.
TEST_F(KeySharesTest, DeleteByAStrangerDoesNotDropTheSharesAHolderKeeps) {
  auto prepared = prepare_on_every_node("kept-shares");
  auto stranger = crypto::Identity::generate();
  protocol::DeleteRequest del;
  del.request_id = runtime::new_workload_id();
  del.manifest_id = prepared.manifest_id;
  del.owner_public_key = stranger.public_key();  // names itself owner
  for (Node* holder : {&a(), &c()}) {
    auto deleted = entry.send_delete(*holder, entry.sign_delete(stranger, del));
    ASSERT_TRUE(deleted) << deleted.error().to_string();
  }

  auto response = entry.send_apply(b(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
}

}  // namespace
}  // namespace beemesh::apply_test
