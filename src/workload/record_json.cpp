#include "workload/record_json.h"

#include <nlohmann/json.hpp>

#include <utility>

namespace beemesh::workload {

using nlohmann::json;

namespace {

Error bad(std::string_view what, const std::exception& e) {
  return make_error("state_store", std::string(what) + ": " + e.what());
}

json port_to_json(const runtime::PortMapping& p) {
  return json{{"pod", p.pod},
              {"container", p.container},
              {"container_port", p.container_port},
              {"host_port", p.host_port},
              {"protocol", p.protocol},
              {"host_ip", p.host_ip}};
}

runtime::PortMapping port_from_json(const json& j) {
  runtime::PortMapping p;
  p.pod = j.value("pod", std::string{});
  p.container = j.value("container", std::string{});
  p.container_port = j.value("container_port", 0);
  p.host_port = j.value("host_port", 0);
  p.protocol = j.value("protocol", std::string{"TCP"});
  p.host_ip = j.value("host_ip", std::string{});
  return p;
}

}  // namespace

std::string config_to_json(const runtime::DeploymentConfig& c) {
  json j;
  j["replicas"] = c.replicas;
  j["memory_limit_bytes"] = c.memory_limit_bytes ? json(*c.memory_limit_bytes) : json(nullptr);
  j["cpu_limit_millis"] = c.cpu_limit_millis ? json(*c.cpu_limit_millis) : json(nullptr);
  j["env"] = c.env;
  j["network"] = c.network;
  json volumes = json::array();
  for (const auto& v : c.volumes) {
    volumes.push_back(json{{"host_path", v.host_path},
                           {"container_path", v.container_path},
                           {"read_only", v.read_only}});
  }
  j["volumes"] = std::move(volumes);
  json ports = json::array();
  for (const auto& p : c.port_mappings) ports.push_back(port_to_json(p));
  j["port_mappings"] = std::move(ports);
  j["publish_ports"] = c.publish_ports;
  j["publish_host_ip"] = c.publish_host_ip;
  j["manifest_id"] = c.manifest_id;
  j["workload_id"] = c.workload_id;
  j["labels"] = c.labels;
  return j.dump();
}

Result<runtime::DeploymentConfig> config_from_json(std::string_view text) {
  try {
    const json j = json::parse(text);
    runtime::DeploymentConfig c;
    c.replicas = j.value("replicas", 1);
    if (j.contains("memory_limit_bytes") && !j["memory_limit_bytes"].is_null()) {
      c.memory_limit_bytes = j["memory_limit_bytes"].get<int64_t>();
    }
    if (j.contains("cpu_limit_millis") && !j["cpu_limit_millis"].is_null()) {
      c.cpu_limit_millis = j["cpu_limit_millis"].get<int64_t>();
    }
    if (j.contains("env")) c.env = j["env"].get<std::map<std::string, std::string>>();
    c.network = j.value("network", std::string{});
    if (j.contains("volumes")) {
      for (const auto& v : j["volumes"]) {
        c.volumes.push_back(runtime::VolumeMount{v.value("host_path", std::string{}),
                                                 v.value("container_path", std::string{}),
                                                 v.value("read_only", false)});
      }
    }
    if (j.contains("port_mappings")) {
      for (const auto& p : j["port_mappings"]) c.port_mappings.push_back(port_from_json(p));
    }
    c.publish_ports = j.value("publish_ports", false);
    c.publish_host_ip = j.value("publish_host_ip", std::string{"127.0.0.1"});
    c.manifest_id = j.value("manifest_id", std::string{});
    c.workload_id = j.value("workload_id", std::string{});
    if (j.contains("labels")) c.labels = j["labels"].get<std::map<std::string, std::string>>();
    return c;
  } catch (const std::exception& e) {
    return bad("workload config json", e);
  }
}

std::string pods_to_json(const std::vector<std::string>& pods) {
  return json(pods).dump();
}

Result<std::vector<std::string>> pods_from_json(std::string_view text) {
  try {
    return json::parse(text).get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return bad("workload pods json", e);
  }
}

std::string ports_to_json(const std::vector<runtime::PortMapping>& ports) {
  json j = json::array();
  for (const auto& p : ports) j.push_back(port_to_json(p));
  return j.dump();
}

Result<std::vector<runtime::PortMapping>> ports_from_json(std::string_view text) {
  try {
    std::vector<runtime::PortMapping> out;
    for (const auto& p : json::parse(text)) out.push_back(port_from_json(p));
    return out;
  } catch (const std::exception& e) {
    return bad("workload ports json", e);
  }
}

}  // namespace beemesh::workload
