#include "kube/kube_api.h"

#include <algorithm>
#include <set>

#include "common/bytes.h"
#include "crypto/intent.h"
#include "kube/objects.h"
#include "kube/views.h"
#include "manifest/manifest.h"

namespace beemesh::kube {

namespace {

Reply json_reply(int status, const Json& body) {
  return Reply{status, "application/json", body.dump(), {}};
}

Reply status_reply(const Error& e, const Subject& s) {
  Json st = status_object(e, s);
  return json_reply(http_status(st), st);
}

Subject subject_of(const Target& t, const std::string& name = {}) {
  if (t.type == nullptr) return {};
  return Subject{std::string(t.type->group), std::string(t.type->kind),
                 std::string(t.type->resource), name.empty() ? t.name : name};
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// `version`: the label form of the desired content version; a replica whose version is
// unknown counts as updated.
ReplicaCounts counts_for(const MeshSnapshot& snapshot, const std::string& manifest_id,
                         const std::string& version) {
  ReplicaCounts c;
  for (const auto& n : snapshot.nodes) {
    for (const auto& w : n.workloads) {
      if (w.info.manifest_id != manifest_id) continue;
      int pods = std::max<int>(1, static_cast<int>(w.info.pods.size()));
      c.total += pods;
      if (w.content_version.empty() || w.content_version == version) c.updated += pods;
      if (w.info.state == runtime::WorkloadState::Running) c.running += pods;
    }
  }
  return c;
}

}  // namespace

bool wants_table(const std::string& accept) {
  return accept.find("as=Table") != std::string::npos;
}

Result<Target> parse_target(const std::string& path) {
  auto seg = split_path(path);
  Target t;
  std::string group;
  std::string version;
  size_t i = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    i = 3;
  } else {
    return make_error("not_found", "the server could not find the requested resource");
  }
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    t.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
    if (!valid_namespace(t.ns)) return make_error("not_found", "no namespace " + t.ns);
  }
  if (rest.empty() || rest.size() > 3) {
    return make_error("not_found", "the server could not find the requested resource");
  }
  t.type = find_resource(group, version, rest[0]);
  if (t.type == nullptr)
    return make_error("not_found", "the server could not find the requested resource");
  if (rest.size() >= 2) t.name = rest[1];
  if (rest.size() == 3) t.sub = rest[2];
  if (!t.name.empty() && !valid_name(t.name)) {
    return make_error("not_found", std::string(t.type->resource) + " \"" + t.name + "\" not found");
  }
  if (t.type->namespaced && t.ns.empty() && !t.name.empty()) {
    return make_error("not_found", "the server could not find the requested resource");
  }
  return t;
}

Reply KubeApi::handle(const Request& r) {
  try {
    return handle_checked(r);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong type somewhere in what kubectl (or anyone) sent.
    return status_reply(make_error("bad_request", std::string("malformed object: ") + e.what()),
                        {});
  }
}

Reply KubeApi::handle_checked(const Request& r) {
  const std::string& p = r.path;
  if (r.method == "GET") {
    if (p == "/version") return json_reply(200, version_document());
    if (p == "/api") return json_reply(200, api_versions());
    if (p == "/apis") return json_reply(200, api_groups());
    if (p == "/apis/apps") return json_reply(200, api_group("apps"));
    if (p == "/api/v1" || p == "/apis/apps/v1") {
      auto list = p == "/api/v1" ? resource_list("", "v1") : resource_list("apps", "v1");
      return json_reply(200, *list);
    }
    if (p == "/openapi/v3") return json_reply(200, openapi_v3_root());
    if (p == "/openapi/v3/api/v1") return json_reply(200, *openapi_v3_group_version("", "v1"));
    if (p == "/openapi/v3/apis/apps/v1")
      return json_reply(200, *openapi_v3_group_version("apps", "v1"));
  }
  auto target = parse_target(p);
  if (!target) return status_reply(target.error(), {});
  if (!r.body.empty() && r.content_type.find("protobuf") != std::string::npos) {
    return status_reply(make_error("unsupported_media_type",
                                   "the server accepts JSON bodies only, not " + r.content_type),
                        {});
  }
  Target& t = *target;
  t.dry_run = !r.param("dryRun").empty();
  Subject subject = subject_of(t);
  Result<Json> out = make_error("method_not_allowed", r.method + " is not supported on " + p);
  int ok_status = 200;
  if (t.sub == "log" && t.type->resource == "pods" && r.method == "GET") {
    auto text = logs(t, r);
    if (!text) return status_reply(text.error(), subject);
    return Reply{200, "text/plain; charset=utf-8", *text, {}};
  }
  if (t.sub == "scale" &&
      (t.type->resource == "deployments" || t.type->resource == "statefulsets")) {
    out = scale(t, r);
  } else if (!t.sub.empty()) {
    out = make_error("not_found", "the server could not find the requested resource");
  } else if (r.method == "GET" && t.name.empty()) {
    out = list_items(t, r);
    if (out) {
      if (wants_table(r.accept))
        return json_reply(200, table_object(*t.type, *out, clock_.now_ms()));
      return json_reply(200, list_object(*t.type, std::move(*out)));
    }
  } else if (r.method == "GET") {
    out = get_object(t);
    if (out && wants_table(r.accept)) {
      return json_reply(200, table_object(*t.type, Json::array({*out}), clock_.now_ms()));
    }
  } else if (r.method == "POST" && t.name.empty()) {
    out = create(t, r);
    ok_status = 201;
  } else if (r.method == "PATCH" && !t.name.empty()) {
    out = patch(t, r);
  } else if (r.method == "PUT" && !t.name.empty()) {
    out = replace(t, r);
  } else if (r.method == "DELETE" && !t.name.empty()) {
    out = remove(t);
  }
  std::vector<std::string> warnings;
  if (out && out->is_object() && out->contains(kWarningsKey)) {
    for (const auto& w : (*out)[std::string(kWarningsKey)])
      warnings.push_back(w.get<std::string>());
    out->erase(std::string(kWarningsKey));
  }
  if (!out) {
    if (subject.name.empty() && !r.body.empty()) {
      // A create names its object in the body.
      auto body = Json::parse(r.body, nullptr, false);
      if (body.is_object() && body.contains("metadata") && body["metadata"].is_object()) {
        subject.name = body["metadata"].value("name", "");
      }
    }
    return status_reply(out.error(), subject);
  }
  Reply reply = json_reply(ok_status, *out);
  reply.warnings = std::move(warnings);
  return reply;
}

Result<Json> KubeApi::pods(const std::string& ns, const MeshSnapshot& snapshot) {
  std::map<std::string, StoredObject> owners;
  for (const char* res : {"deployments", "statefulsets", "pods"}) {
    for (auto& o : store_.list(res, "")) owners[o.manifest_id] = std::move(o);
  }
  Json items = Json::array();
  for (const auto& n : snapshot.nodes) {
    for (const auto& w : n.workloads) {
      auto owner = owners.find(w.info.manifest_id);
      const StoredObject* o = owner == owners.end() ? nullptr : &owner->second;
      std::string pod_ns = o ? o->ns : "default";
      if (!ns.empty() && pod_ns != ns) continue;
      for (size_t i = 0; i < w.info.pods.size(); ++i) {
        Json pod = pod_object(PodView{w, n.node, w.info.pods[i], i, o});
        if (o != nullptr && o->object.value("kind", "") == "Pod") {
          // A Pod applied by name keeps its name and its spec (kubectl's three-way merge
          // compares against it); the mesh adds the node.
          pod["metadata"]["name"] = o->name;
          if (!o->last_applied.empty()) {
            pod["metadata"]["annotations"][std::string(kLastApplied)] = o->last_applied;
          }
          if (o->object.contains("spec") && o->object["spec"].is_object()) {
            std::string node = pod["spec"].value("nodeName", "");
            pod["spec"] = o->object["spec"];
            pod["spec"]["nodeName"] = node;
          }
        }
        items.push_back(std::move(pod));
      }
    }
  }
  return items;
}

Result<Json> KubeApi::view(const StoredObject& stored, const MeshSnapshot* snapshot) {
  if (stored.object.value("kind", "") == "ConfigMap" ||
      stored.object.value("kind", "") == "Secret") {
    return configmap_object(stored);
  }
  MeshSnapshot fresh;
  if (snapshot == nullptr) {
    auto s = mesh_.workloads();
    if (!s) return s.error();
    fresh = std::move(*s);
    snapshot = &fresh;
  }
  return workload_object(stored,
                         counts_for(*snapshot, stored.manifest_id, content_version_label(stored)),
                         std::to_string(stored.generation));
}

Result<std::optional<StoredObject>> KubeApi::current(const ResourceType& type,
                                                     const std::string& ns,
                                                     const std::string& name) {
  auto stored = store_.get(std::string(type.resource), ns, name);
  if (type.local) return stored;
  std::string id = mesh_.manifest_id(ns, type.kind, name);
  auto desired = mesh_.desired(id);
  if (!desired) return desired.error();
  if (!*desired) {
    if (stored) store_.erase(std::string(type.resource), ns, name);  // deleted elsewhere
    return std::optional<StoredObject>{};
  }
  const auto& d = **desired;
  if (stored && stored->content_version == d.content_version) {
    if (stored->object.contains("spec") && stored->object["spec"].is_object()) {
      stored->object["spec"]["replicas"] = d.replicas;
    }
    return stored;
  }
  // Applied by another client (or another version): what the mesh tells about it.
  StoredObject o;
  o.resource = type.resource;
  o.ns = ns;
  o.name = name;
  o.manifest_id = id;
  o.content_version = d.content_version;
  o.created_ms = d.issued_ms;
  o.object = Json{{"apiVersion", type.api_version()},
                  {"kind", std::string(type.kind)},
                  {"metadata", {{"name", name}, {"namespace", ns}}}};
  if (type.resource != "pods") o.object["spec"] = {{"replicas", d.replicas}};
  return std::optional<StoredObject>{std::move(o)};
}

Result<Json> KubeApi::list_items(const Target& t, const Request& r) {
  const std::string resource(t.type->resource);
  Json items = Json::array();
  if (resource == "nodes") {
    auto nodes = mesh_.nodes();
    if (!nodes) return nodes.error();
    for (const auto& n : *nodes) items.push_back(node_object(n, clock_.now_ms()));
  } else if (resource == "namespaces") {
    for (const auto& ns : store_.namespaces()) items.push_back(namespace_object(ns));
  } else if (resource == "events") {
    auto events = mesh_.events();
    if (!events) return events.error();
    std::map<std::string, StoredObject> owners;
    for (const char* res : {"deployments", "statefulsets", "pods"}) {
      for (auto& o : store_.list(res, "")) owners[o.manifest_id] = std::move(o);
    }
    std::stable_sort(events->begin(), events->end(), [](const NodeEvent& a, const NodeEvent& b) {
      return a.event.time_ms < b.event.time_ms;
    });
    for (const auto& e : *events) {
      auto owner = owners.find(e.event.manifest_id);
      Json ev = event_object(e.event, e.node, owner == owners.end() ? nullptr : &owner->second);
      if (!t.ns.empty() && ev["metadata"].value("namespace", "") != t.ns) continue;
      items.push_back(std::move(ev));
    }
  } else if (resource == "pods") {
    auto snapshot = mesh_.workloads();
    if (!snapshot) return snapshot.error();
    auto p = pods(t.ns, *snapshot);
    if (!p) return p.error();
    items = std::move(*p);
  } else if (t.type->local) {
    for (const auto& o : store_.list(resource, t.ns)) items.push_back(configmap_object(o));
  } else {
    auto snapshot = mesh_.workloads();
    if (!snapshot) return snapshot.error();
    for (const auto& o : store_.list(resource, t.ns)) {
      auto c = current(*t.type, o.ns, o.name);
      if (!c) return c.error();
      if (!*c) continue;
      auto v = view(**c, &*snapshot);
      if (!v) return v.error();
      items.push_back(std::move(*v));
    }
  }
  std::string labels = r.param("labelSelector");
  std::string fields = r.param("fieldSelector");
  if (labels.empty() && fields.empty()) return items;
  Json out = Json::array();
  for (auto& o : items) {
    if (!labels.empty() && !matches_labels(o, labels)) continue;
    if (!fields.empty() && !matches_fields(o, fields)) continue;
    out.push_back(std::move(o));
  }
  return out;
}

Result<Json> KubeApi::get_object(const Target& t) {
  const std::string resource(t.type->resource);
  Error not_found = make_error("not_found", resource + " \"" + t.name + "\" not found");
  if (resource == "nodes") {
    auto nodes = mesh_.nodes();
    if (!nodes) return nodes.error();
    for (const auto& n : *nodes) {
      if (n.name == t.name) return node_object(n, clock_.now_ms());
    }
    return not_found;
  }
  if (resource == "namespaces") {
    for (const auto& ns : store_.namespaces()) {
      if (ns == t.name) return namespace_object(ns);
    }
    return not_found;
  }
  if (resource == "events") return not_found;
  auto c = current(*t.type, t.ns, t.name);
  if (!c) return c.error();
  if (*c && resource != "pods") return view(**c, nullptr);
  if (resource == "pods") {
    // One of the pods the mesh runs (named <name>-<workload id>-<i>).
    auto snapshot = mesh_.workloads();
    if (!snapshot) return snapshot.error();
    auto all = pods(t.ns, *snapshot);
    if (!all) return all.error();
    for (auto& p : *all) {
      if (p["metadata"].value("name", "") == t.name) return p;
    }
    if (*c) return view(**c, &*snapshot);  // applied, not running anywhere (yet)
  }
  return not_found;
}

Result<std::string> KubeApi::pod_log(const Request& r) {
  auto t = parse_target(r.path);
  if (!t) return t.error();
  if (t->type->resource != "pods" || t->sub != "log" || t->name.empty()) {
    return make_error("not_found", "the server could not find the requested resource");
  }
  return logs(*t, r);
}

Result<std::string> KubeApi::logs(const Target& t, const Request& r) {
  int tail = -1;
  if (std::string s = r.param("tailLines"); !s.empty()) {
    try {
      tail = std::stoi(s);
    } catch (const std::exception&) {
      return make_error("bad_request", "tailLines: not an integer");
    }
    if (tail < 0 || tail > 1'000'000) return make_error("bad_request", "tailLines: out of range");
  }
  auto snapshot = mesh_.workloads();
  if (!snapshot) return snapshot.error();
  // A Pod applied by name maps to its first mesh pod.
  std::string manifest_for_name;
  if (auto stored = store_.get("pods", t.ns, t.name)) manifest_for_name = stored->manifest_id;
  for (const auto& n : snapshot->nodes) {
    for (const auto& w : n.workloads) {
      bool match = !manifest_for_name.empty() && w.info.manifest_id == manifest_for_name;
      for (const auto& p : w.info.pods) match = match || p == t.name;
      if (!match) continue;
      std::string container = r.param("container");
      if (!container.empty()) {
        auto pod = get_object(t);
        bool known = false;
        if (pod && (*pod).contains("spec") && (*pod)["spec"].contains("containers")) {
          for (const auto& c : (*pod)["spec"]["containers"])
            known = known || c.value("name", "") == container;
        }
        if (!known) {
          return make_error("bad_request",
                            "container " + container + " is not valid for pod " + t.name);
        }
      }
      return mesh_.logs(n.node, w.info.id, tail);
    }
  }
  return make_error("not_found", "pods \"" + t.name + "\" not found");
}

}  // namespace beemesh::kube
