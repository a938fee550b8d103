// tests/runtime_docker/real_daemons.h — the two real Docker APIs the engine tests run on.
//
// Promise: RealDaemons::start() brings up, on private sockets under one temp directory,
//  * a real dockerd (scripts/start-dockerd.sh: Debian's docker.io, busybox image imported),
//  * Podman's Docker-compatible service (`podman system service --time=0`, with the
//    project's config/containers.conf; scripts/setup-podman.sh makes the busybox image),
// and stop() removes what the tests left, stops both by pid and deletes the directory.
// A daemon that cannot be started is an error (the tests FAIL; they never skip).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.h"

namespace beemesh::test {

class RealDaemons {
 public:
  RealDaemons() = default;
  ~RealDaemons() { stop(); }
  RealDaemons(const RealDaemons&) = delete;
  RealDaemons& operator=(const RealDaemons&) = delete;

  Result<void> start();
  void stop();

  const std::string& docker_socket() const { return docker_socket_; }
  const std::string& podman_socket() const { return podman_socket_; }
  const std::string& base_dir() const { return base_dir_; }
  // Tests label their workloads beemesh.io/test-run=<run_id()>; stop() removes leftovers.
  std::string run_id() const;

 private:
  Result<void> start_dockerd();
  Result<void> start_podman();

  std::string base_dir_;
  std::string docker_dir_;
  std::string docker_socket_;
  std::string podman_socket_;
  pid_t podman_pid_ = -1;
};

// The project root (where scripts/ lives); set by CMake.
std::string source_dir();

}  // namespace beemesh::test
