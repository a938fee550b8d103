#include "apply/holder_order.h"

#include <algorithm>

namespace beemesh::apply {

HolderRank holder_rank(const CapacityAnswers& answers, const std::string& node_id) {
  if (answers.with_room.count(node_id)) return HolderRank::answered_with_room;
  if (answers.without_room.count(node_id)) return HolderRank::answered_without_room;
  if (answers.asked.count(node_id)) return HolderRank::asked_no_answer;
  return HolderRank::not_asked;
}

void order_holders(std::vector<protocol::ShareHolder>& holders, const CapacityAnswers& answers) {
  std::stable_sort(holders.begin(), holders.end(), [&](const auto& a, const auto& b) {
    return holder_rank(answers, a.node_id) < holder_rank(answers, b.node_id);
  });
}

}  // namespace beemesh::apply
