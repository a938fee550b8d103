// tests/fleet/fleet_harness.h — one scripts/fleet.sh fleet for a test suite: machines in
// network namespaces, each with its own daemon and Podman, driven through the script.
//
// Usage (in SetUpTestSuite / TearDownTestSuite of a suite that owns one harness):
//   static inline FleetHarness fleet_{{.prefix = "bmxx", .subnet = "10.77.0", .machines = 4,
//                                      .dir_name = "beemesh-xx-test"}};
//   std::string why = fleet_.up();   // "" when every machine runs and sees the others
//   auto nodes = fleet_.cli_json(1, {"get", "nodes"});
//   fleet_.down();
//
// Promise: up() fails (never skips) with the reason when root, ip/nsenter/iptables/curl,
// Podman, BEEMESH_BINARY or BEEMESH_FLEET_SCRIPT is missing. One fleet test runs at a time on
// a machine (a lock file, held from up() to down()); up() first removes what a killed
// earlier run may have left. machine_of() maps node ids to 1-based machine numbers.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "api/json.h"
#include "common/process.h"
#include "e2e/mesh.h"

namespace beemesh::e2e {

class FleetHarness {
 public:
  struct Options {
    std::string prefix;  // FLEET_PREFIX: names of namespaces and links
    std::string subnet;  // FLEET_SUBNET: the first three octets
    int machines = 0;
    std::string dir_name;               // under $TMPDIR (or /tmp)
    std::map<int, std::string> memory;  // --capacity-memory per machine (default 1Gi)
  };

  explicit FleetHarness(Options options) : options_(std::move(options)) {}
  FleetHarness(const FleetHarness&) = delete;
  FleetHarness& operator=(const FleetHarness&) = delete;
  ~FleetHarness() { down(); }

  std::string up() {
    using namespace std::chrono_literals;
    if (::geteuid() != 0) return "the fleet needs root (network namespaces, Podman)";
    const char* script = std::getenv("BEEMESH_FLEET_SCRIPT");
    if (!script || !*script) return "set BEEMESH_FLEET_SCRIPT to scripts/fleet.sh (ctest does)";
    script_ = script;
    const char* binary = std::getenv("BEEMESH_BINARY");
    if (!binary || !*binary) return "set BEEMESH_BINARY to the built beemesh (ctest does)";
    for (const char* tool : {"ip", "nsenter", "iptables", "curl"}) {
      auto found = run_process({"sh", "-c", std::string("command -v ") + tool});
      if (!found || !found->success()) return std::string(tool) + " is not installed";
    }
    if (auto ready = check_podman_ready(); !ready) {
      return "Podman is not usable: " + ready.error().to_string();
    }
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / options_.dir_name;
    // One fleet test at a time on this machine (they share its cores and the lock file).
    lock_fd_ = ::open("/run/beemesh-fleet-test.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX) != 0) return "cannot lock the fleet test";
    (void)fleet({"down"});  // what a killed earlier run may have left
    made_ = true;
    const auto count = std::to_string(options_.machines);
    if (auto up = fleet({"up", count, "--no-start"}); !up || !up->success()) {
      return "fleet.sh up failed: " + describe(up);
    }
    for (int m = 1; m <= options_.machines; ++m) {
      auto memory = options_.memory.count(m) ? options_.memory.at(m) : std::string("1Gi");
      auto started = fleet(
          {"start", std::to_string(m), "--capacity-memory", memory, "--capacity-cpu", "2000m"});
      if (!started || !started->success()) return "fleet.sh start failed: " + describe(started);
    }
    if (auto seen = fleet({"wait", count, "60"}); !seen || !seen->success()) {
      return "the machines do not all see each other: " + describe(seen);
    }
    auto nodes = cli_json(1, {"get", "nodes"});
    if (!nodes) return "get nodes: " + nodes.error().to_string();
    auto list = api::nodes_from_json(*nodes);
    if (!list) return "get nodes: " + list.error().to_string();
    for (const auto& n : *list) machine_of_[n.node_id] = std::stoi(n.name.substr(1));
    return "";
  }

  void down() {
    if (made_) {
      made_ = false;
      auto down = fleet({"down"});
      if (!down || !down->success()) std::cerr << "fleet.sh down failed: " << describe(down);
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
  }

  // scripts/fleet.sh ARGS... for this fleet.
  Result<ProcessResult> fleet(std::vector<std::string> args,
                              std::chrono::milliseconds timeout = std::chrono::seconds(120)) const {
    args.insert(args.begin(), script_);
    ProcessOptions po;
    po.timeout = timeout;
    po.env = {{"FLEET_PREFIX", options_.prefix},
              {"FLEET_SUBNET", options_.subnet},
              {"FLEET_DIR", dir_.string()}};
    return run_process(args, po);
  }

  // CMD... inside machine m (its namespace, its Podman, the fleet's deployer user).
  Result<ProcessResult> in_machine(
      int m, std::vector<std::string> command,
      std::chrono::milliseconds timeout = std::chrono::seconds(120)) const {
    std::vector<std::string> args = {"run", std::to_string(m), "--"};
    args.insert(args.end(), command.begin(), command.end());
    return fleet(args, timeout);
  }

  // `beemesh ARGS... -o json` through machine m's node, parsed.
  Result<api::Json> cli_json(int m, std::vector<std::string> args,
                             std::chrono::milliseconds timeout = std::chrono::seconds(120)) const {
    args.insert(args.begin(), "beemesh");
    args.push_back("-o");
    args.push_back("json");
    auto r = in_machine(m, args, timeout);
    if (!r || !r->success()) return make_error("cli_failed", describe(r));
    return api::parse_json(r->out);
  }

  // The last `lines` lines of every machine's daemon log, to stderr (after a failure).
  void print_logs(int lines) const {
    if (!made_) return;
    for (int m = 1; m <= options_.machines; ++m) {
      auto log = fleet({"log", std::to_string(m), std::to_string(lines)});
      std::cerr << "---- log of machine " << m << "\n" << (log ? log->out : "") << "\n";
    }
  }

  bool made() const { return made_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::map<std::string, int>& machine_of() const { return machine_of_; }

 private:
  Options options_;
  std::string script_;
  std::filesystem::path dir_;
  int lock_fd_ = -1;
  bool made_ = false;
  std::map<std::string, int> machine_of_;
};

}  // namespace beemesh::e2e
