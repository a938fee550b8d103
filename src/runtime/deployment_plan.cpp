#include "runtime/deployment_plan.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace beemesh::runtime {
namespace {

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool is_replicated_kind(const manifest::Document& doc) {
  return doc.kind == "Deployment" || doc.kind == "StatefulSet";
}

// Pod count per workload document under one reading of RewriteOptions::replicas.
std::vector<int> replica_counts(const manifest::Manifest& m, const std::optional<int>& override,
                                bool override_pods_too) {
  std::vector<int> counts;
  for (const auto& doc : m.documents) {
    if (!doc.is_workload()) {
      counts.push_back(0);
    } else if (override && (override_pods_too || is_replicated_kind(doc))) {
      counts.push_back(*override);
    } else {
      counts.push_back(doc.replicas);
    }
  }
  return counts;
}

int total(const std::vector<int>& counts) {
  int sum = 0;
  for (int c : counts) sum += c;
  return sum;
}

bool mapping_matches(const PortMapping& mapping, const std::string& pod,
                     const std::string& container, const manifest::ContainerPort& port) {
  return (mapping.pod.empty() || mapping.pod == pod) &&
         (mapping.container.empty() || mapping.container == container) &&
         mapping.container_port == port.container_port &&
         upper(mapping.protocol.empty() ? "TCP" : mapping.protocol) == upper(port.protocol);
}

// The hostIP a document's YAML gives for one container port ("" when none).
std::string manifest_host_ip(const manifest::Document& doc, const std::string& container,
                             int container_port) {
  try {
    YAML::Node root = YAML::Load(doc.yaml);
    YAML::Node spec = root["spec"];
    if (doc.kind != "Pod") spec = spec["template"]["spec"];
    for (const auto& c : spec["containers"]) {
      if (c["name"].as<std::string>("") != container) continue;
      for (const auto& port : c["ports"]) {
        if (port["containerPort"].as<int>(0) == container_port && port["hostIP"]) {
          return port["hostIP"].as<std::string>("");
        }
      }
    }
  } catch (const YAML::Exception&) {
    // A document that parsed once re-emits as valid YAML; nothing to report otherwise.
  }
  return {};
}

}  // namespace

std::vector<std::size_t> DeploymentPlan::unassigned_ports() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].host_port == 0) out.push_back(i);
  }
  return out;
}

void DeploymentPlan::assign_host_port(std::size_t index, int host_port) {
  auto& port = ports.at(index);
  port.host_port = host_port;
  int pod_index = 0;
  for (std::size_t i = 0; i < pods.size(); ++i) {
    if (pods[i].name == port.pod) pod_index = static_cast<int>(i);
  }
  options.host_ports.push_back(manifest::HostPortAssignment{
      pod_index, port.container, port.container_port, host_port, port.host_ip});
}

int64_t DeploymentPlan::memory_limit_total_bytes() const {
  int64_t sum = 0;
  for (const auto& pod : pods) {
    for (const auto& c : parsed->documents[pod.document].containers) {
      sum += options.memory_limit_bytes.value_or(c.memory_limit_bytes.value_or(0));
    }
  }
  return sum;
}

int64_t DeploymentPlan::cpu_limit_total_millis() const {
  int64_t sum = 0;
  for (const auto& pod : pods) {
    for (const auto& c : parsed->documents[pod.document].containers) {
      sum += options.cpu_limit_millis.value_or(c.cpu_limit_millis.value_or(0));
    }
  }
  return sum;
}

std::vector<std::string> DeploymentPlan::pod_names() const {
  std::vector<std::string> out;
  out.reserve(pods.size());
  for (const auto& pod : pods) out.push_back(pod.name);
  return out;
}

Result<std::string> DeploymentPlan::rewrite() const {
  return manifest::rewrite_for_deployment(*parsed, options);
}

Result<DeploymentPlan> plan_deployment(std::string_view manifest_yaml,
                                       const DeploymentConfig& config,
                                       const std::string& workload_id) {
  auto parsed = manifest::parse_shared(manifest_yaml);
  if (!parsed) return parsed.error();
  return plan_deployment(std::move(*parsed), config, workload_id);
}

Result<DeploymentPlan> plan_deployment(manifest::SharedManifest shared,
                                       const DeploymentConfig& config,
                                       const std::string& workload_id) {
  if (!shared) return make_error("invalid_manifest", "deployment plan: no manifest");
  if (config.manifest_id.empty()) {
    return make_error("invalid_config", "deployment config: manifest_id is required");
  }
  if (workload_id.empty()) {
    return make_error("invalid_config", "deployment config: workload id is empty");
  }
  if (!is_valid_workload_id(workload_id)) {
    return make_error("invalid_workload_id",
                      "workload id '" + workload_id + "' is not 16 lowercase hex characters");
  }
  DeploymentPlan plan;
  plan.parsed = std::move(shared);
  const manifest::Manifest& parsed = *plan.parsed;
  if (parsed.primary() == nullptr) {
    return make_error("invalid_manifest",
                      parsed.source + ": no Pod, Deployment or StatefulSet to run");
  }
  plan.restart_policy = parsed.primary()->restart_policy;

  auto& options = plan.options;
  options.manifest_id = config.manifest_id;
  options.workload_id = workload_id;
  options.env = config.env;
  options.memory_limit_bytes = config.memory_limit_bytes;
  options.cpu_limit_millis = config.cpu_limit_millis;
  if (config.replicas > 0) options.replicas = config.replicas;
  options.labels = config.labels;

  // Lay the pods out in pod_names() order: one per replica of each workload document.
  const auto names = manifest::pod_names(parsed, options);
  auto counts = replica_counts(parsed, options.replicas, true);
  if (total(counts) != static_cast<int>(names.size())) {
    counts = replica_counts(parsed, options.replicas, false);
  }
  if (total(counts) != static_cast<int>(names.size())) {
    return make_error("internal", "cannot match " + std::to_string(names.size()) +
                                      " pod names to the manifest's workload documents");
  }
  std::size_t next = 0;
  for (std::size_t d = 0; d < counts.size(); ++d) {
    for (int r = 0; r < counts[d]; ++r) plan.pods.push_back(PodPlan{names[next++], d, r});
  }

  // Host ports, pod by pod.
  std::vector<bool> mapping_used(config.port_mappings.size(), false);
  for (const auto& pod : plan.pods) {
    const auto& doc = parsed.documents[pod.document];
    for (const auto& container : doc.containers) {
      for (const auto& port : container.ports) {
        PortMapping mapping{pod.name,
                            container.name,
                            port.container_port,
                            0,
                            upper(port.protocol.empty() ? "TCP" : port.protocol),
                            ""};
        const PortMapping* wanted = nullptr;
        for (std::size_t m = 0; m < config.port_mappings.size(); ++m) {
          if (mapping_matches(config.port_mappings[m], pod.name, container.name, port)) {
            wanted = &config.port_mappings[m];
            mapping_used[m] = true;
            break;
          }
        }
        if (wanted != nullptr) {
          mapping.host_ip = wanted->host_ip;
          if (wanted->host_port > 0) {
            mapping.host_port = wanted->host_port;
            plan.ports.push_back(mapping);
            plan.assign_host_port(plan.ports.size() - 1, wanted->host_port);
            continue;
          }
          if (mapping.host_ip.empty()) mapping.host_ip = config.publish_host_ip;
        } else if (port.host_port > 0) {
          mapping.host_port = port.host_port;  // written in the manifest, kept as is
          mapping.host_ip = manifest_host_ip(doc, container.name, port.container_port);
        } else if (config.publish_ports) {
          mapping.host_ip = config.publish_host_ip;
        } else {
          continue;  // not published on the host
        }
        plan.ports.push_back(mapping);
      }
    }
  }
  // Mappings for ports no container declares: add them to the named (or first) container.
  for (std::size_t m = 0; m < config.port_mappings.size(); ++m) {
    if (mapping_used[m]) continue;
    const auto& wanted = config.port_mappings[m];
    bool matched_pod = false;
    for (const auto& pod : plan.pods) {
      if (!wanted.pod.empty() && wanted.pod != pod.name) continue;
      const auto& doc = parsed.documents[pod.document];
      const manifest::Container* target = nullptr;
      for (const auto& c : doc.containers) {
        if (wanted.container.empty() || c.name == wanted.container) {
          target = &c;
          break;
        }
      }
      if (target == nullptr) {
        return make_error("invalid_config", "port mapping for container '" + wanted.container +
                                                "': no such container in pod " + pod.name);
      }
      matched_pod = true;
      PortMapping mapping{pod.name,
                          target->name,
                          wanted.container_port,
                          0,
                          upper(wanted.protocol.empty() ? "TCP" : wanted.protocol),
                          wanted.host_ip.empty() && wanted.host_port == 0 ? config.publish_host_ip
                                                                          : wanted.host_ip};
      plan.ports.push_back(mapping);
      if (wanted.host_port > 0) plan.assign_host_port(plan.ports.size() - 1, wanted.host_port);
    }
    if (!matched_pod) {
      return make_error("invalid_config",
                        "port mapping for pod '" + wanted.pod + "': no such pod in this deploy");
    }
  }
  if (config.replicas > 1 || plan.pods.size() > 1) {
    // Two pods cannot bind one host address and port.
    for (std::size_t i = 0; i < plan.ports.size(); ++i) {
      for (std::size_t j = i + 1; j < plan.ports.size(); ++j) {
        const auto& a = plan.ports[i];
        const auto& b = plan.ports[j];
        if (a.host_port != 0 && a.host_port == b.host_port && a.protocol == b.protocol &&
            a.pod != b.pod && (a.host_ip == b.host_ip || a.host_ip.empty() || b.host_ip.empty())) {
          return make_error("port_conflict", "host port " + std::to_string(a.host_port) + "/" +
                                                 a.protocol + " is wanted by pods " + a.pod +
                                                 " and " + b.pod +
                                                 " (fixed hostPorts collide between replicas)");
        }
      }
    }
  }
  return plan;
}

}  // namespace beemesh::runtime
