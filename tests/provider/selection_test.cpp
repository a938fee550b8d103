// Which provider records discovery keeps, and their order.
#include "provider/selection.h"

#include <gtest/gtest.h>

#include "provider/records_util.h"

namespace beemesh::provider {
namespace {

using testing::identity_n;
using testing::provider_record;
using testing::signed_provider_record;

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kSkew = 300'000;

TEST(VerifyProviderValueTest, AcceptsARecordSignedByTheNodeItNames) {
  auto id = identity_n(1);
  auto r = verify_provider_value(signed_provider_record(id, "m1", 1, kNow), "m1");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->node_id, id.node_id());
}

TEST(CheckRecordRangesTest, AcceptsTtlFromOneSecondToOneDay) {
  auto id = identity_n(1);
  EXPECT_TRUE(check_record_ranges(provider_record(id, "m", 1, kNow, 1), kNow, 30'000).ok());
  EXPECT_TRUE(check_record_ranges(provider_record(id, "m", 1, kNow, 86'400), kNow, 30'000).ok());
}

TEST(CheckRecordRangesTest, RefusesTtlOutsideOneSecondToOneDay) {
  auto id = identity_n(1);
  for (int64_t ttl : {int64_t{0}, int64_t{-1}, int64_t{86'401}, INT64_MAX, INT64_MIN}) {
    auto r = check_record_ranges(provider_record(id, "m", 1, kNow, ttl), kNow, 30'000);
    ASSERT_FALSE(r.ok()) << ttl;
    EXPECT_EQ(r.error().code, "bad_ttl") << ttl;
  }
}

TEST(CheckRecordRangesTest, RefusesRecordsDatedMoreThanTheSkewAhead) {
  auto id = identity_n(1);
  EXPECT_TRUE(check_record_ranges(provider_record(id, "m", 1, kNow + 30'000), kNow, 30'000).ok());
  for (int64_t ts : {kNow + 30'001, kNow + 300'000, INT64_MAX}) {
    auto r = check_record_ranges(provider_record(id, "m", 1, ts), kNow, 30'000);
    ASSERT_FALSE(r.ok()) << ts;
    EXPECT_EQ(r.error().code, "record_from_future") << ts;
  }
}

TEST(VerifyProviderValueTest, RejectsATamperedRecord) {
  auto bytes = signed_provider_record(identity_n(1), "m1", 1, kNow);
  // Flip a byte of the body (the endpoint text) without re-signing.
  const std::string endpoint = "127.0.0.1:7401";
  auto it = std::search(bytes.begin(), bytes.end(), endpoint.begin(), endpoint.end());
  ASSERT_NE(it, bytes.end());
  *it = '9';
  auto r = verify_provider_value(bytes, "m1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_signature");
}

TEST(VerifyProviderValueTest, RejectsARecordNamingAnotherNode) {
  auto signer = identity_n(1);
  auto other = identity_n(2);
  auto record = provider_record(signer, "m1", 1, kNow);
  record.node_id = other.node_id();  // claims to be another node
  auto r = verify_provider_value(crypto::sign_provider_record(signer, record), "m1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "signer_mismatch");
}

TEST(VerifyProviderValueTest, RejectsARecordForAnotherManifest) {
  auto r = verify_provider_value(signed_provider_record(identity_n(1), "m2", 1, kNow), "m1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "wrong_manifest");
}

TEST(VerifyProviderValueTest, RejectsGarbage) {
  EXPECT_FALSE(verify_provider_value(to_bytes("not a record"), "m1").ok());
  EXPECT_FALSE(verify_provider_value(Bytes{}, "m1").ok());
}

TEST(SupersedesTest, HigherSequenceWinsThenNewerTimestamp) {
  auto id = identity_n(1);
  EXPECT_TRUE(supersedes(provider_record(id, "m", 2, kNow - 5), provider_record(id, "m", 1, kNow)));
  EXPECT_TRUE(supersedes(provider_record(id, "m", 2, kNow), provider_record(id, "m", 2, kNow - 1)));
  EXPECT_FALSE(supersedes(provider_record(id, "m", 2, kNow), provider_record(id, "m", 2, kNow)));
}

// A node restarted within the millisecond of its last announcement signs its withdrawal with
// the same sequence (max(previous + 1, now ms)) and timestamp (ProviderManagerTest.
// WithdrawAfterARestartStillHidesTheOldAnnouncement failed 1 run in 21 on this).
TEST(SupersedesTest, AWithdrawalWinsAFullTieWithAnAnnouncement) {
  auto id = identity_n(1);
  const auto announced = provider_record(id, "m", 2, kNow);
  const auto withdrawn = provider_record(id, "m", 2, kNow, 3600, true);
  EXPECT_TRUE(supersedes(withdrawn, announced));
  EXPECT_FALSE(supersedes(announced, withdrawn));
  EXPECT_TRUE(select_providers({withdrawn, announced}, kNow, 50, kSkew).empty());
  EXPECT_TRUE(select_providers({announced, withdrawn}, kNow, 50, kSkew).empty());
}

TEST(SelectProvidersTest, KeepsOneRecordPerNodeTheNewest) {
  auto id = identity_n(1);
  auto got = select_providers(
      {provider_record(id, "m", 1, kNow - 10), provider_record(id, "m", 3, kNow - 30),
       provider_record(id, "m", 2, kNow - 20)},
      kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sequence, 3u);
}

TEST(SelectProvidersTest, AWithdrawalHidesOlderAnnouncementsOfThatNode) {
  auto a = identity_n(1);
  auto b = identity_n(2);
  auto got = select_providers({provider_record(a, "m", 1, kNow - 10),
                               provider_record(a, "m", 2, kNow - 5, 3600, /*withdrawn=*/true),
                               provider_record(b, "m", 1, kNow - 10)},
                              kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].metadata.node_id, b.node_id());
}

TEST(SelectProvidersTest, AnOlderWithdrawalDoesNotHideANewerAnnouncement) {
  auto a = identity_n(1);
  auto got = select_providers(
      {provider_record(a, "m", 1, kNow - 10, 3600, true), provider_record(a, "m", 2, kNow - 5)},
      kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sequence, 2u);
}

TEST(SelectProvidersTest, DropsExpiredRecords) {
  auto a = identity_n(1);
  auto b = identity_n(2);
  auto got = select_providers({provider_record(a, "m", 1, kNow - 61'000, /*ttl_s=*/60),
                               provider_record(b, "m", 1, kNow - 59'000, /*ttl_s=*/60)},
                              kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].metadata.node_id, b.node_id());
}

TEST(SelectProvidersTest, ARecordExpiresExactlyAtTimestampPlusTtl) {
  auto a = identity_n(1);
  EXPECT_TRUE(
      select_providers({provider_record(a, "m", 1, kNow - 60'000, 60)}, kNow, 50, kSkew).empty());
  EXPECT_EQ(
      select_providers({provider_record(a, "m", 1, kNow - 59'999, 60)}, kNow, 50, kSkew).size(),
      1u);
}

TEST(SelectProvidersTest, DropsRecordsDatedTooFarInTheFuture) {
  auto a = identity_n(1);
  auto b = identity_n(2);
  auto got = select_providers(
      {provider_record(a, "m", 1, kNow + kSkew + 1), provider_record(b, "m", 1, kNow + kSkew)},
      kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].metadata.node_id, b.node_id());
}

TEST(SelectProvidersTest, OrdersFreshestFirstThenByNodeId) {
  std::vector<protocol::ProviderRecord> records;
  std::vector<crypto::Identity> ids;
  for (uint8_t i = 1; i <= 4; ++i) ids.push_back(identity_n(i));
  records.push_back(provider_record(ids[0], "m", 1, kNow - 300));
  records.push_back(provider_record(ids[1], "m", 1, kNow - 100));
  records.push_back(provider_record(ids[2], "m", 1, kNow - 200));
  records.push_back(provider_record(ids[3], "m", 1, kNow - 200));
  auto got = select_providers(records, kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].metadata.node_id, ids[1].node_id());
  // ids[2] and ids[3] tie on timestamp: the smaller node id comes first.
  const std::string id2 = ids[2].node_id();
  const std::string id3 = ids[3].node_id();
  const std::string first = std::min(id2, id3);
  const std::string second = std::max(id2, id3);
  EXPECT_EQ(got[1].metadata.node_id, first);
  EXPECT_EQ(got[2].metadata.node_id, second);
  EXPECT_EQ(got[3].metadata.node_id, ids[0].node_id());
}

TEST(SelectProvidersTest, ReturnsAtMostMaxProvidersTheFreshest) {
  std::vector<protocol::ProviderRecord> records;
  std::vector<std::string> freshest;
  for (uint8_t i = 1; i <= 60; ++i) {
    auto id = identity_n(i);
    records.push_back(provider_record(id, "m", 1, kNow - 1000 + i));
    if (i > 10) freshest.push_back(id.node_id());
  }
  auto got = select_providers(records, kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 50u);
  for (const auto& p : got) {
    EXPECT_NE(std::find(freshest.begin(), freshest.end(), p.metadata.node_id), freshest.end());
  }
  EXPECT_EQ(got.front().timestamp_ms, kNow - 1000 + 60);
}

TEST(SelectProvidersTest, CopiesTheMetadata) {
  auto a = identity_n(1);
  auto got = select_providers({provider_record(a, "m", 7, kNow - 1, 120)}, kNow, 50, kSkew);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].manifest_id, "m");
  EXPECT_EQ(got[0].metadata.rpc_endpoint, "127.0.0.1:7401");
  EXPECT_EQ(got[0].metadata.engine, "mock");
  EXPECT_EQ(got[0].metadata.capabilities.at("arch"), "x86_64");
  EXPECT_EQ(got[0].ttl_s, 120);
  EXPECT_EQ(got[0].sequence, 7u);
  EXPECT_EQ(got[0].timestamp_ms, kNow - 1);
}

}  // namespace
}  // namespace beemesh::provider
