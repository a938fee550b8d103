// manifest/pod_security.cpp — the levels, the walk over a manifest's pods, and the pod-level
// controls: host namespaces, the pod securityContext (sysctls, runAsNonRoot), volumes and
// annotations. Container controls are in pod_security_container.cpp.
#include "manifest/pod_security.h"

#include <algorithm>
#include <array>

#include "manifest/fields.h"
#include "manifest/pod_security_internal.h"
#include "manifest/text.h"
#include "manifest/validate_document.h"

namespace beemesh::manifest {
namespace {

using pod_security::fields_named;
using pod_security::find_all;
using pod_security::fold_key;
using pod_security::PodCheck;
using pod_security::text_of;

constexpr std::array<std::string_view, 10> kSafeSysctls = {"kernel.shm_rmid_forced",
                                                           "net.ipv4.ip_local_port_range",
                                                           "net.ipv4.ip_unprivileged_port_start",
                                                           "net.ipv4.tcp_syncookies",
                                                           "net.ipv4.ping_group_range",
                                                           "net.ipv4.ip_local_reserved_ports",
                                                           "net.ipv4.tcp_keepalive_time",
                                                           "net.ipv4.tcp_fin_timeout",
                                                           "net.ipv4.tcp_keepalive_intvl",
                                                           "net.ipv4.tcp_keepalive_probes"};
// Restricted volume types, folded (see fold_key).
constexpr std::array<std::string_view, 8> kRestrictedVolumes = {
    "configmap", "csi",   "downwardapi", "emptydir", "ephemeral", "persistentvolumeclaim",
    "projected", "secret"};
// Annotation prefixes Podman or CRI-O act on (privileged, seccomp, userns, ...).
constexpr std::array<std::string_view, 3> kRuntimeAnnotationPrefixes = {
    "io.podman.", "io.containers.", "io.kubernetes.cri-o."};
constexpr std::string_view kAppArmorAnnotation = "container.apparmor.security.beta.kubernetes.io/";
constexpr std::string_view kSeccompPodAnnotation = "seccomp.security.alpha.kubernetes.io/pod";
constexpr std::string_view kSeccompAnnotation = "container.seccomp.security.alpha.kubernetes.io/";

template <size_t N>
bool one_of(std::string_view value, const std::array<std::string_view, N>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

Result<void> check_annotation(const PodCheck& check, const std::string& key,
                              const YAML::Node& value, const std::string& at) {
  std::string folded = lower(key);
  for (auto prefix : kRuntimeAnnotationPrefixes) {
    if (starts_with(folded, prefix)) {
      return check.forbid(at, "Podman and CRI-O annotations are not allowed");
    }
  }
  std::string text = text_of(value);
  if (starts_with(folded, kAppArmorAnnotation) && text != "runtime/default" &&
      !starts_with(text, "localhost/")) {
    return check.forbid(at, "AppArmor profile " + quote(text) +
                                " is not allowed; use runtime/default or localhost/<profile>");
  }
  if ((folded == kSeccompPodAnnotation || starts_with(folded, kSeccompAnnotation)) &&
      text != "runtime/default" && text != "docker/default" && !starts_with(text, "localhost/")) {
    return check.forbid(at, "seccomp profile " + quote(text) +
                                " is not allowed; use runtime/default or localhost/<profile>");
  }
  return ok_result();
}

Result<void> check_annotations(const PodCheck& check, const YAML::Node& metadata,
                               std::string_view path) {
  MANIFEST_ASSIGN(auto maps, find_all(check, metadata, path, {"annotations"}));
  for (const auto& found : maps) {
    MANIFEST_TRY(check.need_map(found.node, found.path));
    for (const auto& entry : found.node) {
      std::string key = text_of(entry.first);
      MANIFEST_TRY(check_annotation(check, key, entry.second, found.path + "[" + key + "]"));
    }
  }
  return ok_result();
}

Result<void> check_sysctls(const PodCheck& check, const YAML::Node& context,
                           std::string_view path) {
  MANIFEST_ASSIGN(auto lists, find_all(check, context, path, {"sysctls"}));
  for (const auto& found : lists) {
    MANIFEST_TRY(check.need_list(found.node, found.path));
    for (size_t i = 0; i < found.node.size(); ++i) {
      MANIFEST_ASSIGN(auto names,
                      find_all(check, found.node[i], item_path(found.path, i), {"name"}));
      for (const auto& name : names) {
        std::string sysctl = text_of(name.node);
        std::replace(sysctl.begin(), sysctl.end(), '/', '.');
        if (!one_of(sysctl, kSafeSysctls)) {
          return check.forbid(name.path, "sysctl " + quote(text_of(name.node)) +
                                             " is not allowed (not in the safe set)");
        }
      }
    }
  }
  return ok_result();
}

// The pod securityContext; records what it guarantees every container (restricted).
Result<void> check_pod_context(PodCheck& check, const YAML::Node& spec, std::string_view path) {
  MANIFEST_ASSIGN(auto contexts, find_all(check, spec, path, {"securityContext"}));
  for (const auto& [at, context] : contexts) {
    MANIFEST_TRY(check.need_map(context, at));
    MANIFEST_TRY(pod_security::check_common_context(check, context, at));
    MANIFEST_TRY(check_sysctls(check, context, at));
    if (!check.restricted()) continue;
    MANIFEST_ASSIGN(auto non_root, find_all(check, context, at, {"runAsNonRoot"}));
    for (const auto& found : non_root) {
      if (!pod_security::is_plain_bool(found.node, true)) {
        return check.forbid(found.path, "must be true");
      }
      check.pod_run_as_non_root = true;
    }
    MANIFEST_ASSIGN(auto seccomp, find_all(check, context, at, {"seccompProfile", "type"}));
    if (!seccomp.empty()) check.pod_seccomp_set = true;
  }
  return ok_result();
}

Result<void> check_volumes(const PodCheck& check, const YAML::Node& spec, std::string_view path) {
  MANIFEST_ASSIGN(auto lists, find_all(check, spec, path, {"volumes"}));
  for (const auto& found : lists) {
    MANIFEST_TRY(check.need_list(found.node, found.path));
    for (size_t i = 0; i < found.node.size(); ++i) {
      std::string at = item_path(found.path, i);
      MANIFEST_TRY(check.need_map(found.node[i], at));
      for (const auto& entry : found.node[i]) {
        std::string type = text_of(entry.first);
        std::string folded = fold_key(type);
        if (folded == "name") continue;
        if (folded == "hostpath") {
          return check.forbid(child_path(at, type), "hostPath volumes are not allowed");
        }
        if (check.restricted() && !one_of(folded, kRestrictedVolumes)) {
          return check.forbid(child_path(at, type),
                              "volume type " + quote(type) + " is not allowed");
        }
      }
    }
  }
  return ok_result();
}

Result<void> check_pod(PodCheck check, const YAML::Node& metadata, std::string_view metadata_path,
                       const YAML::Node& spec, std::string_view path) {
  MANIFEST_TRY(check.need_map(spec, path));
  for (std::string_view key : {"hostNetwork", "hostPID", "hostIPC"}) {
    MANIFEST_ASSIGN(auto values, find_all(check, spec, path, {key}));
    for (const auto& found : values) {
      if (!pod_security::unset_or_false(found.node)) {
        return check.forbid(found.path, "sharing the host's namespaces is not allowed");
      }
    }
  }
  MANIFEST_TRY(check_pod_context(check, spec, path));
  MANIFEST_TRY(check_volumes(check, spec, path));
  for (std::string_view list : {"initContainers", "containers", "ephemeralContainers"}) {
    for (const auto& [key, containers] : fields_named(spec, list)) {
      std::string at = child_path(path, key);
      MANIFEST_TRY(check.need_list(containers, at));
      if (!present(containers)) continue;
      for (size_t i = 0; i < containers.size(); ++i) {
        MANIFEST_TRY(pod_security::check_container(check, containers[i], item_path(at, i)));
      }
    }
  }
  if (present(metadata)) {
    MANIFEST_TRY(check.need_map(metadata, metadata_path));
    MANIFEST_TRY(check_annotations(check, metadata, metadata_path));
  }
  return ok_result();
}

// A Document built by hand (no yaml): only its typed host ports can break a control.
Result<void> check_typed(const PodCheck& check, const Document& doc) {
  std::string path = doc.kind == "Pod" ? "spec.containers" : "spec.template.spec.containers";
  for (size_t c = 0; c < doc.containers.size(); ++c) {
    const auto& ports = doc.containers[c].ports;
    for (size_t p = 0; p < ports.size(); ++p) {
      if (ports[p].host_port != 0) {
        return check.forbid(item_path(item_path(path, c) + ".ports", p) + ".hostPort",
                            "host ports are not allowed; the node publishes container ports on "
                            "host ports of its own choosing");
      }
    }
  }
  if (check.restricted() && !doc.containers.empty()) {
    return check.forbid(item_path(path, 0) + ".securityContext.allowPrivilegeEscalation",
                        "must be false");
  }
  return ok_result();
}

Result<void> check_document(const PodCheck& check, const Document& doc) {
  if (doc.yaml.empty()) return check_typed(check, doc);
  // The parsed tree is read in place, not cloned: everything below reads through const
  // YAML::Node access only (no operator[] that could insert into the shared tree).
  YAML::Node loaded;
  if (!doc.tree) {
    try {
      loaded = document_tree(doc);
    } catch (const std::exception& e) {
      return check.forbid("(root)", std::string("cannot read the document: ") + e.what());
    }
  }
  const YAML::Node& root = doc.tree ? *doc.tree : loaded;
  if (!root.IsMap()) return check.forbid("(root)", "must be a map");
  if (doc.kind == "Pod") {
    return check_pod(check, member(root, "metadata"), "metadata", member(root, "spec"), "spec");
  }
  const YAML::Node spec = member(root, "spec");
  MANIFEST_TRY(check.need_map(spec, "spec"));
  const YAML::Node pod = present(spec) ? member(spec, "template") : YAML::Node();
  MANIFEST_TRY(check.need_map(pod, "spec.template"));
  if (!present(pod)) return check.forbid("spec.template", "missing");
  return check_pod(check, member(pod, "metadata"), "spec.template.metadata", member(pod, "spec"),
                   "spec.template.spec");
}

}  // namespace

std::string_view pod_security_level_name(PodSecurityLevel level) {
  switch (level) {
    case PodSecurityLevel::kPrivileged:
      return "privileged";
    case PodSecurityLevel::kBaseline:
      return "baseline";
    case PodSecurityLevel::kRestricted:
      return "restricted";
  }
  return "baseline";
}

std::optional<PodSecurityLevel> parse_pod_security_level(std::string_view name) {
  for (auto level : {PodSecurityLevel::kPrivileged, PodSecurityLevel::kBaseline,
                     PodSecurityLevel::kRestricted}) {
    if (pod_security_level_name(level) == name) return level;
  }
  return std::nullopt;
}

Result<void> check_pod_security(const Manifest& manifest, PodSecurityLevel level) {
  if (level == PodSecurityLevel::kPrivileged) return ok_result();
  for (const auto& doc : manifest.documents) {
    if (!doc.is_workload()) continue;
    PodCheck check;
    check.level = level;
    check.doc = doc.index;
    try {
      MANIFEST_TRY(check_document(check, doc));
    } catch (const std::exception& e) {
      return check.forbid("(root)", std::string("cannot check the document: ") + e.what());
    }
  }
  return ok_result();
}

}  // namespace beemesh::manifest
