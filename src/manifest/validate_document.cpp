// manifest/validate_document.cpp — apiVersion, kind, metadata and the kind's own spec.
#include "manifest/validate_document.h"

#include <array>

#include "manifest/fields.h"
#include "manifest/text.h"
#include "manifest/validate_pod.h"
#include "manifest/yaml_emit.h"

namespace beemesh::manifest {
namespace {

struct KindInfo {
  std::string_view kind;
  std::string_view api_version;
};

constexpr std::array<KindInfo, 5> kKinds{{{"Pod", "v1"},
                                          {"Deployment", "apps/v1"},
                                          {"StatefulSet", "apps/v1"},
                                          {"ConfigMap", "v1"},
                                          {"Secret", "v1"}}};

Result<std::map<std::string, std::string>> validate_labels(const YAML::Node& node,
                                                           std::string_view path) {
  MANIFEST_ASSIGN(auto labels, string_map(node, path));
  for (const auto& [key, value] : labels) {
    if (!is_label_key(key)) return field_error(path, "not a valid label key: " + quote(key));
    if (!is_label_value(value)) {
      return field_error(child_path(path, key), "not a valid label value: " + quote(value));
    }
  }
  return labels;
}

Result<void> validate_metadata(const YAML::Node& metadata, std::string_view path, Document* doc) {
  MANIFEST_TRY(expect_map(metadata, path));
  if (doc != nullptr) {
    std::string name_path = child_path(path, "name");
    MANIFEST_ASSIGN(doc->name, string_field(member(metadata, "name"), name_path));
    if (auto problem = dns_label_problem(doc->name)) return field_error(name_path, *problem);
    if (YAML::Node ns = member(metadata, "namespace"); present(ns)) {
      std::string ns_path = child_path(path, "namespace");
      MANIFEST_ASSIGN(doc->namespace_, string_field(ns, ns_path));
      if (auto problem = dns_label_problem(doc->namespace_)) return field_error(ns_path, *problem);
    }
  }
  if (YAML::Node labels = member(metadata, "labels"); present(labels)) {
    MANIFEST_TRY(validate_labels(labels, child_path(path, "labels")));
  }
  if (YAML::Node annotations = member(metadata, "annotations"); present(annotations)) {
    MANIFEST_TRY(string_map(annotations, child_path(path, "annotations")));
  }
  return ok_result();
}

Result<void> validate_data_keys(const std::map<std::string, std::string>& data,
                                std::string_view path) {
  for (const auto& entry : data) {
    if (!is_data_key(entry.first))
      return field_error(path, "not a valid key: " + quote(entry.first));
  }
  return ok_result();
}

// A map of valid keys to strings; base64 strings when `base64` is set.
Result<void> validate_data(const YAML::Node& node, std::string_view path, bool base64) {
  MANIFEST_ASSIGN(auto data, string_map(node, path));
  MANIFEST_TRY(validate_data_keys(data, path));
  if (base64) {
    for (const auto& [key, value] : data) {
      if (!is_base64(value)) return field_error(child_path(path, key), "not valid base64");
    }
  }
  return ok_result();
}

Result<void> validate_config_map(const YAML::Node& root) {
  if (YAML::Node data = member(root, "data"); present(data)) {
    MANIFEST_TRY(validate_data(data, "data", false));
  }
  if (YAML::Node data = member(root, "binaryData"); present(data)) {
    MANIFEST_TRY(validate_data(data, "binaryData", true));
  }
  return ok_result();
}

Result<void> validate_secret(const YAML::Node& root) {
  if (YAML::Node data = member(root, "data"); present(data)) {
    MANIFEST_TRY(validate_data(data, "data", true));
  }
  if (YAML::Node data = member(root, "stringData"); present(data)) {
    MANIFEST_TRY(validate_data(data, "stringData", false));
  }
  if (YAML::Node type = member(root, "type"); present(type)) {
    MANIFEST_TRY(string_field(type, "type"));
  }
  return ok_result();
}

// Every selector.matchLabels entry must be among the template's labels.
Result<void> validate_selector(const YAML::Node& spec, const YAML::Node& template_node) {
  YAML::Node selector = member(spec, "selector");
  if (!present(selector)) return ok_result();
  MANIFEST_TRY(expect_map(selector, "spec.selector"));
  YAML::Node match = member(selector, "matchLabels");
  if (!present(match)) return ok_result();
  MANIFEST_ASSIGN(auto wanted, validate_labels(match, "spec.selector.matchLabels"));
  std::map<std::string, std::string> labels;
  if (YAML::Node metadata = member(template_node, "metadata"); present(metadata)) {
    if (YAML::Node node = member(metadata, "labels"); present(node)) {
      MANIFEST_ASSIGN(labels, string_map(node, "spec.template.metadata.labels"));
    }
  }
  for (const auto& [key, value] : wanted) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) {
      return field_error(child_path("spec.selector.matchLabels", key),
                         "does not match spec.template.metadata.labels");
    }
  }
  return ok_result();
}

Result<void> validate_workload_set(const YAML::Node& root, Document& doc) {
  YAML::Node spec = member(root, "spec");
  MANIFEST_TRY(expect_map(spec, "spec"));
  if (YAML::Node replicas = member(spec, "replicas"); present(replicas)) {
    MANIFEST_ASSIGN(int64_t count, int_field(replicas, "spec.replicas"));
    if (count < 0) {
      return field_error("spec.replicas",
                         "must be a non-negative integer: " + quote(replicas.Scalar()));
    }
    if (count > kMaxReplicas) {
      return field_error("spec.replicas", "must be at most " + std::to_string(kMaxReplicas) + ": " +
                                              quote(replicas.Scalar()));
    }
    doc.replicas = static_cast<int>(count);
  }
  YAML::Node template_node = member(spec, "template");
  MANIFEST_TRY(expect_map(template_node, "spec.template"));
  if (YAML::Node metadata = member(template_node, "metadata"); present(metadata)) {
    MANIFEST_TRY(validate_metadata(metadata, "spec.template.metadata", nullptr));
  }
  MANIFEST_ASSIGN(PodSpec pod,
                  validate_pod_spec(member(template_node, "spec"), "spec.template.spec"));
  doc.restart_policy = std::move(pod.restart_policy);
  doc.containers = std::move(pod.containers);
  return validate_selector(spec, template_node);
}

}  // namespace

Result<Document> validate_document(const YAML::Node& root, int index) {
  Document doc;
  doc.index = index;
  if (!root.IsMap()) return field_error("", "must be a map");
  MANIFEST_TRY(check_keys(root, ""));
  MANIFEST_ASSIGN(doc.api_version, string_field(member(root, "apiVersion"), "apiVersion"));
  MANIFEST_ASSIGN(doc.kind, string_field(member(root, "kind"), "kind"));
  const KindInfo* info = nullptr;
  for (const auto& k : kKinds) {
    if (k.kind == doc.kind) info = &k;
  }
  if (info == nullptr) {
    return field_error("kind", "not a supported kind: " + quote(doc.kind) +
                                   " (supported: Pod, Deployment, StatefulSet, ConfigMap, "
                                   "Secret)");
  }
  if (doc.api_version != info->api_version) {
    return field_error("apiVersion", "must be '" + std::string(info->api_version) + "' for kind " +
                                         doc.kind + ": " + quote(doc.api_version));
  }
  MANIFEST_TRY(validate_metadata(member(root, "metadata"), "metadata", &doc));
  if (doc.kind == "Pod") {
    MANIFEST_ASSIGN(PodSpec pod, validate_pod_spec(member(root, "spec"), "spec"));
    doc.restart_policy = std::move(pod.restart_policy);
    doc.containers = std::move(pod.containers);
  } else if (doc.kind == "Deployment" || doc.kind == "StatefulSet") {
    MANIFEST_TRY(validate_workload_set(root, doc));
  } else if (doc.kind == "ConfigMap") {
    MANIFEST_TRY(validate_config_map(root));
  } else {
    MANIFEST_TRY(validate_secret(root));
  }
  doc.yaml = emit_yaml(root);
  // parse() drops its own handle of `root` after this: the document keeps the only one.
  doc.tree = std::make_shared<const YAML::Node>(root);
  return doc;
}

YAML::Node document_tree(const Document& doc) {
  if (doc.tree) return YAML::Clone(*doc.tree);
  if (doc.yaml.empty()) return YAML::Node();
  return YAML::Load(doc.yaml);
}

}  // namespace beemesh::manifest
