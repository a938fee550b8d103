// The order an apply draws key-share holders in (apply/holder_order.h): the likelier a node
// is alive now, the earlier.
#include "apply/holder_order.h"

#include <gtest/gtest.h>

namespace beemesh::apply {
namespace {

std::vector<protocol::ShareHolder> holders(std::initializer_list<const char*> ids) {
  std::vector<protocol::ShareHolder> out;
  for (const char* id : ids) out.push_back({id, {}, std::string(id) + ":1", 0});
  return out;
}

std::vector<std::string> ids(const std::vector<protocol::ShareHolder>& hs) {
  std::vector<std::string> out;
  for (const auto& h : hs) out.push_back(h.node_id);
  return out;
}

TEST(HolderOrder, ANodeThatAnsweredWithRoomIsDrawnFirst) {
  CapacityAnswers answers{{"roomy"}, {"full"}, {"roomy", "full", "silent"}};
  auto hs = holders({"silent", "drawn", "full", "roomy"});
  order_holders(hs, answers);
  EXPECT_EQ(ids(hs).front(), "roomy");
}

TEST(HolderOrder, ANodeThatAnsweredWithoutRoomIsDrawnBeforeOneThatWasNotAsked) {
  CapacityAnswers answers{{}, {"full"}, {"full"}};
  auto hs = holders({"drawn", "full"});
  order_holders(hs, answers);
  EXPECT_EQ(ids(hs), (std::vector<std::string>{"full", "drawn"}));
}

TEST(HolderOrder, ANodeAskedThatDidNotAnswerIsDrawnLast) {
  // The heal suite's case: a killed node still listed, asked (connection refused), must not
  // be drawn before a live node that declined for want of room.
  CapacityAnswers answers{{"a"}, {"full"}, {"a", "full", "dead"}};
  auto hs = holders({"dead", "full", "drawn", "a"});
  order_holders(hs, answers);
  EXPECT_EQ(ids(hs), (std::vector<std::string>{"a", "full", "drawn", "dead"}));
}

TEST(HolderOrder, TheGivenOrderIsKeptWithinARank) {
  CapacityAnswers answers{{"x", "y", "z"}, {}, {"x", "y", "z"}};
  auto hs = holders({"z", "x", "y"});
  order_holders(hs, answers);
  EXPECT_EQ(ids(hs), (std::vector<std::string>{"z", "x", "y"}));
}

TEST(HolderOrder, RanksFollowWhatTheCapacityRequestsHeard) {
  CapacityAnswers answers{{"roomy"}, {"full"}, {"roomy", "full", "silent"}};
  EXPECT_EQ(holder_rank(answers, "roomy"), HolderRank::answered_with_room);
  EXPECT_EQ(holder_rank(answers, "full"), HolderRank::answered_without_room);
  EXPECT_EQ(holder_rank(answers, "other"), HolderRank::not_asked);
  EXPECT_EQ(holder_rank(answers, "silent"), HolderRank::asked_no_answer);
}

}  // namespace
}  // namespace beemesh::apply
