#include "runtime/runtime.h"

#include <sys/random.h>
#include <algorithm>
#include <array>
#include <random>

namespace beemesh::runtime {

std::string_view to_string(WorkloadState state) {
  switch (state) {
    case WorkloadState::Pending:
      return "Pending";
    case WorkloadState::Running:
      return "Running";
    case WorkloadState::Stopped:
      return "Stopped";
    case WorkloadState::Failed:
      return "Failed";
    case WorkloadState::Unknown:
      return "Unknown";
  }
  return "Unknown";
}

std::optional<WorkloadState> workload_state_from_string(std::string_view text) {
  for (auto state : {WorkloadState::Pending, WorkloadState::Running, WorkloadState::Stopped,
                     WorkloadState::Failed, WorkloadState::Unknown}) {
    if (to_string(state) == text) return state;
  }
  return std::nullopt;
}

Result<void> RuntimeEngine::validate_manifest(std::string_view manifest_yaml) {
  auto parsed = manifest::parse(manifest_yaml);
  if (!parsed) return parsed.error();
  return validate_manifest(*parsed);
}

Result<WorkloadInfo> RuntimeEngine::deploy(std::string_view manifest_yaml,
                                           const DeploymentConfig& config) {
  auto parsed = manifest::parse_shared(manifest_yaml);
  if (!parsed) return parsed.error();
  return deploy(*parsed, config);
}

std::string new_workload_id() {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  // One getrandom(2) call: a std::random_device per id cost ~1 % of the apply path's CPU
  // (issue 15's profile: its constructor probes and opens the entropy source every time).
  uint64_t bits = 0;
  if (getrandom(&bits, sizeof(bits), 0) != static_cast<ssize_t>(sizeof(bits))) {
    std::random_device device;
    bits = (static_cast<uint64_t>(device()) << 32) ^ device();
  }
  std::string id(16, '0');
  for (auto& c : id) {
    c = kHex[bits & 0xF];
    bits >>= 4;
  }
  return id;
}

bool is_valid_workload_id(std::string_view id) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace beemesh::runtime
