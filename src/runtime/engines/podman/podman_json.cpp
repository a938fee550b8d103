#include "runtime/engines/podman/podman_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "manifest/manifest.h"

namespace beemesh::runtime::podman {
namespace {

using nlohmann::json;

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string string_at(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// "2026-11-30T05:30:13.234389715Z" (the libpod API's Created) as seconds since the epoch;
// 0 when it is not such a UTC time.
int64_t rfc3339_seconds(const std::string& text) {
  std::tm tm{};
  if (text.size() < 20 || ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(::timegm(&tm));
}

int64_t int_at(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return 0;
  return it->get<int64_t>();
}

bool is_done(const std::string& state) {
  return state == "exited" || state == "stopped" || state == "dead";
}

bool is_starting(const std::string& state) {
  return state == "created" || state == "configured" || state == "initialized" ||
         state == "stopping" || state == "restarting";
}

// Pods in replica order: "web-x-2" before "web-x-10".
bool pod_order(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

std::string join_limited(const std::vector<std::string>& items) {
  std::string out;
  std::size_t shown = std::min<std::size_t>(items.size(), 3);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > shown) out += " and " + std::to_string(items.size() - shown) + " more";
  return out;
}

}  // namespace

std::string port_label_key(int container_port, std::string_view protocol) {
  return "beemesh.io/port-" + std::to_string(container_port) + "-" +
         lower(protocol.empty() ? "tcp" : protocol);
}

std::string ContainerRecord::label(std::string_view key) const {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string() : it->second;
}

std::string ContainerRecord::short_name() const {
  if (!pod_name.empty() && name.size() > pod_name.size() + 1 &&
      name.compare(0, pod_name.size(), pod_name) == 0 && name[pod_name.size()] == '-') {
    return name.substr(pod_name.size() + 1);
  }
  return name;
}

Result<std::vector<ContainerRecord>> parse_ps(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return make_error("podman_output", "podman ps: output is not JSON");
  }
  if (doc.is_null()) return std::vector<ContainerRecord>{};
  if (!doc.is_array()) return make_error("podman_output", "podman ps: expected a JSON array");
  std::vector<ContainerRecord> out;
  for (const auto& item : doc) {
    if (!item.is_object()) {
      return make_error("podman_output", "podman ps: expected an object per container");
    }
    ContainerRecord record;
    record.id = string_at(item, "Id");
    if (auto names = item.find("Names"); names != item.end()) {
      if (names->is_array() && !names->empty() && names->front().is_string()) {
        record.name = names->front().get<std::string>();
      } else if (names->is_string()) {
        record.name = names->get<std::string>();
      }
    }
    record.pod_id = string_at(item, "Pod");
    record.pod_name = string_at(item, "PodName");
    record.state = lower(string_at(item, "State"));
    record.exit_code = static_cast<int>(int_at(item, "ExitCode"));
    if (auto infra = item.find("IsInfra"); infra != item.end() && infra->is_boolean()) {
      record.is_infra = infra->get<bool>();
    }
    record.created_s = int_at(item, "Created");
    if (record.created_s == 0) record.created_s = rfc3339_seconds(string_at(item, "Created"));
    if (auto labels = item.find("Labels"); labels != item.end() && labels->is_object()) {
      for (const auto& [key, value] : labels->items()) {
        if (value.is_string()) record.labels[key] = value.get<std::string>();
      }
    }
    if (auto ports = item.find("Ports"); ports != item.end() && ports->is_array()) {
      for (const auto& p : *ports) {
        if (!p.is_object()) continue;
        int range = static_cast<int>(int_at(p, "range"));
        if (range < 1) range = 1;
        for (int i = 0; i < range; ++i) {
          ReportedPort port;
          port.host_ip = string_at(p, "host_ip");
          port.container_port = static_cast<int>(int_at(p, "container_port")) + i;
          port.host_port = static_cast<int>(int_at(p, "host_port")) + i;
          port.protocol = upper(string_at(p, "protocol"));
          if (port.protocol.empty()) port.protocol = "TCP";
          record.ports.push_back(port);
        }
      }
    }
    out.push_back(std::move(record));
  }
  return out;
}

DerivedState derive_state(const std::vector<const ContainerRecord*>& containers,
                          std::string_view restart_policy) {
  if (containers.empty()) return {WorkloadState::Unknown, "no containers"};
  std::vector<std::string> failed, completed, starting, paused, unknown;
  std::size_t running = 0;
  for (const auto* c : containers) {
    if (c->state == "running") {
      ++running;
    } else if (is_done(c->state)) {
      std::string what = "container " + c->name + " exited (" + std::to_string(c->exit_code) + ")";
      (c->exit_code == 0 ? completed : failed).push_back(what);
    } else if (is_starting(c->state)) {
      starting.push_back("container " + c->name + " " + c->state);
    } else if (c->state == "paused") {
      paused.push_back("container " + c->name + " paused");
    } else {
      unknown.push_back("container " + c->name + " " + c->state);
    }
  }
  if (running == containers.size()) return {WorkloadState::Running, ""};
  if (!failed.empty()) return {WorkloadState::Failed, join_limited(failed)};
  if (!unknown.empty()) return {WorkloadState::Unknown, join_limited(unknown)};
  if (!paused.empty()) return {WorkloadState::Stopped, join_limited(paused)};
  if (!starting.empty()) return {WorkloadState::Pending, join_limited(starting)};
  // Only running and cleanly exited containers remain.
  if (completed.size() == containers.size()) {
    return {WorkloadState::Stopped, "all containers exited (0)"};
  }
  if (restart_policy == "Always") return {WorkloadState::Failed, join_limited(completed)};
  return {WorkloadState::Running, join_limited(completed)};
}

std::vector<WorkloadInfo> workloads_from(const std::vector<ContainerRecord>& records,
                                         std::string_view engine_name) {
  const std::string workload_key(manifest::kWorkloadIdLabel);
  const std::string manifest_key(manifest::kManifestIdLabel);
  std::map<std::string, std::vector<const ContainerRecord*>> by_workload;
  for (const auto& record : records) {
    if (record.is_infra) continue;
    auto id = record.label(workload_key);
    if (id.empty()) continue;
    by_workload[id].push_back(&record);
  }

  std::vector<WorkloadInfo> out;
  for (const auto& [id, containers] : by_workload) {
    WorkloadInfo info;
    info.id = id;
    info.engine = std::string(engine_name);
    info.manifest_id = containers.front()->label(manifest_key);
    auto policy = containers.front()->label(kRestartPolicyLabel);
    if (!policy.empty()) info.restart_policy = policy;
    int64_t created = 0;
    std::map<std::string, std::vector<const ContainerRecord*>> by_pod;
    for (const auto* c : containers) {
      by_pod[c->pod_name.empty() ? c->pod_id : c->pod_name].push_back(c);
      if (created == 0 || (c->created_s > 0 && c->created_s < created)) created = c->created_s;
    }
    info.created_at_ms = created * 1000;
    for (const auto& [pod, members] : by_pod) info.pods.push_back(pod);
    std::sort(info.pods.begin(), info.pods.end(), pod_order);
    for (const auto& pod : info.pods) {
      const auto& members = by_pod[pod];
      // Every container of a pod reports the pod's ports: take them once.
      for (const auto& port : members.front()->ports) {
        PortMapping mapping;
        mapping.pod = pod;
        mapping.container_port = port.container_port;
        mapping.host_port = port.host_port;
        mapping.protocol = port.protocol;
        mapping.host_ip = port.host_ip;
        mapping.container =
            members.front()->label(port_label_key(port.container_port, port.protocol));
        if (mapping.container.empty() && members.size() == 1) {
          mapping.container = members.front()->short_name();
        }
        info.ports.push_back(mapping);
      }
    }
    auto derived = derive_state(containers, info.restart_policy);
    info.state = derived.state;
    info.message = derived.message;
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::vector<std::string>> parse_ids(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return make_error("podman_output", "podman: output is not JSON");
  std::vector<std::string> ids;
  if (doc.is_null()) return ids;
  if (!doc.is_array()) return make_error("podman_output", "podman: expected a JSON array");
  for (const auto& item : doc) {
    if (!item.is_object()) return make_error("podman_output", "podman: expected objects");
    auto id = string_at(item, "Id");
    if (!id.empty()) ids.push_back(id);
  }
  return ids;
}

Result<std::string> parse_version(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error("podman_output", "podman version: output is not a JSON object");
  }
  for (const char* part : {"Server", "Client"}) {
    auto it = doc.find(part);
    if (it != doc.end() && it->is_object()) {
      auto version = string_at(*it, "Version");
      if (!version.empty()) return version;
    }
  }
  return make_error("podman_output", "podman version: no Server.Version or Client.Version");
}

}  // namespace beemesh::runtime::podman
