// The liveness verdict rules (provider/liveness_table.h), with time passed in by the test.
#include "provider/liveness_table.h"

#include <gtest/gtest.h>

namespace beemesh::provider {
namespace {

constexpr int64_t kDeadAfter = 7000;
constexpr int64_t kValidity = 10000;
constexpr int64_t kStart = 1'700'000'000'000;

HeartbeatSeen beat(uint64_t sequence, int64_t timestamp_ms, std::string node = "n1") {
  return HeartbeatSeen{std::move(node), sequence, timestamp_ms, kValidity};
}

class LivenessTableTest : public ::testing::Test {
 protected:
  LivenessTable table{kDeadAfter};
  int64_t now = kStart;
};

TEST_F(LivenessTableTest, NodeNeverObservedIsUnknown) {
  EXPECT_EQ(table.state("n1", now), NodeState::unknown);
}

TEST_F(LivenessTableTest, NodeIsAliveWhileItsSequenceAdvances) {
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    table.observe(beat(seq, now), now);
    EXPECT_EQ(table.state("n1", now), NodeState::alive) << "sequence " << seq;
    now += 2000;
  }
}

TEST_F(LivenessTableTest, NodeIsDeadWhenNoNewSequenceWasSeenForDeadAfter) {
  table.observe(beat(1, now), now);
  table.observe(beat(2, now + 2000), now + 2000);
  EXPECT_EQ(table.state("n1", now + 2000 + kDeadAfter), NodeState::alive);
  EXPECT_EQ(table.state("n1", now + 2000 + kDeadAfter + 1), NodeState::dead);
}

TEST_F(LivenessTableTest, RepeatedSightingsOfTheSameHeartbeatDoNotKeepANodeAlive) {
  table.observe(beat(1, now), now);
  table.observe(beat(2, now), now);
  for (int i = 1; i <= 5; ++i) table.observe(beat(2, now), now + i * 2000);
  EXPECT_EQ(table.state("n1", now + kDeadAfter + 1), NodeState::dead);
}

TEST_F(LivenessTableTest, RemoteClockDoesNotMatterOnceTheSequenceAdvances) {
  // The node's clock is 20 minutes behind ours: its timestamps look ancient, it is alive.
  const int64_t behind = now - 20 * 60'000;
  table.observe(beat(1, behind), now);
  table.observe(beat(2, behind + 2000), now + 2000);
  EXPECT_EQ(table.state("n1", now + 4000), NodeState::alive);
}

TEST_F(LivenessTableTest, FirstSightingIsAliveWhileTheHeartbeatIsWithinItsValidity) {
  table.observe(beat(1, now - 3000), now);
  EXPECT_EQ(table.state("n1", now), NodeState::alive);
}

TEST_F(LivenessTableTest, FirstSightingOfAHeartbeatOlderThanItsValidityIsDead) {
  table.observe(beat(1, now - kValidity - 1), now);
  EXPECT_EQ(table.state("n1", now), NodeState::dead);
}

TEST_F(LivenessTableTest, FirstSightingWithoutAnAdvanceTurnsDeadAfterDeadAfter) {
  // Dated ahead by our clock (its clock runs fast): the local bound still applies.
  table.observe(beat(1, now + 25'000), now);
  EXPECT_EQ(table.state("n1", now + kDeadAfter), NodeState::alive);
  EXPECT_EQ(table.state("n1", now + kDeadAfter + 1), NodeState::dead);
}

TEST_F(LivenessTableTest, CompletedReadWithoutHeartbeatMakesAnUnseenNodeDead) {
  table.observe_missing("n1", now);
  EXPECT_EQ(table.state("n1", now), NodeState::dead);
}

TEST_F(LivenessTableTest, CompletedReadWithoutHeartbeatChangesNothingForASeenNode) {
  table.observe(beat(1, now), now);
  table.observe(beat(2, now + 1000), now + 1000);
  table.observe_missing("n1", now + 2000);
  EXPECT_EQ(table.state("n1", now + 2000), NodeState::alive);
}

TEST_F(LivenessTableTest, DeathFromTheRecordAloneIsToldApartFromSilence) {
  table.observe_missing("gone", now);
  table.observe(beat(1, now - kValidity - 1, "stale"), now);
  table.observe(beat(1, now, "silent"), now);
  EXPECT_TRUE(table.dead_by_record("gone", now));
  EXPECT_TRUE(table.dead_by_record("stale", now));
  EXPECT_FALSE(table.dead_by_record("silent", now + kDeadAfter + 1));
  EXPECT_EQ(table.state("silent", now + kDeadAfter + 1), NodeState::dead);
}

TEST_F(LivenessTableTest, OlderSequenceIsIgnored) {
  table.observe(beat(5, now), now);
  EXPECT_FALSE(table.observe(beat(4, now + 1000), now + 1000));
  EXPECT_EQ(table.last_sign_of_life("n1"), now);
}

TEST_F(LivenessTableTest, DeadNodeIsAliveAgainOnANewSequence) {
  table.observe(beat(1, now), now);
  table.observe(beat(2, now), now + 1000);
  now += 1000 + kDeadAfter + 1;
  ASSERT_EQ(table.state("n1", now), NodeState::dead);
  table.observe(beat(3, now), now);
  EXPECT_EQ(table.state("n1", now), NodeState::alive);
}

TEST_F(LivenessTableTest, NodesAreJudgedIndependently) {
  table.observe(beat(1, now, "n1"), now);
  table.observe_missing("n2", now);
  EXPECT_EQ(table.state("n1", now), NodeState::alive);
  EXPECT_EQ(table.state("n2", now), NodeState::dead);
  EXPECT_EQ(table.state("n3", now), NodeState::unknown);
}

}  // namespace
}  // namespace beemesh::provider
