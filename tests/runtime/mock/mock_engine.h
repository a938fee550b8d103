// runtime/mock/mock_engine.h — an in-memory RuntimeEngine for tests.
//
// Promise:
//  * Behaves like a real engine as seen through RuntimeEngine (validates with
//    manifest::parse, one pod per replica named by manifest::pod_names, labels nothing
//    real) but starts nothing. Deterministic for a given MockConfig::seed.
//  * Like a real engine it never replaces another workload: deploy() under a workload id
//    that runs for another manifest id, or whose pod names another workload holds, fails
//    with "name_conflict" and leaves it as it was; remove(id) removes only that id.
//  * Keeps exactly what it was given, for verification: get_workload_manifest(id) is the
//    manifest text passed to deploy(), get_workload_config(id) the DeploymentConfig.
//  * Configurable failures: success_rate (deploy fails with "deploy_failed"), deploy_delay,
//    port-mapping simulation, capacity checks ("insufficient_resources" when the deploy's
//    limits x replicas plus what already runs exceed the capacity), availability.
//  * Test hooks (set_state, set_logs, ...) change what status()/logs() report, e.g. to
//    simulate a crash for a health monitor.
//  * Thread-safe. It is never selected implicitly by an EngineRegistry (register it with
//    implicit = false).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "runtime/runtime.h"

namespace beemesh::runtime {

struct MockConfig {
  double success_rate = 1.0;  // probability that a deploy succeeds (0..1)
  std::chrono::milliseconds deploy_delay{0};
  bool simulate_port_mappings = true;  // report PortMappings like a real engine would
  std::optional<int64_t> memory_capacity_bytes = std::nullopt;  // nullopt = unlimited
  std::optional<int64_t> cpu_capacity_millis = std::nullopt;    // nullopt = unlimited
  std::string name = "mock";
  bool available = true;
  uint64_t seed = 0x5eed;       // seeds the RNG that decides success_rate failures
  int first_host_port = 30000;  // simulated host ports for publish_ports start here
};

class MockEngine final : public RuntimeEngine {
 public:
  explicit MockEngine(MockConfig config = {}, const Clock& clock = system_clock());

  std::string name() const override;
  bool is_available() override;
  using RuntimeEngine::deploy;
  using RuntimeEngine::validate_manifest;
  Result<void> validate_manifest(const manifest::Manifest& parsed) override;
  Result<WorkloadInfo> deploy(const manifest::SharedManifest& parsed,
                              const DeploymentConfig& config) override;
  Result<WorkloadInfo> status(const std::string& workload_id) override;
  Result<std::vector<WorkloadInfo>> list() override;
  Result<std::string> logs(const std::string& workload_id, int tail_lines) override;
  Result<void> remove(const std::string& workload_id) override;
  Result<void> restart(const std::string& workload_id) override;

  // --- verification (the seed's names) ---
  std::optional<std::string> get_workload_manifest(const std::string& workload_id) const;
  std::optional<DeploymentConfig> get_workload_config(const std::string& workload_id) const;
  std::size_t workload_count() const;
  void clear_workloads();

  // --- test hooks ---
  // Sets a workload's state (and message); false when the id is unknown.
  bool set_state(const std::string& workload_id, WorkloadState state, std::string message = {});
  // Replaces a workload's log text; false when the id is unknown.
  bool set_logs(const std::string& workload_id, std::string text);
  void set_available(bool available);
  void set_success_rate(double rate);
  // How often each call was made (successful or not).
  int deploy_calls() const;
  // The parsed manifest the last deploy() was handed (the caller's object, not a copy).
  manifest::SharedManifest last_deployed_manifest() const;
  int remove_calls() const;
  int restart_calls(const std::string& workload_id) const;
  // Memory/CPU currently held by deployed workloads (what capacity checks count).
  int64_t memory_in_use_bytes() const;
  int64_t cpu_in_use_millis() const;

 private:
  struct Workload {
    WorkloadInfo info;
    std::string manifest;
    DeploymentConfig config;
    std::string logs;
    int64_t memory_bytes = 0;
    int64_t cpu_millis = 0;
    int restarts = 0;
  };

  mutable std::mutex mutex_;
  MockConfig config_;
  const Clock& clock_;
  std::mt19937_64 rng_;
  int next_port_;
  std::map<std::string, Workload> workloads_;
  // Indexes of workloads_ (kept by deploy, remove, clear_workloads), so a deploy costs
  // O(pods · log n), not a walk of every workload: pod name -> workload id, and totals.
  std::map<std::string, std::string> pod_owner_;
  int64_t memory_used_ = 0;
  int64_t cpu_used_ = 0;
  void forget(std::map<std::string, Workload>::iterator it);  // mutex_ held
  int deploy_calls_ = 0;
  manifest::SharedManifest last_deployed_manifest_;
  int remove_calls_ = 0;
};

}  // namespace beemesh::runtime
