// tests/runtime_conformance/engines_under_test.h — the engines the conformance suite runs
// on, each built by a factory, and what a test needs to make one of them time out.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/runtime.h"

namespace beemesh::test {

// Backends that never answer: an executable that sleeps (a stalled CLI) and a Unix socket
// that listens but never accepts (a stalled API daemon). Removed when destroyed.
class Stall {
 public:
  Stall();
  ~Stall();
  Stall(const Stall&) = delete;
  Stall& operator=(const Stall&) = delete;
  const std::string& binary() const { return binary_; }
  const std::string& socket() const { return socket_; }

 private:
  std::string dir_;
  std::string binary_;
  std::string socket_;
  int fd_ = -1;
};

// A promise of runtime.h an engine does not keep, with the reason (docs/notes/runtime.md).
enum class Exception {
  kForgetsOnNewInstance,  // Mock: workloads live in the memory of one instance
  kNoExternalCalls,       // Mock: nothing to time out
  kRunsNoContainers,      // Mock: ports, limits, env and restarts are only recorded
};

struct EngineUnderTest {
  std::string name;
  // A new engine instance on the same backend (the same daemon, the same storage).
  std::function<std::shared_ptr<runtime::RuntimeEngine>()> make;
  // An engine whose backend never answers; its calls are bounded by `timeout`.
  std::function<std::shared_ptr<runtime::RuntimeEngine>(const Stall&,
                                                        std::chrono::milliseconds timeout)>
      make_stalled;
  // Makes the next deploys of `engine` fail; null: a manifest with a missing image does.
  std::function<void(runtime::RuntimeEngine&)> fail_deploys;
  std::set<Exception> exceptions;
  bool excepts(Exception e) const { return exceptions.count(e) != 0; }
};

// "mock", "podman" (REST), "podman-cli", "podman-compat", "docker".
std::vector<std::string> engine_names();
EngineUnderTest engine_under_test(const std::string& name);

}  // namespace beemesh::test
