// From GET /containers/json entries to a workload's state.
#include "runtime/engines/docker/docker_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beemesh::runtime::docker {
namespace {

nlohmann::json entry(const std::string& pod, int pod_index, const std::string& role,
                     const std::string& container, const std::string& state,
                     const std::string& status = "Up 2 seconds") {
  nlohmann::json labels = {{"beemesh.io/manifest-id", "m1"},
                           {"beemesh.io/workload-id", "w1"},
                           {"beemesh.io/engine", "docker"},
                           {"beemesh.io/pod", pod},
                           {"beemesh.io/pod-index", std::to_string(pod_index)},
                           {"beemesh.io/role", role},
                           {"beemesh.io/restart-policy", "Always"}};
  if (role == "pause") {
    labels["beemesh.io/containers"] = container;
  } else {
    labels["beemesh.io/container"] = container;
    labels["beemesh.io/container-index"] = "0";
    labels["beemesh.io/ports"] = "8080/tcp";
  }
  return {{"Id", pod + "-" + role + "-id"},
          {"Names", {"/" + (role == "pause" ? pod : pod + "-" + container)}},
          {"Labels", labels},
          {"State", state},
          {"Status", status},
          {"Created", 1'700'000'000},
          {"Ports", nlohmann::json::array()}};
}

std::vector<ContainerView> views(const std::vector<nlohmann::json>& entries) {
  std::vector<ContainerView> out;
  for (const auto& e : entries) out.push_back(parse_container(e));
  return out;
}

TEST(ParseContainer, ReadsNameLabelsStateAndCreationTime) {
  auto v = parse_container(entry("web-0", 0, "container", "httpd", "running"));
  EXPECT_EQ(v.id, "web-0-container-id");
  EXPECT_EQ(v.name, "web-0-httpd");
  EXPECT_EQ(v.state, "running");
  EXPECT_EQ(v.created_s, 1'700'000'000);
  EXPECT_EQ(v.label("beemesh.io/container"), "httpd");
  EXPECT_FALSE(v.is_pause());
  EXPECT_EQ(v.exit_code, -1);
}

TEST(ParseContainer, TakesTheExitCodeFromTheStatusText) {
  auto v = parse_container(entry("p", 0, "container", "a", "exited", "Exited (137) 3 seconds ago"));
  EXPECT_EQ(v.exit_code, 137);
  auto unknown = parse_container(entry("p", 0, "container", "a", "exited", "Stopped"));
  EXPECT_EQ(unknown.exit_code, -1);
}

TEST(ParseContainer, ReadsPublishedPortsOnceEvenWhenListedPerAddressFamily) {
  auto e = entry("p", 0, "pause", "a", "running");
  e["Ports"] = nlohmann::json::parse(R"([
    {"IP":"0.0.0.0","PrivatePort":8080,"PublicPort":32768,"Type":"tcp"},
    {"IP":"::","PrivatePort":8080,"PublicPort":32768,"Type":"tcp"},
    {"IP":"127.0.0.1","PrivatePort":53,"PublicPort":5353,"Type":"udp"},
    {"PrivatePort":9000,"Type":"tcp"}])");
  auto v = parse_container(e);
  ASSERT_EQ(v.published.size(), 2u);
  EXPECT_EQ(v.published[0], (PortMapping{"", "", 8080, 32768, "TCP", ""}));
  EXPECT_EQ(v.published[1], (PortMapping{"", "", 53, 5353, "UDP", "127.0.0.1"}));
}

TEST(SummarizeWorkload, AllContainersRunningIsRunning) {
  auto info = summarize_workload(
      "w1",
      views({entry("p0", 0, "pause", "a", "running"), entry("p0", 0, "container", "a", "running")}),
      "docker");
  EXPECT_EQ(info.state, WorkloadState::Running);
  EXPECT_EQ(info.id, "w1");
  EXPECT_EQ(info.manifest_id, "m1");
  EXPECT_EQ(info.engine, "docker");
  EXPECT_EQ(info.restart_policy, "Always");
  EXPECT_EQ(info.created_at_ms, 1'700'000'000'000);
  EXPECT_EQ(info.pods, std::vector<std::string>{"p0"});
  EXPECT_EQ(info.message, "");
}

TEST(SummarizeWorkload, ANonZeroExitIsFailedAndNamesTheContainer) {
  auto info = summarize_workload(
      "w1",
      views({entry("p0", 0, "pause", "a", "running"),
             entry("p0", 0, "container", "a", "exited", "Exited (137) 1 second ago")}),
      "docker");
  EXPECT_EQ(info.state, WorkloadState::Failed);
  EXPECT_EQ(info.message, "container a of pod p0 exited (137)");
}

TEST(SummarizeWorkload, AZeroExitIsStopped) {
  auto info = summarize_workload(
      "w1",
      views({entry("p0", 0, "pause", "a", "running"),
             entry("p0", 0, "container", "a", "exited", "Exited (0) 1 second ago")}),
      "docker");
  EXPECT_EQ(info.state, WorkloadState::Stopped);
  EXPECT_EQ(info.message, "container a of pod p0 exited (0)");
}

TEST(SummarizeWorkload, ACreatedOrRestartingContainerIsPending) {
  auto info = summarize_workload("w1",
                                 views({entry("p0", 0, "pause", "a", "running"),
                                        entry("p0", 0, "container", "a", "restarting")}),
                                 "docker");
  EXPECT_EQ(info.state, WorkloadState::Pending);
  EXPECT_EQ(info.message, "container a of pod p0 is restarting");
}

TEST(SummarizeWorkload, AMissingContainerIsFailed) {
  auto info = summarize_workload("w1", views({entry("p0", 0, "pause", "a", "running")}), "docker");
  EXPECT_EQ(info.state, WorkloadState::Failed);
  EXPECT_EQ(info.message, "container a of pod p0 is missing");
}

TEST(SummarizeWorkload, AMissingPauseContainerIsFailed) {
  auto info =
      summarize_workload("w1", views({entry("p0", 0, "container", "a", "running")}), "docker");
  EXPECT_EQ(info.state, WorkloadState::Failed);
  EXPECT_EQ(info.message, "pause container of pod p0 is missing");
}

TEST(SummarizeWorkload, AFailureOutranksAStoppedContainerInAnotherPod) {
  auto info =
      summarize_workload("w1",
                         views({entry("p0", 0, "pause", "a", "running"),
                                entry("p0", 0, "container", "a", "exited", "Exited (0) now"),
                                entry("p1", 1, "pause", "a", "running"),
                                entry("p1", 1, "container", "a", "exited", "Exited (2) now")}),
                         "docker");
  EXPECT_EQ(info.state, WorkloadState::Failed);
  EXPECT_EQ(info.message, "container a of pod p1 exited (2)");
}

TEST(SummarizeWorkload, PodsComeInPodIndexOrder) {
  std::vector<nlohmann::json> entries;
  for (int i : {10, 2, 0}) {
    std::string pod = "web-" + std::to_string(i);
    entries.push_back(entry(pod, i, "container", "a", "running"));
    entries.push_back(entry(pod, i, "pause", "a", "running"));
  }
  auto info = summarize_workload("w1", views(entries), "docker");
  EXPECT_EQ(info.pods, (std::vector<std::string>{"web-0", "web-2", "web-10"}));
}

TEST(SummarizeWorkload, PublishedPortsAreAttributedToTheContainerDeclaringThem) {
  auto pause = entry("p0", 0, "pause", "a", "running");
  pause["Ports"] = nlohmann::json::parse(
      R"([{"IP":"127.0.0.1","PrivatePort":8080,"PublicPort":18080,"Type":"tcp"}])");
  auto info = summarize_workload("w1", views({pause, entry("p0", 0, "container", "a", "running")}),
                                 "docker");
  ASSERT_EQ(info.ports.size(), 1u);
  EXPECT_EQ(info.ports[0], (PortMapping{"p0", "a", 8080, 18080, "TCP", "127.0.0.1"}));
}

TEST(GroupByWorkload, GroupsByTheWorkloadLabelAndDropsUnlabelledContainers) {
  auto a = entry("p0", 0, "pause", "a", "running");
  auto b = entry("q0", 0, "pause", "a", "running");
  b["Labels"]["beemesh.io/workload-id"] = "w2";
  auto stray = entry("s", 0, "pause", "a", "running");
  stray["Labels"].erase("beemesh.io/workload-id");
  auto groups = group_by_workload(views({a, b, stray}));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups["w1"].size(), 1u);
  EXPECT_EQ(groups["w2"].size(), 1u);
}

}  // namespace
}  // namespace beemesh::runtime::docker
