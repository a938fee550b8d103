// The discovery cache: freshness, fallback, listen merges, bounds and cleanup.
#include "provider/discovery_cache.h"

#include <gtest/gtest.h>

#include "provider/records_util.h"

namespace beemesh::provider {
namespace {

using testing::identity_n;
using testing::provider_record;

constexpr int64_t kNow = 1'700'000'000'000;

CacheLimits limits(size_t capacity = 8) {
  CacheLimits l;
  l.capacity = capacity;
  l.ttl_ms = 1000;
  l.keep_ms = 10'000;
  l.max_providers = 50;
  l.max_skew_ms = 300'000;
  return l;
}

TEST(DiscoveryCacheTest, AnswersFreshWithinTtlOnly) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  EXPECT_FALSE(cache.fresh("m", kNow).has_value());
  cache.fill("m", {provider_record(a, "m", 1, kNow)}, kNow);
  auto hit = cache.fresh("m", kNow + 999);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->size(), 1u);
  EXPECT_FALSE(cache.fresh("m", kNow + 1000).has_value());
  // ...but the entry still serves as a fallback.
  ASSERT_TRUE(cache.any("m", kNow + 1000).has_value());
  EXPECT_EQ(cache.any("m", kNow + 1000)->size(), 1u);
}

TEST(DiscoveryCacheTest, NeverReturnsAProviderPastItsTtl) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  auto b = identity_n(2);
  cache.fill("m", {provider_record(a, "m", 1, kNow, /*ttl_s=*/1), provider_record(b, "m", 1, kNow)},
             kNow);
  EXPECT_EQ(cache.fresh("m", kNow + 500)->size(), 2u);
  auto later = cache.fresh("m", kNow + 999);
  ASSERT_EQ(later->size(), 2u);
  EXPECT_EQ(cache.any("m", kNow + 1000)->size(), 1u);
  EXPECT_EQ(cache.any("m", kNow + 1000)->front().metadata.node_id, b.node_id());
}

TEST(DiscoveryCacheTest, InvalidateMakesTheNextLookupAMiss) {
  DiscoveryCache cache(limits());
  cache.fill("m", {provider_record(identity_n(1), "m", 1, kNow)}, kNow);
  cache.invalidate("m");
  EXPECT_FALSE(cache.fresh("m", kNow).has_value());
  EXPECT_TRUE(cache.any("m", kNow).has_value());
  cache.fill("m", {}, kNow);
  EXPECT_TRUE(cache.fresh("m", kNow).has_value());
}

TEST(DiscoveryCacheTest, MergeAddsANewProviderAndAppliesAWithdrawal) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  auto b = identity_n(2);
  cache.fill("m", {provider_record(a, "m", 1, kNow)}, kNow);
  EXPECT_TRUE(cache.merge("m", provider_record(b, "m", 1, kNow + 10), kNow + 10));
  auto two = cache.fresh("m", kNow + 10);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ(two->front().metadata.node_id, b.node_id());  // freshest first
  EXPECT_TRUE(cache.merge("m", provider_record(a, "m", 2, kNow + 20, 3600, true), kNow + 20));
  auto one = cache.fresh("m", kNow + 20);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().metadata.node_id, b.node_id());
}

TEST(DiscoveryCacheTest, MergeIgnoresOlderRecordsAndUnknownManifests) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  cache.fill("m", {provider_record(a, "m", 5, kNow)}, kNow);
  EXPECT_FALSE(cache.merge("m", provider_record(a, "m", 4, kNow + 1), kNow));
  EXPECT_FALSE(cache.merge("other", provider_record(a, "other", 1, kNow), kNow));
  EXPECT_FALSE(cache.contains("other"));
}

TEST(DiscoveryCacheTest, FillKeepsNewerRecordsAlreadyKnown) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  cache.fill("m", {provider_record(a, "m", 5, kNow, 3600, true)}, kNow);
  cache.fill("m", {provider_record(a, "m", 4, kNow)}, kNow);  // an older copy from a slow node
  EXPECT_TRUE(cache.fresh("m", kNow)->empty());
}

TEST(DiscoveryCacheTest, FreshStampStaysWhileTheAnswerStaysTheSame) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  cache.fill("m", {provider_record(a, "m", 5, kNow)}, kNow);
  const uint64_t stamp = cache.fresh_stamp("m", kNow);
  EXPECT_NE(stamp, 0u);
  EXPECT_EQ(cache.fresh_stamp("m", kNow + 500), stamp);
  cache.fresh("m", kNow + 500);  // a lookup changes nothing
  EXPECT_FALSE(cache.merge("m", provider_record(a, "m", 4, kNow + 1), kNow + 1));  // older
  EXPECT_EQ(cache.fresh_stamp("m", kNow + 500), stamp);
}

TEST(DiscoveryCacheTest, FreshStampChangesWithAMergeOrAFill) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  cache.fill("m", {provider_record(a, "m", 5, kNow)}, kNow);
  const uint64_t filled = cache.fresh_stamp("m", kNow);
  ASSERT_TRUE(cache.merge("m", provider_record(identity_n(2), "m", 1, kNow + 1), kNow + 1));
  const uint64_t merged = cache.fresh_stamp("m", kNow + 1);
  EXPECT_NE(merged, 0u);
  EXPECT_NE(merged, filled);
  cache.fill("m", {}, kNow + 2);
  EXPECT_NE(cache.fresh_stamp("m", kNow + 2), merged);
}

TEST(DiscoveryCacheTest, FreshStampIsZeroWhenFreshWouldNotAnswerFromTheEntryAsItIs) {
  DiscoveryCache cache(limits());
  EXPECT_EQ(cache.fresh_stamp("m", kNow), 0u) << "no entry";
  cache.fill("m", {provider_record(identity_n(1), "m", 1, kNow, /*ttl_s=*/1)}, kNow);
  cache.fill("n", {provider_record(identity_n(2), "n", 1, kNow)}, kNow);
  EXPECT_NE(cache.fresh_stamp("m", kNow + 999), 0u);
  EXPECT_EQ(cache.fresh_stamp("m", kNow + 1000), 0u) << "stale, and its record expired";
  cache.invalidate("n");
  EXPECT_EQ(cache.fresh_stamp("n", kNow), 0u) << "invalidated";
}

TEST(DiscoveryCacheTest, FreshStampIsZeroOnceARecordOfTheAnswerIsDueToExpire) {
  CacheLimits long_ttl = limits();
  long_ttl.ttl_ms = 60'000;
  DiscoveryCache cache(long_ttl);
  cache.fill("m",
             {provider_record(identity_n(1), "m", 1, kNow, /*ttl_s=*/2),
              provider_record(identity_n(2), "m", 1, kNow)},
             kNow);
  EXPECT_NE(cache.fresh_stamp("m", kNow + 1999), 0u);
  EXPECT_EQ(cache.fresh_stamp("m", kNow + 2000), 0u) << "the answer shrinks at its next lookup";
  EXPECT_EQ(cache.fresh("m", kNow + 2000)->size(), 1u);
  EXPECT_NE(cache.fresh_stamp("m", kNow + 2000), 0u) << "selected again";
}

TEST(DiscoveryCacheTest, EvictsTheLeastRecentlyUsedBeyondCapacity) {
  DiscoveryCache cache(limits(2));
  auto a = identity_n(1);
  EXPECT_TRUE(cache.fill("m1", {provider_record(a, "m1", 1, kNow)}, kNow).empty());
  EXPECT_TRUE(cache.fill("m2", {provider_record(a, "m2", 1, kNow)}, kNow).empty());
  ASSERT_TRUE(cache.fresh("m1", kNow).has_value());  // m1 is now the most recently used
  auto evicted = cache.fill("m3", {provider_record(a, "m3", 1, kNow)}, kNow);
  ASSERT_EQ(evicted, std::vector<std::string>{"m2"});
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.contains("m1"));
  EXPECT_TRUE(cache.contains("m3"));
}

TEST(DiscoveryCacheTest, CleanupDropsStaleEntriesWithoutLiveProvidersAndVeryOldOnes) {
  DiscoveryCache cache(limits());
  auto a = identity_n(1);
  cache.fill("dead", {provider_record(a, "dead", 1, kNow, /*ttl_s=*/1)}, kNow);
  cache.fill("alive", {provider_record(a, "alive", 1, kNow)}, kNow);
  EXPECT_TRUE(cache.cleanup(kNow + 500).empty());  // still fresh
  auto removed = cache.cleanup(kNow + 2000);
  EXPECT_EQ(removed, std::vector<std::string>{"dead"});
  EXPECT_TRUE(cache.contains("alive"));  // stale but a live fallback
  EXPECT_EQ(cache.cleanup(kNow + 10'000), std::vector<std::string>{"alive"});
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace beemesh::provider
