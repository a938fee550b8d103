// runtime::podman JSON readers: what Podman 4.3's `ps --pod --format json` output means.
#include "runtime/engines/podman/podman_json.h"

#include <gtest/gtest.h>

namespace beemesh::runtime::podman {
namespace {

// Trimmed from real `podman ps -a --pod --format json` output (Podman 4.3.1).
constexpr const char* kPs = R"([
 {"Id": "infra1", "Names": ["afb97c0bc576-infra"], "Pod": "p1", "PodName": "web-w1-0",
  "State": "running", "ExitCode": 0, "IsInfra": true, "Created": 100,
  "Labels": {"io.buildah.version": "1.28.2"},
  "Ports": [{"host_ip": "127.0.0.1", "container_port": 8080, "host_port": 18931, "range": 1,
             "protocol": "tcp"}]},
 {"Id": "c1", "Names": ["web-w1-0-web"], "Pod": "p1", "PodName": "web-w1-0",
  "State": "running", "ExitCode": 0, "IsInfra": false, "Created": 101,
  "Labels": {"beemesh.io/manifest-id": "m1", "beemesh.io/workload-id": "w1",
             "beemesh.io/restart-policy": "OnFailure", "beemesh.io/port-8080-tcp": "web"},
  "Ports": [{"host_ip": "127.0.0.1", "container_port": 8080, "host_port": 18931, "range": 1,
             "protocol": "tcp"}]},
 {"Id": "c2", "Names": ["web-w1-0-side"], "Pod": "p1", "PodName": "web-w1-0",
  "State": "running", "ExitCode": 0, "IsInfra": false, "Created": 102,
  "Labels": {"beemesh.io/manifest-id": "m1", "beemesh.io/workload-id": "w1"},
  "Ports": [{"host_ip": "127.0.0.1", "container_port": 8080, "host_port": 18931, "range": 1,
             "protocol": "tcp"}]},
 {"Id": "c3", "Names": ["db-w2-0-db"], "Pod": "p2", "PodName": "db-w2-0",
  "State": "exited", "ExitCode": 137, "IsInfra": false, "Created": 200,
  "Labels": {"beemesh.io/manifest-id": "m2", "beemesh.io/workload-id": "w2"}, "Ports": null}
])";

TEST(ParsePs, ReadsEveryContainerField) {
  auto records = parse_ps(kPs);
  ASSERT_TRUE(records.ok()) << records.error().to_string();
  ASSERT_EQ(records->size(), 4u);
  const auto& web = (*records)[1];
  EXPECT_EQ(web.id, "c1");
  EXPECT_EQ(web.name, "web-w1-0-web");
  EXPECT_EQ(web.short_name(), "web");
  EXPECT_EQ(web.pod_name, "web-w1-0");
  EXPECT_EQ(web.state, "running");
  EXPECT_FALSE(web.is_infra);
  EXPECT_EQ(web.label("beemesh.io/workload-id"), "w1");
  ASSERT_EQ(web.ports.size(), 1u);
  EXPECT_EQ(web.ports[0], (ReportedPort{"127.0.0.1", 8080, 18931, "TCP"}));
  EXPECT_EQ((*records)[3].exit_code, 137);
  EXPECT_TRUE((*records)[3].ports.empty());
}

TEST(ParsePs, PortRangesExpandToOnePortEach) {
  auto records = parse_ps(R"([{"Id": "x", "Ports": [{"host_ip": "", "container_port": 80,
      "host_port": 8000, "range": 3, "protocol": "udp"}]}])");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ((*records)[0].ports.size(), 3u);
  EXPECT_EQ((*records)[0].ports[2], (ReportedPort{"", 82, 8002, "UDP"}));
}

TEST(ParsePs, EmptyAndNullMeanNoContainers) {
  EXPECT_TRUE(parse_ps("[]")->empty());
  EXPECT_TRUE(parse_ps("null")->empty());
}

TEST(ParsePs, NonJsonIsAnError) {
  auto records = parse_ps("CONTAINER ID  IMAGE  COMMAND");
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.error().code, "podman_output");
  EXPECT_FALSE(parse_ps("{}").ok());
}

TEST(WorkloadsFrom, GroupsContainersByWorkloadLabelAndSkipsInfra) {
  auto records = parse_ps(kPs);
  ASSERT_TRUE(records.ok());
  auto workloads = workloads_from(*records, "podman");
  ASSERT_EQ(workloads.size(), 2u);
  const auto& w1 = workloads[0];
  EXPECT_EQ(w1.id, "w1");
  EXPECT_EQ(w1.manifest_id, "m1");
  EXPECT_EQ(w1.engine, "podman");
  EXPECT_EQ(w1.state, WorkloadState::Running);
  EXPECT_EQ(w1.restart_policy, "OnFailure");
  EXPECT_EQ(w1.pods, std::vector<std::string>{"web-w1-0"});
  EXPECT_EQ(w1.created_at_ms, 101'000);
  ASSERT_EQ(w1.ports.size(), 1u);  // reported by each container, counted once
  EXPECT_EQ(w1.ports[0], (PortMapping{"web-w1-0", "web", 8080, 18931, "TCP", "127.0.0.1"}));
  const auto& w2 = workloads[1];
  EXPECT_EQ(w2.state, WorkloadState::Failed);
  EXPECT_EQ(w2.message, "container db-w2-0-db exited (137)");
  EXPECT_EQ(w2.restart_policy, "Always");  // no label: the Kubernetes default
}

TEST(WorkloadsFrom, PodsComeInReplicaOrder) {
  std::string json = "[";
  for (int i : {10, 2, 1, 0}) {
    if (json.size() > 1) json += ",";
    json += R"({"Id": "c)" + std::to_string(i) + R"(", "PodName": "web-w-)" + std::to_string(i) +
            R"(", "State": "running", "Labels": {"beemesh.io/workload-id": "w"}})";
  }
  json += "]";
  auto records = parse_ps(json);
  ASSERT_TRUE(records.ok());
  auto workloads = workloads_from(*records, "podman");
  ASSERT_EQ(workloads.size(), 1u);
  EXPECT_EQ(workloads[0].pods,
            (std::vector<std::string>{"web-w-0", "web-w-1", "web-w-2", "web-w-10"}));
}

ContainerRecord container(std::string name, std::string state, int exit_code = 0) {
  ContainerRecord record;
  record.name = std::move(name);
  record.state = std::move(state);
  record.exit_code = exit_code;
  return record;
}

DerivedState derive(const std::vector<ContainerRecord>& records, std::string_view policy) {
  std::vector<const ContainerRecord*> pointers;
  for (const auto& r : records) pointers.push_back(&r);
  return derive_state(pointers, policy);
}

TEST(DeriveState, RunningOnlyWhenEveryContainerRuns) {
  EXPECT_EQ(derive({container("a", "running"), container("b", "running")}, "Always").state,
            WorkloadState::Running);
  EXPECT_EQ(derive({container("a", "running"), container("b", "created")}, "Always").state,
            WorkloadState::Pending);
}

TEST(DeriveState, NonZeroExitIsFailedAndSaysWhich) {
  auto derived = derive({container("a", "running"), container("b", "exited", 1)}, "Always");
  EXPECT_EQ(derived.state, WorkloadState::Failed);
  EXPECT_EQ(derived.message, "container b exited (1)");
}

TEST(DeriveState, AllExitedCleanlyIsStopped) {
  auto derived = derive({container("a", "exited"), container("b", "stopped")}, "Never");
  EXPECT_EQ(derived.state, WorkloadState::Stopped);
}

TEST(DeriveState, CleanExitUnderRestartAlwaysIsFailed) {
  EXPECT_EQ(derive({container("a", "running"), container("b", "exited")}, "Always").state,
            WorkloadState::Failed);
  EXPECT_EQ(derive({container("a", "running"), container("b", "exited")}, "OnFailure").state,
            WorkloadState::Running);
}

TEST(DeriveState, PausedIsStoppedAndStrangeStatesAreUnknown) {
  EXPECT_EQ(derive({container("a", "paused")}, "Always").state, WorkloadState::Stopped);
  EXPECT_EQ(derive({container("a", "removing")}, "Always").state, WorkloadState::Unknown);
}

TEST(ParseIds, ReadsTheIdOfEveryObject) {
  auto ids = parse_ids(R"([{"Id": "a", "Name": "x"}, {"Id": "b"}])");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(parse_ids("POD ID  NAME").ok());
}

TEST(ParseVersion, PrefersTheServerVersion) {
  EXPECT_EQ(parse_version(R"({"Client": {"Version": "4.3.1"}})").value(), "4.3.1");
  EXPECT_EQ(
      parse_version(R"({"Client": {"Version": "4.3.1"}, "Server": {"Version": "4.4"}})").value(),
      "4.4");
  EXPECT_FALSE(parse_version("Version: 4.3.1").ok());
}

TEST(PortLabelKey, IsAValidLabelKeyPerPortAndProtocol) {
  EXPECT_EQ(port_label_key(8080, "TCP"), "beemesh.io/port-8080-tcp");
  EXPECT_EQ(port_label_key(53, "UDP"), "beemesh.io/port-53-udp");
}

}  // namespace
}  // namespace beemesh::runtime::podman

namespace beemesh::runtime::podman {
namespace {

TEST(PodmanJson, ReadsTheLibpodApisCreatedTimeGivenAsText) {
  auto records = parse_ps(
      R"([{"Id":"c1","Names":["web-main"],"State":"running","Created":"2026-11-30T05:30:13.23Z",)"
      R"("Labels":{"beemesh.io/workload-id":"0123456789abcdef"}}])");
  ASSERT_TRUE(records.ok()) << records.error().to_string();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].created_s, 1796016613);
}

}  // namespace
}  // namespace beemesh::runtime::podman
