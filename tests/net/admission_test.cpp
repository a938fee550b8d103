// The server's connection caps as a pure decision: whom to admit, whom to evict.
#include <gtest/gtest.h>

#include "net/admission.h"

namespace beemesh::net {
namespace {

Admission make(size_t total, size_t per_address, size_t pending) {
  return Admission(
      {.max_connections = total, .max_per_address = per_address, .max_pending = pending});
}

TEST(Admission, ANewConnectionOverThePendingCapEvictsTheOldestPending) {
  auto a = make(10, 10, 2);
  ASSERT_TRUE(a.admit(1, "a").admitted);
  ASSERT_TRUE(a.admit(2, "b").admitted);
  auto d = a.admit(3, "c");
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.evict, std::vector<uint64_t>{1});
  EXPECT_EQ(a.pending(), 2u);
}

TEST(Admission, AnEstablishedConnectionIsNeverEvicted) {
  auto a = make(2, 10, 10);
  ASSERT_TRUE(a.admit(1, "a").admitted);
  ASSERT_TRUE(a.establish(1));
  ASSERT_TRUE(a.admit(2, "a").admitted);
  auto d = a.admit(3, "a");
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.evict, std::vector<uint64_t>{2});
  ASSERT_TRUE(a.establish(3));
  auto refused = a.admit(4, "b");
  EXPECT_FALSE(refused.admitted);
  EXPECT_TRUE(refused.evict.empty());
  EXPECT_FALSE(refused.refusal.empty());
}

TEST(Admission, ThePerAddressCapEvictsOnlyConnectionsOfThatAddress) {
  auto a = make(10, 1, 10);
  ASSERT_TRUE(a.admit(1, "other").admitted);
  ASSERT_TRUE(a.admit(2, "a").admitted);
  auto d = a.admit(3, "a");
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.evict, std::vector<uint64_t>{2});
}

TEST(Admission, ThePerAddressCapRefusesWhenAllOfThatAddressAreEstablished) {
  auto a = make(10, 1, 10);
  ASSERT_TRUE(a.admit(1, "a").admitted);
  ASSERT_TRUE(a.establish(1));
  EXPECT_FALSE(a.admit(2, "a").admitted);
  EXPECT_TRUE(a.admit(3, "b").admitted);
}

TEST(Admission, RemovingAnEvictedConnectionChangesNothing) {
  auto a = make(10, 10, 1);
  ASSERT_TRUE(a.admit(1, "a").admitted);
  ASSERT_EQ(a.admit(2, "a").evict, std::vector<uint64_t>{1});
  a.remove(1);
  EXPECT_EQ(a.open(), 1u);
  EXPECT_EQ(a.pending(), 1u);
}

}  // namespace
}  // namespace beemesh::net
