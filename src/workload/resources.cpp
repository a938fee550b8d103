#include "workload/resources.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "manifest/manifest.h"

namespace beemesh::workload {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t add(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? kMax : out;
}

int64_t mul(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? kMax : out;
}

// Request, else limit, else 0; a deploy's limit replaces the manifest's and caps the request.
int64_t amount(std::optional<int64_t> request, std::optional<int64_t> limit,
               std::optional<int64_t> override_limit) {
  if (override_limit) limit = override_limit;
  int64_t value = request.value_or(limit.value_or(0));
  if (override_limit) value = std::min(value, *override_limit);
  return std::max<int64_t>(0, value);
}

}  // namespace

Resources& Resources::operator+=(const Resources& other) {
  memory_bytes = add(memory_bytes, other.memory_bytes);
  cpu_millis = add(cpu_millis, other.cpu_millis);
  return *this;
}

Resources reservation_of(const manifest::Manifest& manifest,
                         const runtime::DeploymentConfig& config) {
  Resources total;
  for (const auto& doc : manifest.documents) {
    if (!doc.is_workload()) continue;
    Resources per_pod;
    for (const auto& c : doc.containers) {
      per_pod +=
          Resources{amount(c.memory_request_bytes, c.memory_limit_bytes, config.memory_limit_bytes),
                    amount(c.cpu_request_millis, c.cpu_limit_millis, config.cpu_limit_millis)};
    }
    const int64_t pods = std::max(0, config.replicas > 0 ? config.replicas : doc.replicas);
    total += Resources{mul(per_pod.memory_bytes, pods), mul(per_pod.cpu_millis, pods)};
  }
  return total;
}

}  // namespace beemesh::workload
