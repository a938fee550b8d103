#include "runtime/mock/mock_engine.h"

#include <algorithm>
#include <sstream>
#include <thread>

#include "runtime/deployment_plan.h"

namespace beemesh::runtime {
namespace {

std::string last_lines(const std::string& text, int tail_lines) {
  if (tail_lines <= 0) return text;
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  std::size_t pos = end;
  int lines = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n') {
      if (++lines == tail_lines) break;
    }
    --pos;
  }
  return text.substr(pos);
}

std::string quantity_mi(int64_t bytes) {
  constexpr int64_t kMi = 1024 * 1024;
  if (bytes % kMi == 0) return std::to_string(bytes / kMi) + "Mi";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

MockEngine::MockEngine(MockConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      rng_(config_.seed),
      next_port_(config_.first_host_port) {}

std::string MockEngine::name() const {
  std::lock_guard lock(mutex_);
  return config_.name;
}

bool MockEngine::is_available() {
  std::lock_guard lock(mutex_);
  return config_.available;
}

Result<void> MockEngine::validate_manifest(const manifest::Manifest& parsed) {
  if (parsed.primary() == nullptr) {
    return make_error("invalid_manifest",
                      parsed.source + ": no Pod, Deployment or StatefulSet to run");
  }
  return ok_result();
}

Result<WorkloadInfo> MockEngine::deploy(const manifest::SharedManifest& parsed,
                                        const DeploymentConfig& config) {
  std::chrono::milliseconds delay{0};
  std::string engine_name;
  {
    std::lock_guard lock(mutex_);
    ++deploy_calls_;
    last_deployed_manifest_ = parsed;
    delay = config_.deploy_delay;
    engine_name = config_.name;
    if (!config_.available) {
      return make_error("engine_unavailable", "mock engine '" + engine_name + "' is unavailable");
    }
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);

  const std::string id = config.workload_id.empty() ? new_workload_id() : config.workload_id;
  auto plan = plan_deployment(parsed, config, id);
  if (!plan) return plan.error();
  auto rewritten = plan->rewrite();
  if (!rewritten) return rewritten.error();

  std::lock_guard lock(mutex_);
  // Like a real engine, never replace what another workload runs: a redeploy replaces only
  // the same workload id of the same manifest id.
  const auto same = workloads_.find(id);
  if (same != workloads_.end() && same->second.info.manifest_id != config.manifest_id) {
    return make_error("name_conflict", "mock engine '" + engine_name + "': workload " + id +
                                           " already runs for manifest " +
                                           same->second.info.manifest_id);
  }
  for (const auto& pod : plan->pod_names()) {
    auto owner = pod_owner_.find(pod);
    if (owner != pod_owner_.end() && owner->second != id) {
      return make_error("name_conflict", "mock engine '" + engine_name + "': pod " + pod +
                                             " belongs to workload " + owner->second);
    }
  }
  if (config_.success_rate < 1.0) {
    std::uniform_real_distribution<double> draw(0.0, 1.0);
    if (draw(rng_) >= config_.success_rate) {
      return make_error("deploy_failed", "mock engine '" + engine_name +
                                             "': simulated deployment failure of workload " + id);
    }
  }

  // Capacity: what this deploy needs plus what the other workloads already hold.
  const int64_t memory = plan->memory_limit_total_bytes();
  const int64_t cpu = plan->cpu_limit_total_millis();
  // A redeploy replaces the same id: what it holds now does not count.
  const int64_t memory_used =
      memory_used_ - (same != workloads_.end() ? same->second.memory_bytes : 0);
  const int64_t cpu_used = cpu_used_ - (same != workloads_.end() ? same->second.cpu_millis : 0);
  if (config_.memory_capacity_bytes && memory_used + memory > *config_.memory_capacity_bytes) {
    return make_error("insufficient_resources",
                      "mock engine '" + engine_name + "': workload " + id + " needs " +
                          quantity_mi(memory) + " memory, " + quantity_mi(memory_used) +
                          " in use of " + quantity_mi(*config_.memory_capacity_bytes));
  }
  if (config_.cpu_capacity_millis && cpu_used + cpu > *config_.cpu_capacity_millis) {
    return make_error("insufficient_resources",
                      "mock engine '" + engine_name + "': workload " + id + " needs " +
                          std::to_string(cpu) + "m cpu, " + std::to_string(cpu_used) +
                          "m in use of " + std::to_string(*config_.cpu_capacity_millis) + "m");
  }

  WorkloadInfo info;
  info.id = id;
  info.manifest_id = config.manifest_id;
  info.engine = engine_name;
  info.state = WorkloadState::Running;
  info.restart_policy = plan->restart_policy;
  info.pods = plan->pod_names();
  info.created_at_ms = clock_.now_ms();
  if (config_.simulate_port_mappings) {
    for (auto index : plan->unassigned_ports()) plan->assign_host_port(index, next_port_++);
    info.ports = plan->ports;
  }

  std::ostringstream log;
  for (const auto& pod : info.pods) log << "mock: pod " << pod << " started\n";

  Workload workload;
  workload.info = info;
  workload.manifest = parsed->text;
  workload.config = config;
  workload.logs = log.str();
  workload.memory_bytes = memory;
  workload.cpu_millis = cpu;
  if (same != workloads_.end()) forget(same);
  for (const auto& pod : info.pods) pod_owner_[pod] = id;
  memory_used_ += memory;
  cpu_used_ += cpu;
  workloads_[id] = std::move(workload);
  return info;
}

void MockEngine::forget(std::map<std::string, Workload>::iterator it) {
  for (const auto& pod : it->second.info.pods) {
    auto owner = pod_owner_.find(pod);
    if (owner != pod_owner_.end() && owner->second == it->first) pod_owner_.erase(owner);
  }
  memory_used_ -= it->second.memory_bytes;
  cpu_used_ -= it->second.cpu_millis;
  workloads_.erase(it);
}

Result<WorkloadInfo> MockEngine::status(const std::string& workload_id) {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  if (it == workloads_.end()) {
    return make_error("not_found",
                      "mock engine '" + config_.name + "': no workload " + workload_id);
  }
  return it->second.info;
}

Result<std::vector<WorkloadInfo>> MockEngine::list() {
  std::lock_guard lock(mutex_);
  std::vector<WorkloadInfo> out;
  out.reserve(workloads_.size());
  for (const auto& [id, w] : workloads_) out.push_back(w.info);
  return out;
}

Result<std::string> MockEngine::logs(const std::string& workload_id, int tail_lines) {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  if (it == workloads_.end()) {
    return make_error("not_found",
                      "mock engine '" + config_.name + "': no workload " + workload_id);
  }
  return last_lines(it->second.logs, tail_lines);
}

Result<void> MockEngine::remove(const std::string& workload_id) {
  std::lock_guard lock(mutex_);
  ++remove_calls_;
  if (auto it = workloads_.find(workload_id); it != workloads_.end()) forget(it);
  return ok_result();
}

Result<void> MockEngine::restart(const std::string& workload_id) {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  if (it == workloads_.end()) {
    return make_error("not_found",
                      "mock engine '" + config_.name + "': no workload " + workload_id);
  }
  auto& w = it->second;
  ++w.restarts;
  w.info.state = WorkloadState::Running;
  w.info.message = "restarted " + std::to_string(w.restarts) + " time(s)";
  w.logs += "mock: workload " + workload_id + " restarted\n";
  return ok_result();
}

std::optional<std::string> MockEngine::get_workload_manifest(const std::string& workload_id) const {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  if (it == workloads_.end()) return std::nullopt;
  return it->second.manifest;
}

std::optional<DeploymentConfig> MockEngine::get_workload_config(
    const std::string& workload_id) const {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  if (it == workloads_.end()) return std::nullopt;
  return it->second.config;
}

std::size_t MockEngine::workload_count() const {
  std::lock_guard lock(mutex_);
  return workloads_.size();
}

void MockEngine::clear_workloads() {
  std::lock_guard lock(mutex_);
  workloads_.clear();
  pod_owner_.clear();
  memory_used_ = 0;
  cpu_used_ = 0;
}

bool MockEngine::set_state(const std::string& workload_id, WorkloadState state,
                           std::string message) {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  if (it == workloads_.end()) return false;
  it->second.info.state = state;
  it->second.info.message = std::move(message);
  return true;
}

bool MockEngine::set_logs(const std::string& workload_id, std::string text) {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  if (it == workloads_.end()) return false;
  it->second.logs = std::move(text);
  return true;
}

void MockEngine::set_available(bool available) {
  std::lock_guard lock(mutex_);
  config_.available = available;
}

void MockEngine::set_success_rate(double rate) {
  std::lock_guard lock(mutex_);
  config_.success_rate = rate;
}

int MockEngine::deploy_calls() const {
  std::lock_guard lock(mutex_);
  return deploy_calls_;
}

int MockEngine::remove_calls() const {
  std::lock_guard lock(mutex_);
  return remove_calls_;
}

int MockEngine::restart_calls(const std::string& workload_id) const {
  std::lock_guard lock(mutex_);
  auto it = workloads_.find(workload_id);
  return it == workloads_.end() ? 0 : it->second.restarts;
}

int64_t MockEngine::memory_in_use_bytes() const {
  std::lock_guard lock(mutex_);
  int64_t sum = 0;
  for (const auto& [id, w] : workloads_) sum += w.memory_bytes;
  return sum;
}

int64_t MockEngine::cpu_in_use_millis() const {
  std::lock_guard lock(mutex_);
  int64_t sum = 0;
  for (const auto& [id, w] : workloads_) sum += w.cpu_millis;
  return sum;
}

manifest::SharedManifest MockEngine::last_deployed_manifest() const {
  std::lock_guard lock(mutex_);
  return last_deployed_manifest_;
}

}  // namespace beemesh::runtime
