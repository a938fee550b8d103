// Shamir splitting of manifest keys: any k of n rebuild the key, k-1 do not.
#include "crypto/shamir.h"

#include <gtest/gtest.h>

#include <vector>

namespace beemesh::crypto {
namespace {

// Every subset of `n` items with exactly `k` members, as index lists.
std::vector<std::vector<size_t>> subsets(size_t n, size_t k) {
  std::vector<std::vector<size_t>> out;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<size_t>(__builtin_popcount(mask)) != k) continue;
    std::vector<size_t> s;
    for (size_t i = 0; i < n; ++i) {
      if (mask & (1u << i)) s.push_back(i);
    }
    out.push_back(s);
  }
  return out;
}

std::vector<KeyShare> pick(const std::vector<KeyShare>& shares, const std::vector<size_t>& idx) {
  std::vector<KeyShare> out;
  for (size_t i : idx) out.push_back(shares[i]);
  return out;
}

TEST(Shamir, SplitGivesNSharesWithIndexes1ToN) {
  auto shares = split_key(SecretKey::random(), 5, 3);
  ASSERT_TRUE(shares.ok());
  ASSERT_EQ(shares->size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*shares)[i].index, i + 1);
}

TEST(Shamir, EveryThreeOfFiveSharesRebuildTheKey) {
  SecretKey key = SecretKey::random();
  auto shares = split_key(key, 5, 3).value();
  auto all = subsets(5, 3);
  ASSERT_EQ(all.size(), 10u);  // C(5,3)
  for (const auto& s : all) {
    auto picked = pick(shares, s);
    auto rebuilt = combine_shares(picked, 3);
    ASSERT_TRUE(rebuilt.ok());
    EXPECT_TRUE(*rebuilt == key);
  }
}

TEST(Shamir, MoreThanKSharesAlsoRebuildTheKey) {
  SecretKey key = SecretKey::random();
  auto shares = split_key(key, 5, 3).value();
  for (size_t k : {4u, 5u}) {
    for (const auto& s : subsets(5, k)) {
      auto picked = pick(shares, s);
      EXPECT_TRUE(combine_shares(picked, 3).value() == key);
    }
  }
}

TEST(Shamir, KMinusOneSharesAreTooFew) {
  auto shares = split_key(SecretKey::random(), 5, 3).value();
  for (const auto& s : subsets(5, 2)) {
    auto picked = pick(shares, s);
    auto rebuilt = combine_shares(picked, 3);
    ASSERT_FALSE(rebuilt.ok());
    EXPECT_EQ(rebuilt.error().code, "too_few_shares");
  }
}

TEST(Shamir, KMinusOneSharesClaimedAsKGiveAWrongKey) {
  // Pretending the threshold is lower does not reveal the key.
  SecretKey key = SecretKey::random();
  auto shares = split_key(key, 5, 3).value();
  for (const auto& s : subsets(5, 2)) {
    auto picked = pick(shares, s);
    EXPECT_FALSE(combine_shares(picked, 2).value() == key);
  }
}

TEST(Shamir, DuplicateSharesCountOnce) {
  auto shares = split_key(SecretKey::random(), 5, 3).value();
  std::vector<KeyShare> dup{shares[0], shares[0], shares[1]};
  EXPECT_EQ(combine_shares(dup, 3).error().code, "too_few_shares");
}

TEST(Shamir, TamperedShareGivesADifferentKey) {
  SecretKey key = SecretKey::random();
  auto shares = split_key(key, 5, 3).value();
  std::vector<KeyShare> picked{shares[0], shares[2], shares[4]};
  picked[1].data[0] ^= 1;
  auto rebuilt = combine_shares(picked, 3);
  ASSERT_TRUE(rebuilt.ok());  // detected by the key commitment (manifest_crypto_test)
  EXPECT_FALSE(*rebuilt == key);
}

TEST(Shamir, ShareIndexZeroIsRefused) {
  std::vector<KeyShare> bad{KeyShare(0, {}), KeyShare(1, {}), KeyShare(2, {})};
  EXPECT_EQ(combine_shares(bad, 3).error().code, "bad_share");
}

TEST(Shamir, OneOfOneIsTheKeyItself) {
  SecretKey key = SecretKey::random();
  auto shares = split_key(key, 1, 1).value();
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_TRUE(combine_shares(shares, 1).value() == key);
}

TEST(Shamir, ImpossibleParametersAreRefused) {
  SecretKey key = SecretKey::random();
  EXPECT_EQ(split_key(key, 3, 4).error().code, "bad_share_parameters");
  EXPECT_EQ(split_key(key, 3, 0).error().code, "bad_share_parameters");
  EXPECT_EQ(split_key(key, 256, 3).error().code, "bad_share_parameters");
  EXPECT_EQ(combine_shares({}, 0).error().code, "bad_share_parameters");
}

TEST(Shamir, SplittingTwiceGivesDifferentShares) {
  SecretKey key = SecretKey::random();
  auto a = split_key(key, 5, 3).value();
  auto b = split_key(key, 5, 3).value();
  EXPECT_NE(a[0].data, b[0].data);  // fresh random coefficients each time
}

}  // namespace
}  // namespace beemesh::crypto
