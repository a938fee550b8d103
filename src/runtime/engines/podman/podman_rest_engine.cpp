#include "runtime/engines/podman/podman_rest_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "manifest/manifest.h"
#include "runtime/deployment_plan.h"
#include "runtime/engines/docker/log_stream.h"

namespace beemesh::runtime {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using podman::ContainerRecord;
using podman::tail_text;

using podman::invalid_id;
using podman::valid_workload_id;

std::string label_filter(const std::string& workload_id) {
  std::string label(manifest::kWorkloadIdLabel);
  if (!workload_id.empty()) label += "=" + workload_id;
  return "filters=" + docker::url_encode(json{{"label", {label}}}.dump());
}

// The "message" of a libpod error answer, else the body.
std::string api_message(const docker::HttpResponse& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string()) {
    return body["message"].get<std::string>();
  }
  return "HTTP " + std::to_string(r.status) + ": " + tail_text(r.body, 300);
}

bool ok_status(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

PodmanRestEngine::PodmanRestEngine(PodmanRestConfig config)
    : config_(std::move(config)), socket_(config_.socket_path) {}

PodmanRestEngine::~PodmanRestEngine() = default;  // stops our service (if any)

std::string PodmanRestEngine::socket_path() const {
  std::lock_guard lock(service_mutex_);
  return socket_;
}

Result<std::string> PodmanRestEngine::ensure_socket(const std::string& refused) {
  if (!config_.socket_path.empty()) return config_.socket_path;
  std::lock_guard lock(service_mutex_);
  // A service that refused a connection is replaced, unless another call already did.
  const bool replace = !refused.empty() && refused == socket_;
  if (service_ && service_->running() && !replace) return socket_;
  if (service_) {
    spdlog::info("podman: our podman system service {}; starting a new one",
                 replace ? "refused a connection" : "has exited");
  }
  service_.reset();
  podman::ServiceOptions options;
  options.podman_binary = config_.podman_binary;
  if (!config_.root.empty())
    options.global_args.insert(options.global_args.end(), {"--root", config_.root});
  if (!config_.runroot.empty()) {
    options.global_args.insert(options.global_args.end(), {"--runroot", config_.runroot});
  }
  if (!config_.storage_driver.empty()) {
    options.global_args.insert(options.global_args.end(),
                               {"--storage-driver", config_.storage_driver});
  }
  options.env = config_.env;
  options.parent_dir = config_.service_dir;
  options.start_timeout = config_.service_start_timeout;
  options.idle_timeout_seconds = config_.service_idle_timeout_seconds;
  auto started = podman::PodmanService::start(options);
  if (!started) {
    known_available_ = false;
    return started.error();
  }
  service_ = std::move(*started);
  socket_ = service_->socket_path();
  spdlog::info("podman: started podman system service on {}", socket_);
  return socket_;
}

Result<docker::HttpResponse> PodmanRestEngine::call(std::string_view method,
                                                    const std::string& path,
                                                    std::chrono::milliseconds timeout,
                                                    std::string_view body,
                                                    std::string_view content_type) {
  auto socket = ensure_socket();
  if (!socket) return socket.error();
  const std::string target = "/" + config_.api_version + "/libpod" + path;
  auto response =
      docker::UnixHttpClient(*socket).request(method, target, body, content_type, timeout);
  // Our own service may have just exited (idle timeout): nothing was sent when the connect
  // failed, so one retry on a fresh service is safe for every method.
  if (!response && response.error().code == "unavailable" && config_.socket_path.empty()) {
    socket = ensure_socket(*socket);
    if (!socket) return socket.error();
    response = docker::UnixHttpClient(*socket).request(method, target, body, content_type, timeout);
  }
  if (!response && (response.error().code == "unavailable" || response.error().code == "timeout")) {
    known_available_ = false;  // probe again before the next selection
  }
  return response;
}

bool PodmanRestEngine::is_available() {
  if (known_available_) return true;
  auto r = call("GET", "/_ping", config_.probe_timeout);
  bool ok = r && r->status == 200;
  if (!ok) {
    spdlog::debug("podman: not available: {}",
                  r ? "HTTP " + std::to_string(r->status) : r.error().to_string());
  }
  known_available_ = ok;
  return ok;
}

Result<void> PodmanRestEngine::validate_manifest(const manifest::Manifest& parsed) {
  if (parsed.primary() == nullptr) {
    return make_error("invalid_manifest",
                      parsed.source + ": no Pod, Deployment or StatefulSet to run");
  }
  return ok_result();
}

Result<std::vector<ContainerRecord>> PodmanRestEngine::containers(const std::string& workload_id) {
  std::string path = "/containers/json?all=true&pod=true";
  if (workload_id != "*") path += "&" + label_filter(workload_id);
  auto r = call("GET", path, config_.query_timeout);
  if (!r) return r.error();
  if (r->status != 200)
    return make_error("podman_failed", "podman: listing containers: " + api_message(*r));
  return podman::parse_ps(r->body);
}

Result<WorkloadInfo> PodmanRestEngine::status(const std::string& workload_id) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto records = containers(workload_id);
  if (!records) return records.error();
  auto found = podman::workloads_from(*records, name());
  if (found.empty()) {
    return make_error("not_found", "podman: no containers labelled " +
                                       std::string(manifest::kWorkloadIdLabel) + "=" + workload_id);
  }
  return found.front();
}

Result<std::vector<WorkloadInfo>> PodmanRestEngine::list() {
  auto records = containers("");
  if (!records) return records.error();
  return podman::workloads_from(*records, name());
}

Result<std::string> PodmanRestEngine::logs(const std::string& workload_id, int tail_lines) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto records = containers(workload_id);
  if (!records) return records.error();
  std::vector<const ContainerRecord*> apps;
  for (const auto& r : *records) {
    if (!r.is_infra) apps.push_back(&r);
  }
  if (apps.empty())
    return make_error("not_found", "podman: no containers for workload " + workload_id);
  std::sort(apps.begin(), apps.end(), [](const auto* a, const auto* b) {
    if (a->pod_name.size() != b->pod_name.size()) return a->pod_name.size() < b->pod_name.size();
    if (a->pod_name != b->pod_name) return a->pod_name < b->pod_name;
    return a->name < b->name;
  });
  std::string out;
  for (const auto* c : apps) {
    std::string path = "/containers/" + c->id + "/logs?stdout=true&stderr=true";
    if (tail_lines > 0) path += "&tail=" + std::to_string(tail_lines);
    auto r = call("GET", path, config_.query_timeout);
    if (!r) return r.error();
    if (r->status != 200) {
      return make_error("podman_failed", "podman: logs of " + c->name + ": " + api_message(*r));
    }
    auto text = docker::demultiplex_logs(r->body);
    if (!text) return text.error();
    if (apps.size() > 1) out += "==> " + c->name + " <==\n";
    out += text->combined;
    if (!text->combined.empty() && text->combined.back() != '\n') out += '\n';
  }
  return out;
}

Result<std::vector<std::string>> PodmanRestEngine::labelled_pods(const std::string& workload_id) {
  auto r = call("GET", "/pods/json?" + label_filter(workload_id), config_.query_timeout);
  if (!r) return r.error();
  if (r->status != 200)
    return make_error("podman_failed", "podman: listing pods: " + api_message(*r));
  return podman::parse_ids(r->body);
}

// play/kube turns each Secret document into a node-wide `podman secret`, which carries no
// label; the rewrite names a workload's Secrets "<name>-<workload id>" (manifest/rewrite.cpp),
// and no other workload's Secret name can end that way, so these are the workload's own.
Result<void> PodmanRestEngine::remove_secrets(const std::string& workload_id) {
  auto r = call("GET", "/secrets/json", config_.query_timeout);
  if (!r) return r.error();
  if (r->status != 200) {
    return make_error("podman_failed", "podman: listing secrets: " + api_message(*r));
  }
  auto listed = json::parse(r->body, nullptr, false);
  if (!listed.is_array()) return make_error("podman_output", "podman: secret list is no array");
  const std::string suffix = "-" + workload_id;
  for (const auto& secret : listed) {
    if (!secret.is_object() || !secret.contains("Spec") || !secret["Spec"].is_object()) continue;
    const auto& name = secret["Spec"].value("Name", std::string());
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    auto rm = call("DELETE", "/secrets/" + docker::url_encode(name), config_.query_timeout);
    if (!rm) return rm.error();
    if (!ok_status(rm->status) && rm->status != 404) {
      return make_error("remove_failed",
                        "podman: removing secret " + name + ": " + api_message(*rm));
    }
  }
  return ok_result();
}

Result<void> PodmanRestEngine::remove_labelled(const std::string& workload_id) {
  auto pods = labelled_pods(workload_id);
  if (!pods) return pods.error();
  const std::string grace = std::to_string(std::max(0, config_.stop_grace_seconds));
  // Pods side by side: each removal may stall ~3 s on its cgroup (cgroupfs manager).
  podman::remove_side_by_side(*pods, [this, &grace](const std::string& id) {
    // Stop with our grace first: a forced DELETE waits each container's own stop timeout.
    auto stopped = call("POST", "/pods/" + id + "/stop?t=" + grace, config_.play_timeout);
    if (!stopped) spdlog::warn("podman: stopping pod {}: {}", id, stopped.error().to_string());
    auto rm = call("DELETE", "/pods/" + id + "?force=true", config_.play_timeout);
    if (!rm) {
      spdlog::warn("podman: removing pod {}: {}", id, rm.error().to_string());
    } else if (!ok_status(rm->status) && rm->status != 404) {
      spdlog::warn("podman: removing pod {}: {}", id, api_message(*rm));
    }
  });
  // Containers outside our pods (e.g. left by an interrupted play).
  auto strays = containers(workload_id);
  if (!strays) return strays.error();
  for (const auto& c : *strays) {
    auto rm =
        call("DELETE", "/containers/" + c.id + "?force=true&t=" + grace, config_.play_timeout);
    if (!rm) return rm.error();
  }
  BEEMESH_TRY(remove_secrets(workload_id));
  // Nothing may be left.
  auto pods_left = labelled_pods(workload_id);
  if (!pods_left) return pods_left.error();
  auto containers_left = containers(workload_id);
  if (!containers_left) return containers_left.error();
  return podman::nothing_left(workload_id, pods_left->size(), containers_left->size());
}

Result<void> PodmanRestEngine::remove(const std::string& workload_id) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto removed = remove_labelled(workload_id);
  if (removed) spdlog::info("podman: removed workload {}", workload_id);
  return removed;
}

Result<void> PodmanRestEngine::restart(const std::string& workload_id) {
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);
  auto pods = labelled_pods(workload_id);
  if (!pods) return pods.error();
  if (pods->empty()) return make_error("not_found", "podman: no pods for workload " + workload_id);
  for (const auto& id : *pods) {
    auto r = call("POST", "/pods/" + id + "/start", config_.play_timeout);
    if (!r) return r.error();
    if (!ok_status(r->status) && r->status != 304) {
      return make_error("podman_failed", "podman: starting pod " + id + ": " + api_message(*r));
    }
  }
  spdlog::info("podman: restarted workload {} ({} pod(s))", workload_id, pods->size());
  return ok_result();
}

Result<WorkloadInfo> PodmanRestEngine::wait_until_running(const std::string& workload_id) {
  return podman::wait_until_running(
      [&]() -> Result<std::vector<WorkloadInfo>> {
        auto records = containers(workload_id);
        if (!records) return records.error();
        return podman::workloads_from(*records, name());
      },
      [&](int tail_lines) { return logs(workload_id, tail_lines); }, workload_id,
      config_.start_timeout, 50ms, "play/kube");
}

Result<WorkloadInfo> PodmanRestEngine::deploy_once(const manifest::SharedManifest& parsed,
                                                   const DeploymentConfig& config,
                                                   const std::string& workload_id,
                                                   std::set<int>& picked, bool& port_race) {
  auto plan = plan_deployment(parsed, config, workload_id);
  if (!plan) return plan.error();
  auto yaml = podman::prepare_podman_yaml(*plan, reserved_ports_, picked, config.volumes);
  if (!yaml) return yaml.error();

  auto fail = [&](Error error) -> Result<WorkloadInfo> {
    auto cleaned = remove_labelled(workload_id);
    if (!cleaned) error.message += "; cleanup failed too: " + cleaned.error().to_string();
    spdlog::warn("podman: deploy of workload {} failed: {}", workload_id, error.to_string());
    return error;
  };

  // Never replace: a pod of that name that appeared meanwhile makes play/kube fail.
  std::string path = "/play/kube";
  if (!config.network.empty()) path += "?network=" + docker::url_encode(config.network);
  auto played = call("POST", path, config_.play_timeout, *yaml, "application/yaml");
  if (!played) return fail(played.error());
  if (played->status != 200) {
    return fail(make_error("deploy_failed", "podman play/kube of workload " + workload_id + ": " +
                                                api_message(*played)));
  }
  auto report = json::parse(played->body, nullptr, false);
  std::string container_errors;
  if (report.is_object() && report.contains("Pods") && report["Pods"].is_array()) {
    for (const auto& pod : report["Pods"]) {
      if (!pod.is_object() || !pod.contains("ContainerErrors") ||
          !pod["ContainerErrors"].is_array()) {
        continue;
      }
      for (const auto& e : pod["ContainerErrors"]) {
        if (e.is_string())
          container_errors += (container_errors.empty() ? "" : "; ") + e.get<std::string>();
      }
    }
  }
  if (!container_errors.empty()) {
    port_race =
        !picked.empty() && container_errors.find("address already in use") != std::string::npos;
    return fail(make_error("deploy_failed", "podman play/kube of workload " + workload_id + ": " +
                                                tail_text(container_errors)));
  }

  auto info = wait_until_running(workload_id);
  if (!info) return fail(info.error());
  auto finished = podman::finish_deploy(std::move(*info), *plan, config.manifest_id);
  if (!finished) return fail(finished.error());
  return finished;
}

Result<WorkloadInfo> PodmanRestEngine::deploy(const manifest::SharedManifest& parsed,
                                              const DeploymentConfig& config) {
  const std::string workload_id =
      config.workload_id.empty() ? new_workload_id() : config.workload_id;
  if (!valid_workload_id(workload_id)) return invalid_id(workload_id);

  // One list of every container: the pod names must be free (or ours), this workload id
  // must not run for another manifest, and a redeploy of it replaces what runs.
  auto names = plan_deployment(parsed, config, workload_id);
  if (!names) return names.error();
  auto all = containers("*");
  if (!all) return all.error();
  BEEMESH_TRY(podman::check_no_conflict(*all, names->pod_names(), workload_id, config.manifest_id));
  const bool redeploy = std::any_of(all->begin(), all->end(), [&](const ContainerRecord& r) {
    return r.label(manifest::kWorkloadIdLabel) == workload_id;
  });
  if (redeploy) BEEMESH_TRY(remove_labelled(workload_id));

  return podman::deploy_with_retries(
      [&](std::set<int>& picked, bool& port_race) {
        auto result = deploy_once(parsed, config, workload_id, picked, port_race);
        podman::retry_if_replaced_port_busy(result, redeploy, port_race);
        return result;
      },
      reserved_ports_, workload_id, config.manifest_id);
}

}  // namespace beemesh::runtime
