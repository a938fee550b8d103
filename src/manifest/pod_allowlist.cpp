// manifest/pod_allowlist.cpp — the fields of a pod spec a runtime is given, as a table, and
// the refusals for what cannot be dropped silently (see pod_allowlist.h).
#include "manifest/pod_allowlist.h"

#include <span>

#include "manifest/fields.h"
#include "manifest/pod_security.h"
#include "manifest/text.h"

namespace beemesh::manifest {
namespace {

enum class Shape { kScalar, kScalars, kScalarMap, kObject, kObjects };

struct Field {
  std::string_view key;
  Shape shape;
  std::span<const Field> fields = {};  // kObject, kObjects
};

constexpr Field kKeyToPath[] = {
    {"key", Shape::kScalar}, {"path", Shape::kScalar}, {"mode", Shape::kScalar}};
constexpr Field kConfigMapVolume[] = {{"name", Shape::kScalar},
                                      {"items", Shape::kObjects, kKeyToPath},
                                      {"defaultMode", Shape::kScalar},
                                      {"optional", Shape::kScalar}};
constexpr Field kSecretVolume[] = {{"secretName", Shape::kScalar},
                                   {"items", Shape::kObjects, kKeyToPath},
                                   {"defaultMode", Shape::kScalar},
                                   {"optional", Shape::kScalar}};
constexpr Field kEmptyDir[] = {{"medium", Shape::kScalar}, {"sizeLimit", Shape::kScalar}};
constexpr Field kVolume[] = {{"name", Shape::kScalar},
                             {"emptyDir", Shape::kObject, kEmptyDir},
                             {"configMap", Shape::kObject, kConfigMapVolume},
                             {"secret", Shape::kObject, kSecretVolume}};

constexpr Field kKeyRef[] = {
    {"name", Shape::kScalar}, {"key", Shape::kScalar}, {"optional", Shape::kScalar}};
constexpr Field kFieldRef[] = {{"apiVersion", Shape::kScalar}, {"fieldPath", Shape::kScalar}};
constexpr Field kResourceFieldRef[] = {
    {"containerName", Shape::kScalar}, {"resource", Shape::kScalar}, {"divisor", Shape::kScalar}};
constexpr Field kValueFrom[] = {{"configMapKeyRef", Shape::kObject, kKeyRef},
                                {"secretKeyRef", Shape::kObject, kKeyRef},
                                {"fieldRef", Shape::kObject, kFieldRef},
                                {"resourceFieldRef", Shape::kObject, kResourceFieldRef}};
constexpr Field kEnv[] = {
    {"name", Shape::kScalar}, {"value", Shape::kScalar}, {"valueFrom", Shape::kObject, kValueFrom}};
constexpr Field kNameRef[] = {{"name", Shape::kScalar}, {"optional", Shape::kScalar}};
constexpr Field kEnvFrom[] = {{"prefix", Shape::kScalar},
                              {"configMapRef", Shape::kObject, kNameRef},
                              {"secretRef", Shape::kObject, kNameRef}};
constexpr Field kPort[] = {{"name", Shape::kScalar},
                           {"containerPort", Shape::kScalar},
                           {"hostPort", Shape::kScalar},
                           {"hostIP", Shape::kScalar},
                           {"protocol", Shape::kScalar}};
constexpr Field kResources[] = {{"limits", Shape::kScalarMap}, {"requests", Shape::kScalarMap}};
constexpr Field kVolumeMount[] = {{"name", Shape::kScalar},
                                  {"mountPath", Shape::kScalar},
                                  {"readOnly", Shape::kScalar},
                                  {"subPath", Shape::kScalar},
                                  {"mountPropagation", Shape::kScalar}};

constexpr Field kCapabilities[] = {{"add", Shape::kScalars}, {"drop", Shape::kScalars}};
constexpr Field kProfile[] = {{"type", Shape::kScalar}, {"localhostProfile", Shape::kScalar}};
constexpr Field kSelinux[] = {{"user", Shape::kScalar},
                              {"role", Shape::kScalar},
                              {"type", Shape::kScalar},
                              {"level", Shape::kScalar}};
constexpr Field kContainerContext[] = {{"privileged", Shape::kScalar},
                                       {"capabilities", Shape::kObject, kCapabilities},
                                       {"runAsUser", Shape::kScalar},
                                       {"runAsGroup", Shape::kScalar},
                                       {"runAsNonRoot", Shape::kScalar},
                                       {"readOnlyRootFilesystem", Shape::kScalar},
                                       {"allowPrivilegeEscalation", Shape::kScalar},
                                       {"procMount", Shape::kScalar},
                                       {"seccompProfile", Shape::kObject, kProfile},
                                       {"appArmorProfile", Shape::kObject, kProfile},
                                       {"seLinuxOptions", Shape::kObject, kSelinux}};
constexpr Field kContainer[] = {{"name", Shape::kScalar},
                                {"image", Shape::kScalar},
                                {"imagePullPolicy", Shape::kScalar},
                                {"command", Shape::kScalars},
                                {"args", Shape::kScalars},
                                {"workingDir", Shape::kScalar},
                                {"env", Shape::kObjects, kEnv},
                                {"envFrom", Shape::kObjects, kEnvFrom},
                                {"ports", Shape::kObjects, kPort},
                                {"resources", Shape::kObject, kResources},
                                {"volumeMounts", Shape::kObjects, kVolumeMount},
                                {"securityContext", Shape::kObject, kContainerContext}};

constexpr Field kSysctl[] = {{"name", Shape::kScalar}, {"value", Shape::kScalar}};
constexpr Field kPodContext[] = {{"runAsUser", Shape::kScalar},
                                 {"runAsGroup", Shape::kScalar},
                                 {"runAsNonRoot", Shape::kScalar},
                                 {"fsGroup", Shape::kScalar},
                                 {"supplementalGroups", Shape::kScalars},
                                 {"sysctls", Shape::kObjects, kSysctl},
                                 {"seccompProfile", Shape::kObject, kProfile},
                                 {"appArmorProfile", Shape::kObject, kProfile},
                                 {"seLinuxOptions", Shape::kObject, kSelinux}};
constexpr Field kPodSpec[] = {{"initContainers", Shape::kObjects, kContainer},
                              {"containers", Shape::kObjects, kContainer},
                              {"restartPolicy", Shape::kScalar},
                              {"volumes", Shape::kObjects, kVolume},
                              {"hostname", Shape::kScalar},
                              {"terminationGracePeriodSeconds", Shape::kScalar},
                              {"securityContext", Shape::kObject, kPodContext},
                              {"hostNetwork", Shape::kScalar},
                              {"hostPID", Shape::kScalar},
                              {"hostIPC", Shape::kScalar}};

constexpr std::string_view kReservedVolumePrefix = "beemesh-";

Error forbid(std::string_view path, std::string_view reason) {
  return make_error(std::string(kForbiddenPodSecurity),
                    std::string(path) + ": " + std::string(reason));
}

Result<YAML::Node> filter(const YAML::Node& node, std::span<const Field> fields,
                          std::string_view path);

Result<YAML::Node> filter_value(const YAML::Node& value, const Field& field,
                                std::string_view path) {
  switch (field.shape) {
    case Shape::kScalar:
      if (!value.IsScalar()) return field_error(path, "must be a string, number or boolean");
      return YAML::Clone(value);
    case Shape::kScalars:
      if (!value.IsSequence()) return field_error(path, "must be a list");
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].IsScalar()) return field_error(item_path(path, i), "must be a string");
      }
      return YAML::Clone(value);
    case Shape::kScalarMap:
      if (!value.IsMap()) return field_error(path, "must be a map");
      for (const auto& entry : value) {
        if (!entry.second.IsScalar()) {
          return field_error(child_path(path, entry.first.Scalar()), "must be a string");
        }
      }
      return YAML::Clone(value);
    case Shape::kObject:
      return filter(value, field.fields, path);
    case Shape::kObjects: {
      if (!value.IsSequence()) return field_error(path, "must be a list");
      YAML::Node out(YAML::NodeType::Sequence);
      for (size_t i = 0; i < value.size(); ++i) {
        MANIFEST_ASSIGN(YAML::Node item, filter(value[i], field.fields, item_path(path, i)));
        out.push_back(item);
      }
      return out;
    }
  }
  return field_error(path, "unknown shape");
}

// A new map holding the listed keys of `node` (exact spelling), each filtered in turn.
Result<YAML::Node> filter(const YAML::Node& node, std::span<const Field> fields,
                          std::string_view path) {
  if (!node.IsMap()) return field_error(path, "must be a map");
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& entry : node) {
    if (!entry.first.IsScalar() || !present(entry.second)) continue;
    const std::string& key = entry.first.Scalar();
    for (const auto& field : fields) {
      if (field.key != key) continue;
      MANIFEST_ASSIGN(YAML::Node value, filter_value(entry.second, field, child_path(path, key)));
      out[key] = value;
    }
  }
  return out;
}

Result<void> check_secret(const YAML::Node& name, std::string_view path,
                          const std::set<std::string>& secrets) {
  if (!present(name)) return ok_result();
  std::string text = name.IsScalar() ? name.Scalar() : std::string();
  if (secrets.count(text) == 0) {
    return forbid(path, "Secret " + quote(text) +
                            " is not defined in this manifest; a pod may use only the Secrets "
                            "of its own manifest");
  }
  return ok_result();
}

// On the user's spec: every volume is of an allowed type and not named like ours.
Result<void> check_volume_types(const YAML::Node& spec, std::string_view path) {
  const YAML::Node volumes = member(spec, "volumes");
  if (!present(volumes) || !volumes.IsSequence()) return ok_result();
  for (size_t i = 0; i < volumes.size(); ++i) {
    std::string at = item_path(child_path(path, "volumes"), i);
    if (!volumes[i].IsMap()) return field_error(at, "must be a map");
    for (const auto& entry : volumes[i]) {
      std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
      if (key == "name") {
        std::string name = entry.second.IsScalar() ? entry.second.Scalar() : std::string();
        if (name.rfind(kReservedVolumePrefix, 0) == 0) {
          return forbid(child_path(at, key),
                        "volume names starting with \"beemesh-\" are "
                        "reserved for the node's volumes");
        }
      } else if (key != "emptyDir" && key != "configMap" && key != "secret") {
        return forbid(child_path(at, key), "volume type " + quote(key) +
                                               " is not supported; use emptyDir, configMap "
                                               "or secret");
      }
    }
  }
  return ok_result();
}

bool escapes(const std::string& sub_path) {
  if (sub_path.empty()) return false;
  if (sub_path.front() == '/') return true;
  size_t start = 0;
  while (start <= sub_path.size()) {
    size_t end = sub_path.find('/', start);
    if (end == std::string::npos) end = sub_path.size();
    if (sub_path.compare(start, end - start, "..") == 0) return true;
    start = end + 1;
  }
  return false;
}

// On the filtered container: mounts name declared volumes and stay inside them; Secret
// references name Secrets of this manifest.
Result<void> check_container(const YAML::Node& container, std::string_view path,
                             const std::set<std::string>& volumes,
                             const std::set<std::string>& secrets) {
  YAML::Node mounts = member(container, "volumeMounts");
  for (size_t i = 0; present(mounts) && i < mounts.size(); ++i) {
    std::string at = item_path(child_path(path, "volumeMounts"), i);
    YAML::Node name_node = member(mounts[i], "name");
    std::string name = name_node.IsScalar() ? name_node.Scalar() : std::string();
    if (volumes.count(name) == 0) {
      return forbid(child_path(at, "name"),
                    "volume " + quote(name) + " is not declared in the pod's volumes");
    }
    YAML::Node propagation = member(mounts[i], "mountPropagation");
    if (present(propagation) && propagation.Scalar() != "None") {
      return forbid(child_path(at, "mountPropagation"),
                    "mount propagation " + quote(propagation.Scalar()) + " is not allowed");
    }
    YAML::Node sub_path = member(mounts[i], "subPath");
    if (present(sub_path) && escapes(sub_path.Scalar())) {
      return forbid(child_path(at, "subPath"),
                    "must be a relative path inside the volume: " + quote(sub_path.Scalar()));
    }
  }
  YAML::Node env = member(container, "env");
  for (size_t i = 0; present(env) && i < env.size(); ++i) {
    YAML::Node value_from = member(env[i], "valueFrom");
    YAML::Node ref = present(value_from) ? member(value_from, "secretKeyRef") : YAML::Node();
    if (!present(ref)) continue;
    std::string at = item_path(child_path(path, "env"), i) + ".valueFrom.secretKeyRef.name";
    MANIFEST_TRY(check_secret(member(ref, "name"), at, secrets));
  }
  YAML::Node env_from = member(container, "envFrom");
  for (size_t i = 0; present(env_from) && i < env_from.size(); ++i) {
    YAML::Node ref = member(env_from[i], "secretRef");
    if (!present(ref)) continue;
    std::string at = item_path(child_path(path, "envFrom"), i) + ".secretRef.name";
    MANIFEST_TRY(check_secret(member(ref, "name"), at, secrets));
  }
  return ok_result();
}

Result<void> check_references(const YAML::Node& spec, std::string_view path,
                              const std::set<std::string>& secrets) {
  std::set<std::string> volumes;
  YAML::Node list = member(spec, "volumes");
  for (size_t i = 0; present(list) && i < list.size(); ++i) {
    YAML::Node name = member(list[i], "name");
    if (present(name)) volumes.insert(name.Scalar());
    YAML::Node secret = member(list[i], "secret");
    if (!present(secret)) continue;
    std::string at = item_path(child_path(path, "volumes"), i) + ".secret.secretName";
    MANIFEST_TRY(check_secret(member(secret, "secretName"), at, secrets));
  }
  for (const char* key : {"initContainers", "containers"}) {
    YAML::Node containers = member(spec, key);
    for (size_t i = 0; present(containers) && i < containers.size(); ++i) {
      MANIFEST_TRY(
          check_container(containers[i], item_path(child_path(path, key), i), volumes, secrets));
    }
  }
  return ok_result();
}

bool runtime_annotation(const std::string& key) {
  std::string lower = key;
  for (auto& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  for (std::string_view prefix :
       {"io.podman.", "io.containers.", "io.kubernetes.", "run.oci.", "org.opencontainers."}) {
    if (lower.rfind(prefix, 0) == 0) return true;
  }
  size_t slash = lower.find('/');
  if (slash == std::string::npos) return false;
  std::string_view domain = std::string_view(lower).substr(0, slash);
  for (std::string_view suffix : {"kubernetes.io", "k8s.io"}) {
    if (domain.size() >= suffix.size() && domain.substr(domain.size() - suffix.size()) == suffix) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<YAML::Node> allowed_pod_spec(const YAML::Node& spec, std::string_view path,
                                    const std::set<std::string>& secrets) {
  if (!spec.IsMap()) return field_error(path, "must be a map");
  MANIFEST_TRY(check_volume_types(spec, path));
  MANIFEST_ASSIGN(YAML::Node out, filter(spec, kPodSpec, path));
  MANIFEST_TRY(check_references(out, path, secrets));
  return out;
}

YAML::Node allowed_annotations(const YAML::Node& annotations) {
  YAML::Node out(YAML::NodeType::Map);
  if (!annotations.IsMap()) return out;
  for (const auto& entry : annotations) {
    if (!entry.first.IsScalar() || !entry.second.IsScalar()) continue;
    if (runtime_annotation(entry.first.Scalar())) continue;
    out[entry.first.Scalar()] = YAML::Clone(entry.second);
  }
  return out;
}

}  // namespace beemesh::manifest
