// The workload table: ownership of a workload, deploy reservations, and the total of what
// the workloads and reservations take of the node.
#include "workload/workload_table.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace beemesh::workload {
namespace {

using namespace std::chrono_literals;

WorkloadRecord record(const std::string& id, Resources reserved = {}) {
  WorkloadRecord r;
  r.id = id;
  r.manifest_id = "m1";
  r.owner = "0wner";
  r.reserved = reserved;
  return r;
}

TEST(WorkloadTable, OwnedWorkloadIsRefusedToASecondOwnerThatDoesNotWait) {
  WorkloadTable table;
  table.insert(record("a"));
  ASSERT_TRUE(table.acquire("a", /*wait=*/false));
  EXPECT_FALSE(table.acquire("a", /*wait=*/false));
  table.release("a");
  EXPECT_TRUE(table.acquire("a", /*wait=*/false));
}

TEST(WorkloadTable, WaitingOwnerGetsTheWorkloadOnceItIsReleased) {
  WorkloadTable table;
  table.insert(record("a"));
  ASSERT_TRUE(table.acquire("a", false));
  auto waiter = std::async(std::launch::async, [&] { return table.acquire("a", true); });
  EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout);
  table.release("a");
  EXPECT_TRUE(waiter.get());
}

TEST(WorkloadTable, WaitingOwnerGetsNothingWhenTheWorkloadIsErasedMeanwhile) {
  WorkloadTable table;
  table.insert(record("a"));
  ASSERT_TRUE(table.acquire("a", false));
  auto waiter = std::async(std::launch::async, [&] { return table.acquire("a", true); });
  EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout);
  table.erase("a");
  EXPECT_FALSE(waiter.get());
}

TEST(WorkloadTable, ReservedIdIsRefusedToASecondDeployUntilUnreserved) {
  WorkloadTable table;
  ASSERT_TRUE(table.reserve("a"));
  EXPECT_FALSE(table.reserve("a"));
  table.unreserve("a");
  EXPECT_TRUE(table.reserve("a"));
}

TEST(WorkloadTable, IdOfAWorkloadInTheTableCannotBeReserved) {
  WorkloadTable table;
  table.insert(record("a"));
  EXPECT_FALSE(table.reserve("a"));
}

TEST(WorkloadTable, DeployedWorkloadStaysOwnedByItsDeployUntilReleased) {
  WorkloadTable table;
  ASSERT_TRUE(table.reserve("a"));
  table.insert_owned(record("a"));
  EXPECT_FALSE(table.acquire("a", false));
  table.release("a");
  EXPECT_TRUE(table.acquire("a", false));
}

TEST(WorkloadTable, TotalCountsWorkloadsAndReservationsOnce) {
  WorkloadTable table;
  table.insert(record("a", {100, 10}));
  ASSERT_TRUE(table.reserve("b"));
  table.set_reservation("b", {20, 2});
  EXPECT_EQ(table.reserved_total(), (Resources{120, 12}));

  table.insert_owned(record("b", {20, 2}));  // the reservation becomes the workload's
  EXPECT_EQ(table.reserved_total(), (Resources{120, 12}));

  table.erase("a");
  EXPECT_EQ(table.reserved_total(), (Resources{20, 2}));
}

TEST(WorkloadTable, UpdateChangesTheEntryAndReturnsTheNewRecord) {
  WorkloadTable table;
  table.insert(record("a"));
  auto changed = table.update("a", [](WorkloadTable::Entry& e) { e.record.healthy = false; });
  ASSERT_TRUE(changed);
  EXPECT_FALSE(changed->healthy);
  EXPECT_FALSE(table.get("a")->healthy);
  EXPECT_FALSE(table.update("gone", [](WorkloadTable::Entry&) {}));
}

TEST(WorkloadTable, ProviderQueriesSeeOnlyHealthyWorkloadsOfTheManifest) {
  WorkloadTable table;
  auto a = record("a");
  a.engine = "mock";
  table.insert(a);
  EXPECT_EQ(table.healthy_engine("m1", "a"), "mock");
  EXPECT_FALSE(table.healthy_engine("m2", "a"));
  EXPECT_TRUE(table.any_healthy("m1"));
  table.update("a", [](WorkloadTable::Entry& e) { e.record.healthy = false; });
  EXPECT_FALSE(table.healthy_engine("m1", "a"));
  EXPECT_FALSE(table.any_healthy("m1"));
}

}  // namespace
}  // namespace beemesh::workload
