#include "scheduler/placement.h"

#include <gtest/gtest.h>

#include <map>

namespace beemesh::scheduler {
namespace {

constexpr int64_t kMi = 1024 * 1024;

Candidate node(std::string id, int64_t mem_mi, int64_t cpu_m) {
  return Candidate{id, "name-" + id, id + ":1", mem_mi * kMi, cpu_m};
}

std::map<std::string, int> count(const std::vector<Pick>& picks) {
  std::map<std::string, int> out;
  for (const auto& p : picks) ++out[p.node_id];
  return out;
}

TEST(Placement, SpreadsOneReplicaPerNodeWhileNodesLast) {
  auto picks = place({node("a", 1024, 2000), node("b", 1024, 2000), node("c", 1024, 2000)},
                     {.replicas = 3, .per_replica = {64 * kMi, 250}});
  EXPECT_EQ(count(picks), (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
}

TEST(Placement, PutsSeveralReplicasPerNodeWhenNodesRunOut) {
  auto picks = place({node("a", 1024, 2000), node("b", 1024, 2000)},
                     {.replicas = 5, .per_replica = {64 * kMi, 250}});
  ASSERT_EQ(picks.size(), 5u);
  auto c = count(picks);
  EXPECT_EQ(c["a"] + c["b"], 5);
  EXPECT_LE(std::abs(c["a"] - c["b"]), 1);
}

TEST(Placement, SkipsNodesWithoutRoom) {
  auto picks = place({node("small", 32, 2000), node("big", 1024, 2000)},
                     {.replicas = 1, .per_replica = {64 * kMi, 250}});
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].node_id, "big");
}

TEST(Placement, SkipsNodesWithoutCpu) {
  auto picks = place({node("busy", 1024, 100), node("idle", 1024, 2000)},
                     {.replicas = 2, .per_replica = {64 * kMi, 250}});
  EXPECT_EQ(count(picks), (std::map<std::string, int>{{"idle", 2}}));
}

TEST(Placement, ReturnsPartialWhenCapacityRunsOut) {
  auto picks = place({node("a", 128, 2000)}, {.replicas = 3, .per_replica = {64 * kMi, 250}});
  EXPECT_EQ(picks.size(), 2u);
}

TEST(Placement, ReturnsNothingWhenNoNodeHasRoom) {
  auto picks = place({node("a", 16, 2000)}, {.replicas = 1, .per_replica = {64 * kMi, 250}});
  EXPECT_TRUE(picks.empty());
}

TEST(Placement, PinnedNodeIsTheOnlyCandidateById) {
  auto picks =
      place({node("a", 4096, 2000), node("b", 1024, 2000)},
            {.replicas = 2, .per_replica = {64 * kMi, 250}, .pinned_node = "b", .exclude = {}});
  EXPECT_EQ(count(picks), (std::map<std::string, int>{{"b", 2}}));
}

TEST(Placement, PinnedNodeMayBeNamedByName) {
  auto picks = place(
      {node("a", 4096, 2000), node("b", 1024, 2000)},
      {.replicas = 1, .per_replica = {64 * kMi, 250}, .pinned_node = "name-b", .exclude = {}});
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].node_id, "b");
}

TEST(Placement, ExcludedNodesAreNotUsed) {
  auto picks =
      place({node("a", 4096, 2000), node("b", 1024, 2000)},
            {.replicas = 1, .per_replica = {64 * kMi, 250}, .pinned_node = "", .exclude = {"a"}});
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].node_id, "b");
}

TEST(Placement, PrefersTheNodeWithMostFreeMemoryFirst) {
  auto picks = place({node("a", 512, 2000), node("b", 2048, 2000)},
                     {.replicas = 1, .per_replica = {64 * kMi, 250}});
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].node_id, "b");
}

TEST(Placement, ZeroDemandStillSpreads) {
  auto picks = place({node("a", 0, 0), node("b", 0, 0)}, {.replicas = 2, .per_replica = {}});
  EXPECT_EQ(count(picks), (std::map<std::string, int>{{"a", 1}, {"b", 1}}));
}

}  // namespace
}  // namespace beemesh::scheduler
