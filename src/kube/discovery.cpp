#include "kube/discovery.h"

#include "api/version.h"

namespace beemesh::kube {

namespace {

Json split(std::string_view list) {
  Json out = Json::array();
  while (!list.empty()) {
    auto comma = list.find(',');
    out.push_back(std::string(list.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

std::string gv_path(std::string_view group, std::string_view version) {
  return group.empty() ? "api/" + std::string(version)
                       : "apis/" + std::string(group) + "/" + std::string(version);
}

}  // namespace

const ResourceType* find_resource(std::string_view group, std::string_view version,
                                  std::string_view resource) {
  for (const auto& r : resources()) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

const ResourceType* find_kind(std::string_view api_version, std::string_view kind) {
  for (const auto& r : resources()) {
    if (r.api_version() == api_version && r.kind == kind) return &r;
  }
  return nullptr;
}

Json version_document() {
  return Json{{"major", "1"},
              {"minor", "32"},
              {"gitVersion", "v1.32.0-beemesh-" + std::string(api::kVersion)},
              {"gitCommit", ""},
              {"gitTreeState", "clean"},
              {"buildDate", "1970-01-01T00:00:00Z"},
              {"goVersion", "n/a"},
              {"compiler", "beemesh"},
              {"platform", "linux/amd64"}};
}

Json api_versions() {
  return Json{{"kind", "APIVersions"},
              {"versions", Json::array({"v1"})},
              {"serverAddressByClientCIDRs",
               Json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1"}}})}};
}

Json api_group(std::string_view group) {
  Json version{{"groupVersion", std::string(group) + "/v1"}, {"version", "v1"}};
  return Json{{"kind", "APIGroup"},
              {"apiVersion", "v1"},
              {"name", std::string(group)},
              {"versions", Json::array({version})},
              {"preferredVersion", version}};
}

Json api_groups() {
  Json apps = api_group("apps");
  apps.erase("kind");
  apps.erase("apiVersion");
  return Json{{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", Json::array({apps})}};
}

std::optional<Json> resource_list(std::string_view group, std::string_view version) {
  Json list = Json::array();
  for (const auto& r : resources()) {
    if (r.group != group || r.version != version) continue;
    Json entry{{"name", std::string(r.resource)},
               {"singularName", std::string(r.singular)},
               {"namespaced", r.namespaced},
               {"kind", std::string(r.kind)},
               {"verbs", split(r.verbs)}};
    if (!r.short_names.empty()) entry["shortNames"] = split(r.short_names);
    if (r.workload) entry["categories"] = Json::array({"all"});
    list.push_back(entry);
    if (r.resource == "pods") {
      list.push_back({{"name", "pods/log"},
                      {"singularName", ""},
                      {"namespaced", true},
                      {"kind", "Pod"},
                      {"verbs", Json::array({"get"})}});
    }
    if (r.resource == "deployments" || r.resource == "statefulsets") {
      list.push_back({{"name", std::string(r.resource) + "/scale"},
                      {"singularName", ""},
                      {"namespaced", true},
                      {"group", "autoscaling"},
                      {"version", "v1"},
                      {"kind", "Scale"},
                      {"verbs", Json::array({"get", "patch", "update"})}});
    }
  }
  if (list.empty()) return std::nullopt;
  std::string gv =
      group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  return Json{
      {"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", list}};
}

Json openapi_v3_root() {
  Json paths = Json::object();
  for (auto gv : {std::pair<std::string_view, std::string_view>{"", "v1"}, {"apps", "v1"}}) {
    std::string p = gv_path(gv.first, gv.second);
    paths[p] = {{"serverRelativeURL", "/openapi/v3/" + p + "?hash=beemesh1"}};
  }
  return Json{{"paths", paths}};
}

std::optional<Json> openapi_v3_group_version(std::string_view group, std::string_view version) {
  Json paths = Json::object();
  for (const auto& r : resources()) {
    if (r.group != group || r.version != version) continue;
    Json gvk{{"group", std::string(r.group)},
             {"version", std::string(r.version)},
             {"kind", std::string(r.kind)}};
    Json field_validation{
        {"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}};
    Json patch{{"operationId", "patch" + std::string(r.kind)},
               {"x-kubernetes-group-version-kind", gvk},
               {"parameters", Json::array({field_validation})},
               {"responses", {{"200", {{"description", "OK"}}}}}};
    Json post = patch;
    post["operationId"] = "create" + std::string(r.kind);
    std::string base = "/" + gv_path(r.group, r.version) +
                       (r.namespaced ? "/namespaces/{namespace}/" : "/") + std::string(r.resource);
    paths[base] = {{"post", post}};
    paths[base + "/{name}"] = {{"patch", patch}};
  }
  if (paths.empty()) return std::nullopt;
  return Json{{"openapi", "3.0.0"},
              {"info", {{"title", "beemesh"}, {"version", std::string(api::kVersion)}}},
              {"paths", paths},
              {"components", {{"schemas", Json::object()}}}};
}

}  // namespace beemesh::kube
