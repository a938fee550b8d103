#include "kube/kube_api.h"

#include <algorithm>
#include <set>

#include "common/bytes.h"
#include "crypto/intent.h"
#include "kube/objects.h"
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

// Names of ConfigMaps and Secrets a pod spec refers to.
void referenced(const Json& j, std::set<std::string>& configmaps, std::set<std::string>& secrets) {
  if (j.is_array()) {
    for (const auto& e : j) referenced(e, configmaps, secrets);
    return;
  }
  if (!j.is_object()) return;
  for (const auto& [key, value] : j.items()) {
    if ((key == "configMap" || key == "configMapRef" || key == "configMapKeyRef") &&
        value.is_object() && value.contains("name") && value["name"].is_string()) {
      configmaps.insert(value["name"].get<std::string>());
    } else if (key == "secret" && value.is_object() && value.contains("secretName") &&
               value["secretName"].is_string()) {
      secrets.insert(value["secretName"].get<std::string>());
    } else if ((key == "secretRef" || key == "secretKeyRef") && value.is_object() &&
               value.contains("name") && value["name"].is_string()) {
      secrets.insert(value["name"].get<std::string>());
    } else {
      referenced(value, configmaps, secrets);
    }
  }
}

ReplicaCounts counts_for(const MeshSnapshot& snapshot, const std::string& manifest_id) {
  ReplicaCounts c;
  for (const auto& n : snapshot.nodes) {
    for (const auto& w : n.workloads) {
      if (w.info.manifest_id != manifest_id) continue;
      int pods = std::max<int>(1, static_cast<int>(w.info.pods.size()));
      c.total += pods;
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

Result<MeshSnapshot> no_snapshot() {
  return MeshSnapshot{};
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
  return workload_object(stored, counts_for(*snapshot, stored.manifest_id),
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

Result<Json> KubeApi::apply_object(const Target& t, const Json& object,
                                   std::optional<std::string> last_applied,
                                   const std::optional<StoredObject>& existing) {
  auto canonical = canonicalize(object, *t.type, t.ns, t.name);
  if (!canonical) return canonical.error();
  std::string name = canonical->object["metadata"].value("name", "");
  StoredObject stored;
  stored.resource = t.type->resource;
  stored.ns = t.type->namespaced ? t.ns : "";
  stored.name = name;
  stored.object = canonical->object;
  stored.last_applied = last_applied ? *last_applied : canonical->last_applied;
  stored.created_ms = existing && existing->created_ms > 0 ? existing->created_ms : clock_.now_ms();
  stored.generation = existing ? existing->generation : 1;
  if (t.type->local) {
    if (existing && existing->object != stored.object) ++stored.generation;
    if (t.dry_run) return configmap_object(stored);
    if (auto put = store_.put(stored); !put) return put.error();
    return configmap_object(stored);
  }
  // The ConfigMaps and Secrets this workload names travel with it.
  std::set<std::string> configmaps;
  std::set<std::string> secrets;
  referenced(stored.object.value("spec", Json::object()), configmaps, secrets);
  std::string yaml;
  for (const auto& [res, names] : {std::pair{"configmaps", &configmaps}, {"secrets", &secrets}}) {
    for (const auto& n : *names) {
      auto o = store_.get(res, t.ns, n);
      if (!o) continue;
      auto doc = canonicalize(o->object, *find_resource("", "v1", res), t.ns, n);
      if (doc) yaml += doc->mesh_text + "\n---\n";
    }
  }
  yaml += canonical->mesh_text;
  auto parsed = manifest::parse(yaml, "request");
  if (!parsed) return parsed.error();
  if (t.dry_run) {
    stored.manifest_id = mesh_.manifest_id(t.ns, t.type->kind, name);
    return workload_object(stored, ReplicaCounts{}, std::to_string(stored.generation));
  }
  auto outcome = mesh_.apply(yaml, *parsed, canonical->replicas);
  if (!outcome) return outcome.error();
  stored.manifest_id = outcome->manifest_id;
  stored.content_version = to_hex(crypto::content_version(yaml));
  if (existing &&
      (existing->content_version != stored.content_version || existing->object != stored.object)) {
    ++stored.generation;
  }
  if (auto put = store_.put(stored); !put) return put.error();
  if (outcome->result == "created" && outcome->replicas_placed < outcome->replicas_requested) {
    std::string why;
    for (const auto& p : outcome->placements) {
      if (!p.ok) why += "; node " + p.node_id + ": " + p.code + ": " + p.message;
    }
    return make_error("partially_placed", "only " + std::to_string(outcome->replicas_placed) +
                                              " of " + std::to_string(outcome->replicas_requested) +
                                              " replicas were placed" + why);
  }
  Json out = workload_object(stored, ReplicaCounts{}, std::to_string(stored.generation));
  // What the mesh did and did not do travels as Warning headers (kubectl prints them).
  Json warnings = Json::array();
  if (outcome->result == "configured" && !outcome->message.empty()) {
    warnings.push_back("beemesh: " + outcome->message);
  }
  for (const auto& p : outcome->placements) {
    if (!p.ok) {
      warnings.push_back("beemesh: replica on node " + p.node_id + " failed: " + p.code + ": " +
                         p.message);
    }
  }
  if (!warnings.empty()) out[std::string(kWarningsKey)] = warnings;
  return out;
}

Result<Json> KubeApi::create(const Target& t, const Request& r) {
  auto body = Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return make_error("bad_request", "the request body is not a JSON object (send JSON)");
  }
  std::string name;
  if (body.contains("metadata") && body["metadata"].is_object()) {
    name = body["metadata"].value("name", "");
  }
  if (valid_name(name)) {
    auto c = current(*t.type, t.ns, name);
    if (!c) return c.error();
    if (*c) return make_error("already_exists", "already exists");
  }
  Target named = t;
  named.name = name;
  if (!valid_name(name)) named.name.clear();
  return apply_object(t, body, std::nullopt, std::nullopt);
}

Result<Json> KubeApi::patch(const Target& t, const Request& r) {
  if (r.content_type.find("json-patch") != std::string::npos) {
    return make_error("unsupported_media_type",
                      "JSON patches (application/json-patch+json) are not supported; use a "
                      "merge or strategic merge patch");
  }
  auto body = Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return make_error("bad_request", "the patch is not a JSON object (send JSON)");
  }
  auto c = current(*t.type, t.ns, t.name);
  if (!c) return c.error();
  if (r.content_type.find("apply-patch") != std::string::npos) {
    // Server-side apply: the body is the whole object; it creates or replaces. Field
    // ownership is not tracked (one owner: the user's key).
    return apply_object(t, body, std::nullopt, *c);
  }
  if (!*c) return make_error("not_found", "not found");
  const StoredObject& existing = **c;
  // kubectl apply: the patch carries the whole new configuration in the annotation.
  const Json* annotations = nullptr;
  if (body.contains("metadata") && body["metadata"].is_object() &&
      body["metadata"].contains("annotations") && body["metadata"]["annotations"].is_object()) {
    annotations = &body["metadata"]["annotations"];
  }
  if (annotations && annotations->contains(kLastApplied) &&
      (*annotations)[kLastApplied].is_string()) {
    std::string text = (*annotations)[kLastApplied].get<std::string>();
    auto object = Json::parse(text, nullptr, false);
    if (object.is_discarded() || !object.is_object()) {
      return make_error("bad_request",
                        "the last-applied-configuration annotation is not a JSON object");
    }
    if (!object.contains("metadata") || !object["metadata"].is_object())
      object["metadata"] = Json::object();
    if (!object["metadata"].contains("namespace") && t.type->namespaced)
      object["metadata"]["namespace"] = t.ns;
    return apply_object(t, object, text, existing);
  }
  Json object = existing.object;
  strategic_merge(object, body);
  return apply_object(t, object, existing.last_applied, existing);
}

Result<Json> KubeApi::replace(const Target& t, const Request& r) {
  auto body = Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return make_error("bad_request", "the request body is not a JSON object");
  auto c = current(*t.type, t.ns, t.name);
  if (!c) return c.error();
  if (!*c) return make_error("not_found", "not found");
  return apply_object(t, body, std::nullopt, *c);
}

Result<Json> KubeApi::remove(const Target& t) {
  auto c = current(*t.type, t.ns, t.name);
  if (!c) return c.error();
  if (!*c) {
    if (t.type->resource == "pods") {
      auto pod = get_object(t);
      if (pod) {
        return make_error("method_not_allowed",
                          "pod " + t.name +
                              " is a replica the mesh runs for a Deployment or "
                              "StatefulSet: scale or delete that instead");
      }
    }
    return make_error("not_found", "not found");
  }
  if (t.dry_run) {
    return t.type->local ? configmap_object(**c)
                         : workload_object(**c, ReplicaCounts{}, std::to_string((*c)->generation));
  }
  if (t.type->local) {
    Json last = configmap_object(**c);
    store_.erase(std::string(t.type->resource), t.ns, t.name);
    return last;
  }
  auto out = mesh_.remove((*c)->manifest_id);
  if (!out) return out.error();
  store_.erase(std::string(t.type->resource), t.ns, t.name);
  return workload_object(**c, ReplicaCounts{}, std::to_string((*c)->generation));
}

Result<Json> KubeApi::scale(const Target& t, const Request& r) {
  auto c = current(*t.type, t.ns, t.name);
  if (!c) return c.error();
  if (!*c) return make_error("not_found", "not found");
  StoredObject stored = **c;
  Json warnings;
  if (r.method == "PATCH" || r.method == "PUT") {
    auto body = Json::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("spec") ||
        !body["spec"].is_object() || !body["spec"].contains("replicas") ||
        !body["spec"]["replicas"].is_number_integer()) {
      return make_error("invalid_manifest", "request doc 1: spec.replicas: Required value");
    }
    if (stored.last_applied.empty() && stored.object.size() <= 4 &&
        !stored.object.contains("spec")) {
      return make_error("conflict", "the proxy does not hold this object's manifest");
    }
    Json object = stored.object;
    object["spec"]["replicas"] = body["spec"]["replicas"];
    auto applied = apply_object(t, object, stored.last_applied, stored);
    if (!applied) return applied.error();
    if (applied->contains(kWarningsKey)) warnings = (*applied)[std::string(kWarningsKey)];
    stored.object = object;
  } else if (r.method != "GET") {
    return make_error("method_not_allowed", r.method + " is not supported on scale");
  }
  auto v = view(stored, nullptr);
  if (!v) return v.error();
  std::string sel;
  if (stored.object.contains("spec") && stored.object["spec"].contains("selector") &&
      stored.object["spec"]["selector"].contains("matchLabels")) {
    for (const auto& [k, val] : stored.object["spec"]["selector"]["matchLabels"].items()) {
      sel += (sel.empty() ? "" : ",") + k + "=" + (val.is_string() ? val.get<std::string>() : "");
    }
  }
  Json scale{{"apiVersion", "autoscaling/v1"},
             {"kind", "Scale"},
             {"metadata",
              {{"name", t.name},
               {"namespace", t.ns},
               {"resourceVersion", std::to_string(stored.generation)},
               {"uid", stored.manifest_id}}},
             {"spec", {{"replicas", (*v)["spec"].value("replicas", 1)}}},
             {"status", {{"replicas", (*v)["status"].value("replicas", 0)}, {"selector", sel}}}};
  if (warnings.is_array()) scale[std::string(kWarningsKey)] = warnings;
  return scale;
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
