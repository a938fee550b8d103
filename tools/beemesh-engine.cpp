// beemesh-engine — a developer tool that drives one runtime engine directly, without a
// daemon or mesh:
//   beemesh-engine deploy -f FILE [--publish] [--id ID] [--replicas N] [--memory Q] [--cpu Q]
//   beemesh-engine status ID | list | logs ID [--tail N] [--raw] | rm ID | restart ID
// Every command prints JSON on stdout ({"error":{...}} on stderr and exit 1 on failure).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "common/log.h"
#include "manifest/manifest.h"
#include "runtime/engines/podman/podman_engine.h"
#include "runtime/runtime.h"

namespace {

using beemesh::Error;
using beemesh::runtime::PortMapping;
using beemesh::runtime::WorkloadInfo;
using nlohmann::json;

json port_json(const PortMapping& p) {
  return json{{"pod", p.pod},
              {"container", p.container},
              {"container_port", p.container_port},
              {"host_port", p.host_port},
              {"protocol", p.protocol},
              {"host_ip", p.host_ip}};
}

json workload_json(const WorkloadInfo& w) {
  json ports = json::array();
  for (const auto& p : w.ports) ports.push_back(port_json(p));
  return json{{"id", w.id},
              {"manifest_id", w.manifest_id},
              {"engine", w.engine},
              {"state", std::string(beemesh::runtime::to_string(w.state))},
              {"restart_policy", w.restart_policy},
              {"pods", w.pods},
              {"ports", ports},
              {"created_at_ms", w.created_at_ms},
              {"message", w.message}};
}

int fail(const Error& error) {
  std::cerr << json{{"error", {{"code", error.code}, {"message", error.message}}}}.dump(2) << "\n";
  return 1;
}

int print(const json& value) {
  std::cout << value.dump(2) << "\n";
  return 0;
}

beemesh::Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return beemesh::make_error("io_error", "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"beemesh-engine: drive a beemesh runtime engine directly (developer tool)"};
  app.require_subcommand(1);
  app.fallthrough();  // --engine and --log-level may follow the subcommand
  std::string engine_name = "podman";
  std::string log_level = "warn";
  app.add_option("--engine", engine_name, "runtime engine")->check(CLI::IsMember({"podman"}));
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off");

  std::string file;
  bool publish = false;
  std::string publish_ip = "127.0.0.1";
  std::string workload_id;
  std::string manifest_id;
  int replicas = 0;
  std::string memory;
  std::string cpu;
  auto* deploy = app.add_subcommand("deploy", "deploy a manifest file");
  deploy->add_option("-f,--file", file, "Kubernetes manifest (YAML)")->required();
  deploy->add_flag("--publish", publish, "publish container ports on free host ports");
  deploy->add_option("--publish-ip", publish_ip, "address published ports bind to");
  deploy->add_option("--id", workload_id, "workload id (default: random)");
  deploy->add_option("--manifest-id", manifest_id, "manifest id label (default: derived)");
  deploy->add_option("--replicas", replicas, "replicas on this machine (default: manifest's)");
  deploy->add_option("--memory", memory, "memory limit per container, e.g. 64Mi");
  deploy->add_option("--cpu", cpu, "cpu limit per container, e.g. 250m");

  std::string id;
  auto* status = app.add_subcommand("status", "show one workload");
  status->add_option("id", id, "workload id")->required();
  auto* list = app.add_subcommand("list", "list every beemesh workload of the engine");
  int tail = 100;
  bool raw = false;
  auto* logs = app.add_subcommand("logs", "show a workload's container logs");
  logs->add_option("id", id, "workload id")->required();
  logs->add_option("--tail", tail, "last N lines per container (0 = all)");
  logs->add_flag("--raw", raw, "print the log text instead of JSON");
  auto* rm = app.add_subcommand("rm", "remove a workload");
  rm->add_option("id", id, "workload id")->required();
  auto* restart = app.add_subcommand("restart", "start a workload's stopped containers");
  restart->add_option("id", id, "workload id")->required();

  CLI11_PARSE(app, argc, argv);

  auto level = beemesh::parse_log_level(log_level);
  if (!level) return fail(level.error());
  beemesh::setup_logging(*level);

  std::shared_ptr<beemesh::runtime::RuntimeEngine> engine =
      std::make_shared<beemesh::runtime::PodmanEngine>();
  if (!engine->is_available()) {
    return fail(Error{"engine_unavailable", "engine '" + engine_name +
                                                "' is not available (is it installed? "
                                                "CONTAINERS_CONF set? see scripts/env.sh)"});
  }

  if (*deploy) {
    auto text = read_file(file);
    if (!text) return fail(text.error());
    auto parsed = beemesh::manifest::parse(*text, file);
    if (!parsed) return fail(parsed.error());
    beemesh::runtime::DeploymentConfig config;
    config.replicas = replicas;
    config.publish_ports = publish;
    config.publish_host_ip = publish_ip;
    config.workload_id = workload_id;
    if (manifest_id.empty()) {
      auto derived = beemesh::manifest::manifest_id("beemesh-engine", *parsed);
      if (!derived) return fail(derived.error());
      manifest_id = *derived;
    }
    config.manifest_id = manifest_id;
    if (!memory.empty()) {
      auto bytes = beemesh::manifest::parse_memory_bytes(memory);
      if (!bytes) return fail(bytes.error());
      config.memory_limit_bytes = *bytes;
    }
    if (!cpu.empty()) {
      auto millis = beemesh::manifest::parse_cpu_millis(cpu);
      if (!millis) return fail(millis.error());
      config.cpu_limit_millis = *millis;
    }
    auto info = engine->deploy(*text, config);
    if (!info) return fail(info.error());
    return print(workload_json(*info));
  }
  if (*status) {
    auto info = engine->status(id);
    if (!info) return fail(info.error());
    return print(workload_json(*info));
  }
  if (*list) {
    auto all = engine->list();
    if (!all) return fail(all.error());
    json out = json::array();
    for (const auto& w : *all) out.push_back(workload_json(w));
    return print(out);
  }
  if (*logs) {
    auto text = engine->logs(id, tail);
    if (!text) return fail(text.error());
    if (raw) {
      std::cout << *text;
      return 0;
    }
    return print(json{{"id", id}, {"logs", *text}});
  }
  if (*rm) {
    auto removed = engine->remove(id);
    if (!removed) return fail(removed.error());
    return print(json{{"id", id}, {"removed", true}});
  }
  if (*restart) {
    auto restarted = engine->restart(id);
    if (!restarted) return fail(restarted.error());
    return print(json{{"id", id}, {"restarted", true}});
  }
  return 0;
}
