#include "runtime/engines/podman/podman_service.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>

#include "runtime/engines/docker/unix_http.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX, for posix_spawnp

namespace beemesh::runtime::podman {
namespace {

using namespace std::chrono_literals;

std::string log_tail(const std::string& path, std::size_t bytes = 600) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  while (!all.empty() && (all.back() == '\n' || all.back() == ' ')) all.pop_back();
  return all.size() > bytes ? "..." + all.substr(all.size() - bytes) : all;
}

constexpr std::string_view kDirPrefix = "beemesh-podman-";
constexpr const char* kOwnerFile = "owner.pid";

// A process with this pid exists (kill(pid, 0) != ESRCH; EPERM means it exists).
bool process_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH);
}

}  // namespace

int remove_stale_service_dirs(const std::string& parent) {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kDirPrefix, 0) != 0 || !entry.is_directory(ec) || entry.is_symlink(ec)) {
      continue;
    }
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || st.st_uid != ::geteuid()) continue;
    std::ifstream in(entry.path() / kOwnerFile);
    long owner = 0;
    if (!(in >> owner) || owner <= 0 || process_alive(static_cast<pid_t>(owner))) continue;
    std::filesystem::remove_all(entry.path(), ec);
    if (!ec) ++removed;
  }
  return removed;
}

namespace {

bool answers_ping(const std::string& socket) {
  docker::UnixHttpClient client(socket, 4096);
  auto r = client.request("GET", "/_ping", "", "", 1s);
  return r && r->status == 200;
}

}  // namespace

Result<std::unique_ptr<PodmanService>> PodmanService::start(const ServiceOptions& options) {
  std::string parent = options.parent_dir;
  if (parent.empty()) {
    const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read-only
    parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  if (int stale = remove_stale_service_dirs(parent); stale > 0) {
    spdlog::info("podman: removed {} directories of services whose daemon is gone", stale);
  }
  std::string templ = parent + "/" + std::string(kDirPrefix) + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return make_error("io_error",
                      "cannot create a directory in " + parent + ": " + std::strerror(errno));
  }
  {
    // Whose it is: a later start removes it when this process died without its destructor.
    std::ofstream owner(templ + "/" + kOwnerFile);
    owner << ::getpid() << "\n";
  }
  std::unique_ptr<PodmanService> service(new PodmanService());  // private constructor
  service->dir_ = templ;
  service->socket_ = templ + "/podman.sock";
  const std::string log = templ + "/service.log";

  std::vector<std::string> args = {options.podman_binary};
  args.insert(args.end(), options.global_args.begin(), options.global_args.end());
  args.insert(args.end(), {"system", "service",
                           "--time=" + std::to_string(std::max(0, options.idle_timeout_seconds)),
                           "unix://" + service->socket_});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string_view::npos && options.env.count(std::string(entry.substr(0, eq)))) {
      continue;
    }
    env_strings.emplace_back(entry);
  }
  for (const auto& [key, value] : options.env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Its working directory must outlive it (conmon fails without one).
  posix_spawn_file_actions_addchdir_np(&actions, "/");
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // None of the daemon's other descriptors: a service (re)started after the daemon listens
  // would hold its RPC, API and DHT ports after the daemon dies, and a restart of the
  // daemon on the same ports fails `bind_failed` (as common/process.cpp does for commands).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);  // no terminal signals from our process group
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return make_error("spawn_failed",
                      "cannot start " + options.podman_binary + ": " + std::strerror(rc));
  }
  service->pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  while (true) {
    if (answers_ping(service->socket_)) return service;
    if (!service->running()) {
      return make_error("service_exited",
                        "podman system service exited during start-up: " + log_tail(log));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error("timeout", "podman system service did not answer within " +
                                       std::to_string(options.start_timeout.count()) +
                                       " ms: " + log_tail(log));
    }
    std::this_thread::sleep_for(20ms);
  }
}

bool PodmanService::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return false;
  }
  return true;
}

void PodmanService::stop() {
  if (running()) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

PodmanService::~PodmanService() {
  stop();
}

}  // namespace beemesh::runtime::podman
