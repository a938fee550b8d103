// The per-node cache of opened grants: same answers as open_grant, one verification per
// distinct signed bytes, failures never remembered, bounded.
#include "crypto/grant_cache.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/clock.h"
#include "crypto/grants.h"

namespace beemesh::crypto {
namespace {

const std::string kManifestId = "0123456789abcdef0123456789abcdef";

class GrantCacheTest : public ::testing::Test {
 protected:
  ManualClock clock;
  Identity owner = Identity::generate();
  Identity node = Identity::generate();

  Bytes grant(const std::string& manifest = kManifestId, int64_t ttl_ms = 600'000) {
    return issue_grant(owner, GrantAction::kApply, manifest, node.public_key(), clock.now_ms(),
                       clock.now_ms() + ttl_ms);
  }
};

TEST_F(GrantCacheTest, OpensAGrantAsOpenGrantDoes) {
  GrantCache cache;
  Bytes g = grant();
  auto cached = cache.open(g);
  auto direct = open_grant(g);
  ASSERT_TRUE(cached.ok()) << cached.error().to_string();
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(protocol::encode_grant(*cached), protocol::encode_grant(*direct));
}

TEST_F(GrantCacheTest, TheSameBytesAreVerifiedOnce) {
  GrantCache cache;
  Bytes g = grant();
  ASSERT_TRUE(cache.open(g).ok());
  auto again = cache.open(g);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->manifest_id, kManifestId);
  EXPECT_EQ(cache.verifications(), 1u);
  ASSERT_TRUE(cache.open(grant("another-manifest")).ok());
  EXPECT_EQ(cache.verifications(), 2u) << "other bytes are verified on their own";
}

TEST_F(GrantCacheTest, AForgeryIsRefusedEveryTimeAndNeverRemembered) {
  GrantCache cache;
  Bytes forged = grant();
  // Another manifest id in the signed body: the signature no longer matches.
  auto at = std::search(forged.begin(), forged.end(), kManifestId.begin(), kManifestId.end());
  ASSERT_NE(at, forged.end());
  *at = static_cast<uint8_t>('f');
  for (int i = 0; i < 2; ++i) {
    auto r = cache.open(forged);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, open_grant(forged).error().code);
  }
  EXPECT_EQ(cache.verifications(), 2u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(GrantCacheTest, ARememberedGrantStillExpires) {
  GrantCache cache;
  Bytes g = grant(kManifestId, 1'000);
  ASSERT_TRUE(cache.open(g).ok());
  clock.advance_ms(2'000);
  auto opened = cache.open(g);  // remembered: the signature is not checked again...
  ASSERT_TRUE(opened.ok());
  auto checked = check_opened_grant(
      *opened, {GrantAction::kApply, kManifestId, owner.public_key(), node.public_key()}, clock);
  ASSERT_FALSE(checked.ok());  // ...but its expiry is, on every use
  EXPECT_EQ(checked.error().code, "grant_expired");
}

TEST_F(GrantCacheTest, RemembersAtMostCapacityGrants) {
  GrantCache cache(2);
  Bytes first = grant("m1");
  ASSERT_TRUE(cache.open(first).ok());
  ASSERT_TRUE(cache.open(grant("m2")).ok());
  ASSERT_TRUE(cache.open(grant("m3")).ok());
  EXPECT_EQ(cache.size(), 2u);
  ASSERT_TRUE(cache.open(first).ok());
  EXPECT_EQ(cache.verifications(), 4u) << "the oldest was forgotten and verified again";
}

}  // namespace
}  // namespace beemesh::crypto
