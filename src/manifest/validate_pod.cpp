// manifest/validate_pod.cpp — containers, env, ports and resources of a pod spec.
#include "manifest/validate_pod.h"

#include <set>
#include <tuple>

#include "manifest/fields.h"
#include "manifest/text.h"

namespace beemesh::manifest {
namespace {

// Ports already used in the pod: containerPort/protocol and hostIP/hostPort/protocol.
struct PodPorts {
  std::set<std::pair<int, std::string>> container;
  std::set<std::tuple<std::string, int, std::string>> host;
};

Result<void> expect_in_range(int64_t value, int64_t low, int64_t high, std::string_view path) {
  if (value < low || value > high) {
    return field_error(path, "must be between " + std::to_string(low) + " and " +
                                 std::to_string(high) + ": " + quote(std::to_string(value)));
  }
  return ok_result();
}

Result<void> expect_one_of(const std::string& value, const std::vector<std::string>& allowed,
                           std::string_view path) {
  for (const auto& a : allowed) {
    if (value == a) return ok_result();
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return field_error(path, "must be one of " + list + ": " + quote(value));
}

Result<std::vector<EnvVar>> validate_env(const YAML::Node& env, std::string_view path) {
  MANIFEST_TRY(expect_list(env, path));
  std::vector<EnvVar> out;
  for (size_t i = 0; i < env.size(); ++i) {
    std::string at = item_path(path, i);
    YAML::Node entry = env[i];
    MANIFEST_TRY(expect_map(entry, at));
    EnvVar var;
    MANIFEST_ASSIGN(var.name, string_field(member(entry, "name"), child_path(at, "name")));
    if (var.name.empty() || var.name.find('=') != std::string::npos) {
      return field_error(child_path(at, "name"),
                         "not a valid environment variable name: " + quote(var.name));
    }
    YAML::Node value = member(entry, "value");
    if (present(value)) {
      MANIFEST_ASSIGN(var.value, string_field(value, child_path(at, "value")));
    }
    YAML::Node value_from = member(entry, "valueFrom");
    if (present(value_from)) MANIFEST_TRY(expect_map(value_from, child_path(at, "valueFrom")));
    out.push_back(std::move(var));
  }
  return out;
}

Result<std::vector<ContainerPort>> validate_ports(const YAML::Node& ports, std::string_view path,
                                                  PodPorts& used) {
  MANIFEST_TRY(expect_list(ports, path));
  std::vector<ContainerPort> out;
  for (size_t i = 0; i < ports.size(); ++i) {
    std::string at = item_path(path, i);
    YAML::Node entry = ports[i];
    MANIFEST_TRY(expect_map(entry, at));
    ContainerPort port;
    std::string container_path = child_path(at, "containerPort");
    MANIFEST_ASSIGN(int64_t container_port,
                    int_field(member(entry, "containerPort"), container_path));
    MANIFEST_TRY(expect_in_range(container_port, 1, 65535, container_path));
    port.container_port = static_cast<int>(container_port);
    std::string host_path = child_path(at, "hostPort");
    if (YAML::Node host = member(entry, "hostPort"); present(host)) {
      MANIFEST_ASSIGN(int64_t host_port, int_field(host, host_path));
      MANIFEST_TRY(expect_in_range(host_port, 0, 65535, host_path));
      port.host_port = static_cast<int>(host_port);
    }
    if (YAML::Node protocol = member(entry, "protocol"); present(protocol)) {
      std::string protocol_path = child_path(at, "protocol");
      MANIFEST_ASSIGN(port.protocol, string_field(protocol, protocol_path));
      MANIFEST_TRY(expect_one_of(port.protocol, {"TCP", "UDP", "SCTP"}, protocol_path));
    }
    if (YAML::Node name = member(entry, "name"); present(name)) {
      MANIFEST_ASSIGN(port.name, string_field(name, child_path(at, "name")));
    }
    std::string host_ip;
    if (YAML::Node ip = member(entry, "hostIP"); present(ip)) {
      MANIFEST_ASSIGN(host_ip, string_field(ip, child_path(at, "hostIP")));
    }
    std::string id = std::to_string(port.container_port) + "/" + port.protocol;
    if (!used.container.emplace(port.container_port, port.protocol).second) {
      return field_error(container_path, "duplicate port " + id + " in pod");
    }
    if (port.host_port != 0 && !used.host.emplace(host_ip, port.host_port, port.protocol).second) {
      return field_error(host_path, "duplicate host port " + std::to_string(port.host_port) + "/" +
                                        port.protocol + " in pod");
    }
    out.push_back(std::move(port));
  }
  return out;
}

struct Quantities {
  std::optional<int64_t> memory;
  std::optional<int64_t> cpu;
  std::string memory_text;
  std::string cpu_text;
};

Result<Quantities> validate_quantities(const YAML::Node& map, std::string_view path) {
  MANIFEST_TRY(expect_map(map, path));
  Quantities out;
  if (YAML::Node memory = member(map, "memory"); present(memory)) {
    std::string at = child_path(path, "memory");
    MANIFEST_ASSIGN(out.memory_text, scalar_field(memory, at));
    auto bytes = parse_memory_bytes(out.memory_text);
    if (!bytes) return field_error(at, bytes.error().message);
    out.memory = *bytes;
  }
  if (YAML::Node cpu = member(map, "cpu"); present(cpu)) {
    std::string at = child_path(path, "cpu");
    MANIFEST_ASSIGN(out.cpu_text, scalar_field(cpu, at));
    auto millis = parse_cpu_millis(out.cpu_text);
    if (!millis) return field_error(at, millis.error().message);
    out.cpu = *millis;
  }
  return out;
}

Result<void> validate_resources(const YAML::Node& resources, std::string_view path,
                                Container& container) {
  MANIFEST_TRY(expect_map(resources, path));
  Quantities limits;
  Quantities requests;
  if (YAML::Node node = member(resources, "limits"); present(node)) {
    MANIFEST_ASSIGN(limits, validate_quantities(node, child_path(path, "limits")));
  }
  if (YAML::Node node = member(resources, "requests"); present(node)) {
    MANIFEST_ASSIGN(requests, validate_quantities(node, child_path(path, "requests")));
  }
  std::string requests_path = child_path(path, "requests");
  if (limits.memory && requests.memory && *requests.memory > *limits.memory) {
    return field_error(
        child_path(requests_path, "memory"),
        "must not exceed the limit (" + requests.memory_text + " > " + limits.memory_text + ")");
  }
  if (limits.cpu && requests.cpu && *requests.cpu > *limits.cpu) {
    return field_error(
        child_path(requests_path, "cpu"),
        "must not exceed the limit (" + requests.cpu_text + " > " + limits.cpu_text + ")");
  }
  container.memory_limit_bytes = limits.memory;
  container.cpu_limit_millis = limits.cpu;
  container.memory_request_bytes = requests.memory;
  container.cpu_request_millis = requests.cpu;
  return ok_result();
}

Result<Container> validate_container(const YAML::Node& node, std::string_view path,
                                     std::set<std::string>& names, PodPorts& ports) {
  MANIFEST_TRY(expect_map(node, path));
  Container c;
  std::string name_path = child_path(path, "name");
  MANIFEST_ASSIGN(c.name, string_field(member(node, "name"), name_path));
  if (auto problem = dns_label_problem(c.name)) return field_error(name_path, *problem);
  if (!names.insert(c.name).second) {
    return field_error(name_path, "duplicate container name " + quote(c.name));
  }
  std::string image_path = child_path(path, "image");
  MANIFEST_ASSIGN(c.image, string_field(member(node, "image"), image_path));
  if (c.image.empty()) return field_error(image_path, "must not be empty");
  if (YAML::Node command = member(node, "command"); present(command)) {
    MANIFEST_ASSIGN(c.command, string_list(command, child_path(path, "command")));
  }
  if (YAML::Node args = member(node, "args"); present(args)) {
    MANIFEST_ASSIGN(c.args, string_list(args, child_path(path, "args")));
  }
  if (YAML::Node env = member(node, "env"); present(env)) {
    MANIFEST_ASSIGN(c.env, validate_env(env, child_path(path, "env")));
  }
  if (YAML::Node list = member(node, "ports"); present(list)) {
    MANIFEST_ASSIGN(c.ports, validate_ports(list, child_path(path, "ports"), ports));
  }
  if (YAML::Node resources = member(node, "resources"); present(resources)) {
    MANIFEST_TRY(validate_resources(resources, child_path(path, "resources"), c));
  }
  if (YAML::Node policy = member(node, "imagePullPolicy"); present(policy)) {
    std::string at = child_path(path, "imagePullPolicy");
    MANIFEST_ASSIGN(std::string value, string_field(policy, at));
    MANIFEST_TRY(expect_one_of(value, {"Always", "IfNotPresent", "Never"}, at));
  }
  return c;
}

}  // namespace

Result<PodSpec> validate_pod_spec(const YAML::Node& spec, std::string_view path) {
  MANIFEST_TRY(expect_map(spec, path));
  PodSpec out;
  if (YAML::Node policy = member(spec, "restartPolicy"); present(policy)) {
    std::string at = child_path(path, "restartPolicy");
    MANIFEST_ASSIGN(out.restart_policy, string_field(policy, at));
    MANIFEST_TRY(expect_one_of(out.restart_policy, {"Always", "OnFailure", "Never"}, at));
  }
  std::set<std::string> names;  // container names are unique across both lists
  PodPorts ports;
  std::string containers_path = child_path(path, "containers");
  YAML::Node containers = member(spec, "containers");
  MANIFEST_TRY(expect_list(containers, containers_path));
  if (containers.size() == 0) return field_error(containers_path, "must not be empty");
  for (size_t i = 0; i < containers.size(); ++i) {
    MANIFEST_ASSIGN(Container c,
                    validate_container(containers[i], item_path(containers_path, i), names, ports));
    out.containers.push_back(std::move(c));
  }
  if (YAML::Node init = member(spec, "initContainers"); present(init)) {
    std::string init_path = child_path(path, "initContainers");
    MANIFEST_TRY(expect_list(init, init_path));
    PodPorts init_ports;  // init containers run before the others: their ports do not clash
    for (size_t i = 0; i < init.size(); ++i) {
      MANIFEST_TRY(validate_container(init[i], item_path(init_path, i), names, init_ports));
    }
  }
  return out;
}

}  // namespace beemesh::manifest
