// The YAML file the Podman engine hands to `kube play` holds only allow-listed fields: a
// fake `podman` keeps a copy of the file it is asked to play (label "unit").
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/engines/podman/podman_engine.h"

namespace beemesh::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A pod that asks for host access in ways the allow-list drops (misspelt keys, unknown
// fields, runtime annotations).
constexpr const char* kSneakyPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: sneaky
  annotations:
    note: kept
    io.podman.annotations.privileged: "true"
spec:
  HostNetwork: true
  hostUsers: false
  containers:
  - name: app
    image: localhost/busybox:latest
    securityContext:
      Privileged: true
      windowsOptions: {hostProcess: true}
    livenessProbe: {exec: {command: [sh]}}
)";

// A fake podman whose `kube play` copies its file to played.yaml and fails.
class RecordingPodman {
 public:
  RecordingPodman() {
    char templ[] = "/tmp/beemesh-allowlist-podman-XXXXXX";
    dir_ = ::mkdtemp(templ);
    fs::create_directory(dir_ / "tmp");
    std::ofstream script(dir_ / "podman");
    script << "#!/bin/sh\n"
           << "case \"$1 $2\" in\n"
           << "  'kube play') for last; do :; done; cp \"$last\" '" << played_path().string()
           << "'; exit 125 ;;\n"
           << "  *) echo '[]' ;;\n"
           << "esac\n";
    script.close();
    fs::permissions(dir_ / "podman", fs::perms::owner_all);
  }
  ~RecordingPodman() { fs::remove_all(dir_); }
  RecordingPodman(const RecordingPodman&) = delete;
  RecordingPodman& operator=(const RecordingPodman&) = delete;

  PodmanConfig config() const {
    PodmanConfig config;
    config.podman_binary = (dir_ / "podman").string();
    config.temp_dir = (dir_ / "tmp").string();
    config.play_timeout = 2s;
    config.query_timeout = 2s;
    return config;
  }
  std::string played() const {
    std::ifstream in(played_path());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  fs::path played_path() const { return dir_ / "played.yaml"; }
  fs::path dir_;
};

std::string played_yaml(const std::vector<VolumeMount>& volumes = {}) {
  RecordingPodman fake;
  PodmanEngine engine(fake.config());
  DeploymentConfig config;
  config.manifest_id = "m";
  config.workload_id = "00000000000000aa";
  config.volumes = volumes;
  (void)engine.deploy(kSneakyPod, config);
  return fake.played();
}

TEST(PodmanAllowlist, FieldsOffTheListNeverReachKubePlay) {
  std::string yaml = played_yaml();
  ASSERT_NE(yaml.find("kind: Pod"), std::string::npos) << yaml;
  for (const char* key : {"HostNetwork", "hostUsers", "Privileged", "windowsOptions",
                          "livenessProbe", "io.podman.annotations.privileged"}) {
    EXPECT_EQ(yaml.find(key), std::string::npos) << key << " in\n" << yaml;
  }
  EXPECT_NE(yaml.find("note: kept"), std::string::npos) << yaml;
}

TEST(PodmanAllowlist, TheNodesOwnVolumesAreStillMounted) {
  std::string yaml = played_yaml({VolumeMount{"/srv/shared", "/data", true}});
  EXPECT_NE(yaml.find("/srv/shared"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("beemesh-volume-0"), std::string::npos) << yaml;
}

}  // namespace
}  // namespace beemesh::runtime
