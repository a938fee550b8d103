// How the CLI prints: tables, JSON, YAML, and the read-only commands that use them.
#include "cli/output.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "cli/cli_test_support.h"

namespace beemesh::cli {
namespace {

using api::testing::make_node;
using api::testing::make_provider;
using api::testing::make_workload;
using runtime::WorkloadState;
using testing::CliTest;

constexpr int64_t kNow = 1'700'000'000'000;

TEST(Table, AlignsColumnsWithThreeSpacesAndNoTrailingBlanks) {
  EXPECT_EQ(render_table({"NAME", "STATE"}, {{"web", "Running"}, {"database", ""}}),
            "NAME       STATE\n"
            "web        Running\n"
            "database\n");
}

TEST(Table, WithoutRowsPrintsTheHeaders) {
  EXPECT_EQ(render_table({"ID", "AGE"}, {}), "ID   AGE\n");
}

TEST(Yaml, QuotesStringsThatWouldReadAsOtherTypes) {
  api::Json j{{"id", "123"}, {"flag", "true"}, {"n", 5}, {"ok", true}, {"empty", ""}};
  std::string text = to_yaml(j);
  YAML::Node back = YAML::Load(text);
  EXPECT_EQ(back["id"].Tag(), "!");  // quoted -> a string
  EXPECT_EQ(back["id"].as<std::string>(), "123");
  EXPECT_EQ(back["flag"].as<std::string>(), "true");
  EXPECT_EQ(back["flag"].Tag(), "!");
  EXPECT_EQ(back["n"].as<int>(), 5);
  EXPECT_TRUE(back["ok"].as<bool>());
  EXPECT_EQ(back["empty"].as<std::string>(), "");
}

TEST(Yaml, PrintsNestedListsAsBlocks) {
  std::string text = to_yaml(api::Json{{"pods", {"a", "b"}}});
  EXPECT_EQ(text, "pods:\n  - a\n  - b\n");
}

TEST(Age, UsesTheLargestSensibleUnit) {
  EXPECT_EQ(format_age(kNow - 45'000, kNow), "45s");
  EXPECT_EQ(format_age(kNow - 12 * 60'000, kNow), "12m");
  EXPECT_EQ(format_age(kNow - 5 * 3'600'000, kNow), "5h");
  EXPECT_EQ(format_age(kNow - 3 * 86'400'000LL, kNow), "3d");
  EXPECT_EQ(format_age(kNow + 10'000, kNow), "0s");
  EXPECT_EQ(format_age(0, kNow), "<unknown>");
}

TEST(Ports, ShowHostAddressPortAndContainerPort) {
  runtime::PortMapping p;
  p.container_port = 8080;
  p.host_port = 31000;
  p.host_ip = "127.0.0.1";
  runtime::PortMapping q;
  q.container_port = 53;
  q.protocol = "UDP";
  EXPECT_EQ(format_ports({p, q}), "127.0.0.1:31000->8080/TCP,53/UDP");
  EXPECT_EQ(format_ports({}), "<none>");
}

TEST_F(CliTest, GetWorkloadsPrintsAKubectlStyleTable) {
  service.workload_list = {make_workload("1a2b3c4d5e6f7a8b", "m1", WorkloadState::Running, "bmA"),
                           make_workload("ffff0000ffff0000", "m22", WorkloadState::Pending, "")};
  service.workload_list[0].info.created_at_ms = kNow - 90'000;
  service.workload_list[1].info.created_at_ms = kNow - 3 * 60'000;
  auto r = run({"get", "workloads"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID                 MANIFEST   NODE     STATE     HEALTH    PODS   PORTS    AGE\n"
            "1a2b3c4d5e6f7a8b   m1         bmA      Running   healthy   1      <none>   90s\n"
            "ffff0000ffff0000   m22        <none>   Pending   healthy   1      <none>   3m\n");
}

TEST_F(CliTest, GetWorkloadsAsJsonIsTheApiDocument) {
  service.workload_list = {make_workload("w1", "m1", WorkloadState::Running, "bmA")};
  auto r = run({"get", "workloads", "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  api::Json j = api::Json::parse(r.out);
  ASSERT_EQ(j["workloads"].size(), 1u);
  EXPECT_EQ(j["workloads"][0]["id"], "w1");
  EXPECT_EQ(j["workloads"][0]["state"], "Running");
}

TEST_F(CliTest, GetNodesAsYamlReadsBack) {
  service.node_list = {service.self_info, make_node("bmB", "node-b", "podman")};
  auto r = run({"get", "nodes", "-o", "yaml"});
  EXPECT_EQ(r.code, 0) << r.err;
  YAML::Node y = YAML::Load(r.out);
  ASSERT_EQ(y["nodes"].size(), 2u);
  EXPECT_EQ(y["nodes"][0]["name"].as<std::string>(), "node-a");
  EXPECT_TRUE(y["nodes"][0]["self"].as<bool>());
  EXPECT_EQ(y["nodes"][1]["engine"].as<std::string>(), "podman");
}

TEST_F(CliTest, GetNodesShowsEachNodesClock) {
  auto far = make_node("bmB", "node-b", "podman");
  far.clock_skew_ms = -12'300;
  service.node_list = {service.self_info, far};
  auto r = run({"get", "nodes"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("CLOCK"), std::string::npos);
  EXPECT_NE(r.out.find("-12.3s (off)"), std::string::npos) << r.out;
}

TEST(Clock, FormatsSkewAndItsConsequence) {
  auto n = api::testing::make_node("bmB", "node-b", "podman");
  EXPECT_EQ(format_clock(n), "-");
  n.clock_skew_ms = 250;
  EXPECT_EQ(format_clock(n), "+0.2s");
  n.clock_skew_ms = 10'001;
  EXPECT_EQ(format_clock(n), "+10.0s (off)");
  n.clock_skew_ms = -31'000;
  EXPECT_EQ(format_clock(n), "-31.0s (refused)");
}

TEST_F(CliTest, GetNodesMarksThisNode) {
  service.node_list = {service.self_info};
  auto r = run({"get", "nodes"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("node-a (self)"), std::string::npos);
  EXPECT_TRUE(r.out.starts_with("NAME "));
}

TEST_F(CliTest, GetProvidersListsNodesRunningAManifest) {
  auto p = make_provider("m1", "bmB", "127.0.0.1:7402", "podman");
  p.timestamp_ms = kNow - 30'000;
  p.ttl_s = 300;
  service.provider_map["m1"] = {p};
  auto r = run({"get", "providers", "m1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NODE   ENDPOINT         ENGINE   ANNOUNCED   TTL\n"
            "bmB    127.0.0.1:7402   podman   30s         300s\n");
}

TEST_F(CliTest, DescribeWorkloadShowsEveryField) {
  auto w = make_workload("w1", "m1", WorkloadState::Running, "bmA");
  w.info.message = "all containers running";
  runtime::PortMapping port;
  port.pod = "web-w1-0";
  port.container = "web";
  port.container_port = 8080;
  port.host_port = 31000;
  port.host_ip = "127.0.0.1";
  w.info.ports = {port};
  service.workload_list = {w};
  auto r = run({"describe", "workload", "w1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Workload:       w1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("State:          Running\n"), std::string::npos);
  EXPECT_NE(r.out.find("Restart Policy: Always\n"), std::string::npos);
  EXPECT_NE(r.out.find("Message:        all containers running\n"), std::string::npos);
  EXPECT_NE(r.out.find("Pods:\n  web-w1-0\n"), std::string::npos);
  EXPECT_NE(r.out.find("127.0.0.1:31000->8080/TCP (pod web-w1-0, container web)"),
            std::string::npos);
}

TEST_F(CliTest, LogsPrintsTheLogsAndPassesTheTail) {
  service.workload_logs["w1"] = "one\ntwo";
  auto r = run({"logs", "w1", "--tail", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "one\ntwo\n");
  EXPECT_EQ(service.last_tail.load(), 2);
}

TEST_F(CliTest, VersionPrintsClientAndServerVersions) {
  auto r = run({"version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("client: "), std::string::npos);
  EXPECT_NE(r.out.find("server: "), std::string::npos);
  EXPECT_NE(r.out.find("node-a"), std::string::npos);
}

TEST_F(CliTest, VersionClientOnlyDoesNotNeedAServer) {
  auto r = run_raw({"beemesh", "--server", testing::closed_server_url(), "version", "--client"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.starts_with("client: "));
  EXPECT_EQ(r.out.find("server"), std::string::npos);
}

}  // namespace
}  // namespace beemesh::cli
