// Declarative apply through an entry node's REST API: the owner's signed intent is compared
// with the desired state the mesh holds (created / unchanged / configured), and a delete's
// tombstone ends it.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "api/client.h"
#include "cli/owner_auth.h"
#include "crypto/grants.h"
#include "crypto/intent.h"
#include "manifest/manifest.h"
#include "mesh_fixture.h"

namespace beemesh::apply_test {
namespace {

class DeclarativeApplyTest : public MeshTest {
 protected:
  void SetUp() override {
    MeshTest::SetUp();
    client_ = api_as_owner(a());
    ASSERT_TRUE(eventually(
        [&] {
          auto nodes = client_->nodes();
          return nodes && nodes->size() == 3;
        },
        30s))
        << "A's directory never listed A, B and C";
  }
  void TearDown() override {
    client_.reset();  // its kept-alive connection would hold A's API server for 2 s
    MeshTest::TearDown();
  }

  // What `beemesh apply` sends: the apply grant naming A and the owner-signed intent.
  api::OwnerAuth auth_for(const std::string& yaml, int replicas, std::string pinned = {}) {
    const std::string mid = entry.manifest_id_of(yaml);
    auto auth = cli::apply_auth(entry.owner(), mid, to_hex(a().key()), system_clock(),
                                crypto::apply_content_hash(yaml, {}, 0, 0, replicas));
    EXPECT_TRUE(auth) << auth.error().to_string();
    auto parsed = manifest::parse(yaml, "test");
    EXPECT_TRUE(parsed);
    auth->intent_hex =
        cli::intent_hex(entry.owner(), mid, *parsed, yaml, replicas, pinned, system_clock());
    return *auth;
  }
  Result<api::ApplyOutcome> apply(const std::string& yaml, int replicas) {
    api::ApplyOptions options;
    options.replicas = replicas;
    auto auth = auth_for(yaml, replicas);
    // Intents of one owner are ordered by its clock in ms: two applies in one ms would
    // share a sequence.
    std::this_thread::sleep_for(2ms);
    return client_->apply(yaml, options, auth);
  }
  size_t workloads_in_mesh() {
    return a().engine->workload_count() + b().engine->workload_count() +
           c().engine->workload_count();
  }
  int deploy_calls() {
    return a().engine->deploy_calls() + b().engine->deploy_calls() + c().engine->deploy_calls();
  }
  static std::string edited(std::string yaml) {
    auto at = yaml.find("3600");
    yaml.replace(at, 4, "4000");
    return yaml;
  }

  std::unique_ptr<api::ApiClient> client_;
};

TEST_F(DeclarativeApplyTest, FirstApplyIsCreatedAndRecordsTheOwnersIntent) {
  const std::string yaml = deployment_yaml("first", 2);

  auto outcome = apply(yaml, 2);

  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(outcome->result, "created");
  EXPECT_EQ(outcome->replicas_placed, 2);
  auto desired = client_->desired_state(outcome->manifest_id);
  ASSERT_TRUE(desired) << desired.error().to_string();
  EXPECT_FALSE(desired->tombstone);
  EXPECT_EQ(desired->replicas, 2);
  EXPECT_EQ(desired->content_version, to_hex(crypto::content_version(yaml)));
  EXPECT_EQ(desired->name, "Deployment/first");
}

TEST_F(DeclarativeApplyTest, ReapplyingTheSameManifestIsUnchangedAndDeploysNothing) {
  const std::string yaml = deployment_yaml("same", 2);
  auto first = apply(yaml, 2);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(first->replicas_placed, 2);
  const int calls = deploy_calls();

  auto again = apply(yaml, 2);

  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->result, "unchanged");
  EXPECT_TRUE(again->placements.empty());
  EXPECT_EQ(deploy_calls(), calls) << "an unchanged apply reached an engine";
  EXPECT_EQ(workloads_in_mesh(), 2u);
}

TEST_F(DeclarativeApplyTest, UnchangedApplyRenewsTheRecordWithTheNewerIntent) {
  const std::string yaml = deployment_yaml("renewed", 1);
  auto first = apply(yaml, 1);
  ASSERT_TRUE(first) << first.error().to_string();
  auto before = client_->desired_state(first->manifest_id);
  ASSERT_TRUE(before) << before.error().to_string();

  auto again = apply(yaml, 1);

  ASSERT_TRUE(again) << again.error().to_string();
  ASSERT_EQ(again->result, "unchanged");
  auto after = client_->desired_state(first->manifest_id);
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_GT(after->sequence, before->sequence);
  EXPECT_EQ(after->content_version, before->content_version);
}

// The rest of the rollout is the reconcile loop's (HealOnPodman.AnEditedEnvValueIsRolled...).
TEST_F(DeclarativeApplyTest, EditedManifestIsConfiguredAndStartsOneReplicaOfTheNewVersionOnly) {
  const std::string yaml = deployment_yaml("edited", 2);
  auto first = apply(yaml, 2);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(first->replicas_placed, 2);

  auto configured = apply(edited(yaml), 2);

  ASSERT_TRUE(configured) << configured.error().to_string();
  EXPECT_EQ(configured->result, "configured");
  EXPECT_EQ(configured->manifest_id, first->manifest_id) << "the id ignores content";
  EXPECT_EQ(configured->replicas_placed, 1) << "surge 1, not a second set";
  EXPECT_EQ(workloads_in_mesh(), 3u);
  auto desired = client_->desired_state(first->manifest_id);
  ASSERT_TRUE(desired) << desired.error().to_string();
  EXPECT_EQ(desired->content_version, to_hex(crypto::content_version(edited(yaml))));
}

TEST_F(DeclarativeApplyTest, ScalingUpTheSameContentDeploysOnlyTheDifference) {
  const std::string yaml = deployment_yaml("scaled", 1);
  auto first = apply(yaml, 1);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(first->replicas_placed, 1);

  auto scaled = apply(yaml, 2);

  ASSERT_TRUE(scaled) << scaled.error().to_string();
  EXPECT_EQ(scaled->result, "configured");
  EXPECT_EQ(scaled->replicas_placed, 1);
  EXPECT_EQ(workloads_in_mesh(), 2u);
  auto desired = client_->desired_state(first->manifest_id);
  ASSERT_TRUE(desired);
  EXPECT_EQ(desired->replicas, 2);
}

TEST_F(DeclarativeApplyTest, IntentForOtherContentThanTheManifestIsRefusedAsIntentMismatch) {
  const std::string yaml = deployment_yaml("mismatch", 1);
  api::ApplyOptions options;
  options.replicas = 1;
  auto auth = auth_for(yaml, 1);
  auth.intent_hex = auth_for(edited(yaml), 1).intent_hex;

  auto outcome = client_->apply(yaml, options, auth);

  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, "intent_mismatch");
  EXPECT_EQ(workloads_in_mesh(), 0u);
}

TEST_F(DeclarativeApplyTest, IntentSignedByAnotherUserIsRefusedAsIntentMismatch) {
  const std::string yaml = deployment_yaml("forged", 1);
  api::ApplyOptions options;
  options.replicas = 1;
  auto auth = auth_for(yaml, 1);
  auto mallory = member_user("mallory");
  auth.intent_hex = cli::intent_hex(mallory, entry.manifest_id_of(yaml),
                                    *manifest::parse(yaml, "t"), yaml, 1, "", system_clock());

  auto outcome = client_->apply(yaml, options, auth);

  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, "intent_mismatch");
}

TEST_F(DeclarativeApplyTest, DeleteWithTheOwnersTombstoneEndsTheDesiredState) {
  const std::string yaml = deployment_yaml("ended", 1);
  auto first = apply(yaml, 1);
  ASSERT_TRUE(first) << first.error().to_string();
  api::OwnerAuth auth = cli::delete_auth(entry.owner(), first->manifest_id, system_clock());
  auth.intent_hex = cli::tombstone_hex(entry.owner(), first->manifest_id, system_clock());

  auto deleted = client_->delete_manifest(first->manifest_id, auth);

  ASSERT_TRUE(deleted) << deleted.error().to_string();
  auto desired = client_->desired_state(first->manifest_id);
  ASSERT_TRUE(desired) << desired.error().to_string();
  EXPECT_TRUE(desired->tombstone);
  EXPECT_EQ(workloads_in_mesh(), 0u);
}

TEST_F(DeclarativeApplyTest, DeleteReachesTheReplicaAndTheKeyShareHoldersOfTheDesiredState) {
  // One replica, three key shares (MeshOptions): one node runs it, every node holds a share,
  // and the desired-state record names the holders.
  const std::string yaml = deployment_yaml("held", 1);
  auto first = apply(yaml, 1);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_EQ(first->replicas_placed, 1);
  api::OwnerAuth auth = cli::delete_auth(entry.owner(), first->manifest_id, system_clock());
  auth.intent_hex = cli::tombstone_hex(entry.owner(), first->manifest_id, system_clock());

  auto deleted = client_->delete_manifest(first->manifest_id, auth);

  ASSERT_TRUE(deleted) << deleted.error().to_string();
  EXPECT_EQ(deleted->removed, 1);
  std::set<std::string> contacted;
  for (const auto& n : deleted->nodes) {
    EXPECT_TRUE(n.ok) << n.node_id << ": " << n.code << ": " << n.message;
    contacted.insert(n.node_id);
  }
  EXPECT_EQ(contacted, (std::set<std::string>{a().id(), b().id(), c().id()}));
  EXPECT_EQ(deleted->nodes.size(), 3u) << "a node that runs and holds it is asked once";
}

TEST_F(DeclarativeApplyTest, ApplyAfterADeleteIsCreatedAgain) {
  const std::string yaml = deployment_yaml("reborn", 1);
  auto first = apply(yaml, 1);
  ASSERT_TRUE(first) << first.error().to_string();
  api::OwnerAuth auth = cli::delete_auth(entry.owner(), first->manifest_id, system_clock());
  auth.intent_hex = cli::tombstone_hex(entry.owner(), first->manifest_id, system_clock());
  ASSERT_TRUE(client_->delete_manifest(first->manifest_id, auth));

  auto again = apply(yaml, 1);

  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->result, "created");
  EXPECT_EQ(again->replicas_placed, 1);
}

TEST_F(DeclarativeApplyTest, DesiredStateIsReadableThroughAnotherNodeAfterTheEntryNodeStops) {
  const std::string yaml = deployment_yaml("outlives", 1);
  auto first = apply(yaml, 1);
  ASSERT_TRUE(first) << first.error().to_string();

  stop(a());

  auto via_c = api_as_owner(c());
  auto desired = via_c->desired_state(first->manifest_id);
  ASSERT_TRUE(desired) << desired.error().to_string();
  EXPECT_EQ(desired->replicas, 1);
}

}  // namespace
}  // namespace beemesh::apply_test
