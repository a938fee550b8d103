// The clock probe's round (app/clock_probe.h): a bounded random sample of the other nodes,
// so its traffic does not grow with the mesh.
#include <gtest/gtest.h>

#include <set>

#include "app/clock_probe.h"

namespace beemesh::app {
namespace {

std::vector<apply::NodeEntry> view(int n) {
  std::vector<apply::NodeEntry> out;
  for (int i = 0; i < n; ++i) {
    apply::NodeEntry e;
    e.node_id = "node-" + std::to_string(i);
    out.push_back(e);
  }
  return out;
}

TEST(ClockProbeTargets, AreAtMostKOtherNodesWithoutRepeatsAndNeverSelf) {
  std::mt19937_64 random(1);

  auto targets = clock_probe_targets(view(200), "node-3", kClockProbesPerRound, random);

  EXPECT_EQ(targets.size(), kClockProbesPerRound);
  std::set<std::string> ids;
  for (const auto& t : targets) ids.insert(t.node_id);
  EXPECT_EQ(ids.size(), targets.size());
  EXPECT_FALSE(ids.count("node-3"));
}

TEST(ClockProbeTargets, AreEveryOtherNodeOfASmallView) {
  std::mt19937_64 random(1);

  auto targets = clock_probe_targets(view(4), "node-0", kClockProbesPerRound, random);

  EXPECT_EQ(targets.size(), 3u);
}

TEST(ClockProbeTargets, ReachEveryNodeOfTheViewOverRounds) {
  std::mt19937_64 random(7);
  std::set<std::string> probed;

  for (int round = 0; round < 100; ++round) {
    for (const auto& t : clock_probe_targets(view(50), "node-0", kClockProbesPerRound, random)) {
      probed.insert(t.node_id);
    }
  }

  EXPECT_EQ(probed.size(), 49u);
}

}  // namespace
}  // namespace beemesh::app
