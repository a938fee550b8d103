// workload/record_json.h — JSON forms of the parts of a WorkloadRecord that the state store
// keeps as text (deployment config, pods, ports).
//
// Promise: *_from_json(*_to_json(x)) == x; malformed JSON or wrong field types give
// Error{"state_store"} naming the field; unknown fields are ignored (forward compatible).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/runtime.h"

namespace beemesh::workload {

std::string config_to_json(const runtime::DeploymentConfig& config);
Result<runtime::DeploymentConfig> config_from_json(std::string_view json);

std::string pods_to_json(const std::vector<std::string>& pods);
Result<std::vector<std::string>> pods_from_json(std::string_view json);

std::string ports_to_json(const std::vector<runtime::PortMapping>& ports);
Result<std::vector<runtime::PortMapping>> ports_from_json(std::string_view json);

}  // namespace beemesh::workload
