#include "api/json.h"

#include <utility>

namespace beemesh::api {

namespace {

// Reads typed fields of one JSON object, remembering the first mismatch.
class Reader {
 public:
  Reader(const Json& j, std::string what) : j_(j), what_(std::move(what)) {
    if (!j_.is_object()) error_ = what_ + ": expected a JSON object, got " + j_.type_name();
  }

  template <typename T>
  Reader& field(const char* key, T& out) {
    if (!error_.empty()) return *this;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return *this;
    try {
      out = it->template get<T>();
    } catch (const Json::exception&) {
      error_ = what_ + "." + key + ": unexpected " + it->type_name();
    }
    return *this;
  }

  // An array of objects, each read by `read_one`.
  template <typename T, typename Fn>
  Reader& list(const char* key, std::vector<T>& out, Fn read_one) {
    if (!error_.empty()) return *this;
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return *this;
    if (!it->is_array()) {
      error_ = what_ + "." + key + ": expected an array, got " + it->type_name();
      return *this;
    }
    for (const Json& item : *it) {
      auto one = read_one(item);
      if (!one) {
        error_ = one.error().message;
        return *this;
      }
      out.push_back(std::move(*one));
    }
    return *this;
  }

  const Json& json() const { return j_; }

  template <typename T>
  Result<T> done(T value) const {
    if (!error_.empty()) return make_error("bad_response", error_);
    return value;
  }

 private:
  const Json& j_;
  std::string what_;
  std::string error_;
};

Json port_to_json(const runtime::PortMapping& p) {
  return Json{{"pod", p.pod},
              {"container", p.container},
              {"container_port", p.container_port},
              {"host_port", p.host_port},
              {"protocol", p.protocol},
              {"host_ip", p.host_ip}};
}

Result<runtime::PortMapping> port_from_json(const Json& j) {
  runtime::PortMapping p;
  Reader r(j, "port");
  r.field("pod", p.pod)
      .field("container", p.container)
      .field("container_port", p.container_port)
      .field("host_port", p.host_port)
      .field("protocol", p.protocol)
      .field("host_ip", p.host_ip);
  return r.done(std::move(p));
}

template <typename T, typename Fn>
Result<std::vector<T>> list_from_json(const Json& j, const char* key, Fn read_one) {
  std::vector<T> out;
  Reader r(j, "response");
  r.list(key, out, read_one);
  return r.done(std::move(out));
}

}  // namespace

std::string_view workload_state_name(runtime::WorkloadState state) {
  switch (state) {
    case runtime::WorkloadState::Pending:
      return "Pending";
    case runtime::WorkloadState::Running:
      return "Running";
    case runtime::WorkloadState::Stopped:
      return "Stopped";
    case runtime::WorkloadState::Failed:
      return "Failed";
    case runtime::WorkloadState::Unknown:
      break;
  }
  return "Unknown";
}

runtime::WorkloadState workload_state_from_name(std::string_view name) {
  using runtime::WorkloadState;
  for (WorkloadState s : {WorkloadState::Pending, WorkloadState::Running, WorkloadState::Stopped,
                          WorkloadState::Failed}) {
    if (workload_state_name(s) == name) return s;
  }
  return WorkloadState::Unknown;
}

Json error_to_json(const Error& error) {
  return Json{{"error", {{"code", error.code}, {"message", error.message}}}};
}

std::optional<Error> error_from_json(const Json& j) {
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return std::nullopt;
  const Json& e = j["error"];
  if (!e.contains("code") || !e["code"].is_string()) return std::nullopt;
  Error error;
  error.code = e["code"].get<std::string>();
  if (e.contains("message") && e["message"].is_string()) {
    error.message = e["message"].get<std::string>();
  }
  return error;
}

Json node_to_json(const NodeInfo& node) {
  return Json{{"node_id", node.node_id},
              {"public_key", node.public_key_hex},
              {"name", node.name},
              {"rpc_endpoint", node.rpc_endpoint},
              {"api_endpoint", node.api_endpoint},
              {"engine", node.engine},
              {"last_seen_ms", node.last_seen_ms},
              {"self", node.self},
              {"clock_skew_ms", node.clock_skew_ms ? Json(*node.clock_skew_ms) : Json()}};
}

Result<NodeInfo> node_from_json(const Json& j) {
  NodeInfo n;
  Reader r(j, "node");
  r.field("node_id", n.node_id)
      .field("public_key", n.public_key_hex)
      .field("name", n.name)
      .field("rpc_endpoint", n.rpc_endpoint)
      .field("api_endpoint", n.api_endpoint)
      .field("engine", n.engine)
      .field("last_seen_ms", n.last_seen_ms)
      .field("self", n.self);
  int64_t skew = 0;
  if (auto it = j.find("clock_skew_ms"); it != j.end() && !it->is_null()) {
    r.field("clock_skew_ms", skew);
    n.clock_skew_ms = skew;
  }
  return r.done(std::move(n));
}

Json placement_to_json(const PlacementOutcome& p) {
  return Json{{"node_id", p.node_id}, {"rpc_endpoint", p.rpc_endpoint},
              {"ok", p.ok},           {"code", p.code},
              {"message", p.message}, {"workload_id", p.workload_id}};
}

Result<PlacementOutcome> placement_from_json(const Json& j) {
  PlacementOutcome p;
  Reader r(j, "placement");
  r.field("node_id", p.node_id)
      .field("rpc_endpoint", p.rpc_endpoint)
      .field("ok", p.ok)
      .field("code", p.code)
      .field("message", p.message)
      .field("workload_id", p.workload_id);
  return r.done(std::move(p));
}

Json desired_to_json(const DesiredView& d) {
  return Json{{"manifest_id", d.manifest_id}, {"name", d.name},
              {"tombstone", d.tombstone},     {"content_version", d.content_version},
              {"sequence", d.sequence},       {"replicas", d.replicas},
              {"pinned_node", d.pinned_node}, {"issued_ms", d.issued_ms},
              {"expires_ms", d.expires_ms}};
}

Result<DesiredView> desired_from_json(const Json& j) {
  DesiredView d;
  Reader r(j, "desired state");
  r.field("manifest_id", d.manifest_id)
      .field("name", d.name)
      .field("tombstone", d.tombstone)
      .field("content_version", d.content_version)
      .field("sequence", d.sequence)
      .field("replicas", d.replicas)
      .field("pinned_node", d.pinned_node)
      .field("issued_ms", d.issued_ms)
      .field("expires_ms", d.expires_ms);
  return r.done(std::move(d));
}

Json apply_outcome_to_json(const ApplyOutcome& outcome) {
  Json placements = Json::array();
  for (const auto& p : outcome.placements) placements.push_back(placement_to_json(p));
  return Json{{"manifest_id", outcome.manifest_id},
              {"result", outcome.result},
              {"message", outcome.message},
              {"replicas_requested", outcome.replicas_requested},
              {"replicas_placed", outcome.replicas_placed},
              {"placements", std::move(placements)}};
}

Result<ApplyOutcome> apply_outcome_from_json(const Json& j) {
  ApplyOutcome o;
  Reader r(j, "apply result");
  r.field("manifest_id", o.manifest_id)
      .field("replicas_requested", o.replicas_requested)
      .field("replicas_placed", o.replicas_placed)
      .list("placements", o.placements, placement_from_json);
  // Nodes older than the desired-state record send neither.
  if (j.contains("result")) r.field("result", o.result);
  if (j.contains("message")) r.field("message", o.message);
  return r.done(std::move(o));
}

Json delete_outcome_to_json(const DeleteOutcome& outcome) {
  Json nodes = Json::array();
  for (const auto& p : outcome.nodes) nodes.push_back(placement_to_json(p));
  return Json{{"manifest_id", outcome.manifest_id}, {"removed", outcome.removed}, {"nodes", nodes}};
}

Result<DeleteOutcome> delete_outcome_from_json(const Json& j) {
  DeleteOutcome o;
  Reader r(j, "delete result");
  r.field("manifest_id", o.manifest_id)
      .field("removed", o.removed)
      .list("nodes", o.nodes, placement_from_json);
  return r.done(std::move(o));
}

Json workload_to_json(const WorkloadView& w) {
  Json ports = Json::array();
  for (const auto& p : w.info.ports) ports.push_back(port_to_json(p));
  return Json{{"id", w.info.id},
              {"manifest_id", w.info.manifest_id},
              {"engine", w.info.engine},
              {"state", workload_state_name(w.info.state)},
              {"restart_policy", w.info.restart_policy},
              {"pods", w.info.pods},
              {"ports", std::move(ports)},
              {"created_at_ms", w.info.created_at_ms},
              {"message", w.info.message},
              {"owner", w.owner},
              {"node_id", w.node_id},
              {"health", w.health},
              {"content_version", w.content_version}};
}

Result<WorkloadView> workload_from_json(const Json& j) {
  WorkloadView w;
  std::string state = "Unknown";
  Reader r(j, "workload");
  r.field("id", w.info.id)
      .field("manifest_id", w.info.manifest_id)
      .field("engine", w.info.engine)
      .field("state", state)
      .field("restart_policy", w.info.restart_policy)
      .field("pods", w.info.pods)
      .list("ports", w.info.ports, port_from_json)
      .field("created_at_ms", w.info.created_at_ms)
      .field("message", w.info.message)
      .field("owner", w.owner)
      .field("node_id", w.node_id)
      .field("health", w.health)
      .field("content_version", w.content_version);
  w.info.state = workload_state_from_name(state);
  return r.done(std::move(w));
}

Json provider_to_json(const provider::ProviderInfo& info) {
  return Json{{"manifest_id", info.manifest_id},
              {"node_id", info.metadata.node_id},
              {"rpc_endpoint", info.metadata.rpc_endpoint},
              {"engine", info.metadata.engine},
              {"capabilities", info.metadata.capabilities},
              {"timestamp_ms", info.timestamp_ms},
              {"ttl_s", info.ttl_s},
              {"sequence", info.sequence}};
}

Result<provider::ProviderInfo> provider_from_json(const Json& j) {
  provider::ProviderInfo p;
  Reader r(j, "provider");
  r.field("manifest_id", p.manifest_id)
      .field("node_id", p.metadata.node_id)
      .field("rpc_endpoint", p.metadata.rpc_endpoint)
      .field("engine", p.metadata.engine)
      .field("capabilities", p.metadata.capabilities)
      .field("timestamp_ms", p.timestamp_ms)
      .field("ttl_s", p.ttl_s)
      .field("sequence", p.sequence);
  return r.done(std::move(p));
}

Json event_to_json(const EventView& e) {
  return Json{{"type", e.type},
              {"workload_id", e.workload_id},
              {"manifest_id", e.manifest_id},
              {"time_ms", e.time_ms},
              {"reason", e.reason}};
}

Result<EventView> event_from_json(const Json& j) {
  EventView e;
  Reader r(j, "event");
  r.field("type", e.type)
      .field("workload_id", e.workload_id)
      .field("manifest_id", e.manifest_id)
      .field("time_ms", e.time_ms)
      .field("reason", e.reason);
  return r.done(std::move(e));
}

Result<std::vector<NodeInfo>> nodes_from_json(const Json& j) {
  return list_from_json<NodeInfo>(j, "nodes", node_from_json);
}

Result<std::vector<WorkloadView>> workloads_from_json(const Json& j) {
  return list_from_json<WorkloadView>(j, "workloads", workload_from_json);
}

Result<std::vector<provider::ProviderInfo>> providers_from_json(const Json& j) {
  return list_from_json<provider::ProviderInfo>(j, "providers", provider_from_json);
}

Result<Json> parse_json(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    std::string head(text.substr(0, 80));
    return make_error("bad_response", "not valid JSON: \"" + head + "\"");
  }
  return j;
}

}  // namespace beemesh::api
