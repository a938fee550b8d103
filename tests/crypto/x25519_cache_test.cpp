// crypto::X25519Cache: the conversions x25519_of makes, each key converted once.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "crypto/identity.h"
#include "crypto/x25519_cache.h"

namespace beemesh::crypto {
namespace {

TEST(X25519Cache, GivesWhatX25519OfGives) {
  X25519Cache cache;
  auto id = Identity::generate();
  auto cached = cache.of(id.public_key());
  auto direct = x25519_of(id.public_key());
  ASSERT_TRUE(cached.ok());
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*cached, *direct);
  EXPECT_EQ(*cache.of(id.public_key()), *direct);  // remembered: the same value again
  EXPECT_EQ(cache.size(), 1u);
}

TEST(X25519Cache, RefusesWhatX25519OfRefusesAndDoesNotRememberIt) {
  X25519Cache cache;
  PublicKey not_a_point{};
  not_a_point.fill(0xff);
  ASSERT_FALSE(x25519_of(not_a_point).ok());
  auto cached = cache.of(not_a_point);
  ASSERT_FALSE(cached.ok());
  EXPECT_EQ(cached.error().code, x25519_of(not_a_point).error().code);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(X25519Cache, ForgetsTheOldestBeyondItsCapacity) {
  X25519Cache cache(2);
  std::vector<Identity> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Identity::generate());
  for (const auto& id : ids) ASSERT_TRUE(cache.of(id.public_key()).ok());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(*cache.of(ids[0].public_key()), *x25519_of(ids[0].public_key()));
}

TEST(X25519Cache, IsSafeFromManyThreads) {
  X25519Cache cache(4);
  std::vector<Identity> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(Identity::generate());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        for (const auto& id : ids) {
          auto k = cache.of(id.public_key());
          ASSERT_TRUE(k.ok());
          ASSERT_EQ(*k, *x25519_of(id.public_key()));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(cache.size(), 4u);
}

}  // namespace
}  // namespace beemesh::crypto
