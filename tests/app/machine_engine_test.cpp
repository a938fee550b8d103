// `beemesh machine` never starts with an engine it cannot use: an engine name that is not
// configured is a configuration error (exit 2), a configured engine that does not answer
// stops the start (exit 1), and either message names the setting. The engine is chosen
// before the node needs a mesh membership, so a fresh data directory is enough.
#include <gtest/gtest.h>

#include <filesystem>

#include "machine_run.h"

namespace beemesh {
namespace {

class MachineEngine : public MachineRunTest {
 protected:
  MachineEngine() : MachineRunTest("beemesh-engine") {}
};

TEST_F(MachineEngine, AnEngineThatIsNotConfiguredRefusesToStart) {
  auto r = run_with("", {"--engine", "mock"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("cannot start: bad_config: workload.preferred_runtime: no engine named "
                       "'mock' (engines: podman, docker)"),
            std::string::npos)
      << r.out;
}

TEST_F(MachineEngine, AConfiguredEngineThatDoesNotAnswerRefusesToStart) {
  auto r = run_with("engines:\n  podman: {binary: /nonexistent/podman}\n");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("engine_unavailable: workload.preferred_runtime: engine 'podman' is not "
                       "available on this machine"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data")) << "refused before touching the data dir";
}

TEST_F(MachineEngine, AutoDetectionWithNoUsableEngineRefusesToStart) {
  auto r = run_with(
      "engines:\n  podman: {binary: /nonexistent/podman}\n"
      "  docker: {socket: /nonexistent/docker.sock}\n"
      "workload: {preferred_runtime: ''}\n");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no_engine: no runtime engine available (tried podman: not available; "
                       "docker: not available)"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace beemesh
