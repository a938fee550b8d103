// Whether a read of a directory shard keeps an entry it lacks (apply/missed_entries.h): absence
// alone is no evidence of departure; a withdrawal, an expired record or a known death is.
#include <gtest/gtest.h>

#include <optional>

#include "apply/missed_entries.h"

namespace beemesh::apply {
namespace {

using provider::NodeState;

constexpr int64_t kNow = 1'800'000'000'000;
constexpr int64_t kLater = kNow + 60'000;

// An entry a read lacks: its record expires at `expires_ms`; `state` nullopt: no liveness wired.
MissedEntry missed(int64_t expires_ms, std::optional<NodeState> state = std::nullopt,
                   bool withdrawn = false) {
  return MissedEntry{withdrawn, expires_ms, state};
}

TEST(MissedEntries, AnEntryWhoseRecordLivesIsKeptWithoutLiveness) {
  EXPECT_TRUE(keep_missed(missed(kLater), kNow));
}

TEST(MissedEntries, AnEntryWhoseRecordLivesIsKeptWhileLivenessDoesNotKnowItDead) {
  EXPECT_TRUE(keep_missed(missed(kLater, NodeState::unknown), kNow));
  EXPECT_TRUE(keep_missed(missed(kLater, NodeState::alive), kNow));
}

TEST(MissedEntries, AnEntryWhoseWithdrawalTheReadListsIsDropped) {
  EXPECT_FALSE(keep_missed(missed(kLater, std::nullopt, true), kNow));
}

TEST(MissedEntries, AnEntryWhoseRecordExpiredIsDropped) {
  EXPECT_FALSE(keep_missed(missed(kNow), kNow));
  EXPECT_FALSE(keep_missed(missed(kNow - 1, NodeState::alive), kNow));
}

TEST(MissedEntries, AnEntryOfUnknownExpiryIsDropped) {
  EXPECT_FALSE(keep_missed(missed(0), kNow));
}

TEST(MissedEntries, AnEntryLivenessKnowsDeadIsDropped) {
  EXPECT_FALSE(keep_missed(missed(kLater, NodeState::dead), kNow));
}

TEST(MissedEntries, OnlyAKeptEntryOfUnknownLivenessIsChecked) {
  EXPECT_TRUE(needs_check(missed(kLater, NodeState::unknown), kNow));
  EXPECT_FALSE(needs_check(missed(kLater, NodeState::alive), kNow));
  EXPECT_FALSE(needs_check(missed(kLater, NodeState::dead), kNow));
  EXPECT_FALSE(needs_check(missed(kLater), kNow)) << "no liveness wired";
  EXPECT_FALSE(needs_check(missed(kLater, NodeState::unknown, true), kNow)) << "withdrawn";
}

}  // namespace
}  // namespace beemesh::apply
