// workload/resources.h — what a workload reserves of this node's capacity.
//
// Promise: reservation_of() is the rule a node's capacity reply rests on
// (docs/ARCHITECTURE.md, "Capacity"): for every workload document of the manifest, the
// pods the engine runs (DeploymentConfig::replicas when > 0, else the document's
// replicas) times the sum over its containers of the container's request, else its limit,
// else 0 — where the deploy's per-container limit (DeploymentConfig::*_limit_bytes/millis)
// replaces the manifest's limit and caps the request. Sums saturate at INT64_MAX instead
// of overflowing.
#pragma once

#include <cstdint>

#include "runtime/runtime.h"

namespace beemesh::manifest {
struct Manifest;
}

namespace beemesh::workload {

struct Resources {
  int64_t memory_bytes = 0;
  int64_t cpu_millis = 0;

  Resources& operator+=(const Resources& other);
  bool operator==(const Resources&) const = default;
};

Resources reservation_of(const manifest::Manifest& manifest,
                         const runtime::DeploymentConfig& config);

}  // namespace beemesh::workload
