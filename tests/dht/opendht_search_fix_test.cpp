// OpenDHT's Search::insertNode never writes a get reply's token into a node it has just removed,
// in a process that links dht/opendht_search_fix.cpp (docs/notes/dht.md, "A node removed by its
// own insert").
#include "dht/opendht_search_fix.h"

#include <gtest/gtest.h>

#include <vector>

#include "dht/opendht_dht.h"

namespace beemesh::dht {
namespace {

// One search as the fix sees it: what the library's insert returns, and whether the node is
// in the search after it. Records the token flag of every insert call.
struct Search {
  bool insert_returns = true;
  bool present_after = true;
  std::vector<bool> calls;  // with_token, per call

  InsertOutcome insert(bool has_token) {
    return insert_node_keeping_tokens(
        [this](bool with_token) {
          calls.push_back(with_token);
          return calls.size() == 1 ? insert_returns : false;  // then found, or not added
        },
        [this] { return present_after; }, has_token);
  }
};

// In a process that runs OpenDHT nodes (libopendht.so loaded and bound).
TEST(OpenDhtSearchFix, TheLibrarysSearchInsertBindsTheFixedDefinition) {
  auto node = OpenDht::start(loopback_config(0x5ea1));
  ASSERT_TRUE(node.ok()) << node.error().to_string();
  EXPECT_TRUE(opendht_search_insert_fixed());
}

TEST(OpenDhtSearchFix, WithoutATokenTheLibrarysInsertRunsOnceAsItIs) {
  Search s;
  const auto out = s.insert(false);
  EXPECT_EQ(s.calls, std::vector<bool>{false});
  EXPECT_TRUE(out.inserted);
  EXPECT_FALSE(out.removed_at_once);
}

TEST(OpenDhtSearchFix, ANewNodeThatStaysIsInsertedThenGivenTheToken) {
  Search s;
  const auto out = s.insert(true);
  EXPECT_EQ(s.calls, (std::vector<bool>{false, true}));
  EXPECT_TRUE(out.inserted);
  EXPECT_FALSE(out.removed_at_once);
}

TEST(OpenDhtSearchFix, ANodeRemovedByItsOwnInsertGetsNoTokenAndIsNotReportedInserted) {
  Search s;
  s.present_after = false;
  const auto out = s.insert(true);
  EXPECT_EQ(s.calls, std::vector<bool>{false});  // the token never reaches a removed node
  EXPECT_FALSE(out.inserted);
  EXPECT_TRUE(out.removed_at_once);
}

TEST(OpenDhtSearchFix, ANodeAlreadyInTheSearchIsGivenTheToken) {
  Search s;
  s.insert_returns = false;  // found
  const auto out = s.insert(true);
  EXPECT_EQ(s.calls, (std::vector<bool>{false, true}));
  EXPECT_FALSE(out.inserted);
  EXPECT_FALSE(out.removed_at_once);
}

TEST(OpenDhtSearchFix, ANodeTheFullSearchDidNotTakeGetsNoToken) {
  Search s;
  s.insert_returns = false;
  s.present_after = false;
  const auto out = s.insert(true);
  EXPECT_EQ(s.calls, std::vector<bool>{false});
  EXPECT_FALSE(out.inserted);
  EXPECT_FALSE(out.removed_at_once);
}

}  // namespace
}  // namespace beemesh::dht
