// runtime::PodmanEngine against a fake `podman` script: timeouts, cleanup and temp files,
// without a container runtime (label "unit").
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/engines/podman/podman_engine.h"

namespace beemesh::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kPod = R"(apiVersion: v1
kind: Pod
metadata: {name: fake}
spec:
  containers:
  - name: app
    image: localhost/busybox:latest
)";

// A directory holding a fake podman that logs its arguments to calls.log, records the mode
// of the file it is asked to `kube play`, and behaves as `kube_play` says.
class FakePodman {
 public:
  // `ps_all`: what `podman ps -a --pod --format json` (no filter) prints.
  explicit FakePodman(const std::string& kube_play, const std::string& ps_all = "[]") {
    char templ[] = "/tmp/beemesh-fake-podman-XXXXXX";
    dir_ = ::mkdtemp(templ);
    fs::create_directory(dir_ / "tmp");
    std::ofstream script(dir_ / "podman");
    script << "#!/bin/sh\n"
           << "echo \"$*\" >> '" << (dir_ / "calls.log").string() << "'\n"
           << "case \"$1 $2\" in\n"
           << "  'kube play')\n"
           << "    for last; do :; done\n"
           << "    stat -c %a \"$last\" > '" << (dir_ / "mode").string() << "'\n"
           << "    " << kube_play << "\n    ;;\n"
           << "  'version --format') echo '{\"Client\":{\"Version\":\"4.3.1\"}}' ;;\n"
           << "  'ps -a') [ \"$*\" = 'ps -a --pod --format json' ] && echo '" << ps_all
           << "' || echo '[]' ;;\n"
           << "  *) echo '[]' ;;\n"
           << "esac\n";
    script.close();
    fs::permissions(dir_ / "podman", fs::perms::owner_all);
  }
  ~FakePodman() { fs::remove_all(dir_); }

  PodmanConfig config() const {
    PodmanConfig config;
    config.podman_binary = (dir_ / "podman").string();
    config.temp_dir = (dir_ / "tmp").string();
    config.play_timeout = 300ms;
    config.query_timeout = 2s;
    return config;
  }
  std::string calls() const { return read(dir_ / "calls.log"); }
  std::string mode() const { return read(dir_ / "mode"); }
  bool temp_dir_empty() const { return fs::is_empty(dir_ / "tmp"); }

 private:
  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  fs::path dir_;
};

DeploymentConfig config_with_id(const std::string& id) {
  DeploymentConfig config;
  config.manifest_id = "m";
  config.workload_id = id;
  return config;
}

TEST(PodmanEngineWithFakePodman, KubePlayThatHangsTimesOutAndCleansUp) {
  FakePodman fake("sleep 5");
  PodmanEngine engine(fake.config());
  auto info = engine.deploy(kPod, config_with_id("0000000000000001"));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "timeout");
  EXPECT_NE(fake.calls().find(
                "pod ps --format json --filter label=beemesh.io/workload-id=0000000000000001"),
            std::string::npos)
      << fake.calls();
  EXPECT_TRUE(fake.temp_dir_empty());
}

TEST(PodmanEngineWithFakePodman, ManifestFileIsPrivateAndRemovedAfterPlay) {
  FakePodman fake("echo 'Error: boom' >&2; exit 125");
  PodmanEngine engine(fake.config());
  auto info = engine.deploy(kPod, config_with_id("0000000000000002"));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, "deploy_failed");
  EXPECT_NE(info.error().message.find("Error: boom"), std::string::npos);
  EXPECT_EQ(fake.mode(), "600\n");
  EXPECT_TRUE(fake.temp_dir_empty());
}

TEST(PodmanEngineWithFakePodman, KubePlayGetsTheNetworkAndNeverReplace) {
  FakePodman fake("exit 125");
  PodmanEngine engine(fake.config());
  auto config = config_with_id("0000000000000003");
  config.network = "beemesh-test-net";
  (void)engine.deploy(kPod, config);
  EXPECT_NE(fake.calls().find("kube play --quiet --network beemesh-test-net "), std::string::npos)
      << fake.calls();
  EXPECT_EQ(fake.calls().find("--replace"), std::string::npos) << fake.calls();
}

TEST(PodmanEngineWithFakePodman, APodOfTheSameNameUnderAnotherWorkloadIdIsLeftUntouched) {
  // Pod "fake-00000000000000aa-0" exists, labelled for workload 0000000000000bad.
  FakePodman fake("exit 0", R"([{"Id":"c1","Names":["fake-00000000000000aa-0-app"],)"
                            R"("PodName":"fake-00000000000000aa-0","State":"running",)"
                            R"("Labels":{"beemesh.io/workload-id":"0000000000000bad",)"
                            R"("beemesh.io/manifest-id":"m"}}])");
  PodmanEngine engine(fake.config());
  auto refused = engine.deploy(kPod, config_with_id("00000000000000aa"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "name_conflict");
  EXPECT_EQ(fake.calls().find("kube play"), std::string::npos) << fake.calls();
  EXPECT_EQ(fake.calls().find("rm -f"), std::string::npos) << fake.calls();
}

TEST(PodmanEngineWithFakePodman, AWorkloadIdRunningForAnotherManifestIsLeftUntouched) {
  FakePodman fake("exit 0", R"([{"Id":"c1","Names":["victim-00000000000000bb-0-app"],)"
                            R"("PodName":"victim-00000000000000bb-0","State":"running",)"
                            R"("Labels":{"beemesh.io/workload-id":"00000000000000bb",)"
                            R"("beemesh.io/manifest-id":"victim-manifest"}}])");
  PodmanEngine engine(fake.config());
  auto refused = engine.deploy(kPod, config_with_id("00000000000000bb"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "name_conflict");
  EXPECT_EQ(fake.calls().find("kube play"), std::string::npos) << fake.calls();
  EXPECT_EQ(fake.calls().find("rm -f"), std::string::npos) << fake.calls();
}

TEST(PodmanEngineWithFakePodman, IsAvailableWhenVersionAnswersJson) {
  FakePodman fake("exit 0");
  PodmanEngine engine(fake.config());
  EXPECT_TRUE(engine.is_available());
}

TEST(PodmanEngineWithFakePodman, WorkloadIdsOutsideDnsLabelCharactersAreRefused) {
  FakePodman fake("exit 0");
  PodmanEngine engine(fake.config());
  EXPECT_EQ(engine.status("a,b").error().code, "invalid_argument");
  EXPECT_EQ(engine.remove("A").error().code, "invalid_argument");
  EXPECT_EQ(engine.deploy(kPod, config_with_id("x y")).error().code, "invalid_argument");
  EXPECT_EQ(fake.calls(), "");
}

TEST(PodmanEngineWithFakePodman, StatusOfANonexistentWorkloadIsNotFound) {
  FakePodman fake("exit 0");
  PodmanEngine engine(fake.config());
  auto status = engine.status("nothing");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "not_found");
}

}  // namespace
}  // namespace beemesh::runtime
