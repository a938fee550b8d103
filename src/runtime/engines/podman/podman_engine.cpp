#include "runtime/engines/podman/podman_engine.h"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "manifest/manifest.h"
#include "runtime/deployment_plan.h"
#include "runtime/engines/podman/podman_common.h"
#include "runtime/engines/podman/podman_json.h"

namespace beemesh::runtime {
namespace {

using namespace std::chrono_literals;
using podman::ContainerRecord;
using podman::tail_text;

std::string workload_filter(const std::string& workload_id) {
  return "label=" + std::string(manifest::kWorkloadIdLabel) + "=" + workload_id;
}

using podman::invalid_id;
using podman::valid_workload_id;

// A 0600 file holding the YAML for one kube play, removed when this goes out of scope.
class TempFile {
 public:
  static Result<TempFile> write(const std::string& dir, const std::string& workload_id,
                                const std::string& content) {
    std::string path = dir + "/beemesh-" + workload_id + "-XXXXXX.yaml";
    int fd = ::mkstemps(path.data(), 5);  // mkstemp creates the file with mode 0600
    if (fd < 0) {
      return make_error("io_error",
                        "cannot create a temp file in " + dir + ": " + std::strerror(errno));
    }
    TempFile file(path);
    std::size_t written = 0;
    while (written < content.size()) {
      ssize_t n = ::write(fd, content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = errno;
        ::close(fd);
        return make_error("io_error", "cannot write " + path + ": " + std::strerror(err));
      }
      written += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return file;
  }
  TempFile(TempFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

std::string temp_dir(const PodmanConfig& config) {
  if (!config.temp_dir.empty()) return config.temp_dir;
  const char* env = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read-only
  return env != nullptr && *env != '\0' ? env : "/tmp";
}

}  // namespace

PodmanEngine::PodmanEngine(PodmanConfig config) : config_(std::move(config)) {}

Result<ProcessResult> PodmanEngine::podman(std::vector<std::string> args,
                                           std::chrono::milliseconds timeout,
                                           bool check_exit) const {
  std::vector<std::string> global = {config_.podman_binary};
  if (!config_.root.empty()) global.insert(global.end(), {"--root", config_.root});
  if (!config_.runroot.empty()) global.insert(global.end(), {"--runroot", config_.runroot});
  if (!config_.storage_driver.empty()) {
    global.insert(global.end(), {"--storage-driver", config_.storage_driver});
  }
  args.insert(args.begin(), global.begin(), global.end());
  ProcessOptions options;
  options.timeout = timeout;
  options.env = config_.env;
  auto result = run_process(args, options);
  if (!result) {
    known_available_ = false;  // spawn_failed, timeout: the next selection probes again
    return result.error();
  }
  if (check_exit && !result->success()) {
    return make_error("podman_failed", describe_command(args) + " exited " +
                                           std::to_string(result->exit_code) + ": " +
                                           tail_text(result->err));
  }
  return result;
}

bool PodmanEngine::is_available() {
  if (known_available_) return true;
  auto result = podman({"version", "--format", "json"}, config_.probe_timeout);
  if (!result) {
    spdlog::debug("podman: not available: {}", result.error().to_string());
    return false;
  }
  auto version = podman::parse_version(result->out);
  if (!version) {
    spdlog::debug("podman: not available: {}", version.error().to_string());
    return false;
  }
  known_available_ = true;
  return true;
}

Result<void> PodmanEngine::validate_manifest(const manifest::Manifest& parsed) {
  if (parsed.primary() == nullptr) {
    return make_error("invalid_manifest",
                      parsed.source + ": no Pod, Deployment or StatefulSet to run");
  }
  return ok_result();
}

Result<std::vector<WorkloadInfo>> PodmanEngine::query(const std::string& workload_id) const {
  const std::string filter = workload_id.empty()
                                 ? "label=" + std::string(manifest::kWorkloadIdLabel)
                                 : workload_filter(workload_id);
  auto ps =
      podman({"ps", "-a", "--pod", "--format", "json", "--filter", filter}, config_.query_timeout);
  if (!ps) return ps.error();
  auto records = podman::parse_ps(ps->out);
  if (!records) return records.error();
  return podman::workloads_from(*records, name());
}

Result<WorkloadInfo> PodmanEngine::status(const std::string& workload_id) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto found = query(workload_id);
  if (!found) return found.error();
  if (found->empty()) {
    return make_error("not_found", "podman: no containers labelled " +
                                       std::string(manifest::kWorkloadIdLabel) + "=" + workload_id);
  }
  return found->front();
}

Result<std::vector<WorkloadInfo>> PodmanEngine::list() {
  return query("");
}

Result<std::string> PodmanEngine::logs(const std::string& workload_id, int tail_lines) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto ps =
      podman({"ps", "-a", "--pod", "--format", "json", "--filter", workload_filter(workload_id)},
             config_.query_timeout);
  if (!ps) return ps.error();
  auto records = podman::parse_ps(ps->out);
  if (!records) return records.error();
  std::vector<const ContainerRecord*> containers;
  for (const auto& r : *records) {
    if (!r.is_infra) containers.push_back(&r);
  }
  if (containers.empty()) {
    return make_error("not_found", "podman: no containers for workload " + workload_id);
  }
  std::sort(containers.begin(), containers.end(), [](const auto* a, const auto* b) {
    if (a->pod_name.size() != b->pod_name.size()) return a->pod_name.size() < b->pod_name.size();
    if (a->pod_name != b->pod_name) return a->pod_name < b->pod_name;
    return a->name < b->name;
  });

  std::string out;
  for (const auto* c : containers) {
    std::vector<std::string> args = {config_.podman_binary, "logs", "--tail",
                                     std::to_string(tail_lines > 0 ? tail_lines : -1), c->id};
    ProcessOptions options;
    options.timeout = config_.query_timeout;
    options.env = config_.env;
    options.merge_stderr = true;  // the container's stdout and stderr, in order
    auto result = run_process(args, options);
    if (!result) return result.error();
    if (!result->success()) {
      return make_error("podman_failed", describe_command(args) + " exited " +
                                             std::to_string(result->exit_code) + ": " +
                                             tail_text(result->out));
    }
    if (containers.size() > 1) out += "==> " + c->name + " <==\n";
    out += result->out;
    if (!result->out.empty() && result->out.back() != '\n') out += '\n';
  }
  return out;
}

// kube play makes a `podman secret` of each Secret document, without labels; the rewrite
// names a workload's Secrets "<name>-<workload id>" (manifest/rewrite.cpp), a suffix no other
// workload's Secret can end with. (`secret ls --format json` prints "json" on Podman 4.3.)
Result<void> PodmanEngine::remove_secrets(const std::string& workload_id) {
  auto listed =
      podman({"secret", "ls", "--noheading", "--format", "{{.Name}}"}, config_.query_timeout);
  if (!listed) return listed.error();
  const std::string suffix = "-" + workload_id;
  std::vector<std::string> ours;
  std::istringstream lines(listed->out);
  for (std::string name; std::getline(lines, name);) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      ours.push_back(name);
    }
  }
  if (ours.empty()) return ok_result();
  std::vector<std::string> args = {"secret", "rm"};
  args.insert(args.end(), ours.begin(), ours.end());
  auto rm = podman(args, config_.query_timeout, false);
  if (!rm) return rm.error();
  return ok_result();
}

Result<void> PodmanEngine::remove_labelled(const std::string& workload_id) {
  const auto filter = workload_filter(workload_id);
  const auto grace = std::to_string(std::max(0, config_.stop_grace_seconds));
  auto pods = podman({"pod", "ps", "--format", "json", "--filter", filter}, config_.query_timeout);
  if (!pods) return pods.error();
  auto pod_ids = podman::parse_ids(pods->out);
  if (!pod_ids) return pod_ids.error();
  // One `pod rm` per pod, run side by side: Podman removes the pods of one call one after
  // the other, and each may stall ~3 s on its cgroup (3 pods: 5.8 s in one call, 1.6 s so).
  podman::remove_side_by_side(*pod_ids, [this, &grace](const std::string& id) {
    auto rm = podman({"pod", "rm", "-f", "--ignore", "-t", grace, id}, config_.play_timeout, false);
    if (!rm) spdlog::warn("podman: removing pod {}: {}", id, rm.error().to_string());
  });
  // Containers outside our pods (e.g. left by an interrupted kube play).
  auto ps = podman({"ps", "-a", "--format", "json", "--filter", filter}, config_.query_timeout);
  if (!ps) return ps.error();
  auto container_ids = podman::parse_ids(ps->out);
  if (!container_ids) return container_ids.error();
  if (!container_ids->empty()) {
    std::vector<std::string> args = {"rm", "-f", "--ignore", "-t", grace};
    args.insert(args.end(), container_ids->begin(), container_ids->end());
    auto rm = podman(args, config_.play_timeout, false);
    if (!rm) return rm.error();
  }

  BEEMESH_TRY(remove_secrets(workload_id));

  // Check that nothing is left.
  auto pods_after =
      podman({"pod", "ps", "--format", "json", "--filter", filter}, config_.query_timeout);
  if (!pods_after) return pods_after.error();
  auto ps_after =
      podman({"ps", "-a", "--format", "json", "--filter", filter}, config_.query_timeout);
  if (!ps_after) return ps_after.error();
  auto pods_left = podman::parse_ids(pods_after->out);
  auto containers_left = podman::parse_ids(ps_after->out);
  if (!pods_left) return pods_left.error();
  if (!containers_left) return containers_left.error();
  return podman::nothing_left(workload_id, pods_left->size(), containers_left->size());
}

Result<void> PodmanEngine::remove(const std::string& workload_id) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto removed = remove_labelled(workload_id);
  if (removed) spdlog::info("podman: removed workload {}", workload_id);
  return removed;
}

Result<void> PodmanEngine::restart(const std::string& workload_id) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto pods = podman({"pod", "ps", "--format", "json", "--filter", workload_filter(workload_id)},
                     config_.query_timeout);
  if (!pods) return pods.error();
  auto pod_ids = podman::parse_ids(pods->out);
  if (!pod_ids) return pod_ids.error();
  if (pod_ids->empty()) {
    return make_error("not_found", "podman: no pods for workload " + workload_id);
  }
  std::vector<std::string> args = {"pod", "start"};
  args.insert(args.end(), pod_ids->begin(), pod_ids->end());
  auto started = podman(args, config_.play_timeout);
  if (!started) return started.error();
  spdlog::info("podman: restarted workload {} ({} pod(s))", workload_id, pod_ids->size());
  return ok_result();
}

Result<WorkloadInfo> PodmanEngine::wait_until_running(const std::string& workload_id) {
  return podman::wait_until_running([&] { return query(workload_id); },
                                    [&](int tail_lines) { return logs(workload_id, tail_lines); },
                                    workload_id, config_.start_timeout, 100ms, "kube play");
}

Result<WorkloadInfo> PodmanEngine::deploy_once(const manifest::SharedManifest& parsed,
                                               const DeploymentConfig& config,
                                               const std::string& workload_id,
                                               std::set<int>& picked, bool& port_race) {
  auto plan = plan_deployment(parsed, config, workload_id);
  if (!plan) return plan.error();
  auto yaml = podman::prepare_podman_yaml(*plan, reserved_ports_, picked, config.volumes);
  if (!yaml) return yaml.error();

  Result<ProcessResult> played = make_error("internal", "kube play did not run");
  {
    auto file = TempFile::write(temp_dir(config_), workload_id, *yaml);
    if (!file) return file.error();
    // Never --replace: a pod of that name that appeared meanwhile makes kube play fail.
    std::vector<std::string> args = {"kube", "play", "--quiet"};
    if (!config.network.empty()) {
      args.push_back("--network");
      args.push_back(config.network);
    }
    args.push_back(file->path());
    played = podman(args, config_.play_timeout, false);
  }  // the temp file is gone here

  auto fail = [&](Error error) -> Result<WorkloadInfo> {
    auto cleaned = remove_labelled(workload_id);
    if (!cleaned) {
      error.message += "; cleanup failed too: " + cleaned.error().to_string();
    }
    spdlog::warn("podman: deploy of workload {} failed: {}", workload_id, error.to_string());
    return error;
  };

  if (!played) return fail(played.error());
  if (!played->success()) {
    port_race = !picked.empty() && played->err.find("address already in use") != std::string::npos;
    return fail(make_error("deploy_failed", "podman kube play of workload " + workload_id +
                                                " exited " + std::to_string(played->exit_code) +
                                                ": " + tail_text(played->err)));
  }

  auto info = wait_until_running(workload_id);
  if (!info) return fail(info.error());
  auto finished = podman::finish_deploy(std::move(*info), *plan, config.manifest_id);
  if (!finished) return fail(finished.error());
  return finished;
}

Result<void> PodmanEngine::check_no_conflict(const std::vector<std::string>& pod_names,
                                             const std::string& workload_id,
                                             const std::string& manifest_id) const {
  auto ps = podman({"ps", "-a", "--pod", "--format", "json"}, config_.query_timeout);
  if (!ps) return ps.error();
  auto records = podman::parse_ps(ps->out);
  if (!records) return records.error();
  return podman::check_no_conflict(*records, pod_names, workload_id, manifest_id);
}

Result<WorkloadInfo> PodmanEngine::deploy(const manifest::SharedManifest& parsed,
                                          const DeploymentConfig& config) {
  const std::string workload_id =
      config.workload_id.empty() ? new_workload_id() : config.workload_id;
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);

  // Nothing of another workload is replaced: the pod names must be free (or ours), and
  // this workload id must not run for another manifest.
  auto names = plan_deployment(parsed, config, workload_id);
  if (!names) return names.error();
  BEEMESH_TRY(check_no_conflict(names->pod_names(), workload_id, config.manifest_id));

  // A redeploy under the same id (same manifest) replaces what runs.
  auto existing = query(workload_id);
  if (!existing) return existing.error();
  const bool redeploy = !existing->empty();
  if (redeploy) {
    auto removed = remove_labelled(workload_id);
    if (!removed) return removed.error();
  }

  return podman::deploy_with_retries(
      [&](std::set<int>& picked, bool& port_race) {
        auto result = deploy_once(parsed, config, workload_id, picked, port_race);
        podman::retry_if_replaced_port_busy(result, redeploy, port_race);
        return result;
      },
      reserved_ports_, workload_id, config.manifest_id);
}

}  // namespace beemesh::runtime
