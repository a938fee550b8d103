// The writes of KubeApi (kube/kube_api.h): create, patch, replace, scale, delete, and the
// apply every one of them ends in.
#include <set>

#include "common/bytes.h"
#include "crypto/intent.h"
#include "kube/kube_api.h"
#include "kube/objects.h"
#include "kube/views.h"
#include "manifest/manifest.h"

namespace beemesh::kube {

namespace {

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

}  // namespace

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
    stored.content_version = to_hex(crypto::content_version(yaml));
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
  // Replicas that failed travel as Warning headers (kubectl prints them). A configured
  // apply's rollout or scale is the mesh's reconcile loop's, as a Deployment's is the
  // controller's: no warning (rollout status and get pods follow it).
  Json warnings = Json::array();
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

}  // namespace beemesh::kube
