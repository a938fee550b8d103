// manifest/manifest.h — Kubernetes manifests: parse, validate, identify, rewrite.
//
// Promise:
//  * parse() accepts multi-document YAML holding Pod, Deployment, StatefulSet, ConfigMap
//    and Secret documents and rejects anything else. Every rejection is an Error with code
//    "invalid_manifest" whose message names the source, the 1-based document number, the
//    field path and the reason, e.g.
//      "web.yaml doc 1: spec.template.spec.containers[0].image: missing".
//  * parse() is bounded in time and memory by the size of its input: before yaml-cpp builds
//    any tree, the parser's event stream (which never expands an alias) is checked against
//    the limits below. YAML anchors and aliases are refused outright, so an alias bomb
//    costs no more than its own bytes.
//  * A Manifest is a plain value: once parsed it needs no YAML text to be rewritten, so a
//    node parses one manifest once and shares it read-only (SharedManifest).
//  * manifest_id() is stable: same owner key + namespace + kind + name -> same id, always.
//  * rewrite_for_deployment() returns YAML that Podman's `kube play` (and our Docker
//    engine) can run: one Pod per replica with distinct names, labels
//    beemesh.io/manifest-id and beemesh.io/workload-id on every Pod, injected env vars and
//    resource limits applied to every container. ConfigMaps and Secrets pass through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace YAML {
class Node;
}

namespace beemesh::manifest {

inline constexpr std::string_view kManifestIdLabel = "beemesh.io/manifest-id";
inline constexpr std::string_view kWorkloadIdLabel = "beemesh.io/workload-id";

// Limits of parse(). Input beyond any of them is refused with "invalid_manifest":
//   "<source>: larger than 1048576 bytes"
//   "<source>: more than 64 documents"
//   "<source> doc N line L: YAML anchors and aliases are not accepted"
//   "<source> doc N line L: nested deeper than 64 levels"
//   "<source> doc N line L: more than 100000 YAML nodes"
//   "<source> doc N line L: scalar longer than 262144 bytes"
// Kubernetes users never need anchors (&x), aliases (*x) or merge keys (<<: *x); they are
// the one way a few bytes of YAML become an arbitrarily large tree.
inline constexpr size_t kMaxManifestBytes = size_t{1} << 20;  // the whole input
inline constexpr int kMaxManifestDocuments = 64;              // "---" parts, empty ones included
inline constexpr int kMaxYamlDepth = 64;          // nested maps and lists; a root map is 1
inline constexpr size_t kMaxYamlNodes = 100'000;  // scalars + maps + lists, all documents
inline constexpr size_t kMaxYamlScalarBytes = size_t{256} << 10;  // one key or value

// Kubernetes quantities: memory "64Mi", "1G", "128974848", "129e6"; cpu "500m", "0.5", "2".
Result<int64_t> parse_memory_bytes(std::string_view quantity);
Result<int64_t> parse_cpu_millis(std::string_view quantity);

struct ContainerPort {
  std::string name;
  int container_port = 0;
  int host_port = 0;  // 0 = not published on the host
  std::string protocol = "TCP";
};

struct EnvVar {
  std::string name;
  std::string value;
};

struct Container {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
  std::vector<ContainerPort> ports;
  std::optional<int64_t> memory_limit_bytes;
  std::optional<int64_t> cpu_limit_millis;
  std::optional<int64_t> memory_request_bytes;
  std::optional<int64_t> cpu_request_millis;
};

// One validated document. For Deployment/StatefulSet the pod fields come from
// spec.template; for Pod from spec; ConfigMap/Secret have no containers.
struct Document {
  int index = 0;  // 1-based position in the source
  std::string api_version;
  std::string kind;  // "Pod", "Deployment", "StatefulSet", "ConfigMap", "Secret"
  std::string name;
  std::string namespace_ = "default";
  int replicas = 1;                       // 1 for Pod/ConfigMap/Secret
  std::string restart_policy = "Always";  // Always | OnFailure | Never
  std::vector<Container> containers;
  std::string yaml;  // this document re-emitted as YAML (for rewriting / pass-through)
  // The validated tree `yaml` was emitted from, kept so the pod security check and the
  // rewrite read it in place (const yaml-cpp access only) instead of loading `yaml` again;
  // never modified after parse(), so shared read-only. Null in documents built by hand:
  // `yaml` is loaded then.
  std::shared_ptr<const YAML::Node> tree;

  bool is_workload() const { return !containers.empty(); }
};

struct Manifest {
  std::string source;  // file name or "request" — used in error messages
  std::string text;    // the YAML parse() read, byte for byte
  std::vector<Document> documents;

  // The first Pod/Deployment/StatefulSet: the document whose identity names the manifest.
  const Document* primary() const;
  // Sum over workload documents of replicas x per-container requests (limits when no
  // request is given). Used by placement.
  int64_t total_memory_bytes() const;
  int64_t total_cpu_millis() const;
};

Result<Manifest> parse(std::string_view yaml, std::string_view source = "manifest");
// A parsed manifest, immutable and shared by the layers one deploy passes through on a node
// (apply handler -> workload manager -> engine -> deployment plan): a node parses and
// validates a manifest once and hands this down instead of the YAML.
using SharedManifest = std::shared_ptr<const Manifest>;
// parse() into a SharedManifest.
Result<SharedManifest> parse_shared(std::string_view yaml, std::string_view source = "manifest");
// Details of parse(): empty documents are skipped but still counted in "doc <n>"; input
// with no document at all is "<source>: no documents"; YAML syntax errors name the line
// and column ("<source> doc 2: line 12, column 1: end of map flow not found"). The field
// rules are listed in docs/notes/manifest.md. Quantity functions above fail with code
// "invalid_quantity" and the reason parse() uses ("not a Kubernetes quantity: '12XB'").

// Hex SHA-256 over a length-prefixed encoding of the four parts (first 32 hex chars).
std::string manifest_id(std::string_view owner_public_key, std::string_view namespace_,
                        std::string_view kind, std::string_view name);
// manifest_id() of the primary document; Error when the manifest has no workload.
Result<std::string> manifest_id(std::string_view owner_public_key, const Manifest& manifest);

// Publishes one container port of one Pod on the host (sets hostPort and hostIP).
struct HostPortAssignment {
  int pod_index = 0;  // index into pod_names()
  std::string container;
  int container_port = 0;
  int host_port = 0;
  std::string host_ip;  // empty = all addresses
};

struct RewriteOptions {
  std::string manifest_id;
  std::string workload_id;
  std::map<std::string, std::string> env;      // injected into every container (overrides)
  std::optional<int64_t> memory_limit_bytes;   // per container, overrides the manifest's
  std::optional<int64_t> cpu_limit_millis;     // per container, overrides the manifest's
  std::optional<int> replicas;                 // overrides the manifest's replicas
  std::map<std::string, std::string> labels;   // extra labels on every Pod
  std::vector<HostPortAssignment> host_ports;  // override/add hostPort per pod and port
};

// The Pod names rewrite_for_deployment() produces, in order, one per replica of each
// workload document: "<name>-<w>-<i>" where <w> is the whole workload id (so pods of two
// workloads never share a name, whoever owns them), e.g. "web-3f2a91c0deadbeef-0";
// "<name>-<i>" when the workload id is empty. Names stay valid DNS labels: only the
// <name> part is ever cut. rewrite_for_deployment() refuses (invalid_argument) a workload
// id that is not up to 32 lowercase letters and digits.
std::vector<std::string> pod_names(const Manifest& manifest, const RewriteOptions& options);

Result<std::string> rewrite_for_deployment(const Manifest& manifest, const RewriteOptions& options);
// Details of rewrite_for_deployment(): ConfigMaps and Secrets come first (Document::yaml
// as is), then the Pods in pod_names() order. Bad options (a host-port assignment naming
// an unknown pod index or container, replicas < 0, an invalid label) fail with code
// "invalid_argument". A Document with empty `yaml` is rewritten from its typed fields.
// Each Pod is built from an allow-list of fields (manifest/pod_allowlist.h): unknown fields
// are dropped; volumes other than emptyDir/configMap/secret, mounts outside the pod's own
// volumes and references to Secrets of other manifests fail with "forbidden_pod_security".

}  // namespace beemesh::manifest
