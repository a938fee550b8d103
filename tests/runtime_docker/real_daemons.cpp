#include "real_daemons.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/process.h"
#include "runtime/engines/docker/unix_http.h"

extern char** environ;

namespace beemesh::test {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string containers_conf() {
  return source_dir() + "/config/containers.conf";
}

std::string file_tail(const std::string& path, std::size_t bytes = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

bool ping(const std::string& socket) {
  runtime::docker::UnixHttpClient client(socket);
  auto r = client.request("GET", "/_ping", "", "", std::chrono::milliseconds(1000));
  return r && r->status == 200 && r->body.rfind("OK", 0) == 0;
}

// Force-removes every container labelled with this run's id.
void remove_run_containers(const std::string& socket, const std::string& run_id) {
  runtime::docker::UnixHttpClient client(socket);
  nlohmann::json filters = {{"label", {"beemesh.io/test-run=" + run_id}}};
  auto list = client.request(
      "GET", "/v1.41/containers/json?all=1&filters=" + runtime::docker::url_encode(filters.dump()),
      "", "", std::chrono::seconds(10));
  if (!list || list->status != 200) return;
  auto json = nlohmann::json::parse(list->body, nullptr, false);
  if (!json.is_array()) return;
  for (const auto& c : json) {
    (void)client.request("DELETE", "/v1.41/containers/" + c.value("Id", "") + "?force=1", "", "",
                         std::chrono::seconds(30));
  }
}

}  // namespace

std::string source_dir() {
  return BEEMESH_SOURCE_DIR;
}

Result<void> RealDaemons::start() {
  char templ[] = "/tmp/bm-dkt-XXXXXX";
  if (::mkdtemp(templ) == nullptr) return make_error("io_error", "mkdtemp failed");
  base_dir_ = templ;
  if (auto r = start_dockerd(); !r) return r;
  if (auto r = start_podman(); !r) return r;
  return ok_result();
}

Result<void> RealDaemons::start_dockerd() {
  docker_dir_ = base_dir_ + "/dockerd";
  ProcessOptions options;
  options.timeout = std::chrono::seconds(90);
  auto run = run_process({source_dir() + "/scripts/start-dockerd.sh", docker_dir_}, options);
  if (!run) return make_error(run.error().code, "start-dockerd.sh: " + run.error().message);
  if (!run->success()) {
    return make_error("daemon_missing", "start-dockerd.sh failed (exit " +
                                            std::to_string(run->exit_code) + "): " + run->err);
  }
  docker_socket_ = trim(run->out);
  if (!ping(docker_socket_)) {
    return make_error("daemon_missing", "dockerd at " + docker_socket_ + " does not answer /_ping");
  }
  return ok_result();
}

Result<void> RealDaemons::start_podman() {
  ProcessOptions setup;
  setup.timeout = std::chrono::seconds(120);
  setup.env["CONTAINERS_CONF"] = containers_conf();
  auto made = run_process({source_dir() + "/scripts/setup-podman.sh"}, setup);
  if (!made) return make_error(made.error().code, "setup-podman.sh: " + made.error().message);
  if (!made->success()) {
    return make_error("daemon_missing", "setup-podman.sh failed (exit " +
                                            std::to_string(made->exit_code) + "): " + made->err);
  }

  podman_socket_ = base_dir_ + "/podman.sock";
  const std::string log = base_dir_ + "/podman.log";
  std::vector<std::string> args = {"podman", "system", "service", "--time=0",
                                   "unix://" + podman_socket_};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("CONTAINERS_CONF=", 0) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back("CONTAINERS_CONF=" + containers_conf());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The service's working directory must outlive it (conmon fails without one).
  posix_spawn_file_actions_addchdir_np(&actions, "/");
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "podman", &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return make_error("daemon_missing", std::string("cannot start podman: ") + std::strerror(rc));
  }
  podman_pid_ = pid;

  for (int i = 0; i < 300; ++i) {
    if (ping(podman_socket_)) return ok_result();
    int status = 0;
    if (::waitpid(podman_pid_, &status, WNOHANG) == podman_pid_) {
      podman_pid_ = -1;
      return make_error("daemon_missing",
                        "podman system service exited during start-up: " + file_tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return make_error("daemon_missing",
                    "podman system service did not answer /_ping within 30 s: " + file_tail(log));
}

std::string RealDaemons::run_id() const {
  return std::filesystem::path(base_dir_).filename().string();
}

void RealDaemons::stop() {
  if (podman_pid_ > 0) {
    remove_run_containers(podman_socket_, run_id());
    ::kill(podman_pid_, SIGTERM);
    int status = 0;
    bool reaped = false;
    for (int i = 0; i < 100 && !reaped; ++i) {
      reaped = ::waitpid(podman_pid_, &status, WNOHANG) == podman_pid_;
      if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!reaped) {
      ::kill(podman_pid_, SIGKILL);
      ::waitpid(podman_pid_, &status, 0);
    }
    podman_pid_ = -1;
  }
  if (!docker_dir_.empty()) {
    ProcessOptions options;
    options.timeout = std::chrono::seconds(60);
    (void)run_process({source_dir() + "/scripts/stop-dockerd.sh", docker_dir_}, options);
    docker_dir_.clear();
  }
  if (!base_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(base_dir_, ec);
    base_dir_.clear();
  }
}

}  // namespace beemesh::test
