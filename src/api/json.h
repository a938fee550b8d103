// api/json.h — the JSON shapes of the REST API, both directions.
//
// Promise:
//  * x_to_json(v) and x_from_json(j) round-trip every field of the NodeService types the
//    API serves; the server writes with *_to_json and clients (the CLI) read with
//    *_from_json, so both sides agree on one definition of each shape.
//  * *_from_json never throws: a missing field takes its C++ default, a field of the wrong
//    type gives Error "bad_response" naming the field.
//  * Errors travel as {"error":{"code":"...","message":"..."}} (error_to_json /
//    error_from_json).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/node_service.h"
#include "common/result.h"

namespace beemesh::api {

using Json = nlohmann::json;

// "Pending", "Running", "Stopped", "Failed", "Unknown" (and back; unknown text -> Unknown).
std::string_view workload_state_name(runtime::WorkloadState state);
runtime::WorkloadState workload_state_from_name(std::string_view name);

Json error_to_json(const Error& error);
// Reads {"error":{"code","message"}}; nullopt when `j` is not of that shape.
std::optional<Error> error_from_json(const Json& j);

Json node_to_json(const NodeInfo& node);
Result<NodeInfo> node_from_json(const Json& j);

Json placement_to_json(const PlacementOutcome& placement);
Result<PlacementOutcome> placement_from_json(const Json& j);

Json desired_to_json(const DesiredView& desired);
Result<DesiredView> desired_from_json(const Json& j);
Json apply_outcome_to_json(const ApplyOutcome& outcome);
Result<ApplyOutcome> apply_outcome_from_json(const Json& j);

Json delete_outcome_to_json(const DeleteOutcome& outcome);
Result<DeleteOutcome> delete_outcome_from_json(const Json& j);

Json workload_to_json(const WorkloadView& workload);
Result<WorkloadView> workload_from_json(const Json& j);

Json provider_to_json(const provider::ProviderInfo& info);
Result<provider::ProviderInfo> provider_from_json(const Json& j);

Json event_to_json(const EventView& event);
Result<EventView> event_from_json(const Json& j);

// Lists: {"<key>": [ ... ]}, e.g. {"nodes": [...]}, {"workloads": [...]}.
Result<std::vector<NodeInfo>> nodes_from_json(const Json& j);
Result<std::vector<WorkloadView>> workloads_from_json(const Json& j);
Result<std::vector<provider::ProviderInfo>> providers_from_json(const Json& j);

// Parses text as JSON without throwing (Error "bad_response" with the parser's message).
Result<Json> parse_json(std::string_view text);

}  // namespace beemesh::api
