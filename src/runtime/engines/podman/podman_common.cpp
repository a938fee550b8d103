#include "runtime/engines/podman/podman_common.h"

#include <yaml-cpp/yaml.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <thread>

#include "manifest/manifest.h"
#include "runtime/engines/podman/host_ports.h"

namespace beemesh::runtime::podman {

void label_for_podman(DeploymentPlan& plan) {
  plan.options.labels[std::string(kRestartPolicyLabel)] = plan.restart_policy;
  for (const auto& port : plan.ports) {
    plan.options.labels.emplace(port_label_key(port.container_port, port.protocol), port.container);
  }
}

Result<std::string> adapt_for_podman(const std::string& yaml,
                                     const std::vector<VolumeMount>& volumes) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(yaml);
  } catch (const YAML::Exception& e) {
    return make_error("internal", std::string("rewritten manifest is not YAML: ") + e.what());
  }
  YAML::Emitter out;
  for (auto& doc : docs) {
    if (doc.IsMap() && doc["kind"] && doc["kind"].as<std::string>("") == "Pod") {
      YAML::Node spec = doc["spec"];
      for (YAML::Node container : spec["containers"]) {
        if (!container["ports"]) continue;
        YAML::Node kept(YAML::NodeType::Sequence);
        for (const auto& port : container["ports"]) {
          if (port["hostPort"] && port["hostPort"].as<int>(0) > 0) kept.push_back(port);
        }
        if (kept.size() == 0) {
          container.remove("ports");
        } else {
          container["ports"] = kept;
        }
      }
      for (std::size_t i = 0; i < volumes.size(); ++i) {
        const std::string name = "beemesh-volume-" + std::to_string(i);
        YAML::Node volume;
        volume["name"] = name;
        volume["hostPath"]["path"] = volumes[i].host_path;
        spec["volumes"].push_back(volume);
        for (YAML::Node container : spec["containers"]) {
          YAML::Node mount;
          mount["name"] = name;
          mount["mountPath"] = volumes[i].container_path;
          if (volumes[i].read_only) mount["readOnly"] = true;
          container["volumeMounts"].push_back(mount);
        }
      }
    }
    out << YAML::BeginDoc << doc;
  }
  if (!out.good()) return make_error("internal", "cannot emit YAML: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

bool reports_port(const WorkloadInfo& info, const PortMapping& want) {
  for (const auto& got : info.ports) {
    if (got.pod != want.pod || got.container_port != want.container_port ||
        got.protocol != want.protocol) {
      continue;
    }
    auto any = [](const std::string& ip) { return ip.empty() || ip == "0.0.0.0"; };
    bool same_ip = got.host_ip == want.host_ip || (any(got.host_ip) && any(want.host_ip));
    return got.host_port == want.host_port && same_ip;
  }
  return false;
}

Result<void> check_no_conflict(const std::vector<ContainerRecord>& all,
                               const std::vector<std::string>& pod_names,
                               const std::string& workload_id, const std::string& manifest_id) {
  const std::string workload_key(manifest::kWorkloadIdLabel);
  const std::string manifest_key(manifest::kManifestIdLabel);
  auto conflict = [&](const std::string& what) {
    return make_error("name_conflict", "podman: cannot deploy workload " + workload_id + ": " +
                                           what + " (left untouched)");
  };
  std::set<std::string> ours;  // pods holding a container labelled with this workload id
  for (const auto& r : all) {
    if (r.is_infra || r.label(workload_key) != workload_id) continue;
    if (r.label(manifest_key) != manifest_id) {
      return conflict("container " + r.name + " runs it for manifest " + r.label(manifest_key));
    }
    if (!r.pod_name.empty()) ours.insert(r.pod_name);
  }
  for (const auto& r : all) {
    const bool mine = r.label(workload_key) == workload_id || ours.contains(r.pod_name);
    if (mine) continue;
    for (const auto& pod : pod_names) {
      if (r.pod_name == pod || r.name == pod || r.name.starts_with(pod + "-")) {
        return conflict("pod or container " + (r.pod_name.empty() ? r.name : r.pod_name) +
                        " exists under another workload id");
      }
    }
  }
  return ok_result();
}

Result<void> HostPortReservations::pick(DeploymentPlan& plan, std::set<int>& picked) {
  for (auto index : plan.unassigned_ports()) {
    std::lock_guard lock(mutex_);
    const auto& port = plan.ports[index];
    auto chosen = pick_free_port(port.host_ip, port.protocol, reserved_);
    if (!chosen) return chosen.error();
    reserved_.insert(*chosen);
    picked.insert(*chosen);
    plan.assign_host_port(index, *chosen);
  }
  return ok_result();
}

void HostPortReservations::release(const std::set<int>& picked) {
  std::lock_guard lock(mutex_);
  for (int port : picked) reserved_.erase(port);
}

std::string tail_text(const std::string& text, std::size_t max) {
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.pop_back();
  if (trimmed.size() <= max) return trimmed;
  return "..." + trimmed.substr(trimmed.size() - max);
}

Result<std::string> prepare_podman_yaml(DeploymentPlan& plan, HostPortReservations& reservations,
                                        std::set<int>& picked,
                                        const std::vector<VolumeMount>& volumes) {
  label_for_podman(plan);
  BEEMESH_TRY(reservations.pick(plan, picked));
  auto rewritten = plan.rewrite();
  if (!rewritten) return rewritten.error();
  return adapt_for_podman(*rewritten, volumes);
}

Result<WorkloadInfo> wait_until_running(const QueryFn& query, const LogsFn& logs,
                                        const std::string& workload_id,
                                        std::chrono::milliseconds start_timeout,
                                        std::chrono::milliseconds poll,
                                        std::string_view play_name) {
  const auto deadline = std::chrono::steady_clock::now() + start_timeout;
  while (true) {
    auto found = query();
    if (!found) return found.error();
    if (found->empty()) {
      return make_error("deploy_failed", "podman: " + std::string(play_name) +
                                             " created no containers for workload " + workload_id);
    }
    const auto& info = found->front();
    if (info.state == WorkloadState::Running) return info;
    if (info.state == WorkloadState::Stopped && info.restart_policy != "Always") return info;
    if (info.state == WorkloadState::Failed) {
      std::string message = "podman: workload " + workload_id + " failed to start: " + info.message;
      auto log = logs(5);
      if (log && !log->empty()) message += "; last log lines: " + tail_text(*log, 400);
      return make_error("deploy_failed", message);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error("timeout", "podman: workload " + workload_id + " not running after " +
                                       std::to_string(start_timeout.count()) + " ms (" +
                                       std::string(to_string(info.state)) + ": " + info.message +
                                       ")");
    }
    std::this_thread::sleep_for(poll);
  }
}

Result<WorkloadInfo> finish_deploy(WorkloadInfo info, const DeploymentPlan& plan,
                                   const std::string& manifest_id) {
  for (const auto& want : plan.ports) {
    if (!reports_port(info, want)) {
      return make_error("port_mismatch", "podman: pod " + want.pod + " does not publish " +
                                             want.protocol + " " +
                                             std::to_string(want.container_port) + " on " +
                                             (want.host_ip.empty() ? "*" : want.host_ip) + ":" +
                                             std::to_string(want.host_port) + " as planned");
    }
  }
  info.manifest_id = manifest_id;
  info.restart_policy = plan.restart_policy;
  info.ports = plan.ports;
  info.pods = plan.pod_names();
  return info;
}

void retry_if_replaced_port_busy(const Result<WorkloadInfo>& attempt, bool redeploy,
                                 bool& port_race) {
  if (attempt || !redeploy || port_race) return;
  if (attempt.error().message.find("address already in use") == std::string::npos) return;
  port_race = true;
  std::this_thread::sleep_for(kReplacedPortWait);
}

Result<WorkloadInfo> deploy_with_retries(const DeployAttemptFn& attempt,
                                         HostPortReservations& reservations,
                                         const std::string& workload_id,
                                         const std::string& manifest_id) {
  constexpr int kDeployAttempts = 3;
  for (int n = 1;; ++n) {
    std::set<int> picked;
    bool port_race = false;
    auto result = attempt(picked, port_race);
    reservations.release(picked);
    if (result) {
      spdlog::info("podman: deployed workload {} (manifest {}, {} pod(s))", workload_id,
                   manifest_id, result->pods.size());
      return result;
    }
    if (!port_race || n >= kDeployAttempts) return result;
    spdlog::info("podman: a picked host port was taken meanwhile; retrying deploy of {}",
                 workload_id);
  }
}

void remove_side_by_side(const std::vector<std::string>& ids,
                         const std::function<void(const std::string& id)>& remove) {
  constexpr std::size_t kParallelRemovals = 8;
  for (std::size_t first = 0; first < ids.size(); first += kParallelRemovals) {
    const std::size_t last = std::min(ids.size(), first + kParallelRemovals);
    std::vector<std::thread> removers;
    for (std::size_t i = first; i < last; ++i) removers.emplace_back(remove, std::cref(ids[i]));
    for (auto& remover : removers) remover.join();
  }
}

bool valid_workload_id(const std::string& id) {
  if (id.empty() || id.size() > 63) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return id.front() != '-' && id.back() != '-';
}

Error invalid_id(const std::string& id) {
  return make_error("invalid_argument",
                    "podman: workload id '" + id + "' is not 1-63 lowercase letters, digits, '-'");
}

Result<void> nothing_left(const std::string& workload_id, std::size_t pods_left,
                          std::size_t containers_left) {
  if (pods_left != 0 || containers_left != 0) {
    return make_error("remove_failed", "podman: workload " + workload_id + " still has " +
                                           std::to_string(pods_left) + " pod(s) and " +
                                           std::to_string(containers_left) +
                                           " container(s) after removal");
  }
  return ok_result();
}

}  // namespace beemesh::runtime::podman
