// manifest/rewrite.cpp — a manifest as the Pods one node runs: one Pod per replica of
// each workload document, with beemesh labels, injected env, limits and host ports.
// ConfigMaps and Secrets come first (so the Pods that use them find them), unchanged.
#include <algorithm>
#include <charconv>
#include <set>

#include "manifest/fields.h"
#include "manifest/manifest.h"
#include "manifest/pod_allowlist.h"
#include "manifest/text.h"
#include "manifest/validate_document.h"
#include "manifest/yaml_emit.h"

namespace beemesh::manifest {
namespace {

constexpr size_t kMaxName = 63;

Error argument_error(std::string message) {
  return make_error("invalid_argument", std::move(message));
}

int replicas_of(const Document& doc, const RewriteOptions& options) {
  return options.replicas ? std::max(0, *options.replicas) : doc.replicas;
}

// The workload id as it goes into pod names: whole, never cut, so pods of two workloads
// never share a name (check_options() refuses ids that are not lowercase letters and digits).
constexpr size_t kMaxWorkloadId = 32;

bool is_name_workload_id(std::string_view id) {
  if (id.size() > kMaxWorkloadId) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

// The id as DNS label characters (the same id when is_name_workload_id()).
std::string workload_tag(std::string_view workload_id) {
  std::string tag;
  for (char c : workload_id.substr(0, kMaxWorkloadId)) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    tag.push_back(ok ? c : '-');
  }
  return tag;
}

std::string pod_name(std::string_view name, std::string_view tag, int replica) {
  std::string suffix = (tag.empty() ? "" : "-" + std::string(tag)) + "-" + std::to_string(replica);
  std::string base(name.substr(0, kMaxName > suffix.size() ? kMaxName - suffix.size() : 0));
  while (!base.empty() && base.back() == '-') base.pop_back();
  if (base.empty()) base = "pod";
  return base + suffix;
}

int int_of(const YAML::Node& node) {
  int value = 0;
  if (present(node) && node.IsScalar()) {
    const std::string& s = node.Scalar();
    std::from_chars(s.data(), s.data() + s.size(), value);
  }
  return value;
}

// parent[key] as a map, created (or replacing a non-map) when needed.
YAML::Node child_map(YAML::Node parent, const std::string& key) {
  YAML::Node existing = member(parent, key);
  if (present(existing) && existing.IsMap()) return existing;
  parent[key] = YAML::Node(YAML::NodeType::Map);
  return member(parent, key);
}

YAML::Node env_entry(const std::string& name, const std::string& value) {
  YAML::Node entry(YAML::NodeType::Map);
  entry["name"] = string_node(name);
  entry["value"] = string_node(value);
  return entry;
}

// Injected variables replace same-name entries in place; the others are appended.
void inject_env(YAML::Node container, const std::map<std::string, std::string>& env) {
  if (env.empty()) return;
  YAML::Node out(YAML::NodeType::Sequence);
  std::set<std::string> written;
  YAML::Node existing = member(container, "env");
  if (present(existing) && existing.IsSequence()) {
    for (YAML::Node entry : existing) {
      YAML::Node name = entry.IsMap() ? member(entry, "name") : YAML::Node();
      auto it = present(name) && name.IsScalar() ? env.find(name.Scalar()) : env.end();
      if (it == env.end()) {
        out.push_back(entry);
      } else if (written.insert(it->first).second) {
        out.push_back(env_entry(it->first, it->second));
      }
    }
  }
  for (const auto& [name, value] : env) {
    if (!written.count(name)) out.push_back(env_entry(name, value));
  }
  container["env"] = out;
}

// Sets limits[key]; lowers requests[key] to the limit when it asked for more.
template <typename Parse>
void set_limit(YAML::Node resources, const std::string& key, int64_t limit, const std::string& text,
               Parse parse) {
  child_map(resources, "limits")[key] = string_node(text);
  YAML::Node requests = member(resources, "requests");
  if (!present(requests) || !requests.IsMap()) return;
  YAML::Node request = member(requests, key);
  if (!present(request) || !request.IsScalar()) return;
  auto amount = parse(request.Scalar());
  if (!amount || *amount > limit) requests[key] = string_node(text);
}

void apply_limits(YAML::Node container, const RewriteOptions& options) {
  if (!options.memory_limit_bytes && !options.cpu_limit_millis) return;
  YAML::Node resources = child_map(container, "resources");
  if (options.memory_limit_bytes) {
    set_limit(resources, "memory", *options.memory_limit_bytes,
              std::to_string(*options.memory_limit_bytes), parse_memory_bytes);
  }
  if (options.cpu_limit_millis) {
    set_limit(resources, "cpu", *options.cpu_limit_millis,
              std::to_string(*options.cpu_limit_millis) + "m", parse_cpu_millis);
  }
}

void publish(YAML::Node port, const HostPortAssignment& a) {
  if (a.host_port == 0) {
    port.remove("hostPort");
  } else {
    port["hostPort"] = a.host_port;
  }
  if (a.host_port == 0 || a.host_ip.empty()) {
    port.remove("hostIP");
  } else {
    port["hostIP"] = string_node(a.host_ip);
  }
}

Result<void> apply_host_port(YAML::Node spec, const HostPortAssignment& a, const std::string& pod) {
  YAML::Node containers = member(spec, "containers");
  for (YAML::Node container : containers) {
    YAML::Node name = member(container, "name");
    if (!present(name) || name.Scalar() != a.container) continue;
    if (YAML::Node existing = member(container, "ports");
        !present(existing) || !existing.IsSequence()) {
      container["ports"] = YAML::Node(YAML::NodeType::Sequence);
    }
    YAML::Node ports = member(container, "ports");
    bool found = false;
    for (YAML::Node port : ports) {
      if (int_of(member(port, "containerPort")) != a.container_port) continue;
      publish(port, a);
      found = true;
    }
    if (!found) {
      YAML::Node port(YAML::NodeType::Map);
      port["containerPort"] = a.container_port;
      publish(port, a);
      ports.push_back(port);
    }
    return ok_result();
  }
  return argument_error("host port assignment for pod '" + pod + "': no container " +
                        quote(a.container));
}

Result<void> check_options(const RewriteOptions& options, size_t pods) {
  if (!is_name_workload_id(options.workload_id)) {
    return argument_error("workload id " + quote(options.workload_id) + " is not up to " +
                          std::to_string(kMaxWorkloadId) + " lowercase letters and digits");
  }
  if (options.replicas && (*options.replicas < 0 || *options.replicas > kMaxReplicas)) {
    return argument_error("replicas must be between 0 and " + std::to_string(kMaxReplicas) + ": " +
                          std::to_string(*options.replicas));
  }
  for (const auto& a : options.host_ports) {
    if (a.pod_index < 0 || static_cast<size_t>(a.pod_index) >= pods) {
      return argument_error("host port assignment: pod index " + std::to_string(a.pod_index) +
                            " out of range (" + std::to_string(pods) + " pods)");
    }
    if (a.container_port < 1 || a.container_port > 65535) {
      return argument_error("host port assignment: container port " +
                            std::to_string(a.container_port) + " out of range");
    }
    if (a.host_port < 0 || a.host_port > 65535) {
      return argument_error("host port assignment: host port " + std::to_string(a.host_port) +
                            " out of range");
    }
  }
  for (const auto& [key, value] : options.labels) {
    if (!is_label_key(key) || !is_label_value(value)) {
      return argument_error("label " + quote(key) + ": " + quote(value) + " is not valid");
    }
  }
  return ok_result();
}

// A pod spec from the typed fields, for Documents built by hand (no yaml).
YAML::Node spec_from_fields(const Document& doc) {
  YAML::Node spec(YAML::NodeType::Map);
  YAML::Node containers(YAML::NodeType::Sequence);
  for (const auto& c : doc.containers) {
    YAML::Node node(YAML::NodeType::Map);
    node["name"] = string_node(c.name);
    node["image"] = string_node(c.image);
    for (const auto& s : c.command) node["command"].push_back(string_node(s));
    for (const auto& s : c.args) node["args"].push_back(string_node(s));
    for (const auto& e : c.env) node["env"].push_back(env_entry(e.name, e.value));
    for (const auto& p : c.ports) {
      YAML::Node port(YAML::NodeType::Map);
      if (!p.name.empty()) port["name"] = string_node(p.name);
      port["containerPort"] = p.container_port;
      if (p.host_port != 0) port["hostPort"] = p.host_port;
      port["protocol"] = string_node(p.protocol);
      node["ports"].push_back(port);
    }
    auto put = [&](const char* kind, const char* key, const std::string& text) {
      node["resources"][kind][key] = string_node(text);
    };
    if (c.memory_limit_bytes) put("limits", "memory", std::to_string(*c.memory_limit_bytes));
    if (c.cpu_limit_millis) put("limits", "cpu", std::to_string(*c.cpu_limit_millis) + "m");
    if (c.memory_request_bytes) {
      put("requests", "memory", std::to_string(*c.memory_request_bytes));
    }
    if (c.cpu_request_millis) put("requests", "cpu", std::to_string(*c.cpu_request_millis) + "m");
    containers.push_back(node);
  }
  spec["containers"] = containers;
  return spec;
}

// Podman turns a Secret into a node-wide secret named by metadata.name, so each workload's
// Secrets get names of their own (<name>-<workload tag>) and its pods' references follow:
// two owners' Secrets of the same name never meet.
std::string secret_name(const std::string& name, const std::string& tag) {
  return tag.empty() ? name : name + "-" + tag;
}

Result<std::string> renamed_secret(const Document& doc, const std::string& tag) {
  YAML::Node root = document_tree(doc);
  YAML::Node metadata = member(root, "metadata");
  if (!present(metadata) || !metadata.IsMap()) {
    return make_error("invalid_manifest",
                      "doc " + std::to_string(doc.index) + ": Secret without metadata");
  }
  metadata["name"] = string_node(secret_name(doc.name, tag));
  return emit_yaml(root);
}

void rename_secret_refs(YAML::Node spec, const std::string& tag) {
  auto rename = [&](YAML::Node holder, const char* key) {
    YAML::Node name = member(holder, key);
    if (present(name) && name.IsScalar())
      holder[key] = string_node(secret_name(name.Scalar(), tag));
  };
  YAML::Node volumes = member(spec, "volumes");
  if (present(volumes) && volumes.IsSequence()) {
    for (YAML::Node volume : volumes) {
      if (!volume.IsMap()) continue;
      YAML::Node secret = member(volume, "secret");
      if (present(secret) && secret.IsMap()) rename(secret, "secretName");
    }
  }
  for (const char* list : {"initContainers", "containers"}) {
    YAML::Node containers = member(spec, list);
    if (!present(containers) || !containers.IsSequence()) continue;
    for (YAML::Node container : containers) {
      YAML::Node env = member(container, "env");
      if (present(env) && env.IsSequence()) {
        for (YAML::Node var : env) {
          YAML::Node from = var.IsMap() ? member(var, "valueFrom") : YAML::Node();
          if (!present(from) || !from.IsMap()) continue;
          YAML::Node ref = member(from, "secretKeyRef");
          if (present(ref) && ref.IsMap()) rename(ref, "name");
        }
      }
      YAML::Node env_from = member(container, "envFrom");
      if (present(env_from) && env_from.IsSequence()) {
        for (YAML::Node source : env_from) {
          if (!source.IsMap()) continue;
          YAML::Node ref = member(source, "secretRef");
          if (present(ref) && ref.IsMap()) rename(ref, "name");
        }
      }
    }
  }
}

struct PodSource {
  // The Pod's own metadata, or the template's (may be undefined): a handle into the shared
  // parsed tree, only ever read (through a const PodSource).
  YAML::Node metadata;
  YAML::Node spec;  // the allow-listed copy (a tree of its own)
};

std::set<std::string> secret_names(const Manifest& manifest) {
  std::set<std::string> names;
  for (const auto& doc : manifest.documents) {
    if (doc.kind == "Secret") names.insert(doc.name);
  }
  return names;
}

Result<PodSource> pod_source(const Manifest& manifest, const Document& doc) {
  if (doc.yaml.empty()) return PodSource{YAML::Node(), spec_from_fields(doc)};
  try {
    // The parsed tree is read in place, not cloned: only const access below (member(),
    // allowed_pod_spec() builds a new tree of clones; PodSource is only read), so nothing
    // is inserted into or rebound in the shared tree.
    YAML::Node loaded;
    if (!doc.tree) loaded = document_tree(doc);
    const YAML::Node& root = doc.tree ? *doc.tree : loaded;
    const YAML::Node holder = doc.kind == "Pod" ? root : member(member(root, "spec"), "template");
    const YAML::Node spec = member(holder, "spec");
    if (!present(spec) || !spec.IsMap()) {
      return make_error("invalid_manifest", manifest.source + " doc " + std::to_string(doc.index) +
                                                ": cannot rewrite: no pod spec");
    }
    // Only the allow-listed fields go on (pod_allowlist.h).
    auto allowed = allowed_pod_spec(spec, doc.kind == "Pod" ? "spec" : "spec.template.spec",
                                    secret_names(manifest));
    if (!allowed) {
      return make_error(
          allowed.error().code,
          manifest.source + " doc " + std::to_string(doc.index) + ": " + allowed.error().message);
    }
    return PodSource{member(holder, "metadata"), *allowed};
  } catch (const std::exception& e) {
    return make_error("invalid_manifest", manifest.source + " doc " + std::to_string(doc.index) +
                                              ": cannot rewrite: " + e.what());
  }
}

YAML::Node pod_labels(const PodSource& source, const RewriteOptions& options) {
  YAML::Node labels(YAML::NodeType::Map);
  if (present(source.metadata) && source.metadata.IsMap()) {
    const YAML::Node own = member(source.metadata, "labels");
    if (present(own) && own.IsMap()) {
      for (const auto& entry : own) {
        labels[entry.first.Scalar()] = string_node(entry.second.Scalar());
      }
    }
  }
  for (const auto& [key, value] : options.labels) labels[key] = string_node(value);
  labels[std::string(kManifestIdLabel)] = string_node(options.manifest_id);
  labels[std::string(kWorkloadIdLabel)] = string_node(options.workload_id);
  return labels;
}

// `spec` is this pod's own copy of source.spec (modified here).
Result<std::string> make_pod(const Document& doc, const PodSource& source, YAML::Node spec,
                             const std::string& name, int pod_index,
                             const RewriteOptions& options) {
  YAML::Node metadata(YAML::NodeType::Map);
  metadata["name"] = string_node(name);
  if (doc.namespace_ != "default") metadata["namespace"] = string_node(doc.namespace_);
  metadata["labels"] = pod_labels(source, options);
  if (present(source.metadata) && source.metadata.IsMap()) {
    const YAML::Node annotations = member(source.metadata, "annotations");
    YAML::Node kept = present(annotations) ? allowed_annotations(annotations) : YAML::Node();
    if (present(kept) && kept.size() > 0) metadata["annotations"] = kept;
  }
  spec["restartPolicy"] = string_node(doc.restart_policy);
  rename_secret_refs(spec, workload_tag(options.workload_id));
  for (const char* list : {"initContainers", "containers"}) {
    YAML::Node containers = member(spec, list);
    if (!present(containers) || !containers.IsSequence()) continue;
    for (YAML::Node container : containers) {
      inject_env(container, options.env);
      apply_limits(container, options);
    }
  }
  for (const auto& a : options.host_ports) {
    if (a.pod_index == pod_index) MANIFEST_TRY(apply_host_port(spec, a, name));
  }
  YAML::Node pod(YAML::NodeType::Map);
  pod["apiVersion"] = string_node("v1");
  pod["kind"] = string_node("Pod");
  pod["metadata"] = metadata;
  pod["spec"] = spec;
  return emit_yaml(pod);
}

}  // namespace

std::vector<std::string> pod_names(const Manifest& manifest, const RewriteOptions& options) {
  std::vector<std::string> names;
  std::string tag = workload_tag(options.workload_id);
  for (const auto& doc : manifest.documents) {
    if (!doc.is_workload()) continue;
    int replicas = replicas_of(doc, options);
    for (int i = 0; i < replicas; ++i) names.push_back(pod_name(doc.name, tag, i));
  }
  return names;
}

Result<std::string> rewrite_for_deployment(const Manifest& manifest,
                                           const RewriteOptions& options) {
  std::vector<std::string> names = pod_names(manifest, options);
  MANIFEST_TRY(check_options(options, names.size()));
  std::vector<std::string> documents;
  const std::string tag = workload_tag(options.workload_id);
  try {
    for (const auto& doc : manifest.documents) {
      if (doc.is_workload()) continue;
      if (doc.kind == "Secret") {
        MANIFEST_ASSIGN(std::string secret, renamed_secret(doc, tag));
        documents.push_back(std::move(secret));
      } else {
        documents.push_back(doc.yaml);
      }
    }
    int pod_index = 0;
    for (const auto& doc : manifest.documents) {
      if (!doc.is_workload()) continue;
      MANIFEST_ASSIGN(PodSource source, pod_source(manifest, doc));
      int replicas = replicas_of(doc, options);
      for (int i = 0; i < replicas; ++i, ++pod_index) {
        // Each pod modifies a spec of its own; the last one takes the allow-listed copy
        // itself (nothing reads it after), the others a clone of it.
        YAML::Node spec = i + 1 == replicas ? source.spec : YAML::Clone(source.spec);
        MANIFEST_ASSIGN(
            std::string pod,
            make_pod(doc, source, spec, names[static_cast<size_t>(pod_index)], pod_index, options));
        documents.push_back(std::move(pod));
      }
    }
  } catch (const std::exception& e) {
    return make_error("invalid_manifest", manifest.source + ": cannot rewrite: " + e.what());
  }
  std::string out;
  for (const auto& text : documents) {
    if (!out.empty()) out += "---\n";
    out += text;
  }
  return out;
}

}  // namespace beemesh::manifest
