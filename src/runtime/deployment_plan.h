// runtime/deployment_plan.h — what a deploy will create, worked out before any engine
// touches a runtime. Shared by the engines so they agree on names, ports and limits.
//
// Promise:
//  * plan_deployment() works from a parsed manifest (shared, never copied or parsed again;
//    the string_view form parses first, for tools and tests), builds the RewriteOptions
//    (labels, env, limits, replicas, extra labels) and lists every pod that
//    rewrite_for_deployment() will produce, in the same order as manifest::pod_names().
//  * DeploymentConfig::replicas is the number of replicas this engine runs for each
//    workload document; replicas <= 0 means "as many as the manifest says".
//  * `ports` holds one PortMapping per host port the deploy publishes, with pod and
//    container filled in: hostPorts written in the manifest, DeploymentConfig::port_mappings
//    (a mapping with an empty pod applies to every pod; an empty container to whichever
//    container declares the port) and, with publish_ports, every declared container port
//    that has no host port yet. Mappings still needing a host port have host_port == 0;
//    the engine picks one and calls assign_host_port().
//  * rewrite() produces the YAML for the runtime, with every chosen host port applied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "manifest/manifest.h"
#include "runtime/runtime.h"

namespace beemesh::runtime {

struct PodPlan {
  std::string name;
  std::size_t document = 0;  // index into manifest.documents
  int replica = 0;
};

struct DeploymentPlan {
  manifest::SharedManifest parsed;  // never null in a plan plan_deployment() returned
  const manifest::Manifest& manifest() const { return *parsed; }
  manifest::RewriteOptions options;
  std::vector<PodPlan> pods;
  std::vector<PortMapping> ports;
  std::string restart_policy = "Always";  // of the primary document

  // Indexes into `ports` whose host_port is still 0.
  std::vector<std::size_t> unassigned_ports() const;
  // Sets ports[index].host_port and records the HostPortAssignment for the rewrite.
  void assign_host_port(std::size_t index, int host_port);
  // Sum over pods and containers of the per-container limit (config overrides manifest;
  // a container without a limit counts 0).
  int64_t memory_limit_total_bytes() const;
  int64_t cpu_limit_total_millis() const;
  std::vector<std::string> pod_names() const;

  Result<std::string> rewrite() const;
};

// `workload_id` must be the final id (it is part of the pod names and labels);
// Error{"invalid_workload_id"} unless is_valid_workload_id().
Result<DeploymentPlan> plan_deployment(manifest::SharedManifest shared,
                                       const DeploymentConfig& config,
                                       const std::string& workload_id);
// manifest::parse, then the above.
Result<DeploymentPlan> plan_deployment(std::string_view manifest_yaml,
                                       const DeploymentConfig& config,
                                       const std::string& workload_id);

}  // namespace beemesh::runtime
