#include "kube/objects.h"

#include <algorithm>

namespace beemesh::kube {

namespace {

Error invalid(const std::string& field, const std::string& reason) {
  return make_error("invalid_manifest", "request doc 1: " + field + ": " + reason);
}

// Strategic-merge directives ("$patch", "$setElementOrder/...", "$retainKeys", ...) out.
Json without_directives(const Json& j) {
  if (j.is_array()) {
    Json out = Json::array();
    for (const auto& e : j) out.push_back(without_directives(e));
    return out;
  }
  if (!j.is_object()) return j;
  Json out = Json::object();
  for (const auto& [k, v] : j.items()) {
    if (!k.empty() && k[0] == '$') continue;
    out[k] = without_directives(v);
  }
  return out;
}

// The merge key of two lists of objects (Kubernetes' patchMergeKey of the lists kubectl
// patches: containers, env, volumes, ports, volumeMounts); nullopt: replace the list.
std::optional<std::string> merge_key(const Json& a, const Json& b) {
  for (const char* key : {"name", "containerPort", "mountPath", "ip"}) {
    bool all = true;
    for (const Json* list : {&a, &b}) {
      for (const auto& e : *list) all = all && e.is_object() && e.contains(key);
    }
    if (all) return std::string(key);
  }
  return std::nullopt;
}

}  // namespace

// A JSON merge patch (RFC 7386) that also merges lists of objects by their merge key and
// honours "$patch": "delete" and "$setElementOrder/<list>" (strategic merge, as far as
// kubectl's patches of the built-in kinds need it).
void strategic_merge(Json& target, const Json& patch) {
  if (!patch.is_object()) {
    target = without_directives(patch);
    return;
  }
  if (!target.is_object()) target = Json::object();
  for (const auto& [key, value] : patch.items()) {
    if (!key.empty() && key[0] == '$') continue;
    if (value.is_null()) {
      target.erase(key);
      continue;
    }
    auto found = target.find(key);
    std::optional<std::string> mk;
    if (value.is_array() && found != target.end() && found->is_array())
      mk = merge_key(*found, value);
    if (!mk) {
      strategic_merge(target[key], value);
      continue;
    }
    Json& list = *found;
    for (const auto& e : value) {
      auto same = [&](const Json& t) { return t.value(*mk, Json()) == e.value(*mk, Json()); };
      auto it = std::find_if(list.begin(), list.end(), same);
      if (e.value("$patch", "") == "delete") {
        if (it != list.end()) list.erase(it);
      } else if (it != list.end()) {
        strategic_merge(*it, e);
      } else {
        list.push_back(without_directives(e));
      }
    }
  }
  for (const auto& [key, value] : patch.items()) {
    const std::string prefix = "$setElementOrder/";
    if (!key.starts_with(prefix) || !value.is_array()) continue;
    auto found = target.find(key.substr(prefix.size()));
    if (found == target.end() || !found->is_array()) continue;
    Json ordered = Json::array();
    Json rest = *found;
    for (const auto& want : value) {
      if (!want.is_object() || want.empty()) continue;
      const std::string k = want.begin().key();
      const Json v = want.begin().value();
      auto it = std::find_if(rest.begin(), rest.end(), [&](const Json& e) {
        return e.is_object() && e.value(k, Json()) == v;
      });
      if (it == rest.end()) continue;
      ordered.push_back(*it);
      rest.erase(it);
    }
    for (auto& e : rest) ordered.push_back(std::move(e));
    *found = std::move(ordered);
  }
}

Result<Canonical> canonicalize(const Json& body, const ResourceType& type, std::string_view path_ns,
                               std::string_view path_name) {
  if (!body.is_object()) return make_error("bad_request", "the request body is not a JSON object");
  Canonical c;
  c.object = body;
  Json& o = c.object;
  std::string api_version = o.value("apiVersion", "");
  std::string kind = o.value("kind", "");
  if (api_version != type.api_version()) {
    return make_error("bad_request", "the API version in the data (" + api_version +
                                         ") does not match the expected API version (" +
                                         type.api_version() + ")");
  }
  if (kind != type.kind) {
    return make_error("bad_request", "the kind in the data (" + kind +
                                         ") does not match the expected kind (" +
                                         std::string(type.kind) + ")");
  }
  if (!o.contains("metadata") || !o["metadata"].is_object()) return invalid("metadata", "missing");
  Json& meta = o["metadata"];
  std::string name = meta.value("name", "");
  if (name.empty()) return invalid("metadata.name", "Required value: name is required");
  if (!valid_name(name)) {
    return invalid("metadata.name",
                   "\"" + name +
                       "\": a lowercase RFC 1123 subdomain must consist of lower case "
                       "alphanumeric characters, '-' or '.'");
  }
  if (!path_name.empty() && name != path_name) {
    return make_error("bad_request", "the name of the object (" + name +
                                         ") does not match the name on the URL (" +
                                         std::string(path_name) + ")");
  }
  if (type.namespaced) {
    std::string ns = meta.value("namespace", "");
    if (!ns.empty() && ns != path_ns) {
      return make_error("bad_request",
                        "the namespace of the provided object does not match the namespace sent "
                        "on the request");
    }
    meta["namespace"] = std::string(path_ns);
  }
  for (const char* f : {"uid", "resourceVersion", "generation", "creationTimestamp",
                        "managedFields", "selfLink", "deletionTimestamp"}) {
    meta.erase(f);
  }
  o.erase("status");
  if (meta.contains("annotations") && meta["annotations"].is_object()) {
    auto& ann = meta["annotations"];
    if (auto it = ann.find(kLastApplied); it != ann.end()) {
      if (it->is_string()) c.last_applied = it->get<std::string>();
      ann.erase(it);
    }
    // Set by the proxy on what it serves (views.cpp): a `kubectl edit|replace` sends them back.
    ann.erase("beemesh.io/manifest-id");
    ann.erase("beemesh.io/content-version");
    if (ann.empty()) meta.erase("annotations");
  }
  Json mesh = o;
  if (type.resource == "deployments" || type.resource == "statefulsets") {
    int64_t replicas = 1;
    if (o.contains("spec") && o["spec"].is_object() && o["spec"].contains("replicas")) {
      if (!o["spec"]["replicas"].is_number_integer())
        return invalid("spec.replicas", "not an integer");
      replicas = o["spec"]["replicas"].get<int64_t>();
    }
    if (replicas < 0 || replicas > 1000) {
      return invalid("spec.replicas", "must be between 0 and 1000");
    }
    c.replicas = static_cast<int>(replicas);
    if (mesh.contains("spec") && mesh["spec"].is_object()) mesh["spec"].erase("replicas");
  }
  c.mesh_text = mesh.dump();
  return c;
}

bool matches_labels(const Json& object, std::string_view selector) {
  const Json* labels = nullptr;
  if (object.contains("metadata") && object["metadata"].contains("labels") &&
      object["metadata"]["labels"].is_object()) {
    labels = &object["metadata"]["labels"];
  }
  auto value_of = [&](const std::string& key) -> std::optional<std::string> {
    if (labels == nullptr) return std::nullopt;
    auto it = labels->find(key);
    if (it == labels->end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  while (!selector.empty()) {
    auto comma = selector.find(',');
    std::string term(selector.substr(0, comma));
    selector = comma == std::string_view::npos ? std::string_view{} : selector.substr(comma + 1);
    if (term.empty()) continue;
    if (auto p = term.find("!="); p != std::string::npos) {
      auto v = value_of(term.substr(0, p));
      if (v && *v == term.substr(p + 2)) return false;
    } else if (auto q = term.find('='); q != std::string::npos) {
      size_t vstart = q + 1 + (q + 1 < term.size() && term[q + 1] == '=' ? 1 : 0);
      auto v = value_of(term.substr(0, q));
      if (!v || *v != term.substr(vstart)) return false;
    } else if (!term.empty() && term[0] == '!') {
      if (value_of(term.substr(1))) return false;
    } else if (term.find(' ') != std::string::npos || term.find('(') != std::string::npos) {
      return false;  // set-based selectors are not supported
    } else if (!value_of(term)) {
      return false;
    }
  }
  return true;
}

bool matches_fields(const Json& object, std::string_view selector) {
  while (!selector.empty()) {
    auto comma = selector.find(',');
    std::string term(selector.substr(0, comma));
    selector = comma == std::string_view::npos ? std::string_view{} : selector.substr(comma + 1);
    bool negate = false;
    auto eq = term.find("!=");
    size_t value_at = 0;
    if (eq != std::string::npos) {
      negate = true;
      value_at = eq + 2;
    } else {
      eq = term.find('=');
      if (eq == std::string::npos) return false;
      value_at = eq + 1 + (eq + 1 < term.size() && term[eq + 1] == '=' ? 1 : 0);
    }
    const Json* cur = &object;
    std::string path = term.substr(0, eq);
    for (size_t start = 0; cur != nullptr;) {
      size_t dot = path.find('.', start);
      std::string part = path.substr(start, dot == std::string::npos ? dot : dot - start);
      auto it = cur->is_object() ? cur->find(part) : cur->end();
      cur = cur->is_object() && it != cur->end() ? &*it : nullptr;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    std::string have = cur != nullptr && cur->is_string() ? cur->get<std::string>() : "";
    if ((have == term.substr(value_at)) == negate) return false;
  }
  return true;
}

}  // namespace beemesh::kube
