// After an apply: who may delete, queueing beyond the concurrency cap, and a node restart.
#include <gtest/gtest.h>

#include <set>

#include "api/client.h"
#include "crypto/grants.h"
#include "mesh_fixture.h"

namespace beemesh::apply_test {
namespace {

class LifecycleTest : public MeshTest {
 protected:
  // Applies `name` on B (shares on A and C); returns the prepared request.
  PreparedApply deploy_on_b(std::string_view name) {
    auto prepared = entry.prepare(pod_yaml(name), b(), {&a(), &c()}, 2);
    EXPECT_TRUE(prepared) << prepared.error().to_string();
    if (!prepared) return {};
    auto response = entry.send_apply(b(), entry.sign(prepared->request));
    EXPECT_TRUE(response && response->ok)
        << (response ? response->code + ": " + response->message : response.error().to_string());
    return std::move(*prepared);
  }

  protocol::DeleteRequest delete_request(const std::string& manifest_id,
                                         const crypto::PublicKey& owner) {
    protocol::DeleteRequest req;
    req.request_id = runtime::new_workload_id();
    req.manifest_id = manifest_id;
    req.owner_public_key = owner;
    return req;
  }
};

TEST_F(LifecycleTest, DeleteSignedByAnotherDeployerInTheOwnersNameIsRefusedAsUnauthorized) {
  auto prepared = deploy_on_b("keep-me");
  auto other = member_user("owner-u2");
  // A member deployer claims the owner's key but signs with its own and carries no
  // delete grant.
  auto wire =
      entry.sign_delete(other, delete_request(prepared.manifest_id, entry.owner().public_key()));

  auto response = entry.send_delete(b(), wire);

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "unauthorized") << response->message;
  EXPECT_EQ(response->removed, 0u);
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->remove_calls(), 0);
  EXPECT_EQ(b()->workloads().workloads_of(prepared.manifest_id).size(), 1u);
}

TEST_F(LifecycleTest, DeleteByANonMemberIsRefusedWithItsMembershipCode) {
  // Before membership this was "unauthorized" (no grant) or "forbidden" (not the owner);
  // now a stranger is not heard at all, whichever owner it names.
  auto prepared = deploy_on_b("keep-me-stranger");
  auto stranger = crypto::Identity::generate();
  for (const auto* named : {&entry.owner().public_key(), &stranger.public_key()}) {
    auto response = entry.send_delete(
        b(), entry.sign_delete(stranger, delete_request(prepared.manifest_id, *named)));

    ASSERT_TRUE(response) << response.error().to_string();
    EXPECT_FALSE(response->ok);
    EXPECT_EQ(response->code, "no_credential") << response->message;
    EXPECT_EQ(response->removed, 0u);
  }
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->remove_calls(), 0);
  EXPECT_EQ(b()->workloads().workloads_of(prepared.manifest_id).size(), 1u);
}

TEST_F(LifecycleTest, DeleteByAnotherDeployerRemovesNothingOfTheOwner) {
  // Before membership: refused as "forbidden". Now the delete is checked as the signer's
  // own (a member deployer naming itself owner is allowed to delete its own manifests)
  // and removes only the signer's workloads of that manifest id: none.
  auto prepared = deploy_on_b("keep-me-too");
  auto other = member_user("owner-u2");
  auto wire = entry.sign_delete(other, delete_request(prepared.manifest_id, other.public_key()));

  auto response = entry.send_delete(b(), wire);

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(response->removed, 0u);
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->remove_calls(), 0);
  EXPECT_EQ(b()->workloads().workloads_of(prepared.manifest_id).size(), 1u);
  EXPECT_TRUE(discovers_exactly(c(), prepared.manifest_id, {b().id()}));
}

TEST_F(LifecycleTest, DeleteByTheOwnerRemovesTheWorkloadAndTheNodeWithdraws) {
  auto prepared = deploy_on_b("remove-me");
  ASSERT_TRUE(discovers_exactly(a(), prepared.manifest_id, {b().id()}));
  ASSERT_TRUE(discovers_exactly(c(), prepared.manifest_id, {b().id()}));
  auto wire = entry.sign_delete(entry.owner(),
                                delete_request(prepared.manifest_id, entry.owner().public_key()));

  auto response = entry.send_delete(b(), wire);

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(response->removed, 1u);
  EXPECT_EQ(b().engine->workload_count(), 0u);
  EXPECT_TRUE(b()->workloads().workloads_of(prepared.manifest_id).empty());
  EXPECT_TRUE(discovers_exactly(a(), prepared.manifest_id, {}, 20s));
  EXPECT_TRUE(discovers_exactly(c(), prepared.manifest_id, {}, 20s));
}

class QueueingTest : public LifecycleTest {
 protected:
  MeshOptions options() const override {
    MeshOptions o;
    o.max_concurrent_deployments = 1;
    o.deploy_delay = 200ms;
    return o;
  }
};

TEST_F(QueueingTest, AppliesBeyondTheConcurrencyCapQueueAndAllSucceed) {
  constexpr int kApplies = 5;
  std::vector<PreparedApply> prepared;
  for (int i = 0; i < kApplies; ++i) {
    auto p = entry.prepare(pod_yaml("queued-" + std::to_string(i)), b(), {&a(), &c()}, 2);
    ASSERT_TRUE(p) << p.error().to_string();
    prepared.push_back(std::move(*p));
  }
  std::vector<std::future<Result<Bytes>>> replies;
  for (const auto& p : prepared) {
    replies.push_back(entry.send_apply_async(b(), entry.sign(p.request)));
  }

  std::set<std::string> workload_ids;
  for (size_t i = 0; i < replies.size(); ++i) {
    auto reply = replies[i].get();
    ASSERT_TRUE(reply) << "apply " << i << ": " << reply.error().to_string();
    auto response = entry.open_apply_response(b(), *reply);
    ASSERT_TRUE(response) << response.error().to_string();
    EXPECT_TRUE(response->ok) << "apply " << i << ": " << response->code << ": "
                              << response->message;
    workload_ids.insert(response->workload_id);
  }
  EXPECT_EQ(workload_ids.size(), static_cast<size_t>(kApplies));
  EXPECT_EQ(b().engine->workload_count(), static_cast<size_t>(kApplies));
  EXPECT_EQ(b().engine->deploy_calls(), kApplies);
  EXPECT_EQ(b()->workloads().list().size(), static_cast<size_t>(kApplies));
  for (const auto& p : prepared) {
    EXPECT_EQ(b().engine->get_workload_manifest(p.request.workload_id), p.yaml);
  }
}

TEST_F(LifecycleTest, RestartedNodeAdoptsItsWorkloadWithoutDuplicatingAndAnnouncesAgain) {
  auto prepared = deploy_on_b("survivor");
  ASSERT_TRUE(discovers_exactly(c(), prepared.manifest_id, {b().id()}));
  const std::string b_id = b().id();

  auto restarted = restart(b());

  ASSERT_TRUE(restarted) << restarted.error().to_string();
  EXPECT_EQ(b().id(), b_id);  // same data dir, same key
  auto records = b()->workloads().list();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].id, prepared.request.workload_id);
  EXPECT_EQ(records[0].manifest_id, prepared.manifest_id);
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->deploy_calls(), 1);  // adopted, not redeployed
  // The new announcement carries the restarted node's new RPC endpoint.
  const std::string endpoint = b()->rpc_endpoint();
  EXPECT_TRUE(eventually(
      [&] {
        auto seen = providers_seen_by(c(), prepared.manifest_id);
        return seen && seen->size() == 1 && seen->front().metadata.node_id == b_id &&
               seen->front().metadata.rpc_endpoint == endpoint;
      },
      30s, 250ms))
      << "C never saw B announced at " << endpoint;
}

TEST_F(LifecycleTest, DeleteByAHolderOfTheOwnersDeleteGrantRemovesTheWorkload) {
  auto prepared = deploy_on_b("delegated");
  auto operator_key = member_user("operator");
  auto req = delete_request(prepared.manifest_id, entry.owner().public_key());
  const int64_t now = system_clock().now_ms();
  req.grant =
      crypto::issue_grant(entry.owner(), protocol::GrantAction::kDelete, prepared.manifest_id,
                          operator_key.public_key(), now, now + 60'000);

  auto response = entry.send_delete(b(), entry.sign_delete(operator_key, req));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(response->removed, 1u);
  EXPECT_EQ(b().engine->workload_count(), 0u);
}

TEST_F(LifecycleTest, RequestReplayedAfterTheNodeRestartedDeploysNothingTwice) {
  // The replay cache lives in memory; after a restart the node accepts nothing signed
  // before it started (not_before), and the workload id, adopted from the state store,
  // keeps even a freshly signed copy of the same request from deploying a second copy.
  auto prepared = entry.prepare(pod_yaml("replayed-late"), b(), {&a(), &c()}, 2);
  ASSERT_TRUE(prepared) << prepared.error().to_string();
  Bytes wire = entry.sign(prepared->request);
  auto first = entry.send_apply(b(), wire);
  ASSERT_TRUE(first && first->ok);
  ASSERT_TRUE(restart(b()));

  auto again = entry.send_apply(b(), wire);

  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(again->ok);
  EXPECT_EQ(again->code, "replay_window_closed") << again->message;

  auto resigned = entry.send_apply(b(), entry.sign(prepared->request));

  ASSERT_TRUE(resigned) << resigned.error().to_string();
  EXPECT_FALSE(resigned->ok);
  EXPECT_EQ(resigned->code, "deploy_failed") << resigned->message;
  EXPECT_NE(resigned->message.find("already_exists"), std::string::npos) << resigned->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->deploy_calls(), 1);
  EXPECT_EQ(b()->workloads().list().size(), 1u);
}

}  // namespace
}  // namespace beemesh::apply_test
