// The reconcile rule (apply/reconcile.h decide()) and the checks a target makes on a
// placement authorised by the owner's intent (apply/intent_authorization.h).
#include <gtest/gtest.h>

#include <set>

#include "apply/intent_authorization.h"
#include "apply/reconcile.h"
#include "crypto/intent.h"
#include "manifest/manifest.h"

namespace beemesh::apply {
namespace {

const std::string kMid = "m-web";

std::vector<std::string> nodes(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("node-" + std::to_string(i));
  return out;
}

ReconcileView view_of(const std::string& self, const std::vector<std::string>& live, int replicas) {
  return {kMid, self, false, replicas, std::set<std::string>(live.begin(), live.end()), {}, {}};
}

TEST(ReconcileRule, EveryNodeAgreesOnTheRendezvousOrderWhateverTheInputOrder) {
  auto a = nodes(5);
  auto b = std::vector<std::string>(a.rbegin(), a.rend());
  EXPECT_EQ(rendezvous_order(a, kMid), rendezvous_order(b, kMid));
}

TEST(ReconcileRule, TheOrderDependsOnTheManifestSoLeadershipSpreads) {
  std::set<std::string> leaders;
  for (int m = 0; m < 20; ++m) {
    leaders.insert(rendezvous_order(nodes(5), "manifest-" + std::to_string(m)).front());
  }
  EXPECT_GT(leaders.size(), 1u);
}

TEST(ReconcileRule, OnlyTheLeaderPlacesTheMissingReplicas) {
  auto live = nodes(2);
  auto order = rendezvous_order(live, kMid);
  auto leader = decide(view_of(order[0], live, 3));
  EXPECT_EQ(leader.action, ReconcileAction::place);
  EXPECT_EQ(leader.count, 1);
  EXPECT_EQ(decide(view_of(order[1], live, 3)).action, ReconcileAction::none);
}

TEST(ReconcileRule, ExactlyTheNodesRankedBeyondTheCountRemoveThemselves) {
  auto live = nodes(5);
  auto order = rendezvous_order(live, kMid);
  int removing = 0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    auto d = decide(view_of(order[rank], live, 2));
    if (d.action == ReconcileAction::remove_self) {
      ++removing;
      EXPECT_GE(rank, 2u);
    }
  }
  EXPECT_EQ(removing, 3);
}

TEST(ReconcileRule, AnExcessReplicaStaysWhileANodeRankedBeforeItIsNotKnownAlive) {
  // The heal test's race: a node killed a minute ago reads `unknown` again (liveness cut off
  // from the DHT) and looks like a third replica.
  auto live = nodes(3);
  auto order = rendezvous_order(live, kMid);
  auto v = view_of(order[2], live, 2);
  v.unconfirmed = {order[0]};
  EXPECT_EQ(decide(v).action, ReconcileAction::none);
  v.unconfirmed.clear();
  EXPECT_EQ(decide(v).action, ReconcileAction::remove_self);
}

TEST(ReconcileRule, AnExcessReplicaLeavesWhenEnoughKnownAliveNodesRankBeforeIt) {
  auto live = nodes(4);
  auto order = rendezvous_order(live, kMid);
  auto v = view_of(order[3], live, 2);
  v.unconfirmed = {order[1]};  // order[0] and order[2] still rank before it, known alive
  EXPECT_EQ(decide(v).action, ReconcileAction::remove_self);
}

TEST(ReconcileRule, AShortfallCountsNodesNotKnownAliveAsLive) {
  auto live = nodes(2);
  auto order = rendezvous_order(live, kMid);
  auto v = view_of(order[0], live, 2);
  v.unconfirmed = {order[1]};
  EXPECT_EQ(decide(v).action, ReconcileAction::none);
}

TEST(ReconcileRule, TheDesiredCountDoesNothing) {
  auto live = nodes(2);
  for (const auto& n : live) EXPECT_EQ(decide(view_of(n, live, 2)).action, ReconcileAction::none);
}

TEST(ReconcileRule, ATombstoneMakesEveryNodeRemoveItsReplica) {
  auto v = view_of("node-1", nodes(2), 2);
  v.tombstone = true;
  EXPECT_EQ(decide(v).action, ReconcileAction::remove_self);
}

ReconcileView rolling_view(const std::string& self, const std::vector<std::string>& current,
                           const std::vector<std::string>& old, int replicas) {
  auto v = view_of(self, current, replicas);
  v.old = std::set<std::string>(old.begin(), old.end());
  return v;
}

TEST(ReconcileRule, ARollingUpdateWaitsForTheFirstNewReplicaBeforeAnOldOneLeaves) {
  auto old = nodes(2);
  for (const auto& n : old) {
    EXPECT_EQ(decide(rolling_view(n, {}, old, 2)).action, ReconcileAction::none);
  }
}

TEST(ReconcileRule, OnlyTheLastRankedOldReplicaLeavesWhileTheCountIsAboveTheIntent) {
  auto old = nodes(2);
  auto order = rendezvous_order(old, kMid);
  EXPECT_EQ(decide(rolling_view(order[1], {"new-0"}, old, 2)).action, ReconcileAction::remove_self);
  EXPECT_EQ(decide(rolling_view(order[0], {"new-0"}, old, 2)).action, ReconcileAction::none);
  // At the count (one new, one old) nobody leaves: the new leader places first.
  EXPECT_EQ(decide(rolling_view(order[0], {"new-0"}, {order[0]}, 2)).action, ReconcileAction::none);
}

TEST(ReconcileRule, AnOldReplicaStaysWhileTheNewOneIsNotKnownAlive) {
  auto old = nodes(2);
  auto order = rendezvous_order(old, kMid);
  auto v = rolling_view(order[1], {"new-0"}, old, 2);
  v.unconfirmed = {"new-0"};
  EXPECT_EQ(decide(v).action, ReconcileAction::none);
}

TEST(ReconcileRule, TheNewVersionsLeaderPlacesOneReplicaOfSurgeAtATime) {
  auto d = decide(rolling_view("new-0", {"new-0"}, {"old-0"}, 2));
  EXPECT_EQ(d.action, ReconcileAction::place);
  EXPECT_EQ(d.count, 1);
  // Already one above the count: wait for an old one to leave.
  EXPECT_EQ(decide(rolling_view("new-0", {"new-0"}, {"old-0", "old-1"}, 2)).action,
            ReconcileAction::none);
}

class IntentPlacement : public ::testing::Test {
 protected:
  crypto::Identity owner = crypto::Identity::generate();
  const std::string yaml =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
      "    - name: web\n      image: localhost/busybox:latest\n";

  protocol::DesiredIntent intent(uint64_t sequence, bool tombstone = false) const {
    protocol::DesiredIntent i{.tombstone = tombstone,
                              .manifest_id = kMid,
                              .owner_public_key = owner.public_key(),
                              .namespaces = {"default"},
                              .name = "Pod/web",
                              .sequence = sequence,
                              .replicas = tombstone ? 0u : 2u,
                              .issued_ms = 1};
    if (!tombstone) i.content_version = crypto::content_version(yaml);
    return i;
  }
  crypto::DesiredState state(const protocol::DesiredIntent& i) const { return {i, {}, {}}; }
};

TEST_F(IntentPlacement, TheOwnersIntentForThisManifestOpens) {
  auto opened =
      open_placement_intent(crypto::sign_intent(owner, intent(5)), kMid, owner.public_key());
  ASSERT_TRUE(opened) << opened.error().to_string();
  EXPECT_EQ(opened->sequence, 5u);
}

TEST_F(IntentPlacement, AnIntentForAnotherManifestIsRefusedAsIntentInvalid) {
  auto opened =
      open_placement_intent(crypto::sign_intent(owner, intent(5)), "other", owner.public_key());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "intent_invalid");
}

TEST_F(IntentPlacement, AnIntentOfAnotherOwnerIsRefusedAsIntentInvalid) {
  auto mallory = crypto::Identity::generate();
  auto i = intent(5);
  i.owner_public_key = mallory.public_key();
  auto opened = open_placement_intent(crypto::sign_intent(mallory, i), kMid, owner.public_key());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "intent_invalid");
}

TEST_F(IntentPlacement, ATombstoneAuthorisesNothing) {
  auto opened =
      open_placement_intent(crypto::sign_intent(owner, intent(5, true)), kMid, owner.public_key());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, "intent_tombstoned");
}

TEST_F(IntentPlacement, ARecordedTombstoneRefusesTheIntentAsIntentTombstoned) {
  auto refused = check_not_superseded(intent(5), state(intent(5, true)));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "intent_tombstoned");
}

TEST_F(IntentPlacement, ANewerRecordedIntentRefusesTheOlderAsIntentSuperseded) {
  auto refused = check_not_superseded(intent(5), state(intent(6)));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "intent_superseded");
}

TEST_F(IntentPlacement, TheSameOrNoRecordedIntentLetsItStand) {
  EXPECT_TRUE(check_not_superseded(intent(5), state(intent(5))));
  EXPECT_TRUE(check_not_superseded(intent(5), std::nullopt));
  EXPECT_TRUE(check_not_superseded(intent(7), state(intent(6, true))));
}

TEST_F(IntentPlacement, OtherContentThanTheIntentsVersionIsRefusedAsIntentWrongContent) {
  auto edited = yaml + "# edited\n";
  auto parsed = manifest::parse(edited, "test");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  auto refused = check_intent_content(intent(5), edited, *parsed, {}, "node-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "intent_wrong_content");
}

TEST_F(IntentPlacement, EnvOverridesAreRefusedAsIntentOverrides) {
  auto parsed = manifest::parse(yaml, "test");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_TRUE(check_intent_content(intent(5), yaml, *parsed, {}, "node-1"));
  protocol::ApplyRequest with_env;
  with_env.env = {{"SECRET", "x"}};
  auto refused = check_intent_content(intent(5), yaml, *parsed, with_env, "node-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "intent_overrides");
}

TEST_F(IntentPlacement, APinnedIntentIsRefusedOnAnotherNodeAsIntentWrongNode) {
  auto parsed = manifest::parse(yaml, "test");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  auto i = intent(5);
  i.pinned_node = "node-2";
  auto refused = check_intent_content(i, yaml, *parsed, {}, "node-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "intent_wrong_node");
}

}  // namespace
}  // namespace beemesh::apply
