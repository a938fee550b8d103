// apply/sampling.h — which nodes one placement asks for capacity: power-of-k choices over a
// bounded random sample of the node directory, so an apply costs the same at 50 and at 1,000
// nodes. The Publisher (apply and re-placement) places through place_by_sampling().
//
// Promise:
//  * capacity_sample_size(replicas, holders) = max(2 × replicas, kMinCapacitySample (4),
//    holders): the nodes asked at first. The nodes that answer are the first pool the
//    key-share holders are drawn from (apply/publisher.h), hence `holders` (the configured
//    share count n).
//  * place_by_sampling() without a pinned node asks `sample_size` nodes drawn uniformly from
//    the directory (NodeDirectory::sample, never waits) minus request.exclude, places with
//    scheduler::place among those that answered with room, and — when that leaves replicas
//    unplaced — widens once: asks a fresh sample of the same size among the nodes not asked
//    yet and places again over all answers. At most 2 × sample_size nodes are asked.
//  * With `pinned` (resolved by the caller, e.g. NodeDirectory::find), the pinned node is
//    asked first, with sample_size - 1 others (share-holder candidates); request.pinned_node
//    restricts the picks to it; no widening.
//  * `ask` gets the nodes to ask and returns the answers with room (a Candidate per node that
//    accepted); it is the only I/O. SampledPlacement::asked lists every node asked, in order.
#pragma once

#include <asio.hpp>

#include <functional>
#include <optional>
#include <vector>

#include "apply/directory.h"
#include "scheduler/placement.h"

namespace beemesh::apply {

inline constexpr size_t kMinCapacitySample = 4;

size_t capacity_sample_size(int replicas, size_t holders);

struct SampledPlacement {
  std::vector<NodeEntry> asked;
  std::vector<scheduler::Candidate> candidates;
  std::vector<scheduler::Pick> picks;
  bool widened = false;
};

using AskCapacity =
    std::function<asio::awaitable<std::vector<scheduler::Candidate>>(std::vector<NodeEntry>)>;

asio::awaitable<SampledPlacement> place_by_sampling(NodeDirectory& directory,
                                                    scheduler::PlacementRequest request,
                                                    std::optional<NodeEntry> pinned,
                                                    size_t sample_size, AskCapacity ask);

}  // namespace beemesh::apply
