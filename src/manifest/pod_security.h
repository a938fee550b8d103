// manifest/pod_security.h — Pod Security Standards admission for a parsed manifest.
//
// Promise:
//  * check_pod_security(manifest, level) looks at every Pod, and at the pod template of
//    every Deployment and StatefulSet, and refuses the manifest when any pod breaks the
//    Kubernetes Pod Security Standards profile `level` (https://kubernetes.io/docs/concepts/
//    security/pod-security-standards/), with the controls listed in docs/SECURITY.md:
//      kPrivileged  accepts everything;
//      kBaseline    refuses privileged containers, hostNetwork/hostPID/hostIPC, hostPath
//                   volumes, added capabilities beyond the baseline list, any non-zero
//                   hostPort (the node publishes container ports itself), unsafe sysctls,
//                   seccomp Unconfined, procMount other than Default, AppArmor and SELinux
//                   overrides, windowsOptions.hostProcess and Podman/CRI-O annotations
//                   (keys starting "io.podman.", "io.containers.", "io.kubernetes.cri-o.");
//      kRestricted  baseline plus runAsNonRoot true, runAsUser not 0, allowPrivilegeEscalation
//                   false, capabilities drop ALL (only NET_BIND_SERVICE added), seccomp
//                   RuntimeDefault or Localhost, volumes of the restricted types only.
//    Containers, initContainers and ephemeralContainers are all checked.
//  * The first violation found is returned as Error{"forbidden_pod_security", message}, the
//    message naming the document and the exact field path, e.g.
//      doc 1: spec.containers[0].securityContext.privileged: privileged containers are not
//      allowed (pod security "baseline")
//    (for Deployments and StatefulSets the path starts with spec.template.spec or
//    spec.template.metadata). The code is stable; callers may match on it.
//  * Fail closed: a security field of the wrong shape (e.g. securityContext not a map) is
//    refused, a boolean counts as unset only when it is a plain YAML false, and keys are
//    matched the way Podman's decoder matches them (ASCII case-insensitively, so
//    `HostNetwork: true` is seen).
//  * Pure: no I/O, no global state; safe from any thread.
#pragma once

#include <optional>
#include <string_view>

#include "common/result.h"
#include "manifest/manifest.h"

namespace beemesh::manifest {

enum class PodSecurityLevel { kPrivileged, kBaseline, kRestricted };

inline constexpr std::string_view kForbiddenPodSecurity = "forbidden_pod_security";

// "privileged", "baseline", "restricted".
std::string_view pod_security_level_name(PodSecurityLevel level);
// The inverse of pod_security_level_name(); nullopt for anything else (case-sensitive).
std::optional<PodSecurityLevel> parse_pod_security_level(std::string_view name);

Result<void> check_pod_security(const Manifest& manifest, PodSecurityLevel level);

}  // namespace beemesh::manifest
