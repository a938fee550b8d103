#include "runtime/engines/docker/docker_plan.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace beemesh::runtime::docker {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string port_key(int container_port, std::string_view protocol) {
  return std::to_string(container_port) + "/" + lower(protocol.empty() ? "TCP" : protocol);
}

Error invalid_config(std::string message) {
  return make_error("invalid_config", "docker engine: " + std::move(message));
}

bool valid_workload_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::string join(const std::vector<std::string>& items, char sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out.push_back(sep);
    out += item;
  }
  return out;
}

nlohmann::json ulimits(const DockerEngineOptions& options) {
  return nlohmann::json::array(
      {{{"Name", "nofile"}, {"Soft", options.nofile_limit}, {"Hard", options.nofile_limit}},
       {{"Name", "nproc"}, {"Soft", options.nproc_limit}, {"Hard", options.nproc_limit}}});
}

nlohmann::json common_labels(const DockerWorkload& workload, const DockerPod& pod,
                             std::string_view role) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [k, v] : workload.extra_labels) labels[k] = v;
  labels[std::string(manifest::kManifestIdLabel)] = workload.manifest_id;
  labels[std::string(manifest::kWorkloadIdLabel)] = workload.workload_id;
  labels[std::string(kEngineLabel)] = std::string(kEngineLabelValue);
  labels[std::string(kPodLabel)] = pod.name;
  labels[std::string(kPodIndexLabel)] = std::to_string(pod.index);
  labels[std::string(kRoleLabel)] = std::string(role);
  labels[std::string(kRestartPolicyLabel)] = pod.restart_policy;
  return labels;
}

}  // namespace

std::vector<std::string> DockerWorkload::images() const {
  std::vector<std::string> out;
  for (const auto& pod : pods) {
    for (const auto& c : pod.containers) {
      if (std::find(out.begin(), out.end(), c.image) == out.end()) out.push_back(c.image);
    }
  }
  return out;
}

std::string docker_restart_policy(std::string_view kubernetes_policy) {
  if (kubernetes_policy == "OnFailure") return "on-failure";
  if (kubernetes_policy == "Never") return "no";
  return "always";
}

Result<DockerWorkload> docker_workload(const DeploymentPlan& plan, const DeploymentConfig& config) {
  const std::string& workload_id = plan.options.workload_id;
  if (!valid_workload_id(workload_id)) {
    return invalid_config("workload id '" + workload_id +
                          "' must be 1-64 characters of [A-Za-z0-9_.-]");
  }
  DockerWorkload workload;
  workload.workload_id = workload_id;
  workload.manifest_id = plan.options.manifest_id;
  workload.restart_policy = plan.restart_policy;
  workload.network = config.network;
  workload.volumes = config.volumes;
  workload.extra_labels = plan.options.labels;

  for (std::size_t i = 0; i < plan.pods.size(); ++i) {
    const auto& planned = plan.pods[i];
    const auto& doc = plan.manifest().documents.at(planned.document);
    DockerPod pod;
    pod.name = planned.name;
    pod.index = static_cast<int>(i);
    pod.restart_policy = doc.restart_policy;
    for (const auto& p : plan.ports) {
      if (p.pod == pod.name) pod.ports.push_back(p);
    }
    for (const auto& c : doc.containers) {
      DockerContainer dc;
      dc.name = c.name;
      dc.docker_name = pod.name + "-" + c.name;
      dc.image = c.image;
      dc.command = c.command;
      dc.args = c.args;
      auto set_env = [&](const std::string& name, const std::string& value) {
        auto it = std::find_if(dc.env.begin(), dc.env.end(),
                               [&](const auto& kv) { return kv.first == name; });
        if (it != dc.env.end()) {
          it->second = value;
        } else {
          dc.env.emplace_back(name, value);
        }
      };
      for (const auto& e : c.env) set_env(e.name, e.value);
      for (const auto& [k, v] : plan.options.env) set_env(k, v);
      dc.memory_limit_bytes =
          plan.options.memory_limit_bytes ? plan.options.memory_limit_bytes : c.memory_limit_bytes;
      dc.cpu_limit_millis =
          plan.options.cpu_limit_millis ? plan.options.cpu_limit_millis : c.cpu_limit_millis;
      auto add_port = [&](int port, std::string_view protocol) {
        std::string key = port_key(port, protocol);
        if (std::find(dc.ports.begin(), dc.ports.end(), key) == dc.ports.end()) {
          dc.ports.push_back(key);
        }
      };
      for (const auto& p : c.ports) add_port(p.container_port, p.protocol);
      for (const auto& p : pod.ports) {
        if (p.container == c.name) add_port(p.container_port, p.protocol);
      }
      pod.containers.push_back(std::move(dc));
    }
    workload.pods.push_back(std::move(pod));
  }
  return workload;
}

nlohmann::json pause_body(const DockerWorkload& workload, const DockerPod& pod,
                          const DockerEngineOptions& options) {
  nlohmann::json labels = common_labels(workload, pod, "pause");
  std::vector<std::string> names;
  for (const auto& c : pod.containers) names.push_back(c.name);
  labels[std::string(kContainersLabel)] = join(names, ',');

  nlohmann::json exposed = nlohmann::json::object();
  for (const auto& c : pod.containers) {
    for (const auto& p : c.ports) exposed[p] = nlohmann::json::object();
  }
  nlohmann::json bindings = nlohmann::json::object();
  for (const auto& p : pod.ports) {
    std::string key = port_key(p.container_port, p.protocol);
    exposed[key] = nlohmann::json::object();
    bindings[key].push_back(
        {{"HostIp", p.host_ip},
         {"HostPort", p.host_port > 0 ? std::to_string(p.host_port) : std::string()}});
  }

  nlohmann::json host_config = {
      {"PortBindings", bindings},
      {"RestartPolicy",
       {{"Name", pod.restart_policy == "Never" ? "no" : "always"}, {"MaximumRetryCount", 0}}},
      {"Ulimits", ulimits(options)},
  };
  if (!workload.network.empty()) host_config["NetworkMode"] = workload.network;

  nlohmann::json body = {
      {"Image", options.pause_image},
      {"Hostname", pod.name.substr(0, 63)},
      {"Labels", labels},
      {"ExposedPorts", exposed},
      {"Tty", false},
      {"OpenStdin", false},
      {"HostConfig", host_config},
  };
  if (!options.pause_command.empty()) body["Cmd"] = options.pause_command;
  return body;
}

nlohmann::json container_body(const DockerWorkload& workload, const DockerPod& pod,
                              const DockerContainer& container, const std::string& pause_id,
                              const DockerEngineOptions& options) {
  nlohmann::json labels = common_labels(workload, pod, "container");
  labels[std::string(kContainerLabel)] = container.name;
  auto position = std::find_if(pod.containers.begin(), pod.containers.end(),
                               [&](const DockerContainer& c) { return c.name == container.name; });
  labels[std::string(kContainerIndexLabel)] =
      std::to_string(std::distance(pod.containers.begin(), position));
  labels[std::string(kPortsLabel)] = join(container.ports, ',');

  nlohmann::json env = nlohmann::json::array();
  for (const auto& [k, v] : container.env) env.push_back(k + "=" + v);

  nlohmann::json binds = nlohmann::json::array();
  for (const auto& v : workload.volumes) {
    binds.push_back(v.host_path + ":" + v.container_path + (v.read_only ? ":ro" : ""));
  }

  nlohmann::json host_config = {
      {"NetworkMode", "container:" + pause_id},
      {"RestartPolicy",
       {{"Name", docker_restart_policy(pod.restart_policy)}, {"MaximumRetryCount", 0}}},
      {"Ulimits", ulimits(options)},
  };
  if (!binds.empty()) host_config["Binds"] = binds;
  if (container.memory_limit_bytes) host_config["Memory"] = *container.memory_limit_bytes;
  if (container.cpu_limit_millis) host_config["NanoCpus"] = *container.cpu_limit_millis * 1'000'000;

  nlohmann::json body = {
      {"Image", container.image},
      {"Labels", labels},
      {"Env", env},
      {"Tty", false},
      {"OpenStdin", false},
      {"AttachStdout", false},
      {"AttachStderr", false},
      {"HostConfig", host_config},
  };
  // Kubernetes: command replaces the image's entrypoint (and drops its CMD), args replace
  // the image's CMD.
  if (!container.command.empty()) {
    body["Entrypoint"] = container.command;
    body["Cmd"] = container.args;
  } else if (!container.args.empty()) {
    body["Cmd"] = container.args;
  }
  return body;
}

}  // namespace beemesh::runtime::docker
