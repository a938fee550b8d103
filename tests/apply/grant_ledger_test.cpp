// apply::GrantLedger: each owner apply grant places at most one deployment on a node, and
// an entry is kept only until its grant expires.
#include <gtest/gtest.h>

#include <string>

#include "apply/admission.h"
#include "apply/codes.h"

namespace beemesh::apply {
namespace {

Bytes grant(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

TEST(GrantLedgerTest, SecondUseOfALiveGrantIsRefusedAsReused) {
  GrantLedger ledger;
  ASSERT_TRUE(ledger.use(grant("g1"), 2'000, 1'000));
  auto again = ledger.use(grant("g1"), 2'000, 1'500);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, codes::kUnauthorized);
  EXPECT_NE(again.error().message.find("grant_reused"), std::string::npos);
}

TEST(GrantLedgerTest, DifferentGrantsAreEachUsedOnce) {
  GrantLedger ledger;
  EXPECT_TRUE(ledger.use(grant("g1"), 2'000, 1'000));
  EXPECT_TRUE(ledger.use(grant("g2"), 2'000, 1'000));
  EXPECT_EQ(ledger.size(), 2u);
}

TEST(GrantLedgerTest, ExpiredEntriesAreDroppedOnTheNextUse) {
  GrantLedger ledger;
  ASSERT_TRUE(ledger.use(grant("early"), 1'500, 1'000));
  ASSERT_TRUE(ledger.use(grant("late"), 9'000, 1'000));
  ASSERT_TRUE(ledger.use(grant("other"), 9'000, 2'000));  // "early" expired at 1,500
  EXPECT_EQ(ledger.size(), 2u);
  EXPECT_TRUE(ledger.use(grant("early"), 9'000, 2'000)) << "its entry is gone";
  EXPECT_FALSE(ledger.use(grant("late"), 9'000, 2'000)) << "still live";
}

TEST(GrantLedgerTest, EntriesOfTheSameExpiryAreAllDropped) {
  GrantLedger ledger;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ledger.use(grant("g" + std::to_string(i)), 1'500, 1'000));
  ASSERT_TRUE(ledger.use(grant("new"), 9'000, 2'000));
  EXPECT_EQ(ledger.size(), 1u);
}

}  // namespace
}  // namespace beemesh::apply
