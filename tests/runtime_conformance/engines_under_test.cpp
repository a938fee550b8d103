#include "engines_under_test.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "real_daemons.h"
#include "real_daemons_env.h"
#include "runtime/engines/docker/docker_engine.h"
#include "runtime/engines/podman/podman_engine.h"
#include "runtime/engines/podman/podman_rest_engine.h"
#include "runtime/mock/mock_engine.h"

namespace beemesh::test {

Stall::Stall() {
  char templ[] = "/tmp/bm-stall-XXXXXX";
  if (::mkdtemp(templ) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  binary_ = dir_ + "/stalled-cli";
  std::ofstream(binary_) << "#!/bin/sh\nexec sleep 60\n";
  ::chmod(binary_.c_str(), 0755);
  socket_ = dir_ + "/stalled.sock";
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 16) != 0) {
    throw std::runtime_error("cannot listen on " + socket_);
  }
}

Stall::~Stall() {
  if (fd_ >= 0) ::close(fd_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

namespace {

std::shared_ptr<runtime::RuntimeEngine> docker_kind(const std::string& name,
                                                    const std::string& socket,
                                                    std::chrono::milliseconds timeout = {}) {
  runtime::docker::DockerEngineOptions options;
  options.name = name;
  options.socket_path = socket;
  if (timeout.count() > 0) {
    options.ping_timeout = timeout;
    options.request_timeout = timeout;
    options.pull_timeout = timeout;
  }
  return std::make_shared<runtime::docker::DockerEngine>(options);
}

std::string socket_of(const std::string& name) {
  if (daemons() == nullptr) return "/nonexistent/" + name + ".sock";  // the tests then fail
  return name == "docker" ? daemons()->docker_socket() : daemons()->podman_socket();
}

}  // namespace

std::vector<std::string> engine_names() {
  return {"mock", "podman", "podman-cli", "podman-compat", "docker"};
}

EngineUnderTest engine_under_test(const std::string& name) {
  EngineUnderTest e;
  e.name = name;
  if (name == "mock") {
    e.make = [] { return std::make_shared<runtime::MockEngine>(); };
    e.make_stalled = [](const Stall&, std::chrono::milliseconds) {
      return std::make_shared<runtime::MockEngine>();
    };
    e.fail_deploys = [](runtime::RuntimeEngine& engine) {
      dynamic_cast<runtime::MockEngine&>(engine).set_success_rate(0.0);
    };
    e.exceptions = {Exception::kForgetsOnNewInstance, Exception::kNoExternalCalls,
                    Exception::kRunsNoContainers};
  } else if (name == "podman") {  // the libpod REST engine on the test's podman service
    e.make = [] {
      runtime::PodmanRestConfig c;
      c.socket_path = socket_of("podman");
      return std::make_shared<runtime::PodmanRestEngine>(c);
    };
    e.make_stalled = [](const Stall& stall, std::chrono::milliseconds timeout) {
      runtime::PodmanRestConfig c;
      c.socket_path = stall.socket();
      c.play_timeout = c.query_timeout = c.probe_timeout = c.start_timeout = timeout;
      return std::make_shared<runtime::PodmanRestEngine>(c);
    };
  } else if (name == "podman-cli") {
    e.make = [] {
      runtime::PodmanConfig c;
      c.name = "podman-cli";
      return std::make_shared<runtime::PodmanEngine>(c);
    };
    e.make_stalled = [](const Stall& stall, std::chrono::milliseconds timeout) {
      runtime::PodmanConfig c;
      c.name = "podman-cli";
      c.podman_binary = stall.binary();
      c.play_timeout = c.query_timeout = c.probe_timeout = c.start_timeout = timeout;
      return std::make_shared<runtime::PodmanEngine>(c);
    };
  } else {  // "podman-compat", "docker": the Docker engine on a real Docker API
    e.make = [name] { return docker_kind(name, socket_of(name)); };
    e.make_stalled = [name](const Stall& stall, std::chrono::milliseconds timeout) {
      return docker_kind(name, stall.socket(), timeout);
    };
  }
  return e;
}

}  // namespace beemesh::test
