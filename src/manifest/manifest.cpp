// manifest/manifest.cpp — what a parsed Manifest says about itself.
#include "manifest/manifest.h"

#include <limits>

namespace beemesh::manifest {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? kMax : out;
}

int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? kMax : out;
}

// Sum over workloads of replicas x per-container amount (request, else limit, else 0).
template <typename Amount>
int64_t total(const Manifest& manifest, Amount amount) {
  int64_t sum = 0;
  for (const auto& doc : manifest.documents) {
    if (!doc.is_workload()) continue;
    int64_t per_pod = 0;
    for (const auto& c : doc.containers) per_pod = saturating_add(per_pod, amount(c));
    sum = saturating_add(sum, saturating_mul(per_pod, doc.replicas));
  }
  return sum;
}

}  // namespace

const Document* Manifest::primary() const {
  for (const auto& doc : documents) {
    if (doc.is_workload()) return &doc;
  }
  return nullptr;
}

int64_t Manifest::total_memory_bytes() const {
  return total(*this, [](const Container& c) {
    return c.memory_request_bytes.value_or(c.memory_limit_bytes.value_or(0));
  });
}

int64_t Manifest::total_cpu_millis() const {
  return total(*this, [](const Container& c) {
    return c.cpu_request_millis.value_or(c.cpu_limit_millis.value_or(0));
  });
}

}  // namespace beemesh::manifest
