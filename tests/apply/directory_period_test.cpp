// The node directory's steady shard re-read period (apply/directory.h,
// steady_shard_refresh()): longer in a larger mesh, so that a node at rest reads about the
// same number of directory entries per kShardRefresh whatever the size of the mesh.
#include <gtest/gtest.h>

#include <chrono>

#include "apply/directory.h"

namespace beemesh::apply {
namespace {

using namespace std::chrono_literals;

// Entries a node reads per kShardRefresh when every shard holds `entries_per_shard`.
double entries_read_per_refresh(double entries_per_shard) {
  const double period_ms = static_cast<double>(steady_shard_refresh(entries_per_shard).count());
  const double refresh_ms = static_cast<double>(std::chrono::milliseconds(kShardRefresh).count());
  return static_cast<double>(kDirectoryShards) * entries_per_shard * refresh_ms / period_ms;
}

TEST(SteadyShardRefresh, IsKShardRefreshInAMeshOfUpTo128Nodes) {
  EXPECT_EQ(steady_shard_refresh(0), kShardRefresh) << "nothing read yet";
  EXPECT_EQ(steady_shard_refresh(1), kShardRefresh) << "64 nodes";
  EXPECT_EQ(steady_shard_refresh(2), kShardRefresh) << "128 nodes";
}

TEST(SteadyShardRefresh, GrowsInProportionToTheEntriesPerShardAbove128Nodes) {
  EXPECT_EQ(steady_shard_refresh(4), 2 * kShardRefresh) << "256 nodes";
  EXPECT_EQ(steady_shard_refresh(8), 4 * kShardRefresh) << "512 nodes";
  EXPECT_EQ(steady_shard_refresh(3), std::chrono::milliseconds(720'000)) << "192 nodes: 12 min";
}

TEST(SteadyShardRefresh, ReadsAboutKRereadEntriesPerPeriodEntriesPerKShardRefresh) {
  for (double e : {2.0, 3.0, 4.7, 7.5, 10.0, 15.6}) {
    EXPECT_NEAR(entries_read_per_refresh(e), double(kRereadEntriesPerPeriod), 0.01) << e;
  }
}

TEST(SteadyShardRefresh, IsCappedAtKShardRefreshMax) {
  EXPECT_EQ(steady_shard_refresh(16), kShardRefreshMax) << "1,024 nodes";
  EXPECT_EQ(steady_shard_refresh(50), kShardRefreshMax) << "full shards (max_providers)";
  EXPECT_EQ(steady_shard_refresh(1e300), kShardRefreshMax);
}

}  // namespace
}  // namespace beemesh::apply
