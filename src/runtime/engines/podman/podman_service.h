// runtime/engines/podman/podman_service.h — a `podman system service` of our own.
//
// Promise:
//  * start() runs `podman [storage flags] system service --time=<idle_timeout>
//    unix://<dir>/podman.sock`
//    in a fresh 0700 directory (mkdtemp under `parent_dir`), with the caller's environment
//    plus `env`, stdin from /dev/null and its output in <dir>/service.log, and returns once
//    the socket answers GET /_ping — or, after `start_timeout`, stops it and returns
//    Error{"timeout"} (Error{"spawn_failed"} when podman cannot be started, "service_exited"
//    when it exits early; each with the end of its log).
//  * The destructor stops it: SIGTERM, up to 5 s, then SIGKILL; it is always reaped and its
//    directory removed. Containers keep running (conmon is not the service's child).
//  * The directory holds owner.pid (this process's pid). start() first removes every
//    beemesh-podman-* directory under the parent that this user owns and whose owner.pid
//    names a process that no longer exists: what a daemon killed without its destructor
//    (SIGKILL, crash) left behind. Directories of live processes, of other users and
//    without owner.pid are left alone.
//  * running() says whether the process is still alive (reaping it when it has exited).
//  * With idle_timeout > 0 the service exits by itself after that long without a request:
//    a service orphaned by a killed daemon does not outlive it for long (callers start a
//    new one when running() is false).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace beemesh::runtime::podman {

struct ServiceOptions {
  std::string podman_binary = "podman";
  std::vector<std::string> global_args;  // e.g. --root DIR --runroot DIR
  std::map<std::string, std::string> env;
  std::string parent_dir;  // empty: $TMPDIR or /tmp
  std::chrono::milliseconds start_timeout{15'000};
  int idle_timeout_seconds = 60;  // podman's --time; 0: never exits by itself
};

// The sweep start() makes (above); returns how many directories it removed.
int remove_stale_service_dirs(const std::string& parent);

class PodmanService {
 public:
  static Result<std::unique_ptr<PodmanService>> start(const ServiceOptions& options);
  ~PodmanService();
  PodmanService(const PodmanService&) = delete;
  PodmanService& operator=(const PodmanService&) = delete;

  const std::string& socket_path() const { return socket_; }
  bool running();

 private:
  PodmanService() = default;
  void stop();

  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

}  // namespace beemesh::runtime::podman
