// common/process.h — run a program and collect what it printed, with a time limit.
//
// Promise:
//  * run_process() starts argv[0] (looked up in PATH when it has no '/') with exactly the
//    given arguments — no shell is involved — in a new process group, feeds it
//    `stdin_data` (or /dev/null), and returns its exit code, stdout and stderr.
//  * A non-zero exit is not an Error: callers look at exit_code. Errors are:
//      "invalid_argument"  empty argv
//      "spawn_failed"      the program could not be started (not found, not executable...)
//      "timeout"           it ran longer than `timeout`; its whole process group was killed
//      "io_error"          a pipe/poll failure on our side (the child is killed and reaped)
//  * It never leaks file descriptors (all are close-on-exec and closed before return) and
//    never leaves a zombie (the child is always reaped). Safe to call from many threads at
//    once; it does not touch signal dispositions of the calling process.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace beemesh {

struct ProcessOptions {
  std::chrono::milliseconds timeout{15'000};
  std::optional<std::string> stdin_data = std::nullopt;  // nullopt: stdin is /dev/null
  // Variables set (or overridden) on top of the caller's environment.
  std::map<std::string, std::string> env = {};
  // Send stderr into the same pipe as stdout (ProcessResult::out keeps their order).
  bool merge_stderr = false;
  // Output beyond this many bytes per stream is read and dropped (the result says so).
  std::size_t max_output_bytes = 16 * 1024 * 1024;
};

struct ProcessResult {
  int exit_code = -1;   // exit status; 128 + signal number when killed by a signal
  int term_signal = 0;  // signal that ended it, 0 when it exited normally
  std::string out;
  std::string err;
  bool out_truncated = false;
  bool err_truncated = false;
  std::chrono::milliseconds elapsed{0};

  bool success() const { return exit_code == 0; }
};

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const ProcessOptions& options = {});

// "podman kube play /tmp/x.yaml" — argv joined for messages and logs (quotes arguments
// holding spaces; not meant to be parsed back).
std::string describe_command(const std::vector<std::string>& argv);

}  // namespace beemesh
