// manifest/pod_allowlist.h — internal: the pod a runtime gets, rebuilt from an allow-list.
//
// rewrite_for_deployment() never copies a user's pod spec: it builds a new one holding only
// the fields listed in pod_allowlist.cpp (the subset Podman's `kube play` and the Docker
// engine understand and docs/notes/manifest.md lists). What is not on the list is:
//  * refused, with Error{"forbidden_pod_security", "<path>: <reason>"}, when dropping it
//    would hand the pod something else than it asked for or it reaches outside the pod:
//    volume types other than emptyDir, configMap and secret (hostPath, persistentVolumeClaim,
//    ...), volume names starting "beemesh-" (reserved for the node's own volumes), a
//    volumeMount naming a volume the pod does not declare, mountPropagation other than None,
//    a subPath that is absolute or holds "..", a Secret reference (secret volume,
//    secretKeyRef, envFrom secretRef) naming a Secret not defined in the same manifest
//    (Podman resolves names against every Secret on the node);
//  * dropped otherwise (probes, lifecycle, tolerations, nodeSelector, windowsOptions,
//    ephemeralContainers, unknown or misspelt keys such as `HostNetwork`, ...).
// Fields that Pod Security Standards govern (privileged, capabilities, hostNetwork,
// hostPID, hostIPC, hostPort, seccomp, AppArmor, SELinux, sysctls, procMount, runAsUser...)
// are passed: check_pod_security() decides about them at the node's level.
// A listed field of the wrong shape is Error{"invalid_manifest", "<path>: must be ..."}.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <string_view>

#include "common/result.h"

namespace beemesh::manifest {

// `spec` is a pod spec at `path` ("spec" or "spec.template.spec"); `secrets` are the names
// of the Secret documents of the same manifest.
Result<YAML::Node> allowed_pod_spec(const YAML::Node& spec, std::string_view path,
                                    const std::set<std::string>& secrets);

// Annotations without the keys a runtime acts on: io.podman.*, io.containers.*,
// io.kubernetes.*, run.oci.*, org.opencontainers.* and any "*kubernetes.io/" or
// "*k8s.io/" key (seccomp, AppArmor). A non-map gives an empty map.
YAML::Node allowed_annotations(const YAML::Node& annotations);

}  // namespace beemesh::manifest
