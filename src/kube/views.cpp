#include "kube/views.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "api/version.h"
#include "kube/objects.h"

namespace beemesh::kube {

namespace {

std::string human_age(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  int64_t m = s / 60;
  if (m < 10) return std::to_string(m) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  int64_t h = m / 60;
  if (h < 3) return std::to_string(m) + "m";
  if (h < 8) return std::to_string(h) + "h" + (m % 60 ? std::to_string(m % 60) + "m" : "");
  if (h < 48) return std::to_string(h) + "h";
  return std::to_string(h / 24) + "d";
}

std::string str_at(const Json& j, std::initializer_list<const char*> path) {
  const Json* cur = &j;
  for (const char* p : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(p);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_number_integer()) return std::to_string(cur->get<int64_t>());
  return "";
}

int64_t int_at(const Json& j, std::initializer_list<const char*> path, int64_t fallback = 0) {
  const Json* cur = &j;
  for (const char* p : path) {
    if (!cur->is_object()) return fallback;
    auto it = cur->find(p);
    if (it == cur->end()) return fallback;
    cur = &*it;
  }
  return cur->is_number_integer() ? cur->get<int64_t>() : fallback;
}

int64_t created_of(const Json& object) {
  std::string t = str_at(object, {"metadata", "creationTimestamp"});
  std::tm tm{};
  if (t.size() < 20 || strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string host_of(const std::string& endpoint) {
  auto e = endpoint;
  if (auto p = e.find("://"); p != std::string::npos) e = e.substr(p + 3);
  if (!e.empty() && e.front() == '[') return e.substr(1, e.find(']') - 1);
  return e.substr(0, e.rfind(':'));
}

// The pod template of a workload object (Deployment/StatefulSet) or the Pod itself.
const Json* pod_spec_of(const Json& object) {
  const Json* cur = &object;
  if (object.value("kind", "") != "Pod") {
    auto spec = object.find("spec");
    if (spec == object.end() || !spec->is_object()) return nullptr;
    auto tmpl = spec->find("template");
    if (tmpl == spec->end() || !tmpl->is_object()) return nullptr;
    cur = &*tmpl;
  }
  auto spec = cur->find("spec");
  if (spec == cur->end() || !spec->is_object()) return nullptr;
  return &*spec;
}

std::string joined(const Json* spec, const char* field) {
  std::string out;
  if (spec == nullptr || !spec->contains("containers") || !(*spec)["containers"].is_array()) {
    return out;
  }
  for (const auto& c : (*spec)["containers"]) {
    out += (out.empty() ? "" : ",") + str_at(c, {field});
  }
  return out;
}

Json column(const char* name, const char* type, int priority, const char* format = "") {
  return Json{{"name", name},
              {"type", type},
              {"format", format},
              {"description", ""},
              {"priority", priority}};
}

}  // namespace

std::string rfc3339(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json pod_object(const PodView& pod) {
  const auto& w = pod.workload;
  std::string ns = pod.owner ? pod.owner->ns : "default";
  Json labels = Json::object();
  Json containers = Json::array();
  if (pod.owner) {
    const Json& obj = pod.owner->object;
    if (obj.value("kind", "") == "Pod") {
      if (obj.contains("metadata") && obj["metadata"].contains("labels")) {
        labels = obj["metadata"]["labels"];
      }
    } else if (obj.contains("spec") && obj["spec"].contains("template") &&
               obj["spec"]["template"].contains("metadata") &&
               obj["spec"]["template"]["metadata"].contains("labels")) {
      labels = obj["spec"]["template"]["metadata"]["labels"];
    }
    if (const Json* spec = pod_spec_of(obj); spec && spec->contains("containers")) {
      containers = (*spec)["containers"];
    }
  }
  if (!labels.is_object()) labels = Json::object();
  if (containers.empty()) {
    // Not applied through this proxy: the published ports still name the containers.
    for (const auto& p : w.info.ports) {
      bool known = false;
      for (const auto& c : containers) known = known || c.value("name", "") == p.container;
      if (p.pod == pod.pod_name && !known)
        containers.push_back({{"name", p.container}, {"image", ""}});
    }
  }
  labels["beemesh.io/manifest-id"] = w.info.manifest_id;
  if (!w.content_version.empty()) labels["beemesh.io/content-version"] = w.content_version;
  labels["beemesh.io/workload-id"] = w.info.id;
  const bool running = w.info.state == runtime::WorkloadState::Running;
  std::string phase;
  switch (w.info.state) {
    case runtime::WorkloadState::Running:
      phase = "Running";
      break;
    case runtime::WorkloadState::Pending:
      phase = "Pending";
      break;
    case runtime::WorkloadState::Stopped:
      phase = "Succeeded";
      break;
    case runtime::WorkloadState::Failed:
      phase = "Failed";
      break;
    default:
      phase = "Unknown";
  }
  std::string ip = host_of(pod.node.rpc_endpoint);
  for (const auto& p : w.info.ports) {
    if (p.pod == pod.pod_name && !p.host_ip.empty() && p.host_ip != "0.0.0.0") ip = p.host_ip;
  }
  std::string started = rfc3339(w.info.created_at_ms);
  Json statuses = Json::array();
  for (const auto& c : containers) {
    Json state = running ? Json{{"running", {{"startedAt", started}}}}
                         : Json{{"waiting", {{"reason", phase}, {"message", w.info.message}}}};
    statuses.push_back({{"name", c.value("name", "")},
                        {"image", c.value("image", "")},
                        {"ready", running},
                        {"started", running},
                        {"restartCount", 0},
                        {"state", state}});
  }
  Json ports = Json::array();
  for (const auto& p : w.info.ports) {
    if (p.pod != pod.pod_name) continue;
    ports.push_back({{"container", p.container},
                     {"containerPort", p.container_port},
                     {"hostPort", p.host_port},
                     {"hostIP", p.host_ip},
                     {"protocol", p.protocol}});
  }
  Json annotations{{"beemesh.io/node-id", pod.node.node_id},
                   {"beemesh.io/owner", w.owner},
                   {"beemesh.io/health", w.health},
                   {"beemesh.io/ports", ports.dump()}};
  std::string cond = running ? "True" : "False";
  Json conditions = Json::array();
  for (const char* t : {"PodScheduled", "Initialized", "ContainersReady", "Ready"}) {
    std::string status = std::string(t) == "PodScheduled" ? "True" : cond;
    conditions.push_back({{"type", t}, {"status", status}, {"lastTransitionTime", started}});
  }
  Json metadata{{"name", pod.pod_name},
                {"namespace", ns},
                {"uid", w.info.id + "-" + std::to_string(pod.pod_index)},
                {"resourceVersion", "1"},
                {"creationTimestamp", started},
                {"labels", labels},
                {"annotations", annotations}};
  if (pod.owner && pod.owner->object.value("kind", "") != "Pod") {
    metadata["ownerReferences"] =
        Json::array({{{"apiVersion", pod.owner->object.value("apiVersion", "")},
                      {"kind", pod.owner->object.value("kind", "")},
                      {"name", pod.owner->name},
                      {"uid", pod.owner->manifest_id},
                      {"controller", true}}});
  }
  return Json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", metadata},
              {"spec",
               {{"nodeName", pod.node.name},
                {"containers", containers},
                {"restartPolicy", w.info.restart_policy}}},
              {"status",
               {{"phase", phase},
                {"message", w.info.message},
                {"hostIP", host_of(pod.node.rpc_endpoint)},
                {"podIP", ip},
                {"podIPs", Json::array({{{"ip", ip}}})},
                {"startTime", started},
                {"conditions", conditions},
                {"containerStatuses", statuses}}}};
}

// The label's form: the first 32 hex characters (apply/intent_authorization.h).
std::string content_version_label(const StoredObject& stored) {
  return stored.content_version.substr(0, 32);
}

Json workload_object(const StoredObject& stored, const ReplicaCounts& counts,
                     const std::string& resource_version) {
  Json o = stored.object;
  Json& meta = o["metadata"];
  meta["uid"] = stored.manifest_id;
  meta["resourceVersion"] = resource_version;
  meta["generation"] = stored.generation;
  meta["creationTimestamp"] = rfc3339(stored.created_ms);
  if (!stored.last_applied.empty())
    meta["annotations"][std::string(kLastApplied)] = stored.last_applied;
  meta["annotations"]["beemesh.io/manifest-id"] = stored.manifest_id;
  // The version every replica ends up labelled with once the rollout is done.
  if (!stored.content_version.empty())
    meta["annotations"]["beemesh.io/content-version"] = content_version_label(stored);
  std::string kind = o.value("kind", "");
  int desired = static_cast<int>(int_at(o, {"spec", "replicas"}, 1));
  if (kind == "Pod") {
    bool running = counts.running > 0;
    std::string t = rfc3339(stored.created_ms);
    o["status"] = {{"phase", running ? "Running" : "Pending"},
                   {"conditions", Json::array({{{"type", "Ready"},
                                                {"status", running ? "True" : "False"},
                                                {"lastTransitionTime", t}}})}};
    return o;
  }
  if (!o.contains("spec") || !o["spec"].is_object()) o["spec"] = Json::object();
  o["spec"]["replicas"] = desired;
  bool available = counts.running >= desired;
  std::string now = rfc3339(stored.created_ms);
  Json status{{"observedGeneration", stored.generation},
              {"replicas", counts.total},
              {"updatedReplicas", counts.updated},
              {"readyReplicas", counts.running},
              {"availableReplicas", counts.running}};
  if (kind == "StatefulSet") {
    status["currentReplicas"] = counts.updated;
    status["currentRevision"] = stored.name + "-" + stored.content_version.substr(0, 10);
    status["updateRevision"] = status["currentRevision"];
    if (!o["spec"].contains("updateStrategy"))
      o["spec"]["updateStrategy"] = {{"type", "RollingUpdate"}};
  } else {
    status["conditions"] = Json::array(
        {{{"type", "Available"},
          {"status", available ? "True" : "False"},
          {"reason", available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"},
          {"message", std::to_string(counts.running) + " of " + std::to_string(desired) +
                          " replica(s) running"},
          {"lastUpdateTime", now},
          {"lastTransitionTime", now}},
         {{"type", "Progressing"},
          {"status", "True"},
          {"reason", "NewReplicaSetAvailable"},
          {"message", "the mesh holds the desired state"},
          {"lastUpdateTime", now},
          {"lastTransitionTime", now}}});
  }
  o["status"] = status;
  return o;
}

Json configmap_object(const StoredObject& stored) {
  Json o = stored.object;
  Json& meta = o["metadata"];
  meta["uid"] = stored.resource + "-" + stored.ns + "-" + stored.name;
  meta["resourceVersion"] = std::to_string(stored.generation);
  meta["creationTimestamp"] = rfc3339(stored.created_ms);
  if (!stored.last_applied.empty())
    meta["annotations"][std::string(kLastApplied)] = stored.last_applied;
  return o;
}

Json node_object(const api::NodeInfo& node, int64_t now_ms) {
  std::string seen = rfc3339(node.last_seen_ms > 0 ? node.last_seen_ms : now_ms);
  Json addresses = Json::array({{{"type", "InternalIP"}, {"address", host_of(node.rpc_endpoint)}},
                                {{"type", "Hostname"}, {"address", node.name}}});
  return Json{{"apiVersion", "v1"},
              {"kind", "Node"},
              {"metadata",
               {{"name", node.name},
                {"uid", node.node_id},
                {"resourceVersion", "1"},
                {"labels",
                 {{"kubernetes.io/hostname", node.name},
                  {"kubernetes.io/os", "linux"},
                  {"beemesh.io/engine", node.engine}}},
                {"annotations",
                 {{"beemesh.io/node-id", node.node_id},
                  {"beemesh.io/public-key", node.public_key_hex},
                  {"beemesh.io/rpc-endpoint", node.rpc_endpoint},
                  {"beemesh.io/api-endpoint", node.api_endpoint}}}}},
              {"spec", Json::object()},
              {"status",
               {{"conditions",
                 Json::array({{{"type", "Ready"},
                               {"status", "True"},
                               {"reason", "InNodeDirectory"},
                               {"message", "announced in the node directory and not known dead"},
                               {"lastHeartbeatTime", seen},
                               {"lastTransitionTime", seen}}})},
                {"addresses", addresses},
                {"nodeInfo",
                 {{"kubeletVersion", "beemesh-" + std::string(api::kVersion)},
                  {"containerRuntimeVersion", node.engine},
                  {"osImage", ""},
                  {"kernelVersion", ""},
                  {"operatingSystem", "linux"},
                  {"architecture", ""},
                  {"machineID", node.node_id}}}}}};
}

Json namespace_object(const std::string& name) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Namespace"},
              {"metadata", {{"name", name}, {"uid", "ns-" + name}, {"resourceVersion", "1"}}},
              {"status", {{"phase", "Active"}}}};
}

Json event_object(const api::EventView& event, const api::NodeInfo& node,
                  const StoredObject* owner) {
  Json involved;
  std::string ns = "default";
  if (owner != nullptr) {
    ns = owner->ns;
    involved = {{"apiVersion", owner->object.value("apiVersion", "")},
                {"kind", owner->object.value("kind", "")},
                {"name", owner->name},
                {"namespace", owner->ns},
                {"uid", owner->manifest_id}};
  } else {
    involved = {{"kind", "Pod"}, {"name", event.workload_id}, {"namespace", ns}};
  }
  const bool warning = event.type == "DeployFailed" || event.type == "Unhealthy";
  std::string when = rfc3339(event.time_ms);
  std::string message = event.reason;
  if (!event.workload_id.empty())
    message += " (workload " + event.workload_id + " on " + node.name + ")";
  std::string name = involved.value("name", "") + "." + node.node_id.substr(0, 8) + "." +
                     std::to_string(event.time_ms);
  return Json{
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", ns}, {"creationTimestamp", when}, {"uid", name}}},
      {"involvedObject", involved},
      {"reason", event.type},
      {"message", message},
      {"type", warning ? "Warning" : "Normal"},
      {"count", 1},
      {"firstTimestamp", when},
      {"lastTimestamp", when},
      {"source", {{"component", "beemesh"}, {"host", node.name}}},
      {"reportingComponent", "beemesh"},
      {"reportingInstance", node.name}};
}

Json list_object(const ResourceType& type, Json items) {
  return Json{{"apiVersion", type.api_version()},
              {"kind", std::string(type.kind) + "List"},
              {"metadata", {{"resourceVersion", "1"}}},
              {"items", std::move(items)}};
}

Json table_object(const ResourceType& type, const Json& items, int64_t now_ms) {
  Json columns = Json::array({column("Name", "string", 0, "name")});
  std::string r(type.resource);
  if (r == "pods") {
    for (auto c : {column("Ready", "string", 0), column("Status", "string", 0),
                   column("Restarts", "string", 0), column("Age", "string", 0),
                   column("IP", "string", 1), column("Node", "string", 1),
                   column("Nominated Node", "string", 1), column("Readiness Gates", "string", 1)}) {
      columns.push_back(c);
    }
  } else if (r == "deployments") {
    for (auto c : {column("Ready", "string", 0), column("Up-to-date", "integer", 0),
                   column("Available", "integer", 0), column("Age", "string", 0),
                   column("Containers", "string", 1), column("Images", "string", 1),
                   column("Selector", "string", 1)}) {
      columns.push_back(c);
    }
  } else if (r == "statefulsets") {
    for (auto c : {column("Ready", "string", 0), column("Age", "string", 0),
                   column("Containers", "string", 1), column("Images", "string", 1)}) {
      columns.push_back(c);
    }
  } else if (r == "nodes") {
    for (auto c :
         {column("Status", "string", 0), column("Roles", "string", 0), column("Age", "string", 0),
          column("Version", "string", 0), column("Internal-IP", "string", 1),
          column("External-IP", "string", 1), column("OS-Image", "string", 1),
          column("Kernel-Version", "string", 1), column("Container-Runtime", "string", 1)}) {
      columns.push_back(c);
    }
  } else if (r == "configmaps") {
    columns.push_back(column("Data", "integer", 0));
    columns.push_back(column("Age", "string", 0));
  } else if (r == "secrets") {
    columns.push_back(column("Type", "string", 0));
    columns.push_back(column("Data", "integer", 0));
    columns.push_back(column("Age", "string", 0));
  } else if (r == "namespaces") {
    columns.push_back(column("Status", "string", 0));
    columns.push_back(column("Age", "string", 0));
  } else if (r == "events") {
    columns = Json::array({column("Last Seen", "string", 0), column("Type", "string", 0),
                           column("Reason", "string", 0), column("Object", "string", 0),
                           column("Message", "string", 0)});
  } else {
    columns.push_back(column("Age", "string", 0));
  }
  Json rows = Json::array();
  for (const auto& o : items) {
    const int64_t created = created_of(o);
    std::string age = created > 0 ? human_age(now_ms - created) : "<unknown>";
    Json cells = Json::array({str_at(o, {"metadata", "name"})});
    if (r == "pods") {
      int n = 0;
      int ready = 0;
      if (o.contains("status") && o["status"].contains("containerStatuses")) {
        for (const auto& s : o["status"]["containerStatuses"]) {
          ++n;
          ready += s.value("ready", false) ? 1 : 0;
        }
      }
      cells.push_back(std::to_string(ready) + "/" + std::to_string(n));
      cells.push_back(str_at(o, {"status", "phase"}));
      cells.push_back("0");
      cells.push_back(age);
      cells.push_back(str_at(o, {"status", "podIP"}));
      cells.push_back(str_at(o, {"spec", "nodeName"}));
      cells.push_back("<none>");
      cells.push_back("<none>");
    } else if (r == "deployments" || r == "statefulsets") {
      int64_t desired = int_at(o, {"spec", "replicas"}, 1);
      int64_t ready = int_at(o, {"status", "readyReplicas"});
      cells.push_back(std::to_string(ready) + "/" + std::to_string(desired));
      if (r == "deployments") {
        cells.push_back(int_at(o, {"status", "updatedReplicas"}));
        cells.push_back(int_at(o, {"status", "availableReplicas"}));
      }
      cells.push_back(age);
      const Json* spec = pod_spec_of(o);
      cells.push_back(joined(spec, "name"));
      cells.push_back(joined(spec, "image"));
      if (r == "deployments") {
        std::string sel;
        if (o.contains("spec") && o["spec"].contains("selector") &&
            o["spec"]["selector"].contains("matchLabels")) {
          for (const auto& [k, v] : o["spec"]["selector"]["matchLabels"].items()) {
            sel += (sel.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : "");
          }
        }
        cells.push_back(sel);
      }
    } else if (r == "nodes") {
      cells.push_back("Ready");
      cells.push_back("<none>");
      cells.push_back(age);
      cells.push_back(str_at(o, {"status", "nodeInfo", "kubeletVersion"}));
      std::string ip;
      if (o.contains("status") && o["status"].contains("addresses")) {
        for (const auto& a : o["status"]["addresses"]) {
          if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
        }
      }
      cells.push_back(ip);
      cells.push_back("<none>");
      cells.push_back("<unknown>");
      cells.push_back("<unknown>");
      cells.push_back(str_at(o, {"status", "nodeInfo", "containerRuntimeVersion"}));
    } else if (r == "configmaps" || r == "secrets") {
      if (r == "secrets") cells.push_back(o.value("type", "Opaque"));
      size_t n = 0;
      for (const char* f : {"data", "binaryData", "stringData"}) {
        if (o.contains(f) && o[f].is_object()) n += o[f].size();
      }
      cells.push_back(n);
      cells.push_back(age);
    } else if (r == "namespaces") {
      cells.push_back("Active");
      cells.push_back(age);
    } else if (r == "events") {
      std::string kind = str_at(o, {"involvedObject", "kind"});
      std::transform(kind.begin(), kind.end(), kind.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      cells =
          Json::array({age, str_at(o, {"type"}), str_at(o, {"reason"}),
                       kind + "/" + str_at(o, {"involvedObject", "name"}), str_at(o, {"message"})});
    } else {
      cells.push_back(age);
    }
    Json meta = o.contains("metadata") ? o["metadata"] : Json::object();
    rows.push_back({{"cells", cells},
                    {"object",
                     {{"kind", "PartialObjectMetadata"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", meta}}}});
  }
  return Json{{"kind", "Table"},
              {"apiVersion", "meta.k8s.io/v1"},
              {"metadata", {{"resourceVersion", "1"}}},
              {"columnDefinitions", columns},
              {"rows", rows}};
}

}  // namespace beemesh::kube
