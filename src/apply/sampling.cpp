#include "apply/sampling.h"

#include <algorithm>
#include <set>

namespace beemesh::apply {

size_t capacity_sample_size(int replicas, size_t holders) {
  const size_t twice = 2 * static_cast<size_t>(std::max(replicas, 0));
  return std::max({twice, kMinCapacitySample, holders});
}

asio::awaitable<SampledPlacement> place_by_sampling(NodeDirectory& directory,
                                                    scheduler::PlacementRequest request,
                                                    std::optional<NodeEntry> pinned,
                                                    size_t sample_size, AskCapacity ask) {
  SampledPlacement out;
  std::set<std::string> not_again = request.exclude;
  if (pinned) {
    not_again.insert(pinned->node_id);
    out.asked.push_back(*pinned);
    auto others = directory.sample(sample_size > 0 ? sample_size - 1 : 0, not_again);
    out.asked.insert(out.asked.end(), others.begin(), others.end());
  } else {
    out.asked = directory.sample(sample_size, not_again);
  }
  out.candidates = co_await ask(out.asked);
  out.picks = scheduler::place(out.candidates, request);
  // One co_return at the end: GCC 12 mis-destroys this frame on an early `co_return out;`
  // (free(): invalid pointer, seen in a re-placement that widened to nobody).
  if (!pinned && static_cast<int>(out.picks.size()) < request.replicas) {
    // Widen once: a fresh sample among the nodes not asked yet.
    for (const auto& n : out.asked) not_again.insert(n.node_id);
    auto more = directory.sample(sample_size, not_again);
    if (!more.empty()) {
      out.widened = true;
      auto answers = co_await ask(more);
      out.asked.insert(out.asked.end(), more.begin(), more.end());
      out.candidates.insert(out.candidates.end(), answers.begin(), answers.end());
      out.picks = scheduler::place(out.candidates, request);
    }
  }
  co_return out;
}

}  // namespace beemesh::apply
