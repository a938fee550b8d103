// End to end, as an operator sees it: three `beemesh machine` processes on 127.0.0.1 with
// real Podman, driven through the `beemesh` CLI (and, for forged requests, straight at a
// node's RPC port). The suite applies examples/web.yaml with 2 replicas once and then checks
// one behaviour per test, in this order; the last test deletes the manifest.
// Needs: CONTAINERS_CONF, localhost/busybox:latest (scripts/setup-podman.sh), root, and
// BEEMESH_BINARY (ctest sets both variables). Missing Podman is a failure, never a skip.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "api/client.h"
#include "api/json.h"
#include "crypto/identity.h"
#include "e2e/direct_rpc.h"
#include "e2e/mesh.h"
#include "e2e/rest.h"
#include "e2e/suite.h"

namespace beemesh::e2e {
namespace {

using namespace std::chrono_literals;

const std::string kManifestLabel = "beemesh.io/manifest-id";
const std::string kWorkloadLabel = "beemesh.io/workload-id";
const std::string kWebYaml = std::string(BEEMESH_SOURCE_DIR) + "/examples/web.yaml";

// A pod for requests sent straight to a node's RPC port.
const std::string kDirectYaml = R"(apiVersion: v1
kind: Pod
metadata:
  name: e2e-direct
spec:
  containers:
    - name: idle
      image: localhost/busybox:latest
      command: ["sh", "-c", "echo e2e-direct up; exec sleep 3600"]
      resources:
        limits:
          memory: 32Mi
          cpu: 100m
)";

struct Replica {
  int node = -1;  // mesh index
  std::string workload_id;
  uint16_t port = 0;  // published host port of the web container
};

class MeshOnPodman : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    MeshOptions options;
    options.nodes = 3;
    auto mesh = start_mesh_on_podman(options);
    if (!mesh) {
      setup_error_ = mesh.error().message;
      return;
    }
    mesh_ = std::move(*mesh);
    // Apply through n1, as a user would.
    auto outcome = apply_and_track(*mesh_, 0, kWebYaml, 2);
    if (!outcome) {
      setup_error_ = outcome.error().message;
      return;
    }
    manifest_id_ = outcome->manifest_id;
    apply_outcome_ = *outcome;
  }

  static void TearDownTestSuite() { mesh_.reset(); }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  void TearDown() override {
    if (HasFailure() && mesh_) std::cerr << log_tails(*mesh_, 40);
  }

  static int index_of_node(const std::string& node_id) {
    return e2e::index_of_node(*mesh_, node_id);
  }

  // `beemesh ... -o json` through node i, parsed.
  static Result<api::Json> cli_json(int i, std::vector<std::string> args) {
    args.push_back("-o");
    args.push_back("json");
    auto r = mesh_->cli(i, args);
    if (!r || !r->success()) return make_error("cli_failed", describe(r));
    return api::parse_json(r->out);
  }

  static Result<std::vector<api::WorkloadView>> workloads_on(int i) {
    auto j = cli_json(i, {"get", "workloads"});
    if (!j) return j.error();
    return api::workloads_from_json(*j);
  }

  // Node ids `get providers` lists through node i; nullopt when the command failed.
  static std::optional<std::set<std::string>> provider_nodes(int i) {
    auto j = cli_json(i, {"get", "providers", manifest_id_});
    if (!j) return std::nullopt;
    auto providers = api::providers_from_json(*j);
    if (!providers) return std::nullopt;
    std::set<std::string> out;
    for (const auto& p : *providers) out.insert(p.metadata.node_id);
    return out;
  }

  // The two replicas as the nodes running them report them.
  static std::vector<Replica> replicas() {
    std::vector<Replica> out;
    for (const auto& p : apply_outcome_.placements) {
      if (!p.ok) continue;
      Replica r{index_of_node(p.node_id), p.workload_id, 0};
      if (r.node >= 0) {
        if (auto ws = workloads_on(r.node); ws) {
          for (const auto& w : *ws) {
            if (w.info.id == r.workload_id && !w.info.ports.empty()) {
              r.port = static_cast<uint16_t>(w.info.ports.front().host_port);
            }
          }
        }
      }
      out.push_back(r);
    }
    return out;
  }

  // GET /events of node i as the deployer (signed headers), calling on_event for each event
  // until it returns false or the stream ends (3 s without data ends it too).
  static void read_events(int i, const std::function<bool(const api::EventView&)>& on_event) {
    auto headers = mesh_->auth_headers(mesh_->deployer(), i, "GET", "/events");
    if (!headers) return;
    httplib::Client client("127.0.0.1", mesh_->node(i).api_port);
    client.set_connection_timeout(2s);
    client.set_read_timeout(3s);
    std::string buffer;
    (void)client.Get(
        "/events", httplib::Headers(headers->begin(), headers->end()),
        [&](const char* data, size_t size) {
          buffer.append(data, size);
          for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            if (line.rfind("data: ", 0) != 0) continue;
            auto json = api::parse_json(line.substr(6));
            auto event = json ? api::event_from_json(*json) : Result<api::EventView>(json.error());
            if (event && !on_event(*event)) return false;
          }
          return true;
        });
  }

  // The node that runs no replica.
  static int third_node() {
    std::set<int> used;
    for (const auto& p : apply_outcome_.placements) used.insert(index_of_node(p.node_id));
    for (int i = 0; i < mesh_->size(); ++i) {
      if (!used.count(i)) return i;
    }
    return -1;
  }

  static bool serves_page(uint16_t port) {
    auto page = http_get(port);
    return page && page->find("hello from beemesh") != std::string::npos;
  }

  static std::unique_ptr<Mesh> mesh_;
  static std::string setup_error_;
  static std::string manifest_id_;
  static api::ApplyOutcome apply_outcome_;
};

std::unique_ptr<Mesh> MeshOnPodman::mesh_;
std::string MeshOnPodman::setup_error_;
std::string MeshOnPodman::manifest_id_;
api::ApplyOutcome MeshOnPodman::apply_outcome_;

TEST_F(MeshOnPodman, ApplyWithTwoReplicasRunsThemOnTwoDifferentNodesThatServeHttp) {
  EXPECT_EQ(apply_outcome_.replicas_requested, 2);
  ASSERT_EQ(apply_outcome_.replicas_placed, 2);
  auto reps = replicas();
  ASSERT_EQ(reps.size(), 2u);
  EXPECT_NE(reps[0].node, reps[1].node) << "both replicas on one node";
  for (const auto& r : reps) {
    ASSERT_GE(r.node, 0) << "placement names an unknown node";
    SCOPED_TRACE("replica " + r.workload_id + " on " + mesh_->node(r.node).name);
    ASSERT_NE(r.port, 0) << "GET /workloads on its node shows no published port";
    auto pods = mesh_->pods_with_label(r.node, kWorkloadLabel, r.workload_id);
    ASSERT_TRUE(pods) << pods.error().to_string();
    EXPECT_EQ(pods->size(), 1u);
    EXPECT_TRUE(eventually([&] { return serves_page(r.port); }, 10s))
        << "http://127.0.0.1:" << r.port << "/ did not serve the page";
  }
  auto all = mesh_->pods_with_label(kManifestLabel, manifest_id_);
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(MeshOnPodman, ProvidersSeenFromTheThirdNodeAreExactlyTheTwoReplicaNodes) {
  int third = third_node();
  ASSERT_GE(third, 0);
  std::set<std::string> expected;
  for (const auto& p : apply_outcome_.placements) expected.insert(p.node_id);
  std::optional<std::set<std::string>> seen;
  bool matched = eventually(
      [&] {
        seen = provider_nodes(third);
        return seen == expected;
      },
      15s, 250ms);
  EXPECT_TRUE(matched) << "providers from " << mesh_->node(third).name << ": "
                       << ::testing::PrintToString(seen)
                       << ", expected: " << ::testing::PrintToString(expected);
}

TEST_F(MeshOnPodman, ReapplyingTheSameFileThroughAnotherNodeIsUnchangedAndTouchesNoPod) {
  auto before = mesh_->pods_with_label(kManifestLabel, manifest_id_);
  ASSERT_TRUE(before) << before.error().to_string();
  ASSERT_EQ(before->size(), 2u);

  auto again = cli_json(1, {"apply", "-f", kWebYaml, "--replicas", "2"});

  ASSERT_TRUE(again) << again.error().to_string();
  auto outcome = api::apply_outcome_from_json(*again);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(outcome->result, "unchanged");
  EXPECT_TRUE(outcome->placements.empty());
  auto after = mesh_->pods_with_label(kManifestLabel, manifest_id_);
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ(std::set<std::string>(after->begin(), after->end()),
            std::set<std::string>(before->begin(), before->end()))
      << "a pod was added, removed or replaced";
  // `beemesh rollout status` through the third node: 2 desired, 2 running, this file.
  auto status = cli_json(third_node(), {"rollout", "status", "-f", kWebYaml});
  ASSERT_TRUE(status) << status.error().to_string();
  EXPECT_EQ((*status)["desired"]["replicas"], 2);
  EXPECT_EQ((*status)["running"], 2);
  EXPECT_EQ((*status)["file_is_current_version"], true);
  EXPECT_EQ((*status)["complete"], true);
}

TEST_F(MeshOnPodman, LogsAndDescriptionOfEachReplicaAreReadableThroughEveryNode) {
  for (const auto& r : replicas()) {
    for (int i = 0; i < mesh_->size(); ++i) {
      SCOPED_TRACE("workload " + r.workload_id + " asked through " + mesh_->node(i).name);
      auto logs = mesh_->cli(i, {"logs", r.workload_id, "--tail", "20"});
      ASSERT_TRUE(logs && logs->success()) << describe(logs);
      EXPECT_NE(logs->out.find("web: serving /www on port 8080"), std::string::npos) << logs->out;
      auto described = cli_json(i, {"describe", "workload", r.workload_id});
      ASSERT_TRUE(described) << described.error().to_string();
      auto view = api::workload_from_json(*described);
      ASSERT_TRUE(view) << view.error().to_string();
      EXPECT_EQ(view->node_id, mesh_->node(r.node).node_id);
      EXPECT_EQ(view->info.manifest_id, manifest_id_);
    }
  }
}

TEST_F(MeshOnPodman, ForgedApplyRequestsSentToTheRpcPortAreRefusedAndDeployNothing) {
  DirectRpc rpc(*mesh_);
  int t = third_node();
  std::vector<TargetNode> nodes;
  for (int i = 0; i < mesh_->size(); ++i) {
    auto n = target_node(mesh_->node(i).public_key_hex, mesh_->node(i).rpc_endpoint());
    ASSERT_TRUE(n) << n.error().to_string();
    nodes.push_back(*n);
  }
  const auto& target = nodes[static_cast<size_t>(t)];
  // The test plays an admitted entry node acting for the deployer.
  auto owner = mesh_->identity_of(mesh_->deployer());
  ASSERT_TRUE(owner) << owner.error().to_string();
  auto entry = mesh_->admitted_node_identity("e2e-entry");
  ASSERT_TRUE(entry) << entry.error().to_string();
  auto prepared = prepare_apply(rpc, *owner, *entry, kDirectYaml, target, nodes, system_clock());
  ASSERT_TRUE(prepared) << prepared.error().to_string();
  mesh_->track_manifest(prepared->manifest_id);

  struct Forgery {
    std::string what;
    Bytes envelope;
    std::string expected_code;
  };
  std::vector<Forgery> forgeries;
  auto corrupted =
      with_corrupted_signature(crypto::sign_message(*entry, prepared->request, system_clock()));
  ASSERT_TRUE(corrupted) << corrupted.error().to_string();
  forgeries.push_back({"signature altered", *corrupted, "bad_signature"});
  auto stranger = crypto::Identity::generate();
  forgeries.push_back({"signed by a random key that is no member",
                       crypto::sign_message(stranger, prepared->request, system_clock()),
                       "no_credential"});
  auto other_member = mesh_->admitted_node_identity("e2e-other");
  ASSERT_TRUE(other_member) << other_member.error().to_string();
  forgeries.push_back({"signed by a member the owner never authorised",
                       crypto::sign_message(*other_member, prepared->request, system_clock()),
                       "unauthorized"});
  OffsetClock two_minutes_ago(-120'000);
  forgeries.push_back({"signed two minutes ago",
                       crypto::sign_message(*entry, prepared->request, two_minutes_ago),
                       "expired"});

  for (const auto& f : forgeries) {
    SCOPED_TRACE(f.what);
    auto answer = rpc.apply(target, f.envelope);
    ASSERT_TRUE(answer) << answer.error().to_string();
    EXPECT_FALSE(answer->ok);
    EXPECT_EQ(answer->code, f.expected_code) << answer->message;
    EXPECT_TRUE(answer->workload_id.empty());
  }
  auto pods = mesh_->pods_with_label(kManifestLabel, prepared->manifest_id);
  ASSERT_TRUE(pods) << pods.error().to_string();
  EXPECT_TRUE(pods->empty()) << "a forged request deployed " << pods->size() << " pod(s)";
  auto ws = workloads_on(t);
  ASSERT_TRUE(ws) << ws.error().to_string();
  for (const auto& w : *ws) EXPECT_NE(w.info.manifest_id, prepared->manifest_id);
}

TEST_F(MeshOnPodman, ReplayedApplyRequestIsRefusedAndDeploysNothingNew) {
  DirectRpc rpc(*mesh_);
  int t = third_node();
  std::vector<TargetNode> nodes;
  for (int i = 0; i < mesh_->size(); ++i) {
    auto n = target_node(mesh_->node(i).public_key_hex, mesh_->node(i).rpc_endpoint());
    ASSERT_TRUE(n) << n.error().to_string();
    nodes.push_back(*n);
  }
  const auto& target = nodes[static_cast<size_t>(t)];
  auto owner = mesh_->identity_of(mesh_->deployer());
  ASSERT_TRUE(owner) << owner.error().to_string();
  auto entry = mesh_->admitted_node_identity("e2e-entry");
  ASSERT_TRUE(entry) << entry.error().to_string();
  auto prepared = prepare_apply(rpc, *owner, *entry, kDirectYaml, target, nodes, system_clock());
  ASSERT_TRUE(prepared) << prepared.error().to_string();
  mesh_->track_manifest(prepared->manifest_id);

  // The captured request is genuine: sent once, it deploys.
  Bytes captured = crypto::sign_message(*entry, prepared->request, system_clock());
  auto first = rpc.apply(target, captured);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_TRUE(first->ok) << first->code << ": " << first->message;
  auto before = mesh_->pods_with_label(kManifestLabel, prepared->manifest_id);
  ASSERT_TRUE(before) << before.error().to_string();
  ASSERT_EQ(before->size(), 1u);

  auto replayed = rpc.apply(target, captured);
  ASSERT_TRUE(replayed) << replayed.error().to_string();
  EXPECT_FALSE(replayed->ok);
  EXPECT_EQ(replayed->code, "replay") << replayed->message;

  auto after = mesh_->pods_with_label(kManifestLabel, prepared->manifest_id);
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ(*after, *before) << "the replay changed the pods of the manifest";
  auto ws = workloads_on(t);
  ASSERT_TRUE(ws) << ws.error().to_string();
  EXPECT_EQ(std::count_if(ws->begin(), ws->end(),
                          [&](const api::WorkloadView& w) {
                            return w.info.manifest_id == prepared->manifest_id;
                          }),
            1);

  // The owner removes it again, through the same port.
  auto removed = rpc.remove(target, delete_envelope(*owner, prepared->manifest_id, system_clock()));
  ASSERT_TRUE(removed) << removed.error().to_string();
  EXPECT_TRUE(removed->ok) << removed->code << ": " << removed->message;
  EXPECT_EQ(removed->removed, 1u);
}

TEST_F(MeshOnPodman, HealthMonitorReportsUnhealthyThenRecoveredAfterPodmanKill) {
  auto reps = replicas();
  ASSERT_FALSE(reps.empty());
  const auto r = reps.front();
  ASSERT_NE(r.port, 0);
  auto containers = mesh_->podman(
      r.node, {"ps", "-q", "--no-trunc", "--filter",
               "label=" + kWorkloadLabel + "=" + r.workload_id, "--filter", "status=running"});
  ASSERT_TRUE(containers && containers->success()) << describe(containers);
  std::istringstream ids(containers->out);
  std::vector<std::string> to_kill;
  for (std::string id; std::getline(ids, id);) {
    if (id.empty()) continue;
    auto infra = mesh_->podman(r.node, {"inspect", "--format", "{{.IsInfra}}", id});
    if (infra && infra->success() && infra->out.find("true") == std::string::npos) {
      to_kill.push_back(id);
    }
  }
  ASSERT_FALSE(to_kill.empty()) << "no running container labelled with workload " << r.workload_id;
  for (const auto& id : to_kill) {
    auto killed = mesh_->podman(r.node, {"kill", id});
    ASSERT_TRUE(killed && killed->success()) << describe(killed);
  }

  // GET /events of the node running it: Unhealthy, then Recovered, for this workload.
  std::vector<api::EventView> seen;
  std::set<std::pair<std::string, int64_t>> dedupe;
  auto has_recovery = [&] {
    auto unhealthy = std::find_if(seen.begin(), seen.end(),
                                  [](const api::EventView& e) { return e.type == "Unhealthy"; });
    return unhealthy != seen.end() &&
           std::any_of(unhealthy, seen.end(),
                       [](const api::EventView& e) { return e.type == "Recovered"; });
  };
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!has_recovery() && std::chrono::steady_clock::now() < deadline) {
    (void)read_events(r.node, [&](const api::EventView& e) {
      if (e.workload_id == r.workload_id && dedupe.insert({e.type, e.time_ms}).second) {
        seen.push_back(e);
      }
      return !has_recovery();
    });
  }
  std::string story;
  for (const auto& e : seen) story += e.type + " (" + e.reason + "); ";
  EXPECT_TRUE(has_recovery()) << "events of " << r.workload_id << ": " << story;

  auto view = cli_json(r.node, {"describe", "workload", r.workload_id});
  ASSERT_TRUE(view) << view.error().to_string();
  EXPECT_EQ((*view)["health"], "healthy");
  EXPECT_EQ((*view)["state"], "Running");
  EXPECT_TRUE(eventually([&] { return serves_page(r.port); }, 10s))
      << "the restarted container does not serve on port " << r.port;
}

TEST_F(MeshOnPodman, KilledDaemonLeavesItsPodRunningAndReadoptsItOnRestart) {
  auto reps = replicas();
  // Not n1: every other node bootstraps to it.
  auto r = std::find_if(reps.begin(), reps.end(), [](const Replica& x) { return x.node != 0; });
  ASSERT_NE(r, reps.end());
  ASSERT_NE(r->port, 0);
  auto pods_before = mesh_->pods_with_label(r->node, kWorkloadLabel, r->workload_id);
  ASSERT_TRUE(pods_before) << pods_before.error().to_string();
  ASSERT_EQ(pods_before->size(), 1u);

  mesh_->kill9(r->node);
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(serves_page(r->port)) << "the pod stopped serving when its daemon was killed";
  auto running =
      mesh_->podman(r->node, {"pod", "ps", "-q", "--no-trunc", "--filter", "status=running",
                              "--filter", "label=" + kWorkloadLabel + "=" + r->workload_id});
  ASSERT_TRUE(running && running->success()) << describe(running);
  EXPECT_NE(running->out.find(pods_before->front()), std::string::npos)
      << "pod " << pods_before->front() << " is not running after kill -9 of its daemon";

  auto restarted = mesh_->restart(r->node);
  ASSERT_TRUE(restarted) << restarted.error().to_string();
  auto ws = workloads_on(r->node);
  ASSERT_TRUE(ws) << ws.error().to_string();
  auto adopted = std::find_if(ws->begin(), ws->end(), [&](const api::WorkloadView& w) {
    return w.info.id == r->workload_id;
  });
  ASSERT_NE(adopted, ws->end()) << "the restarted node does not list workload " << r->workload_id;
  EXPECT_EQ(adopted->info.state, runtime::WorkloadState::Running);
  EXPECT_EQ(ws->size(), 1u) << "the restarted node lists more workloads than it ran";
  auto pods_after = mesh_->pods_with_label(r->node, kWorkloadLabel, r->workload_id);
  ASSERT_TRUE(pods_after) << pods_after.error().to_string();
  EXPECT_EQ(*pods_after, *pods_before) << "the workload was redeployed instead of adopted";
  auto all = mesh_->pods_with_label(kManifestLabel, manifest_id_);
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->size(), 2u);
  EXPECT_TRUE(serves_page(r->port));
  std::set<std::string> expected;
  for (const auto& p : apply_outcome_.placements) expected.insert(p.node_id);
  EXPECT_TRUE(eventually([&] { return provider_nodes(third_node()) == expected; }, 15s, 250ms));
}

TEST_F(MeshOnPodman, DeleteRemovesEveryPodAndLeavesNoProviders) {
  int third = third_node();
  auto deleted = mesh_->cli(third, {"delete", "-f", kWebYaml});
  ASSERT_TRUE(deleted && deleted->success()) << describe(deleted);
  EXPECT_NE(deleted->out.find("2 workload(s) removed"), std::string::npos) << deleted->out;

  std::vector<std::string> left;
  EXPECT_TRUE(eventually(
      [&] {
        auto pods = mesh_->pods_with_label(kManifestLabel, manifest_id_);
        left = pods ? *pods : std::vector<std::string>{"?"};
        return left.empty();
      },
      30s, 250ms))
      << left.size() << " pod(s) still carry " << kManifestLabel << "=" << manifest_id_;
  std::optional<std::set<std::string>> providers;
  EXPECT_TRUE(eventually(
      [&] {
        providers = provider_nodes(third);
        return providers && providers->empty();
      },
      15s, 250ms))
      << "providers left: " << ::testing::PrintToString(providers);
  for (int i = 0; i < mesh_->size(); ++i) {
    auto ws = workloads_on(i);
    ASSERT_TRUE(ws) << ws.error().to_string();
    EXPECT_TRUE(ws->empty()) << mesh_->node(i).name << " still lists " << ws->size()
                             << " workload(s)";
  }
}

}  // namespace
}  // namespace beemesh::e2e
