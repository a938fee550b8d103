// The capacity a node reports to an entry node (CapacityRequest -> CapacityReply): its
// configured capacity minus what the workloads it runs reserve (requests, else limits).
#include <gtest/gtest.h>

#include "mesh_fixture.h"

namespace beemesh::apply_test {
namespace {

class CapacityTest : public MeshTest {
 protected:
  // Applies a one-replica Deployment (limits 32Mi, 100m; no requests) on B, shares on A
  // and C.
  PreparedApply deploy_on_b(std::string_view name) {
    auto prepared = entry.prepare(deployment_yaml(name, 1), b(), {&a(), &c()}, 2);
    EXPECT_TRUE(prepared) << prepared.error().to_string();
    if (!prepared) return {};
    auto response = entry.send_apply(b(), entry.sign(prepared->request));
    EXPECT_TRUE(response && response->ok)
        << (response ? response->code + ": " + response->message : response.error().to_string());
    return std::move(*prepared);
  }

  protocol::CapacityReply capacity_of_b() {
    auto reply = entry.capacity(b());
    EXPECT_TRUE(reply) << reply.error().to_string();
    return reply ? *reply : protocol::CapacityReply{};
  }
};

TEST_F(CapacityTest, NodeRunningAWorkloadReportsItsContainersLimitsLessFreeMemoryAndCpu) {
  const auto before = capacity_of_b();
  ASSERT_GT(before.available_memory_bytes, 64 << 20);

  deploy_on_b("sized");
  const auto after = capacity_of_b();

  EXPECT_EQ(before.available_memory_bytes - after.available_memory_bytes, 32 << 20);
  EXPECT_EQ(before.available_cpu_millis - after.available_cpu_millis, 100);
}

TEST_F(CapacityTest, DeletedWorkloadGivesItsCapacityBack) {
  const auto before = capacity_of_b();
  auto prepared = deploy_on_b("short-lived");
  protocol::DeleteRequest req;
  req.request_id = runtime::new_workload_id();
  req.manifest_id = prepared.manifest_id;
  req.owner_public_key = entry.owner().public_key();
  auto deleted = entry.send_delete(b(), entry.sign_delete(entry.owner(), req));
  ASSERT_TRUE(deleted && deleted->ok);

  const auto after = capacity_of_b();

  EXPECT_EQ(after.available_memory_bytes, before.available_memory_bytes);
  EXPECT_EQ(after.available_cpu_millis, before.available_cpu_millis);
}

}  // namespace
}  // namespace beemesh::apply_test
