// kubectl against the mesh, as a user runs it: `beemesh kube-proxy` on 127.0.0.1 with the
// user's key, `beemesh kubeconfig`, and the real /usr/bin/kubectl against a 3-node mesh of
// real daemons on real Podman. One mesh and one proxy serve every case, in this order; the
// last case deletes what the first applied.
// Needs: /usr/bin/kubectl, Podman with localhost/busybox:latest (scripts/setup-podman.sh),
// root, CONTAINERS_CONF and BEEMESH_BINARY (ctest sets both). A missing kubectl or Podman is
// a failure, never a skip.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/json.h"
#include "common/files.h"
#include "common/process.h"
#include "e2e/mesh.h"
#include "e2e/suite.h"
#include "manifest/manifest.h"

namespace beemesh::e2e {
namespace {

using namespace std::chrono_literals;

const std::string kKubectl = "/usr/bin/kubectl";
const std::string kWebYaml = std::string(BEEMESH_SOURCE_DIR) + "/examples/web.yaml";

const std::string kInvalidYaml = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: no-image
spec:
  selector:
    matchLabels: {app: no-image}
  template:
    metadata:
      labels: {app: no-image}
    spec:
      containers:
        - name: c
)";

// One user's `beemesh kube-proxy` and the kubeconfig that points kubectl at it.
struct Proxy {
  std::unique_ptr<ChildProcess> process;
  std::filesystem::path kubeconfig;
  std::filesystem::path home;  // HOME of kubectl (its discovery cache)
};

Result<Proxy> start_proxy(Mesh& mesh, const std::filesystem::path& user_home,
                          const std::string& name) {
  Proxy p;
  std::filesystem::path dir = mesh.work_dir() / ("kube-" + name);
  std::filesystem::create_directories(dir);
  std::filesystem::path port_file = dir / "port";
  p.home = dir / "home";
  std::filesystem::create_directories(p.home);
  p.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{mesh.binary().string(), "kube-proxy", "--port", "0", "--port-file",
                               port_file.string(), "--server", mesh.node(0).api_url()},
      dir / "proxy.log", std::map<std::string, std::string>{{"BEEMESH_HOME", user_home.string()}});
  if (auto s = p.process->start(); !s) return s.error();
  std::string port;
  bool up = eventually(
      [&] {
        auto text = read_small_file(port_file, 64);
        if (!text || text->empty()) return false;
        port = text->substr(0, text->find('\n'));
        return true;
      },
      15s);
  if (!up) {
    auto log = read_small_file(dir / "proxy.log", 1 << 20);
    return make_error("proxy_failed", "kube-proxy did not start: " + (log ? *log : std::string()));
  }
  p.kubeconfig = dir / "kubeconfig";
  auto r = run_process(
      {mesh.binary().string(), "kubeconfig", "--port", port, "--file", p.kubeconfig.string()},
      ProcessOptions{.env = {{"BEEMESH_HOME", user_home.string()}}});
  if (!r || !r->success()) return make_error("kubeconfig_failed", describe(r));
  return p;
}

class KubectlOnMesh : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(kKubectl)) {
      setup_error_ = kKubectl + " is missing (the kubectl tests need the real kubectl)";
      return;
    }
    auto mesh = start_mesh_on_podman(MeshOptions{});
    if (!mesh) {
      setup_error_ = mesh.error().message;
      return;
    }
    mesh_ = std::move(*mesh);
    auto proxy = start_proxy(*mesh_, mesh_->user_home(), "deployer");
    if (!proxy) {
      setup_error_ = proxy.error().to_string();
      return;
    }
    proxy_ = std::move(*proxy);
    // Pods left by a failing run are removed with the mesh (manifest id of web as applied).
    mesh_->track_manifest(manifest_id_of("Deployment", "web"));
  }

  static void TearDownTestSuite() {
    viewer_proxy_.reset();
    proxy_.reset();
    mesh_.reset();
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }
  void TearDown() override {
    if (HasFailure() && mesh_) std::cerr << log_tails(*mesh_, 40);
  }

  static std::string manifest_id_of(const std::string& kind, const std::string& name);
  // Polls (1 s) until the mesh runs exactly `replicas` replicas of deployment/web, each
  // labelled with the Deployment's content version, the mesh's providers list that many
  // nodes and `kubectl get pods` lists that many pods. "" then, else the last state seen.
  static std::string web_converges(size_t replicas, std::chrono::milliseconds deadline);
  // "" once the first web pod's published port serves a page containing `text` (20 s),
  // else what was seen.
  static std::string first_pod_serves(const std::string& text) {
    auto ports = kubectl({"get", "pods", "-l", "app=web", "-o",
                          "jsonpath={.items[0].metadata.annotations.beemesh\\.io/ports}"});
    if (!ports || !ports->success()) return "get pods: " + describe(ports);
    auto list = api::parse_json(ports->out);
    if (!list || !list->is_array() || list->empty()) return "no ports: " + ports->out;
    auto port = static_cast<uint16_t>((*list)[0].value("hostPort", 0));
    std::string page;
    bool served = eventually(
        [&] {
          auto body = http_get(port);
          if (body) page = *body;
          return body && body->find(text) != std::string::npos;
        },
        20s, 250ms);
    return served ? "" : "port " + std::to_string(port) + ": " + page;
  }

  static Result<ProcessResult> kubectl(const Proxy& proxy, std::vector<std::string> args,
                                       std::chrono::milliseconds timeout = 90s) {
    args.insert(args.begin(), kKubectl);
    ProcessOptions options;
    options.timeout = timeout;
    options.env = {{"KUBECONFIG", proxy.kubeconfig.string()}, {"HOME", proxy.home.string()}};
    return run_process(args, options);
  }
  static Result<ProcessResult> kubectl(std::vector<std::string> args,
                                       std::chrono::milliseconds timeout = 90s) {
    return kubectl(*proxy_, std::move(args), timeout);
  }

  static inline std::unique_ptr<Mesh> mesh_;
  static inline std::optional<Proxy> proxy_;
  static inline std::optional<Proxy> viewer_proxy_;
  static inline std::string setup_error_;
  static inline std::string edited_file_;  // the desired web.yaml after the edit case
};

std::string KubectlOnMesh::manifest_id_of(const std::string& kind, const std::string& name) {
  return manifest::manifest_id(mesh_->deployer().public_key_hex, "default", kind, name);
}

std::string KubectlOnMesh::web_converges(size_t replicas, std::chrono::milliseconds deadline) {
  const std::string id = manifest_id_of("Deployment", "web");
  std::string last;
  bool converged = eventually(
      [&] {
        auto version = kubectl({"get", "deployment", "web", "-o",
                                "jsonpath={.metadata.annotations.beemesh\\.io/content-version}"});
        if (!version || !version->success() || version->out.size() != 32) {
          last = "no content version: " + describe(version);
          return false;
        }
        auto all = mesh_->pods_with_label("beemesh.io/manifest-id", id);
        auto current = mesh_->pods_with_label("beemesh.io/content-version", version->out);
        auto listed = kubectl({"get", "pods", "-l", "app=web", "-o", "name"});
        auto providers = mesh_->cli(1, {"get", "providers", id, "-o", "json"}, 20s);
        if (!all || !current || !listed || !listed->success() || !providers ||
            !providers->success()) {
          last = "a look failed: " + describe(listed) + " " + describe(providers);
          return false;
        }
        auto json = api::parse_json(providers->out);
        size_t providing = json && json->contains("providers") ? (*json)["providers"].size() : 0;
        size_t pods = static_cast<size_t>(std::count(listed->out.begin(), listed->out.end(), '\n'));
        last = "podman: " + std::to_string(all->size()) + " replica(s), " +
               std::to_string(current->size()) + " of version " + version->out +
               "; providers: " + std::to_string(providing) + "; kubectl get pods:\n" + listed->out;
        return all->size() == replicas && *current == *all && providing == replicas &&
               pods == replicas;
      },
      deadline, 1s);
  return converged ? std::string() : last;
}

TEST_F(KubectlOnMesh, GetNodesListsTheThreeNodesReady) {
  auto r = kubectl({"get", "nodes"});
  ASSERT_TRUE(r && r->success()) << describe(r);
  for (int i = 0; i < mesh_->size(); ++i) {
    EXPECT_NE(r->out.find(mesh_->node(i).name), std::string::npos) << r->out;
  }
  size_t ready = 0;
  for (size_t at = r->out.find(" Ready "); at != std::string::npos;
       at = r->out.find(" Ready ", at + 1)) {
    ++ready;
  }
  EXPECT_EQ(ready, 3u) << r->out;
}

TEST_F(KubectlOnMesh, ApiResourcesListsWhatTheProxyServes) {
  auto r = kubectl({"api-resources"});
  ASSERT_TRUE(r && r->success()) << describe(r);
  for (const char* name :
       {"pods", "deployments", "statefulsets", "configmaps", "secrets", "nodes"}) {
    EXPECT_NE(r->out.find(name), std::string::npos) << name << "\n" << r->out;
  }
}

TEST_F(KubectlOnMesh, ApplyCreatesTheDeploymentAndGetPodsWideListsIt) {
  auto r = kubectl({"apply", "-f", kWebYaml});
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("deployment.apps/web created"), std::string::npos) << r->out;
  std::string last;
  bool listed = eventually(
      [&] {
        auto pods = kubectl({"get", "pods", "-o", "wide"});
        if (!pods || !pods->success()) return false;
        last = pods->out;
        return last.find("web-") != std::string::npos && last.find("NODE") != std::string::npos;
      },
      30s, 500ms);
  EXPECT_TRUE(listed) << last;
}

TEST_F(KubectlOnMesh, WaitForAvailableSucceedsAndThePageIsServed) {
  auto r = kubectl({"wait", "--for=condition=Available", "deployment/web", "--timeout=90s"}, 120s);
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("condition met"), std::string::npos) << r->out;
  EXPECT_EQ(first_pod_serves("hello from beemesh"), "");
}

TEST_F(KubectlOnMesh, GetEventsShowsTheDeploymentsDeployOnItsNode) {
  auto r = kubectl({"get", "events"});
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("Deployed"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("deployment/web"), std::string::npos) << r->out;
}

TEST_F(KubectlOnMesh, ReapplyingTheSameFileIsUnchanged) {
  auto r = kubectl({"apply", "-f", kWebYaml});
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("deployment.apps/web unchanged"), std::string::npos) << r->out;
  EXPECT_EQ(r->err, "");
}

// From here on the desired file is the edited one (rolling back would cost a second roll).
TEST_F(KubectlOnMesh, AnEditedFileIsConfiguredAndRolledToEveryReplica) {
  std::string edited = read_small_file(kWebYaml, 1 << 20).value_or("");
  ASSERT_FALSE(edited.empty());
  edited.replace(edited.find("hello from beemesh"), 18, "hello, edited");
  edited_file_ = write_manifest(*mesh_, edited);
  auto r = kubectl({"apply", "-f", edited_file_});
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("deployment.apps/web configured"), std::string::npos) << r->out;
  EXPECT_EQ(r->err, "") << "a rollout is the mesh's normal work, not a warning";
  // rollout status follows the replicas' content versions until the old one has left.
  auto rollout = kubectl({"rollout", "status", "deployment/web", "--timeout=90s"}, 120s);
  ASSERT_TRUE(rollout && rollout->success()) << describe(rollout);
  EXPECT_NE(rollout->out.find("successfully rolled out"), std::string::npos) << rollout->out;
  // The apply placed the new replica beside the old one: rollout status saw it wait.
  EXPECT_NE(rollout->out.find("1 old replicas are pending termination"), std::string::npos)
      << rollout->out;
  // The reconcile loop retires the old replica once the new one runs (ARCHITECTURE.md).
  std::string state = web_converges(1, 90s);
  ASSERT_EQ(state, "") << state;
  EXPECT_EQ(first_pod_serves("hello, edited"), "");
}

TEST_F(KubectlOnMesh, DiffShowsAnEditAndChangesNothing) {
  ASSERT_FALSE(edited_file_.empty()) << "needs the edited file applied";
  std::string edited = read_small_file(edited_file_, 1 << 20).value_or("");
  edited.replace(edited.find("hello, edited"), 13, "hello, diffed");
  std::string file = write_manifest(*mesh_, edited);
  auto diff = kubectl({"diff", "-f", file});
  ASSERT_TRUE(diff) << describe(diff);
  EXPECT_EQ(diff->exit_code, 1) << describe(diff);  // 1: differences found
  EXPECT_NE(diff->out.find("+          echo \"hello, diffed\""), std::string::npos) << diff->out;
  // The dry run applied nothing: the file on record is still the edited one.
  auto again = kubectl({"apply", "-f", edited_file_});
  ASSERT_TRUE(again && again->success()) << describe(again);
  EXPECT_NE(again->out.find("deployment.apps/web unchanged"), std::string::npos) << again->out;
}

TEST_F(KubectlOnMesh, RolloutStatusReportsTheDeploymentRolledOut) {
  auto r = kubectl({"rollout", "status", "deployment/web", "--timeout=60s"}, 90s);
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("successfully rolled out"), std::string::npos) << r->out;
}

TEST_F(KubectlOnMesh, LogsShowTheContainersOutput) {
  auto name = kubectl({"get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"});
  ASSERT_TRUE(name && name->success() && !name->out.empty()) << describe(name);
  std::string last;
  bool shown = eventually(
      [&] {
        auto r = kubectl({"logs", name->out, "--tail=5"});
        if (r) last = r->out + r->err;
        return r && r->success() &&
               r->out.find("web: serving /www on port 8080") != std::string::npos;
      },
      20s, 500ms);
  EXPECT_TRUE(shown) << last;
}

TEST_F(KubectlOnMesh, GetDeploymentAsYamlCarriesTheLastAppliedConfiguration) {
  auto r = kubectl({"get", "deployment", "web", "-o", "yaml"});
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("kubectl.kubernetes.io/last-applied-configuration"), std::string::npos);
  EXPECT_NE(r->out.find("availableReplicas: 1"), std::string::npos) << r->out;
}

TEST_F(KubectlOnMesh, ScaleConvergesUpToThreeAndDownToOne) {
  auto up = kubectl({"scale", "deployment/web", "--replicas=3"});
  ASSERT_TRUE(up && up->success()) << describe(up);
  EXPECT_NE(up->out.find("deployment.apps/web scaled"), std::string::npos) << up->out;
  EXPECT_EQ(up->err, "");
  std::string state = web_converges(3, 60s);
  ASSERT_EQ(state, "") << state;
  auto down = kubectl({"scale", "deployment/web", "--replicas=1"});
  ASSERT_TRUE(down && down->success()) << describe(down);
  EXPECT_NE(down->out.find("deployment.apps/web scaled"), std::string::npos) << down->out;
  // The two excess replicas remove themselves (reconcile loop, ~10 s after the new intent).
  state = web_converges(1, 60s);
  EXPECT_EQ(state, "") << state;
}

TEST_F(KubectlOnMesh, AnInvalidManifestIsInvalidNamingTheField) {
  std::string file = write_manifest(*mesh_, kInvalidYaml);
  auto r = kubectl({"apply", "-f", file});
  ASSERT_TRUE(r) << describe(r);
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("The Deployment \"no-image\" is invalid"), std::string::npos) << r->err;
  EXPECT_NE(r->err.find("spec.template.spec.containers[0].image"), std::string::npos) << r->err;
}

TEST_F(KubectlOnMesh, GetOfAnUnknownDeploymentIsNotFound) {
  auto r = kubectl({"get", "deployment", "nope"});
  ASSERT_TRUE(r) << describe(r);
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("Error from server (NotFound): deployments.apps \"nope\" not found"),
            std::string::npos)
      << r->err;
}

TEST_F(KubectlOnMesh, AViewerIsForbiddenToApply) {
  auto vera = mesh_->add_user("vera", "viewer");
  ASSERT_TRUE(vera) << vera.error().to_string();
  auto proxy = start_proxy(*mesh_, vera->home, "viewer");
  ASSERT_TRUE(proxy) << proxy.error().to_string();
  viewer_proxy_ = std::move(*proxy);
  auto nodes = kubectl(*viewer_proxy_, {"get", "nodes"});
  ASSERT_TRUE(nodes && nodes->success()) << describe(nodes);
  std::string file = write_manifest(*mesh_, R"(apiVersion: v1
kind: Pod
metadata:
  name: vera-pod
spec:
  containers:
    - name: c
      image: localhost/busybox:latest
      command: ["sleep", "3600"]
)");
  auto r = kubectl(*viewer_proxy_, {"apply", "-f", file});
  ASSERT_TRUE(r) << describe(r);
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("Forbidden"), std::string::npos) << r->err;
  EXPECT_NE(r->err.find("forbidden"), std::string::npos) << r->err;
}

TEST_F(KubectlOnMesh, AConfigMapTravelsWithThePodThatMountsIt) {
  std::string file = write_manifest(*mesh_, R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: site
data:
  index.html: "hello from a configmap"
---
apiVersion: v1
kind: Pod
metadata:
  name: reader
spec:
  containers:
    - name: r
      image: localhost/busybox:latest
      command: ["sh", "-c", "cat /site/index.html; echo; exec sleep 3600"]
      volumeMounts:
        - {name: site, mountPath: /site}
  volumes:
    - name: site
      configMap: {name: site}
)");
  mesh_->track_manifest(manifest_id_of("Pod", "reader"));
  auto r = kubectl({"apply", "-f", file});
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("configmap/site created"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("pod/reader created"), std::string::npos) << r->out;
  auto ready = kubectl({"wait", "--for=condition=Ready", "pod/reader", "--timeout=60s"}, 90s);
  ASSERT_TRUE(ready && ready->success()) << describe(ready);
  std::string last;
  bool shown = eventually(
      [&] {
        auto logs = kubectl({"logs", "reader"});
        if (logs) last = logs->out + logs->err;
        return logs && logs->out.find("hello from a configmap") != std::string::npos;
      },
      20s, 500ms);
  EXPECT_TRUE(shown) << last;
  auto del = kubectl({"delete", "-f", file}, 120s);
  ASSERT_TRUE(del && del->success()) << describe(del);
}

TEST_F(KubectlOnMesh, DeleteRemovesEverything) {
  auto r = kubectl({"delete", "-f", kWebYaml}, 120s);
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find("deployment.apps \"web\" deleted"), std::string::npos) << r->out;
  auto get = kubectl({"get", "deployment", "web"});
  ASSERT_TRUE(get) << describe(get);
  EXPECT_NE(get->err.find("NotFound"), std::string::npos) << get->err;
  std::string id = manifest_id_of("Deployment", "web");
  bool gone = eventually(
      [&] {
        auto pods = mesh_->pods_with_label("beemesh.io/manifest-id", id);
        auto listed = kubectl({"get", "pods", "-o", "name"});
        return pods && pods->empty() && listed && listed->success() && listed->out.empty();
      },
      30s, 500ms);
  EXPECT_TRUE(gone);
}

// Last: it stops the entry node the proxies were started with (and starts it again).
TEST_F(KubectlOnMesh, WithTheEntryNodeDownTheProxyGoesThroughAnotherNode) {
  mesh_->kill9(0);
  auto r = kubectl({"get", "nodes"});
  ASSERT_TRUE(r && r->success()) << describe(r);
  EXPECT_NE(r->out.find(mesh_->node(1).name), std::string::npos) << r->out;
  auto restarted = mesh_->restart(0);
  ASSERT_TRUE(restarted) << restarted.error().to_string();
}

}  // namespace
}  // namespace beemesh::e2e
