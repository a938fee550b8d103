// apply/holder_order.h — in which order an apply draws its key-share holders among the
// members it has at hand (apply/publisher.h, step 4): the likelier a node is alive now, the
// earlier it is drawn.
//
// Promise (pure, no I/O):
//  * holder_rank(): a node that answered this apply's capacity request with room ranks first,
//    then one that answered without room (alive, and a share needs no room for the
//    workload), then a member drawn that was not asked, last one that was asked and did not
//    answer (it may be dead while this node's directory still lists it).
//  * order_holders() sorts by that rank and keeps the given order within a rank (the caller
//    shuffles first, so holders are drawn at random within a rank).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "protocol/records.h"

namespace beemesh::apply {

// What one apply's capacity requests heard, by node id.
struct CapacityAnswers {
  std::set<std::string> with_room;     // answered, and has room for a replica
  std::set<std::string> without_room;  // answered: no room
  std::set<std::string> asked;         // every node asked, answered or not

  // How many answered (the two sets never share a node).
  size_t answered() const { return with_room.size() + without_room.size(); }
};

enum class HolderRank { answered_with_room, answered_without_room, not_asked, asked_no_answer };

HolderRank holder_rank(const CapacityAnswers& answers, const std::string& node_id);

void order_holders(std::vector<protocol::ShareHolder>& holders, const CapacityAnswers& answers);

}  // namespace beemesh::apply
