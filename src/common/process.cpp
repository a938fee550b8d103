#include "common/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/fd.h"

extern char** environ;  // NOLINT: POSIX

namespace beemesh {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// Moves a descriptor above 2 so that a dup2 onto 0/1/2 in the child always clears
// close-on-exec (dup2(fd, fd) would keep it).
Result<Fd> above_stdio(Fd fd) {
  if (fd.get() > 2) return fd;
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return make_error("io_error", errno_text("fcntl(F_DUPFD_CLOEXEC)", errno));
  return Fd(moved);
}

struct Channel {
  Fd parent;
  Fd child;
};

// A pipe whose parent end reads (child writes to it), both ends close-on-exec.
Result<Channel> make_output_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
    return make_error("io_error", errno_text("pipe2", errno));
  }
  Fd read_end(fds[0]);
  Fd write_end(fds[1]);
  // The child's end must be blocking.
  int flags = ::fcntl(write_end.get(), F_GETFL);
  ::fcntl(write_end.get(), F_SETFL, flags & ~O_NONBLOCK);
  auto child = above_stdio(std::move(write_end));
  if (!child) return child.error();
  auto parent = above_stdio(std::move(read_end));
  if (!parent) return parent.error();
  return Channel{std::move(*parent), std::move(*child)};
}

// stdin is a socket pair so the parent can write with MSG_NOSIGNAL: a child that exits
// without reading gives EPIPE instead of a process-wide SIGPIPE.
Result<Channel> make_input_socket() {
  std::array<int, 2> fds{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0) {
    return make_error("io_error", errno_text("socketpair", errno));
  }
  Fd parent_end(fds[0]);
  Fd child_end(fds[1]);
  ::shutdown(child_end.get(), SHUT_WR);
  int flags = ::fcntl(parent_end.get(), F_GETFL);
  ::fcntl(parent_end.get(), F_SETFL, flags | O_NONBLOCK);
  auto child = above_stdio(std::move(child_end));
  if (!child) return child.error();
  auto parent = above_stdio(std::move(parent_end));
  if (!parent) return parent.error();
  return Channel{std::move(*parent), std::move(*child)};
}

Fd open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return Fd(static_cast<int>(fd));
  }
#else
  (void)pid;
#endif
  return Fd();
}

// Owns posix_spawn's attribute and file-action objects.
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  bool attr_ok = false;
  bool actions_ok = false;
  SpawnSetup() {
    attr_ok = ::posix_spawnattr_init(&attr) == 0;
    actions_ok = ::posix_spawn_file_actions_init(&actions) == 0;
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    if (attr_ok) ::posix_spawnattr_destroy(&attr);
    if (actions_ok) ::posix_spawn_file_actions_destroy(&actions);
  }
};

int decode_status(int status, int* term_signal) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    *term_signal = WTERMSIG(status);
    return 128 + *term_signal;
  }
  return -1;
}

// Waits for the child and returns its raw wait status (-1 if it was reaped elsewhere).
int reap(pid_t pid) {
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) return status;
    if (r < 0 && errno == EINTR) continue;
    return -1;
  }
}

void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

// Appends what is readable on `fd` to `sink`. Returns false at EOF or on a hard error.
bool drain(int fd, std::string& sink, bool& truncated, std::size_t cap) {
  std::array<char, 16384> buf{};
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      std::size_t room = cap > sink.size() ? cap - sink.size() : 0;
      std::size_t take = std::min(room, static_cast<std::size_t>(n));
      sink.append(buf.data(), take);
      if (take < static_cast<std::size_t>(n)) truncated = true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

std::string tail_for_message(const std::string& text) {
  constexpr std::size_t kMax = 400;
  if (text.size() <= kMax) return text;
  return "..." + text.substr(text.size() - kMax);
}

}  // namespace

std::string describe_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    if (arg.empty() || arg.find_first_of(" \t\n'\"") != std::string::npos) {
      out += '\'' + arg + '\'';
    } else {
      out += arg;
    }
  }
  return out;
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const ProcessOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return make_error("invalid_argument", "run_process: empty command");
  }
  const std::string command = describe_command(argv);
  const auto start = SteadyClock::now();
  const auto deadline = start + options.timeout;

  auto out_pipe = make_output_pipe();
  if (!out_pipe) return out_pipe.error();
  auto err_pipe = make_output_pipe();
  if (!err_pipe) return err_pipe.error();
  std::optional<Channel> in_sock;
  if (options.stdin_data) {
    auto sock = make_input_socket();
    if (!sock) return sock.error();
    in_sock = std::move(*sock);
  }

  SpawnSetup setup;
  if (!setup.attr_ok || !setup.actions_ok) {
    return make_error("spawn_failed", command + ": cannot initialise posix_spawn");
  }
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigfillset(&default_signals);
  ::posix_spawnattr_setsigmask(&setup.attr, &empty_mask);
  ::posix_spawnattr_setsigdefault(&setup.attr, &default_signals);
  ::posix_spawnattr_setpgroup(&setup.attr, 0);
  ::posix_spawnattr_setflags(
      &setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  if (in_sock) {
    ::posix_spawn_file_actions_adddup2(&setup.actions, in_sock->child.get(), STDIN_FILENO);
  } else {
    ::posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  ::posix_spawn_file_actions_adddup2(&setup.actions, out_pipe->child.get(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(
      &setup.actions, options.merge_stderr ? out_pipe->child.get() : err_pipe->child.get(),
      STDERR_FILENO);
  // Nothing else of ours reaches the child: sockets that libraries open without
  // close-on-exec (OpenDHT's UDP sockets, listening sockets) would otherwise be inherited
  // by long-lived grandchildren such as Podman's conmon and keep our ports bound after we
  // exit.
  ::posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);

  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const auto& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);

  std::vector<std::string> env_storage;
  std::vector<char*> c_env;
  char** envp = environ;
  if (!options.env.empty()) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry(*e);
      auto eq = entry.find('=');
      std::string key(entry.substr(0, eq));
      if (options.env.count(key) == 0) env_storage.emplace_back(entry);
    }
    for (const auto& [key, value] : options.env) env_storage.push_back(key + "=" + value);
    for (auto& entry : env_storage) c_env.push_back(entry.data());
    c_env.push_back(nullptr);
    envp = c_env.data();
  }

  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, c_argv[0], &setup.actions, &setup.attr, c_argv.data(), envp);
  // The child's ends belong to the child now.
  out_pipe->child.reset();
  err_pipe->child.reset();
  if (in_sock) in_sock->child.reset();
  if (rc != 0) {
    return make_error("spawn_failed", command + ": " + std::strerror(rc));
  }

  ProcessResult result;
  Fd pidfd = open_pidfd(pid);
  Fd out_fd = std::move(out_pipe->parent);
  Fd err_fd = std::move(err_pipe->parent);
  Fd in_fd = in_sock ? std::move(in_sock->parent) : Fd();
  std::size_t in_offset = 0;
  const std::string empty;
  const std::string& input = options.stdin_data ? *options.stdin_data : empty;
  if (in_fd.valid() && input.empty()) in_fd.reset();

  bool exited = false;
  int status = 0;
  auto fail = [&](Error error) -> Result<ProcessResult> {
    kill_group(pid);
    reap(pid);
    return error;
  };

  while (out_fd.valid() || err_fd.valid() || !exited) {
    auto now = SteadyClock::now();
    if (now >= deadline) {
      kill_group(pid);
      reap(pid);
      std::string message = command + ": no result after " +
                            std::to_string(options.timeout.count()) + " ms; process group killed";
      if (!result.err.empty()) message += "; stderr: " + tail_for_message(result.err);
      return make_error("timeout", message);
    }
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;

    std::array<pollfd, 4> fds{};
    nfds_t count = 0;
    int out_idx = -1, err_idx = -1, in_idx = -1, pid_idx = -1;
    if (out_fd.valid()) {
      out_idx = static_cast<int>(count);
      fds[count++] = pollfd{out_fd.get(), POLLIN, 0};
    }
    if (err_fd.valid()) {
      err_idx = static_cast<int>(count);
      fds[count++] = pollfd{err_fd.get(), POLLIN, 0};
    }
    if (in_fd.valid()) {
      in_idx = static_cast<int>(count);
      fds[count++] = pollfd{in_fd.get(), POLLOUT, 0};
    }
    int slice = static_cast<int>(std::min<long long>(remaining, 60'000));
    if (!exited && pidfd.valid()) {
      pid_idx = static_cast<int>(count);
      fds[count++] = pollfd{pidfd.get(), POLLIN, 0};
    } else if (!exited) {
      slice = std::min(slice, 10);  // no pidfd: poll for the exit
    }
    int n = ::poll(fds.data(), count, slice);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(make_error("io_error", command + ": " + errno_text("poll", errno)));
    }

    if (in_idx >= 0 && fds[in_idx].revents != 0) {
      if (fds[in_idx].revents & POLLOUT) {
        ssize_t w = ::send(in_fd.get(), input.data() + in_offset, input.size() - in_offset,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
          in_offset += static_cast<std::size_t>(w);
          if (in_offset >= input.size()) in_fd.reset();  // EOF for the child
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          in_fd.reset();  // the child stopped reading (EPIPE): not our error
        }
      } else {
        in_fd.reset();  // POLLERR / POLLHUP
      }
    }
    if (out_idx >= 0 && fds[out_idx].revents != 0) {
      if (!drain(out_fd.get(), result.out, result.out_truncated, options.max_output_bytes)) {
        out_fd.reset();
      }
    }
    if (err_idx >= 0 && fds[err_idx].revents != 0) {
      if (!drain(err_fd.get(), result.err, result.err_truncated, options.max_output_bytes)) {
        err_fd.reset();
      }
    }

    bool check_exit = !exited && (pid_idx < 0 || fds[pid_idx].revents != 0);
    if (check_exit) {
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        exited = true;
        if (r < 0) status = -1;
        // The child is gone: what it wrote is in the pipes now. Take it and stop, even if a
        // grandchild still holds the write ends open.
        if (out_fd.valid()) {
          drain(out_fd.get(), result.out, result.out_truncated, options.max_output_bytes);
          out_fd.reset();
        }
        if (err_fd.valid()) {
          drain(err_fd.get(), result.err, result.err_truncated, options.max_output_bytes);
          err_fd.reset();
        }
        in_fd.reset();
      }
    }
  }

  if (status == -1) {
    result.exit_code = -1;
  } else {
    result.exit_code = decode_status(status, &result.term_signal);
  }
  result.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  return result;
}

}  // namespace beemesh
