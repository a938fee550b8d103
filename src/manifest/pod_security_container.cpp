// manifest/pod_security_container.cpp — the Pod Security Standards controls of a
// securityContext and of one container (ports, privileged, capabilities, procMount, and
// the restricted profile's requirements).
#include <algorithm>
#include <array>
#include <charconv>

#include "manifest/fields.h"
#include "manifest/pod_security_internal.h"
#include "manifest/text.h"

namespace beemesh::manifest::pod_security {
namespace {

constexpr std::array<std::string_view, 13> kBaselineCapabilities = {
    "AUDIT_WRITE",      "CHOWN",   "DAC_OVERRIDE", "FOWNER",  "FSETID", "KILL",      "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID",       "SETPCAP", "SETUID", "SYS_CHROOT"};
constexpr std::array<std::string_view, 3> kSelinuxTypes = {"container_t", "container_init_t",
                                                           "container_kvm_t"};

template <size_t N>
bool one_of(std::string_view value, const std::array<std::string_view, N>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

// A capability as Podman reads it: upper case, without the "CAP_" prefix.
std::string capability_name(std::string_view written) {
  std::string name(written);
  for (auto& c : name) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  if (name.rfind("CAP_", 0) == 0) name.erase(0, 4);
  return name;
}

bool is_zero(const YAML::Node& node) {
  std::string text = text_of(node);
  if (text.empty() || text.find_first_not_of("+0123456789") != std::string::npos) return false;
  if (text[0] == '+') text.erase(0, 1);
  long value = 1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size() && value == 0;
}

// seccompProfile.type / appArmorProfile.type: undefined, RuntimeDefault or Localhost.
Result<void> check_profile_types(const PodCheck& check, const YAML::Node& context,
                                 std::string_view path, std::string_view key,
                                 std::string_view what) {
  MANIFEST_ASSIGN(auto types, find_all(check, context, path, {key, "type"}));
  for (const auto& found : types) {
    std::string type = text_of(found.node);
    if (type != "RuntimeDefault" && type != "Localhost") {
      return check.forbid(found.path, std::string(what) + " profile " + quote(type) +
                                          " is not allowed; use RuntimeDefault or Localhost");
    }
  }
  return ok_result();
}

Result<void> check_selinux(const PodCheck& check, const YAML::Node& context,
                           std::string_view path) {
  MANIFEST_ASSIGN(auto types, find_all(check, context, path, {"seLinuxOptions", "type"}));
  for (const auto& found : types) {
    std::string type = text_of(found.node);
    if (!type.empty() && !one_of(type, kSelinuxTypes)) {
      return check.forbid(found.path, "SELinux type " + quote(type) +
                                          " is not allowed; use container_t, container_init_t "
                                          "or container_kvm_t");
    }
  }
  for (std::string_view key : {"user", "role"}) {
    MANIFEST_ASSIGN(auto values, find_all(check, context, path, {"seLinuxOptions", key}));
    for (const auto& found : values) {
      if (!found.node.IsScalar() || !found.node.Scalar().empty()) {
        return check.forbid(found.path,
                            "setting the SELinux " + std::string(key) + " is not allowed");
      }
    }
  }
  return ok_result();
}

Result<void> check_capabilities(const PodCheck& check, const YAML::Node& context,
                                std::string_view path) {
  MANIFEST_ASSIGN(auto adds, find_all(check, context, path, {"capabilities", "add"}));
  for (const auto& found : adds) {
    MANIFEST_TRY(check.need_list(found.node, found.path));
    for (size_t i = 0; i < found.node.size(); ++i) {
      std::string name = capability_name(text_of(found.node[i]));
      bool allowed =
          check.restricted() ? name == "NET_BIND_SERVICE" : one_of(name, kBaselineCapabilities);
      if (!allowed) {
        return check.forbid(
            item_path(found.path, i),
            "adding capability " + quote(text_of(found.node[i])) + " is not allowed");
      }
    }
  }
  return ok_result();
}

// Restricted: capabilities.drop includes ALL in some securityContext of the container.
Result<void> check_drops_all(const PodCheck& check, const YAML::Node& container,
                             std::string_view path) {
  MANIFEST_ASSIGN(auto drops,
                  find_all(check, container, path, {"securityContext", "capabilities", "drop"}));
  for (const auto& found : drops) {
    MANIFEST_TRY(check.need_list(found.node, found.path));
    for (const auto& item : found.node) {
      if (capability_name(text_of(item)) == "ALL") return ok_result();
    }
  }
  std::string at =
      drops.empty() ? child_path(path, "securityContext.capabilities.drop") : drops.front().path;
  return check.forbid(at, "must include ALL");
}

// Restricted: every value of `key` found is a plain `want`, and there is one unless the pod
// already guarantees it.
Result<void> check_required_bool(const PodCheck& check, const YAML::Node& container,
                                 std::string_view path, std::string_view key, bool want,
                                 bool pod_guarantees) {
  MANIFEST_ASSIGN(auto values, find_all(check, container, path, {"securityContext", key}));
  std::string reason = std::string("must be ") + (want ? "true" : "false");
  for (const auto& found : values) {
    if (!is_plain_bool(found.node, want)) return check.forbid(found.path, reason);
  }
  if (values.empty() && !pod_guarantees) {
    return check.forbid(child_path(child_path(path, "securityContext"), key), reason);
  }
  return ok_result();
}

Result<void> check_restricted(const PodCheck& check, const YAML::Node& container,
                              std::string_view path) {
  MANIFEST_TRY(
      check_required_bool(check, container, path, "allowPrivilegeEscalation", false, false));
  MANIFEST_TRY(
      check_required_bool(check, container, path, "runAsNonRoot", true, check.pod_run_as_non_root));
  MANIFEST_TRY(check_drops_all(check, container, path));
  MANIFEST_ASSIGN(auto seccomp,
                  find_all(check, container, path, {"securityContext", "seccompProfile", "type"}));
  if (seccomp.empty() && !check.pod_seccomp_set) {
    return check.forbid(child_path(path, "securityContext.seccompProfile.type"),
                        "must be RuntimeDefault or Localhost");
  }
  return ok_result();
}

Result<void> check_ports(const PodCheck& check, const YAML::Node& container,
                         std::string_view path) {
  for (const auto& [key, ports] : fields_named(container, "ports")) {
    std::string at = child_path(path, key);
    MANIFEST_TRY(check.need_list(ports, at));
    if (!present(ports)) continue;
    for (size_t i = 0; i < ports.size(); ++i) {
      MANIFEST_ASSIGN(auto host_ports, find_all(check, ports[i], item_path(at, i), {"hostPort"}));
      for (const auto& found : host_ports) {
        if (!is_zero(found.node)) {
          return check.forbid(found.path,
                              "host ports are not allowed; the node publishes container ports "
                              "on host ports of its own choosing");
        }
      }
    }
  }
  return ok_result();
}

}  // namespace

Result<void> check_common_context(const PodCheck& check, const YAML::Node& context,
                                  std::string_view path) {
  MANIFEST_TRY(check_profile_types(check, context, path, "seccompProfile", "seccomp"));
  MANIFEST_TRY(check_profile_types(check, context, path, "appArmorProfile", "AppArmor"));
  MANIFEST_TRY(check_selinux(check, context, path));
  MANIFEST_ASSIGN(auto host_process,
                  find_all(check, context, path, {"windowsOptions", "hostProcess"}));
  for (const auto& found : host_process) {
    if (!unset_or_false(found.node)) {
      return check.forbid(found.path, "host process containers are not allowed");
    }
  }
  if (check.restricted()) {
    MANIFEST_ASSIGN(auto users, find_all(check, context, path, {"runAsUser"}));
    for (const auto& found : users) {
      if (is_zero(found.node)) {
        return check.forbid(found.path, "running as root (UID 0) is not allowed");
      }
    }
  }
  return ok_result();
}

Result<void> check_container(const PodCheck& check, const YAML::Node& container,
                             std::string_view path) {
  MANIFEST_TRY(check.need_map(container, path));
  MANIFEST_TRY(check_ports(check, container, path));
  MANIFEST_ASSIGN(auto contexts, find_all(check, container, path, {"securityContext"}));
  for (const auto& [at, context] : contexts) {
    MANIFEST_TRY(check.need_map(context, at));
    MANIFEST_ASSIGN(auto privileged, find_all(check, context, at, {"privileged"}));
    for (const auto& found : privileged) {
      if (!unset_or_false(found.node)) {
        return check.forbid(found.path, "privileged containers are not allowed");
      }
    }
    MANIFEST_TRY(check_capabilities(check, context, at));
    MANIFEST_ASSIGN(auto proc_mounts, find_all(check, context, at, {"procMount"}));
    for (const auto& found : proc_mounts) {
      if (text_of(found.node) != "Default") {
        return check.forbid(
            found.path, "procMount " + quote(text_of(found.node)) + " is not allowed; use Default");
      }
    }
    MANIFEST_TRY(check_common_context(check, context, at));
  }
  if (check.restricted()) MANIFEST_TRY(check_restricted(check, container, path));
  return ok_result();
}

}  // namespace beemesh::manifest::pod_security
