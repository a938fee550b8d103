// runtime/engines/docker/docker_options.h — how a DockerEngine reaches and uses its daemon.
//
// Promise: the defaults work with Debian's dockerd 20.10 and Podman 4.3's Docker-compatible
// service on this project's machines (offline image localhost/busybox:latest, nproc and
// nofile ulimits that runc accepts there).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace beemesh::runtime::docker {

struct DockerEngineOptions {
  // Engine name in the registry ("docker"; e.g. "podman-compat" for Podman's Docker API).
  std::string name = "docker";
  // Path of the daemon's Unix socket; empty: $DOCKER_HOST (unix://...) or /var/run/docker.sock.
  std::string socket_path;
  // API version prefix of every request; 1.41 is served by dockerd 20.10+ and Podman 4.
  std::string api_version = "v1.41";
  // The container that holds each pod's network namespace and published ports.
  std::string pause_image = "localhost/busybox:latest";
  std::vector<std::string> pause_command = {"sleep", "infinity"};  // empty: the image's
  // Pull an image the daemon does not have before creating containers.
  bool pull_missing_images = true;
  std::chrono::milliseconds ping_timeout{1'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds pull_timeout{120'000};
  // Sent as HostConfig.Ulimits on every container. Podman's compat API otherwise gives
  // nproc/nofile 1048576, which runc cannot set here and the container fails to start.
  int64_t nofile_limit = 20'000;
  int64_t nproc_limit = 32'768;
};

// The socket an engine with `configured` (may be empty) talks to: `configured`, else
// $DOCKER_HOST when it is unix://PATH, else /var/run/docker.sock. Error{"invalid_config"}
// when DOCKER_HOST names a transport other than a Unix socket.
Result<std::string> resolve_docker_socket(const std::string& configured);

}  // namespace beemesh::runtime::docker
