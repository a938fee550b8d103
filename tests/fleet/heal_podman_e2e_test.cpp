// Self-healing on a fleet (issue 13): five network-namespace machines (scripts/fleet.sh),
// each with its own daemon and Podman. A web Deployment with 2 replicas is applied through
// machine 1 once; the tests then run in this order on that one mesh:
//   1. kill -9 a machine holding a replica (daemon and pods: fleet.sh kill) and a second
//      machine (2 of the 5 key-share holders gone) -> a replacement Running and serving on
//      another machine, the dead one gone from `get providers` everywhere (and how long);
//   2. cut a replica machine's link -> a replacement; heal it -> exactly 2 again;
//   3. scale to 3, then to 1 -> the count converges each time; re-applying the same file
//      says `unchanged` and restarts no container; an edited env value is rolled one
//      replica at a time while a client polling every replica every 100 ms always gets the
//      page;
//   4. kill a replica machine and delete the manifest the moment a survivor starts placing
//      the replacement -> nothing left or re-placed; the machines killed before boot again
//      and remove their stale replicas themselves (they missed the delete).
// Needs root, ip/nsenter, Podman with CONTAINERS_CONF and localhost/busybox:latest,
// BEEMESH_BINARY and BEEMESH_FLEET_SCRIPT (ctest sets them). Anything missing fails every
// test with the reason, never a skip.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "api/json.h"
#include "common/process.h"
#include "e2e/mesh.h"
#include "e2e/suite.h"
#include "fleet_harness.h"

namespace beemesh::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kPrefix = "bmht";
const std::string kSubnet = "10.79.0";
constexpr int kMachines = 5;
const std::string kManifestLabel = "beemesh.io/manifest-id";
const std::string kPage = "hello from a healed mesh";
const std::string kWebYaml = R"yaml(apiVersion: apps/v1
kind: Deployment
metadata:
  name: heal-web
  labels:
    app: heal-web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: heal-web
  template:
    metadata:
      labels:
        app: heal-web
    spec:
      containers:
        - name: web
          image: localhost/busybox:latest
          command: ["sh", "-c"]
          env:
            - name: RELEASE
              value: "1"
          args:
            - |
              mkdir -p /www
              echo "hello from a healed mesh" > /www/index.html
              exec httpd -f -p 8080 -h /www
          ports:
            - containerPort: 8080
          resources:
            limits:
              memory: 64Mi
              cpu: 100m
)yaml";

class HealOnPodman : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setup_error_ = set_up(); }

  static std::string set_up() {
    if (auto why = harness_.up(); !why.empty()) return why;
    fleet_dir_ = harness_.dir();
    machine_of_ = harness_.machine_of();
    manifest_file_ = fleet_dir_ / "heal-web.yaml";
    {
      std::ofstream out(manifest_file_);
      out << kWebYaml;
    }
    auto applied = cli_json(1, {"apply", "-f", manifest_file_.string()});
    if (!applied) return "beemesh apply through machine 1 failed: " + applied.error().to_string();
    auto outcome = api::apply_outcome_from_json(*applied);
    if (!outcome) return "apply printed no outcome: " + outcome.error().to_string();
    if (outcome->replicas_placed != 2)
      return "apply placed " + std::to_string(outcome->replicas_placed);
    manifest_id_ = outcome->manifest_id;
    return "";
  }

  static void TearDownTestSuite() { harness_.down(); }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  void TearDown() override {
    if (HasFailure()) harness_.print_logs(40);
  }

  static Result<ProcessResult> fleet(std::vector<std::string> args,
                                     std::chrono::milliseconds timeout = 120s) {
    return harness_.fleet(std::move(args), timeout);
  }

  static Result<ProcessResult> in_machine(int m, std::vector<std::string> command) {
    return harness_.in_machine(m, std::move(command), 30s);
  }

  static Result<api::Json> cli_json(int m, std::vector<std::string> args) {
    return harness_.cli_json(m, std::move(args), 30s);
  }

  // Machines that run a pod of the manifest (any state), among `machines`.
  static std::set<int> machines_with_pods(const std::set<int>& machines) {
    std::set<int> out;
    for (int m : machines) {
      auto r = in_machine(m, {"podman", "pod", "ls", "-q", "--filter",
                              "label=" + kManifestLabel + "=" + manifest_id_});
      if (r && r->success() && r->out.find_first_not_of(" \n") != std::string::npos) {
        out.insert(m);
      }
    }
    return out;
  }

  static std::optional<std::set<int>> provider_machines(int m) {
    auto j = cli_json(m, {"get", "providers", manifest_id_});
    if (!j) return std::nullopt;
    auto providers = api::providers_from_json(*j);
    if (!providers) return std::nullopt;
    std::set<int> out;
    for (const auto& p : *providers) {
      auto it = machine_of_.find(p.metadata.node_id);
      out.insert(it == machine_of_.end() ? 0 : it->second);
    }
    return out;
  }

  // The page of the manifest's workload on machine `m`, fetched from machine `from`.
  static bool serves(int m, int from) {
    auto j = cli_json(m, {"get", "workloads"});
    if (!j) return false;
    auto ws = api::workloads_from_json(*j);
    if (!ws) return false;
    for (const auto& w : *ws) {
      if (w.info.manifest_id != manifest_id_ || w.info.ports.empty()) continue;
      const auto& port = w.info.ports.front();
      auto got =
          in_machine(from, {"curl", "-fsS", "--max-time", "2",
                            "http://" + port.host_ip + ":" + std::to_string(port.host_port) + "/"});
      if (got && got->success() && got->out.find(kPage) != std::string::npos) return true;
    }
    return false;
  }

  // Every machine in `observers` lists exactly `expected` as providers.
  static bool all_list(const std::set<int>& observers, const std::set<int>& expected) {
    for (int m : observers) {
      if (provider_machines(m) != expected) return false;
    }
    return true;
  }

  static std::set<int> except(std::set<int> machines, const std::set<int>& gone) {
    for (int g : gone) machines.erase(g);
    return machines;
  }

  static std::set<int> all_machines() {
    std::set<int> out;
    for (int m = 1; m <= kMachines; ++m) out.insert(m);
    return out;
  }

  // Waits until `count` machines among `up` run a pod and every one of `up` lists exactly
  // those as providers, and that holds for `stable`.
  static std::optional<std::set<int>> converge(const std::set<int>& up, size_t count,
                                               std::chrono::seconds timeout,
                                               std::chrono::seconds stable = 6s) {
    std::optional<std::set<int>> last;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      auto pods = machines_with_pods(up);
      if (pods.size() == count && all_list(up, pods)) {
        if (last != pods) since = std::chrono::steady_clock::now();
        last = pods;
        if (std::chrono::steady_clock::now() - since >= stable) return last;
      } else {
        last.reset();
      }
      std::this_thread::sleep_for(500ms);
    }
    return std::nullopt;
  }

  static inline std::string setup_error_;
  static inline FleetHarness harness_{{.prefix = kPrefix,
                                       .subnet = kSubnet,
                                       .machines = kMachines,
                                       .dir_name = "beemesh-heal-test",
                                       .memory = {}}};
  static inline fs::path fleet_dir_;
  static inline fs::path manifest_file_;
  static inline std::map<std::string, int> machine_of_;
  static inline std::string manifest_id_;
  static inline std::set<int> dead_;  // machines killed by a test, not started again
};

TEST_F(HealOnPodman, AKilledReplicaMachineIsReplacedOnAnotherAndLeavesGetProvidersEverywhere) {
  auto before = converge(all_machines(), 2, 60s, 2s);
  ASSERT_TRUE(before) << "the apply's 2 replicas are not both listed everywhere";
  const int victim = *before->rbegin();
  const int survivor = *before->begin();
  // Every machine holds one of the 5 key shares (n = 5, k = 3): a second machine, running
  // no replica, dies with the victim, so 2 of the 5 share holders are gone.
  int second = kMachines;
  while (before->count(second) || second == 1) --second;
  const auto killed_at = std::chrono::steady_clock::now();
  for (int m : {victim, second}) {
    auto killed = fleet({"kill", std::to_string(m)});
    ASSERT_TRUE(killed && killed->success()) << describe(killed);
    dead_.insert(m);
  }
  const auto up = except(all_machines(), dead_);
  // A replacement on a third machine serves the page.
  std::optional<int> replacement;
  ASSERT_TRUE(eventually(
      [&] {
        for (int m : except(up, {survivor})) {
          if (serves(m, survivor)) {
            replacement = m;
            return true;
          }
        }
        return false;
      },
      60s, 500ms))
      << "no replacement serving within 60 s of killing machines " << victim << " and " << second;
  const auto serving_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed_at);
  std::cout << "replacement on machine " << *replacement << " serving " << serving_ms.count()
            << " ms after machines " << victim << " (replica) and " << second
            << " (share holder) were killed\n";
  auto after = converge(up, 2, 30s);
  ASSERT_TRUE(after) << "the live machines do not agree on exactly 2 providers";
  EXPECT_EQ(*after, (std::set<int>{survivor, *replacement}));
  EXPECT_EQ(after->count(victim), 0u);
}

TEST_F(HealOnPodman, ACutReplicaMachineIsReplacedAndAfterHealTheCountReturnsToExactlyTwo) {
  const auto up = except(all_machines(), dead_);
  auto before = converge(up, 2, 60s, 2s);
  ASSERT_TRUE(before);
  // Not machine 1, which every other machine bootstraps its DHT to (kept from when a healed
  // machine's DHT stayed isolated; docs/notes/dht.md "Rejoin after a cut link").
  const int cut_machine = *before->rbegin() != 1 ? *before->rbegin() : *before->begin();
  auto cut = fleet({"cut", std::to_string(cut_machine)});
  ASSERT_TRUE(cut && cut->success()) << describe(cut);
  const auto reachable = except(up, {cut_machine});
  auto replaced = converge(reachable, 2, 60s, 2s);
  EXPECT_TRUE(replaced) << "no replacement for the cut machine " << cut_machine;
  auto healed = fleet({"heal", std::to_string(cut_machine)});
  ASSERT_TRUE(healed && healed->success()) << describe(healed);
  auto after = converge(up, 2, 90s, 8s);
  if (!after) {
    // Was half the runs before the DHT watchdog restarted its runner after a rejoin (the
    // healed machine's OpenDHT searches stayed without nodes; notes/dht.md "Rejoin after a
    // cut link"). Should it happen again, a restart of its daemon ends it, so that the next
    // tests start from a whole mesh; this test still fails.
    (void)fleet({"stop", std::to_string(cut_machine)});
    (void)fleet({"start", std::to_string(cut_machine)});
  }
  ASSERT_TRUE(after) << "after the heal the mesh does not converge to exactly 2 replicas";
}

TEST_F(HealOnPodman, ScaleUpAndDownConvergeToTheAskedCount) {
  const auto up = except(all_machines(), dead_);
  ASSERT_TRUE(converge(up, 2, 60s, 2s));
  auto scaled =
      in_machine(1, {"beemesh", "scale", "-f", manifest_file_.string(), "--replicas", "3"});
  ASSERT_TRUE(scaled && scaled->success()) << describe(scaled);
  EXPECT_TRUE(converge(up, 3, 60s)) << "scale to 3 does not converge";
  scaled = in_machine(1, {"beemesh", "scale", "-f", manifest_file_.string(), "--replicas", "1"});
  ASSERT_TRUE(scaled && scaled->success()) << describe(scaled);
  EXPECT_TRUE(converge(up, 1, 60s)) << "scale to 1 does not converge";
  scaled = in_machine(1, {"beemesh", "scale", "-f", manifest_file_.string(), "--replicas", "2"});
  ASSERT_TRUE(scaled && scaled->success()) << describe(scaled);
  EXPECT_TRUE(converge(up, 2, 60s)) << "scale back to 2 does not converge";
}

TEST_F(HealOnPodman, ReapplyingTheSameFileIsUnchangedAndRestartsNoContainer) {
  const auto up = except(all_machines(), dead_);
  ASSERT_TRUE(converge(up, 2, 60s, 2s));
  const auto containers = [&] {
    std::map<int, std::string> out;  // machine -> its containers' ids and start times
    for (int m : up) {
      auto r = in_machine(
          m, {"podman", "ps", "-a", "--filter", "label=" + kManifestLabel + "=" + manifest_id_,
              "--format", "{{.ID}} {{.StartedAt}}"});
      out[m] = r && r->success() ? r->out : "podman failed: " + describe(r);
    }
    return out;
  };
  const auto before = containers();
  auto applied = cli_json(1, {"apply", "-f", manifest_file_.string()});
  ASSERT_TRUE(applied) << applied.error().to_string();
  auto outcome = api::apply_outcome_from_json(*applied);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(outcome->result, "unchanged");
  // Past the reconcile loop's settle time: nothing was placed, removed or restarted.
  std::this_thread::sleep_for(12s);
  EXPECT_EQ(containers(), before);
}

TEST_F(HealOnPodman, AnEditedEnvValueIsRolledOneReplicaAtATimeAndSomeReplicaAlwaysServes) {
  const auto up = except(all_machines(), dead_);
  auto before = converge(up, 2, 60s, 2s);
  ASSERT_TRUE(before);
  // Addresses of every replica (refreshed from the machines' workloads every second) and a
  // client that fetches each of them every 100 ms: some replica serves at every poll.
  std::mutex mutex;
  std::set<std::pair<std::string, int>> addresses;
  std::atomic<bool> done{false};
  std::atomic<int> polls{0};
  std::atomic<int> dark{0};  // polls at which no replica served
  auto refresh = [&] {
    std::set<std::pair<std::string, int>> found;
    for (int m : up) {
      auto j = cli_json(m, {"get", "workloads"});
      auto ws =
          j ? api::workloads_from_json(*j) : Result<std::vector<api::WorkloadView>>(j.error());
      if (!ws) continue;
      for (const auto& w : *ws) {
        if (w.info.manifest_id == manifest_id_ && !w.info.ports.empty()) {
          found.insert({w.info.ports.front().host_ip, w.info.ports.front().host_port});
        }
      }
    }
    std::lock_guard lock(mutex);
    for (const auto& a : found) addresses.insert(a);
  };
  refresh();
  std::thread refresher([&] {
    while (!done) {
      refresh();
      std::this_thread::sleep_for(1s);
    }
  });
  std::thread client([&] {
    while (!done) {
      std::set<std::pair<std::string, int>> now;
      {
        std::lock_guard lock(mutex);
        now = addresses;
      }
      bool served = false;
      for (const auto& [host, port] : now) {
        auto page = http_get(host, static_cast<uint16_t>(port), "/", 500ms);
        if (page && page->find(kPage) != std::string::npos) {
          served = true;
          break;
        }
      }
      ++polls;
      if (!served) ++dark;
      std::this_thread::sleep_for(100ms);
    }
  });
  std::string edited = kWebYaml;
  edited.replace(edited.find("value: \"1\""), 10, "value: \"2\"");
  const auto edited_file = fleet_dir_ / "heal-web-2.yaml";
  {
    std::ofstream out(edited_file);
    out << edited;
  }
  auto applied = cli_json(1, {"apply", "-f", edited_file.string()});
  std::optional<std::set<int>> after;
  if (applied) after = converge(up, 2, 120s, 4s);
  // Every replica runs the new version: its container has RELEASE=2.
  bool all_new = after.has_value();
  if (after) {
    for (int m : *after) {
      auto env = in_machine(
          m, {"sh", "-c",
              "podman ps -q --filter label=" + kManifestLabel + "=" + manifest_id_ +
                  " | xargs -r -n1 podman inspect --format "
                  "'{{range .Config.Env}}{{println .}}{{end}}' | grep -c '^RELEASE=2$'"});
      if (!env || env->out.find('1') == std::string::npos) all_new = false;
    }
  }
  done = true;
  refresher.join();
  client.join();
  ASSERT_TRUE(applied) << applied.error().to_string();
  auto outcome = api::apply_outcome_from_json(*applied);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->result, "configured");
  ASSERT_TRUE(after) << "the rollout does not converge to 2 replicas";
  EXPECT_TRUE(all_new) << "a replica still runs the old version";
  EXPECT_GT(polls.load(), 50);
  EXPECT_EQ(dark.load(), 0) << "polls at which no replica served, of " << polls.load();
  manifest_file_ = edited_file;  // the current version, for the delete below
}

TEST_F(HealOnPodman, DeleteWhileAReplacementIsPlacedLeavesNothingAndAKilledMachineRemovesItsOwn) {
  const auto up = except(all_machines(), dead_);
  auto before = converge(up, 2, 60s, 2s);
  ASSERT_TRUE(before);
  const int victim = *before->begin();
  int entry = 1;
  while (entry == victim || dead_.count(entry)) ++entry;
  const auto log_of = [&](int m) {
    std::ifstream log(fleet_dir_ / ("m" + std::to_string(m)) / "daemon.log");
    std::stringstream text;
    text << log.rdbuf();
    return text.str();
  };
  std::map<int, size_t> seen;  // what each log held before the kill
  for (int m : up) seen[m] = log_of(m).size();
  auto killed = fleet({"kill", std::to_string(victim)});
  ASSERT_TRUE(killed && killed->success()) << describe(killed);
  // Delete the moment a survivor starts placing the replacement (its log says so).
  const auto live = except(up, {victim});
  EXPECT_TRUE(eventually(
      [&] {
        for (int m : live) {
          if (log_of(m).find("reconcile " + manifest_id_ + ": 1 of 2 replicas live; placing",
                             seen[m]) != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      30s, 100ms))
      << "no survivor started a re-placement";
  auto deleted = in_machine(entry, {"beemesh", "delete", "-f", manifest_file_.string()});
  // It exits 1 when some nodes did not answer: the dead ones cannot.
  ASSERT_TRUE(deleted && deleted->out.find(" deleted: ") != std::string::npos) << describe(deleted);
  EXPECT_TRUE(eventually([&] { return machines_with_pods(live).empty(); }, 30s, 500ms))
      << "pods of the deleted manifest are left on the live machines";
  // The killed machines boot again with their stopped replicas, which missed the delete.
  for (int m : std::set<int>{victim}) {
    auto started = fleet({"start", std::to_string(m)});
    ASSERT_TRUE(started && started->success()) << describe(started);
  }
  for (int m : dead_) {
    auto started = fleet({"start", std::to_string(m)});
    ASSERT_TRUE(started && started->success()) << describe(started);
  }
  dead_.clear();
  EXPECT_TRUE(eventually([&] { return machines_with_pods(all_machines()).empty(); }, 60s, 1s))
      << "a machine that missed the delete keeps its replica";
  // And nothing comes back.
  std::this_thread::sleep_for(10s);
  EXPECT_TRUE(machines_with_pods(all_machines()).empty()) << "something re-placed it";
}

}  // namespace
}  // namespace beemesh::e2e
