// ProviderManager against an in-memory DHT: announcement lifecycle, discovery pipeline,
// cache behaviour, failures. (The same behaviours on real OpenDHT nodes: provider_dht_test.)
#include "provider/provider_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <set>
#include <thread>

#include "crypto/membership.h"
#include "crypto/records.h"
#include "provider/fake_dht.h"
#include "provider/records_util.h"

namespace beemesh::provider {
namespace {

using namespace std::chrono_literals;
using testing::FakeDht;
using testing::identity_n;
using testing::signed_provider_record;

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline = 5s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

ProviderConfig fast_config() {
  ProviderConfig c;
  c.early_reputs = {};
  c.retry_initial = 10ms;
  c.retry_max = 40ms;
  c.cleanup_interval = 20ms;
  c.discovery_timeout = 300ms;
  c.put_timeout = 1s;
  return c;
}

ProviderMetadata metadata_of(const crypto::Identity& id, std::string endpoint = "127.0.0.1:7401") {
  return ProviderMetadata{id.node_id(), std::move(endpoint), "mock", {{"gpu", "none"}}};
}

std::vector<protocol::ProviderRecord> stored_records(FakeDht& dht, const std::string& manifest) {
  std::vector<protocol::ProviderRecord> out;
  for (const auto& v : dht.values(dht::provider_key(manifest))) {
    auto r = crypto::open_provider_record(v.data);
    if (r.ok()) out.push_back(*r);
  }
  return out;
}

class ProviderManagerTest : public ::testing::Test {
 protected:
  FakeDht dht;
  crypto::Identity alice = identity_n(1);
  crypto::Identity bob = identity_n(2);
};

TEST_F(ProviderManagerTest, AnnouncePutsASignedRecordAndReportsTheFirstPut) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  std::promise<Result<void>> done;
  pm.announce("m1", metadata_of(alice), 600s, [&](Result<void> r) { done.set_value(r); });
  auto fut = done.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(fut.get().ok());
  auto records = stored_records(dht, "m1");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].node_id, alice.node_id());
  EXPECT_EQ(records[0].ttl_s, 600);
  EXPECT_FALSE(records[0].withdrawn);
  EXPECT_EQ(records[0].engine, "mock");
  EXPECT_EQ(pm.announced(), std::vector<std::string>{"m1"});
  EXPECT_EQ(pm.stats().providers_announced, 1u);
}

TEST_F(ProviderManagerTest, AnnounceFillsAnEmptyNodeIdWithOurs) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  auto meta = metadata_of(alice);
  meta.node_id.clear();
  pm.announce("m1", meta, 600s);
  ASSERT_TRUE(eventually([&] { return stored_records(dht, "m1").size() == 1; }));
  EXPECT_EQ(stored_records(dht, "m1")[0].node_id, alice.node_id());
}

TEST_F(ProviderManagerTest, AnnounceRefusesMetadataNamingAnotherNode) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  std::optional<Result<void>> result;
  pm.announce("m1", metadata_of(bob), 600s, [&](Result<void> r) { result = r; });
  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code, "node_id_mismatch");
  EXPECT_TRUE(pm.announced().empty());
  EXPECT_EQ(dht.puts, 0);
}

TEST_F(ProviderManagerTest, AFailedPutIsRetriedWithBackoff) {
  dht.fail_puts = 3;
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  std::promise<Result<void>> first;
  pm.announce("m1", metadata_of(alice), 600s, [&](Result<void> r) { first.set_value(r); });
  auto fut = first.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(fut.get().ok());  // on_done reports the first put, which failed
  ASSERT_TRUE(eventually([&] { return stored_records(dht, "m1").size() == 1; }));
  EXPECT_EQ(dht.puts, 4);
  EXPECT_EQ(pm.stats().puts_failed, 3u);
  EXPECT_EQ(pm.stats().puts_ok, 1u);
}

TEST_F(ProviderManagerTest, RefreshesWithANewerSignedRecordBeforeTheTtlRunsOut) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.announce("m1", metadata_of(alice), 1s);  // refresh every 500 ms
  ASSERT_TRUE(eventually([&] { return stored_records(dht, "m1").size() >= 3; }));
  auto records = stored_records(dht, "m1");
  for (size_t i = 1; i < records.size(); ++i) {
    EXPECT_GT(records[i].sequence, records[i - 1].sequence);
    EXPECT_GE(records[i].timestamp_ms, records[i - 1].timestamp_ms);
  }
}

TEST_F(ProviderManagerTest, EarlyReputsRepeatTheSameRecord) {
  auto config = fast_config();
  config.early_reputs = {10ms, 10ms};
  ProviderManager pm(dht, alice, system_clock(), config);
  pm.announce("m1", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] { return dht.puts >= 3; }));
  EXPECT_EQ(dht.values(dht::provider_key("m1")).size(), 1u);  // same value id each time
}

TEST_F(ProviderManagerTest, RecordsArePutPermanentlySoTheDhtKeepsThemOnTheClosestNodes) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.announce("m1", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] { return pm.stats().puts_ok == 1; }));
  EXPECT_EQ(dht.permanent_puts, dht.puts);
  EXPECT_EQ(dht.permanent_ids(dht::provider_key("m1")).size(), 1u);
}

TEST_F(ProviderManagerTest, ByDefaultARecordIsPutOnceUntilItsRefresh) {
  ProviderConfig config = fast_config();
  config.early_reputs = ProviderConfig{}.early_reputs;
  EXPECT_TRUE(config.early_reputs.empty());
  ProviderManager pm(dht, alice, system_clock(), config);
  pm.announce("m1", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] { return pm.stats().puts_ok == 1; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(dht.puts, 1);
}

TEST_F(ProviderManagerTest, ARefreshedRecordCancelsThePermanentPutOfTheOneItReplaces) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.announce("m1", metadata_of(alice), 1s);  // refresh every 500 ms
  ASSERT_TRUE(eventually([&] { return stored_records(dht, "m1").size() >= 3; }));
  ASSERT_TRUE(eventually([&] { return dht.permanent_ids(dht::provider_key("m1")).size() == 1; }));
  EXPECT_GE(dht.cancelled_permanent, 2);
}

TEST_F(ProviderManagerTest, WithdrawingCancelsTheAnnouncementAndKeepsTheWithdrawalUntilItsTtl) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.announce("m1", metadata_of(alice), 1s);
  ASSERT_TRUE(eventually([&] { return pm.stats().puts_ok == 1; }));
  const auto announced = dht.permanent_ids(dht::provider_key("m1"));
  pm.withdraw("m1");
  ASSERT_TRUE(eventually([&] {
    auto live = dht.permanent_ids(dht::provider_key("m1"));
    return live.size() == 1 && live != announced;
  }));
  // The withdrawal's TTL (1 s) passes: it is cancelled too and not put again.
  ASSERT_TRUE(eventually([&] { return dht.permanent_ids(dht::provider_key("m1")).empty(); }));
  const int puts = dht.puts;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(dht.puts, puts);
}

TEST_F(ProviderManagerTest, DestroyingTheManagerCancelsItsPermanentPuts) {
  {
    ProviderManager pm(dht, alice, system_clock(), fast_config());
    pm.announce("m1", metadata_of(alice), 3600s);
    pm.announce_peer({"10.0.0.1:7401"});
    ASSERT_TRUE(eventually([&] { return pm.stats().puts_ok == 2; }));
  }
  EXPECT_TRUE(dht.permanent_ids(dht::provider_key("m1")).empty());
  EXPECT_TRUE(dht.permanent_ids(dht::peer_key(alice.node_id())).empty());
}

// A manager of alice's whose brief ids are `brief`, once its announcements of `a` and `b`
// are put.
std::unique_ptr<ProviderManager> announcing_two(FakeDht& dht, const crypto::Identity& alice,
                                                std::vector<std::string> brief,
                                                const std::string& a, const std::string& b) {
  auto config = fast_config();
  config.brief_ids = std::move(brief);
  auto pm = std::make_unique<ProviderManager>(dht, alice, system_clock(), config);
  pm->announce(a, metadata_of(alice), 300s);
  pm->announce(b, metadata_of(alice), 300s);
  EXPECT_TRUE(eventually([&] { return pm->stats().puts_ok == 2; }));
  return pm;
}

dht::ValueKind first_kind(FakeDht& dht, const std::string& id) {
  const auto values = dht.values(dht::provider_key(id));
  return values.empty() ? dht::ValueKind::raw : values[0].kind;
}

TEST_F(ProviderManagerTest, AnnouncementsAndWithdrawalsOfABriefIdArePutAsBriefRecords) {
  auto pm = announcing_two(dht, alice, {"joins"}, "joins", "m1");
  ASSERT_EQ(dht.values(dht::provider_key("joins")).size(), 1u);
  EXPECT_EQ(first_kind(dht, "joins"), dht::ValueKind::brief_provider_record);
  EXPECT_EQ(first_kind(dht, "m1"), dht::ValueKind::provider_record);
  pm->withdraw("joins");
  ASSERT_TRUE(eventually([&] { return pm->stats().puts_ok == 3; }));
  for (const auto& v : dht.values(dht::provider_key("joins"))) {
    EXPECT_EQ(v.kind, dht::ValueKind::brief_provider_record);
  }
}

TEST_F(ProviderManagerTest, ABriefIdEndingInAColonCoversEveryIdItBegins) {
  auto pm = announcing_two(dht, alice, {"joins:"}, "joins:7", "joins");
  EXPECT_EQ(first_kind(dht, "joins:7"), dht::ValueKind::brief_provider_record);
  EXPECT_EQ(first_kind(dht, "joins"), dht::ValueKind::provider_record);
}

TEST_F(ProviderManagerTest, BriefRecordsAreDiscoveredLikeAnyOther) {
  auto config = fast_config();
  config.brief_ids = {"joins"};
  ProviderManager announcer(dht, bob, system_clock(), config);
  ProviderManager reader(dht, alice, system_clock(), fast_config());
  announcer.announce("joins", metadata_of(bob), 300s);
  ASSERT_TRUE(eventually([&] { return announcer.stats().puts_ok == 1; }));
  auto found = reader.discover_once("joins");
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].metadata.node_id, bob.node_id());
}

TEST_F(ProviderManagerTest, StopAnnouncingCancelsThePutWithoutAWithdrawal) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.announce("m1", metadata_of(alice), 300s);
  ASSERT_TRUE(eventually([&] { return pm.stats().puts_ok == 1; }));
  ASSERT_EQ(dht.permanent_ids(dht::provider_key("m1")).size(), 1u);
  pm.stop_announcing("m1");
  ASSERT_TRUE(eventually([&] { return dht.permanent_ids(dht::provider_key("m1")).empty(); }));
  EXPECT_TRUE(pm.announced().empty());
  // The record stays as it was (until it expires at the storing nodes): no withdrawal put.
  const auto records = stored_records(dht, "m1");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].withdrawn);
  const int puts = dht.puts;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(dht.puts, puts);
}

TEST_F(ProviderManagerTest, RefreshIntervalIsHalfTheTtlCappedByTheMaximum) {
  ProviderConfig c;
  EXPECT_EQ(ProviderManager::refresh_interval(3600s, c), 1800s);
  EXPECT_EQ(ProviderManager::refresh_interval(7200s, c), 1800s);
  EXPECT_EQ(ProviderManager::refresh_interval(10s, c), 5s);
}

TEST_F(ProviderManagerTest, DiscoverReturnsVerifiedProvidersOfOtherNodes) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice, "10.0.0.1:7401"), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  auto found = b.discover("m1");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].manifest_id, "m1");
  EXPECT_EQ(found[0].metadata.node_id, alice.node_id());
  EXPECT_EQ(found[0].metadata.rpc_endpoint, "10.0.0.1:7401");
  EXPECT_EQ(found[0].metadata.capabilities.at("gpu"), "none");
  EXPECT_EQ(found[0].ttl_s, 600);
}

TEST_F(ProviderManagerTest, DiscoverIgnoresForgedAndForeignValues) {
  auto mallory = identity_n(9);
  // Signed by mallory but naming alice; a tampered record; garbage; another manifest's record.
  auto forged = testing::provider_record(mallory, "m1", 1, system_clock().now_ms());
  forged.node_id = alice.node_id();
  dht.put_raw(dht::provider_key("m1"),
              {0, dht::ValueKind::provider_record, crypto::sign_provider_record(mallory, forged)});
  auto tampered = signed_provider_record(alice, "m1", 1, system_clock().now_ms());
  tampered[tampered.size() / 2] ^= 0x01;
  dht.put_raw(dht::provider_key("m1"), {0, dht::ValueKind::provider_record, tampered});
  dht.put_raw(dht::provider_key("m1"), {0, dht::ValueKind::provider_record, to_bytes("junk")});
  dht.put_raw(dht::provider_key("m1"),
              {0, dht::ValueKind::provider_record,
               signed_provider_record(alice, "m2", 1, system_clock().now_ms())});
  // One good record.
  dht.put_raw(dht::provider_key("m1"),
              {0, dht::ValueKind::provider_record,
               signed_provider_record(bob, "m1", 1, system_clock().now_ms())});
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  auto found = pm.discover("m1");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metadata.node_id, bob.node_id());
  EXPECT_GE(pm.stats().records_rejected, 4u);
}

TEST_F(ProviderManagerTest, ASecondDiscoverIsACacheHit) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(b.discover("m1").size(), 1u);
  const int gets = dht.gets;
  auto again = b.discover("m1");
  EXPECT_EQ(again.size(), 1u);
  EXPECT_EQ(dht.gets, gets);
  EXPECT_EQ(b.stats().cache_hits, 1u);
  EXPECT_EQ(b.stats().cache_misses, 1u);
}

TEST_F(ProviderManagerTest, CachedAnswersFromTheCacheOnlyAndNeverReadsTheDht) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  const int before = dht.gets;
  EXPECT_FALSE(b.cached("m1").has_value()) << "nothing discovered yet";
  EXPECT_EQ(dht.gets, before);
  ASSERT_EQ(b.discover("m1").size(), 1u);
  const int after_discover = dht.gets;
  auto cached = b.cached("m1");
  ASSERT_TRUE(cached.has_value());
  ASSERT_EQ(cached->size(), 1u);
  EXPECT_EQ((*cached)[0].metadata.node_id, alice.node_id());
  EXPECT_EQ(dht.gets, after_discover);
}

TEST_F(ProviderManagerTest, TheCacheExpiresAfterItsTtl) {
  ManualClock clock(system_clock().now_ms());
  ProviderManager a(dht, alice, clock, fast_config());
  ProviderManager b(dht, bob, clock, fast_config());
  a.announce("m1", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(b.discover("m1").size(), 1u);
  clock.advance_ms(std::chrono::milliseconds(5min).count());
  const int gets = dht.gets;
  EXPECT_EQ(b.discover("m1").size(), 1u);
  EXPECT_EQ(dht.gets, gets + 1);
}

TEST_F(ProviderManagerTest, ListenUpdatesKeepTheCacheCurrent) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  ProviderManager c(dht, identity_n(3), system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(c.discover("m1").size(), 1u);
  b.announce("m1", metadata_of(bob), 600s);
  // c's cached entry learns about bob through its listen, without another get.
  const int gets = dht.gets;
  ASSERT_TRUE(eventually([&] { return c.discover("m1").size() == 2; }));
  EXPECT_EQ(dht.gets, gets);
  a.withdraw("m1");
  ASSERT_TRUE(eventually([&] { return c.discover("m1").size() == 1; }));
  EXPECT_EQ(dht.gets, gets);
}

TEST_F(ProviderManagerTest, ExpiryNoticesInvalidateTheCache) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(b.discover("m1").size(), 1u);
  const int gets = dht.gets;
  dht.expire_all(dht::provider_key("m1"));
  b.discover("m1");
  EXPECT_EQ(dht.gets, gets + 1);
}

TEST_F(ProviderManagerTest, WithdrawPublishesANewerWithdrawnRecordAndStopsRefreshing) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 1s);
  ASSERT_TRUE(eventually([&] { return b.discover("m1").size() == 1; }));
  std::promise<Result<void>> done;
  a.withdraw("m1", [&](Result<void> r) { done.set_value(r); });
  auto fut = done.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(fut.get().ok());
  EXPECT_TRUE(a.announced().empty());
  auto records = stored_records(dht, "m1");
  auto newest = *std::max_element(records.begin(), records.end(),
                                  [](auto& x, auto& y) { return x.sequence < y.sequence; });
  EXPECT_TRUE(newest.withdrawn);
  EXPECT_TRUE(b.discover("m1").empty());
  // No refresh follows: the record count stays put over more than a refresh interval.
  const auto count = dht.values(dht::provider_key("m1")).size();
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(dht.values(dht::provider_key("m1")).size(), count);
}

TEST_F(ProviderManagerTest, WithdrawAfterARestartStillHidesTheOldAnnouncement) {
  {
    ProviderManager before(dht, alice, system_clock(), fast_config());
    before.announce("m1", metadata_of(alice), 600s);
    ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  }
  ProviderManager after(dht, alice, system_clock(), fast_config());  // knows nothing of m1
  after.withdraw("m1");
  ProviderManager b(dht, bob, system_clock(), fast_config());
  ASSERT_TRUE(eventually([&] { return stored_records(dht, "m1").size() == 2; }));
  EXPECT_TRUE(b.discover("m1").empty());
}

TEST_F(ProviderManagerTest, AnnouncingAgainAfterWithdrawComesBack) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  a.withdraw("m1");
  a.announce("m1", metadata_of(alice, "10.0.0.9:1"), 600s);
  ASSERT_TRUE(eventually([&] {
    auto f = b.discover("m1");
    return f.size() == 1 && f[0].metadata.rpc_endpoint == "10.0.0.9:1";
  }));
}

TEST_F(ProviderManagerTest, DhtFailureReturnsTheCachedProviders) {
  ManualClock clock(system_clock().now_ms());
  ProviderManager a(dht, alice, clock, fast_config());
  ProviderManager b(dht, bob, clock, fast_config());
  a.announce("m1", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(b.discover("m1").size(), 1u);
  clock.advance_ms(std::chrono::milliseconds(6min).count());  // cache entry is stale now
  dht.fail_gets = true;
  auto found = b.discover("m1");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metadata.node_id, alice.node_id());
  EXPECT_EQ(b.stats().dht_failures, 1u);
}

TEST_F(ProviderManagerTest, DhtFailureWithNothingCachedReturnsEmpty) {
  dht.fail_gets = true;
  ProviderManager b(dht, bob, system_clock(), fast_config());
  EXPECT_TRUE(b.discover("m1").empty());
}

TEST_F(ProviderManagerTest, ADhtThatNeverAnswersTimesOutToEmpty) {
  dht.hang_gets = true;
  ProviderManager b(dht, bob, system_clock(), fast_config());  // discovery_timeout 300 ms
  auto found = b.discover("m1");
  EXPECT_TRUE(found.empty());
  EXPECT_EQ(b.stats().dht_failures, 1u);
}

TEST_F(ProviderManagerTest, AStaleFallbackStillDropsExpiredProviders) {
  ManualClock clock(system_clock().now_ms());
  ProviderManager a(dht, alice, clock, fast_config());
  ProviderManager b(dht, bob, clock, fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(b.discover("m1").size(), 1u);
  clock.advance_ms(601'000);
  dht.fail_gets = true;
  EXPECT_TRUE(b.discover("m1").empty());
}

TEST_F(ProviderManagerTest, EmptyResultsAreNotCached) {
  ProviderManager b(dht, bob, system_clock(), fast_config());
  EXPECT_TRUE(b.discover("m1").empty());
  EXPECT_TRUE(b.discover("m1").empty());
  EXPECT_EQ(dht.gets, 2);
  EXPECT_EQ(b.stats().cache_entries, 0u);
}

TEST_F(ProviderManagerTest, TheCacheIsBoundedAndEvictedEntriesStopListening) {
  auto config = fast_config();
  config.cache_capacity = 2;
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), config);
  for (const auto* m : {"m1", "m2", "m3"}) a.announce(m, metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return stored_records(dht, "m3").size() == 1; }));
  ASSERT_TRUE(eventually([&] { return stored_records(dht, "m1").size() == 1; }));
  for (const auto* m : {"m1", "m2", "m3"}) EXPECT_EQ(b.discover(m).size(), 1u);
  EXPECT_EQ(b.stats().cache_entries, 2u);
  EXPECT_EQ(dht.active_listens(), 2u);
}

TEST_F(ProviderManagerTest, CleanupDropsEntriesWhoseProvidersExpired) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  auto config = fast_config();
  config.cache_ttl = 100ms;
  ProviderManager b(dht, bob, system_clock(), config);
  // A record with a 1 s TTL that is never refreshed (written directly).
  dht.put_raw(dht::provider_key("m1"),
              {0, dht::ValueKind::provider_record,
               signed_provider_record(alice, "m1", 1, system_clock().now_ms(), 1)});
  ASSERT_EQ(b.discover("m1").size(), 1u);
  EXPECT_EQ(b.stats().cache_entries, 1u);
  ASSERT_TRUE(eventually([&] { return b.stats().cache_entries == 0; }));
  EXPECT_EQ(dht.active_listens(), 0u);
}

TEST_F(ProviderManagerTest, DiscoverCapsAtMaxProviders) {
  const auto now = system_clock().now_ms();
  for (uint8_t i = 10; i < 70; ++i) {
    dht.put_raw(dht::provider_key("m1"),
                {0, dht::ValueKind::provider_record,
                 signed_provider_record(identity_n(i), "m1", 1, now - 100 + i)});
  }
  ProviderManager b(dht, bob, system_clock(), fast_config());
  auto found = b.discover("m1");
  ASSERT_EQ(found.size(), 50u);
  EXPECT_EQ(found.front().timestamp_ms, now - 100 + 69);
}

// ---- discover_once(): for keys read rarely (the directory's shards) ----

TEST_F(ProviderManagerTest, DiscoverOnceGetsFromTheDhtOnEveryCallAndNeverListens) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  const int gets = dht.gets;
  for (int i = 0; i < 2; ++i) {
    auto found = b.discover_once("m1");
    ASSERT_TRUE(found.ok()) << found.error().to_string();
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ(found->front().metadata.node_id, alice.node_id());
  }
  EXPECT_EQ(dht.gets, gets + 2);
  EXPECT_EQ(dht.active_listens(), 0u);
}

TEST_F(ProviderManagerTest, DiscoverOnceLeavesNoCacheEntryBehind) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_TRUE(b.discover_once("m1").ok());
  EXPECT_EQ(b.stats().cache_entries, 0u);
  const int gets = dht.gets;
  EXPECT_EQ(b.discover("m1").size(), 1u);
  EXPECT_EQ(dht.gets, gets + 1) << "a later discover() is not answered from an unlistened read";
}

TEST_F(ProviderManagerTest, DiscoverOnceReturnsTheDhtFailureInsteadOfAStaleAnswer) {
  ManualClock clock(system_clock().now_ms());
  ProviderManager a(dht, alice, clock, fast_config());
  ProviderManager b(dht, bob, clock, fast_config());
  a.announce("m1", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(b.discover("m1").size(), 1u);  // cached
  dht.fail_gets = true;
  auto found = b.discover_once("m1");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, "dht_get_failed");
}

TEST_F(ProviderManagerTest, DiscoverOnceDropsWithdrawnProviders) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  a.withdraw("m1");
  ASSERT_TRUE(eventually([&] {
    auto found = b.discover_once("m1");
    return found.ok() && found->empty();
  }));
}

// ---- discover_once(id, memory): re-reads by value id (the directory's shards) ----

// Node `i` of a test mesh announces "m1" (a record put at once into the fake DHT).
class ReadMemoryTest : public ProviderManagerTest {
 protected:
  ProviderManager& announcer(int i) {
    ids_.push_back(std::make_unique<crypto::Identity>(identity_n(10 + i)));
    managers_.push_back(
        std::make_unique<ProviderManager>(dht, *ids_.back(), system_clock(), fast_config()));
    managers_.back()->announce("m1", metadata_of(*ids_.back()), 600s);
    const size_t want = managers_.size();
    EXPECT_TRUE(eventually([&] { return stored_records(dht, "m1").size() == want; }));
    return *managers_.back();
  }
  static std::set<std::string> node_ids(const std::vector<ProviderInfo>& found) {
    std::set<std::string> out;
    for (const auto& p : found) out.insert(p.metadata.node_id);
    return out;
  }
  std::set<std::string> announced_ids() const {
    std::set<std::string> out;
    for (const auto& id : ids_) out.insert(id->node_id());
    return out;
  }

  ProviderManager reader{dht, bob, system_clock(), fast_config()};
  ReadMemory memory;
  std::vector<std::unique_ptr<crypto::Identity>> ids_;
  std::vector<std::unique_ptr<ProviderManager>> managers_;
};

TEST_F(ReadMemoryTest, TheFirstReadThroughAnEmptyMemoryIsAGet) {
  announcer(0);
  const int gets = dht.gets;
  auto found = reader.discover_once("m1", memory);
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  EXPECT_EQ(node_ids(*found), announced_ids());
  EXPECT_EQ(dht.gets, gets + 1);
  EXPECT_EQ(dht.id_gets, 0);
  EXPECT_EQ(memory.size(), 1u);
}

TEST_F(ReadMemoryTest, AReReadOfAnUnchangedKeyAsksForValueIdsOnly) {
  for (int i = 0; i < 3; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids());
  EXPECT_EQ(dht.gets, gets) << "no get of the records";
  EXPECT_EQ(dht.id_gets, 1);
  EXPECT_EQ(dht.value_gets, 0);
  EXPECT_EQ(reader.stats().id_reads, 1u);
}

TEST_F(ReadMemoryTest, ANewValueIsFetchedByItsIdAlone) {
  for (int i = 0; i < 5; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  announcer(5);
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids());
  EXPECT_EQ(dht.gets, gets);
  EXPECT_EQ(dht.value_gets, 1);
  EXPECT_EQ(reader.stats().values_fetched, 1u);
}

TEST_F(ReadMemoryTest, ManyNewValuesAreReadWithOneGet) {
  announcer(0);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  for (int i = 1; i < 4; ++i) announcer(i);
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids());
  EXPECT_EQ(dht.gets, gets + 1) << "3 new ids of 4: more than max(1, 4 / 5)";
  EXPECT_EQ(dht.value_gets, 0);
  EXPECT_EQ(memory.size(), 4u);
}

// Hostile: a key flooded with values (a storing node can answer with any ids). However many
// are new, a read fetches at most kMaxFetchesById of them one by one; more cost one get.
TEST_F(ReadMemoryTest, MoreNewIdsThanKMaxFetchesByIdAreReadWithOneGet) {
  announcer(0);
  for (int i = 0; i < 60; ++i) {
    dht.put_raw(dht::provider_key("m1"),
                dht::Value{0, dht::ValueKind::provider_record, to_bytes("junk")});
  }
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  ASSERT_EQ(memory.size(), 61u);
  for (size_t i = 0; i < kMaxFetchesById + 1; ++i) {
    dht.put_raw(dht::provider_key("m1"),
                dht::Value{0, dht::ValueKind::provider_record, to_bytes("more junk")});
  }
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->size(), 1u);
  EXPECT_EQ(dht.value_gets, 0) << "9 new of 70: fewer than ids / 5, more than kMaxFetchesById";
  EXPECT_EQ(dht.gets, gets + 1);
}

TEST_F(ReadMemoryTest, AReadTellsWhichNodesItListsAsWithdrawn) {
  for (int i = 0; i < 2; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  managers_[0]->withdraw("m1");
  ASSERT_TRUE(eventually([&] {
    const auto stored = stored_records(dht, "m1");
    return std::any_of(stored.begin(), stored.end(), [](const auto& r) { return r.withdrawn; });
  }));
  std::vector<std::string> withdrawn;
  auto again = reader.discover_once("m1", memory, &withdrawn);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), std::set<std::string>{ids_[1]->node_id()});
  EXPECT_EQ(withdrawn, std::vector<std::string>{ids_[0]->node_id()});
}

TEST_F(ReadMemoryTest, AValueGoneFromTheKeyIsNoLongerListedAndForgotten) {
  for (int i = 0; i < 2; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  const auto gone = dht.values(dht::provider_key("m1")).front();
  dht.erase(dht::provider_key("m1"), gone.id);
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->size(), 1u);
  EXPECT_EQ(memory.size(), 1u);
}

TEST_F(ReadMemoryTest, ANewIdNoStoringNodeServesIsReadAgainWithOneGet) {
  for (int i = 0; i < 5; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  announcer(5);
  const auto values = dht.values(dht::provider_key("m1"));
  dht.withhold(values.back().id);
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids()) << "the get lists the new node";
  EXPECT_EQ(dht.value_gets, 1);
  EXPECT_EQ(dht.gets, gets + 1);
  EXPECT_EQ(reader.stats().unclean_id_reads, 1u);
  EXPECT_EQ(reader.stats().id_reads, 0u);
  EXPECT_EQ(memory.size(), 6u);
}

TEST_F(ReadMemoryTest, ANodeWhoseRememberedRecordIsMissingFromTheIdsIsReadAgainWithOneGet) {
  for (int i = 0; i < 3; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  dht.hide_from_ids(dht.values(dht::provider_key("m1")).front().id);
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids()) << "the get still lists it";
  EXPECT_EQ(dht.gets, gets + 1);
  EXPECT_EQ(reader.stats().unclean_id_reads, 1u);
}

TEST_F(ReadMemoryTest, ARecordReSignedUnderANewIdIsACleanReadByIds) {
  for (int i = 0; i < 5; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  const auto old = dht.values(dht::provider_key("m1")).front();
  managers_.front()->announce("m1", metadata_of(*ids_.front()), 900s);  // a new value id
  ASSERT_TRUE(eventually([&] { return dht.values(dht::provider_key("m1")).size() == 6; }));
  dht.erase(dht::provider_key("m1"), old.id);
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids());
  EXPECT_EQ(dht.gets, gets) << "the node is listed by its new record";
  EXPECT_EQ(dht.value_gets, 1);
  EXPECT_EQ(reader.stats().id_reads, 1u);
  EXPECT_EQ(reader.stats().unclean_id_reads, 0u);
}

TEST_F(ReadMemoryTest, ARememberedRecordPastItsTtlIsDropped) {
  ManualClock clock(system_clock().now_ms());
  ProviderManager a(dht, alice, clock, fast_config());
  ProviderManager late_reader(dht, bob, clock, fast_config());
  a.announce("m1", metadata_of(alice), 60s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  ASSERT_EQ(late_reader.discover_once("m1", memory)->size(), 1u);
  clock.advance_ms(61'000);
  auto again = late_reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(dht.id_gets, 1) << "read by ids: the remembered record was checked again";
}

TEST_F(ReadMemoryTest, AFailedReadKeepsTheMemory) {
  announcer(0);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  dht.fail_gets = true;
  auto failed = reader.discover_once("m1", memory);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "dht_get_failed");
  EXPECT_EQ(memory.size(), 1u);
}

TEST_F(ReadMemoryTest, AValueThatDoesNotOpenIsRememberedAndNotFetchedAgain) {
  announcer(0);
  dht.put_raw(dht::provider_key("m1"),
              dht::Value{0, dht::ValueKind::provider_record, to_bytes("not a record")});
  ASSERT_EQ(reader.discover_once("m1", memory)->size(), 1u);
  const auto rejected = reader.stats().records_rejected;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->size(), 1u);
  EXPECT_EQ(dht.value_gets, 0);
  EXPECT_EQ(reader.stats().records_rejected, rejected) << "opened once, not again";
}

// ---- ReadMemory::seed(): records told by their signer before a read lists them ----

TEST_F(ReadMemoryTest, ASeededIdTheIdsListIsTakenWithoutAFetch) {
  for (int i = 0; i < 5; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  const auto before = dht.values(dht::provider_key("m1"));
  announcer(5);
  for (const auto& v : dht.values(dht::provider_key("m1"))) {
    if (std::none_of(before.begin(), before.end(), [&](const auto& b) { return b.id == v.id; })) {
      auto record = crypto::open_provider_record(v.data);
      ASSERT_TRUE(record.ok());
      memory.seed(v.id, std::make_shared<const protocol::ProviderRecord>(*record));
    }
  }
  ASSERT_EQ(memory.seeded(), 1u);
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids());
  EXPECT_EQ(dht.gets, gets);
  EXPECT_EQ(dht.value_gets, 0) << "the new id was seeded: nothing to fetch";
  EXPECT_EQ(reader.stats().id_reads, 1u);
  EXPECT_EQ(memory.size(), 6u);
  EXPECT_EQ(memory.seeded(), 0u);
}

TEST_F(ReadMemoryTest, ASeededIdTheIdsLackIsForgottenAndTheReadStaysClean) {
  for (int i = 0; i < 3; ++i) announcer(i);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  auto record = stored_records(dht, "m1").front();
  record.node_id = alice.node_id();  // a record not stored yet, of a node not listed
  memory.seed(42, std::make_shared<const protocol::ProviderRecord>(record));
  const int gets = dht.gets;
  auto again = reader.discover_once("m1", memory);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(node_ids(*again), announced_ids()) << "a seed is listed only once its id is";
  EXPECT_EQ(dht.gets, gets);
  EXPECT_EQ(reader.stats().id_reads, 1u);
  EXPECT_EQ(reader.stats().unclean_id_reads, 0u);
  EXPECT_EQ(memory.seeded(), 0u);
  EXPECT_EQ(memory.size(), 3u);
}

TEST_F(ReadMemoryTest, SeedsDoNotMakeTheFirstReadOneByIds) {
  announcer(0);
  const auto v = dht.values(dht::provider_key("m1")).front();
  memory.seed(v.id,
              std::make_shared<const protocol::ProviderRecord>(stored_records(dht, "m1").front()));
  EXPECT_TRUE(memory.empty());
  const int gets = dht.gets;
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  EXPECT_EQ(dht.gets, gets + 1);
  EXPECT_EQ(dht.id_gets, 0);
}

TEST_F(ReadMemoryTest, ASeedOfARememberedIdIsIgnored) {
  announcer(0);
  ASSERT_TRUE(reader.discover_once("m1", memory).ok());
  const auto v = dht.values(dht::provider_key("m1")).front();
  auto other = stored_records(dht, "m1").front();
  other.node_id = alice.node_id();
  memory.seed(v.id, std::make_shared<const protocol::ProviderRecord>(other));
  EXPECT_EQ(memory.seeded(), 0u) << "what a read found is not replaced by what a node says";
}

// ---- stable_ids: records re-signed every ttl / 2 only ----

TEST_F(ProviderManagerTest, AStableRecordIsPutUnderTheStableValueIdOfItsSequence) {
  auto config = fast_config();
  config.stable_ids = {"stable:"};
  ProviderManager a(dht, alice, system_clock(), config);
  a.announce("stable:1", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "stable:1").empty(); }));
  const auto published = a.published("stable:1");
  ASSERT_TRUE(published.has_value());
  const auto record = stored_records(dht, "stable:1").front();
  EXPECT_EQ(published->sequence, record.sequence);
  EXPECT_EQ(published->timestamp_ms, record.timestamp_ms);
  EXPECT_EQ(published->ttl_s, 3600);
  EXPECT_EQ(published->value_id,
            stable_value_id(alice.node_id(), "stable:1", record.sequence, published->salt));
  EXPECT_EQ(dht.values(dht::provider_key("stable:1")).front().id, published->value_id);
}

TEST_F(ProviderManagerTest, PublishedIsEmptyForAManifestNotAnnouncedOrWithdrawn) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  EXPECT_FALSE(a.published("m1").has_value());
  a.announce("m1", metadata_of(alice), 600s);
  EXPECT_TRUE(a.published("m1").has_value());
  a.withdraw("m1");
  EXPECT_FALSE(a.published("m1").has_value());
}

TEST(StableValueId, DiffersBySignerManifestSequenceAndSaltAndIsNeverZero) {
  const auto id = stable_value_id("bmA", "beemesh:nodes:1", 7, 99);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(id, stable_value_id("bmA", "beemesh:nodes:1", 7, 99));
  EXPECT_NE(id, stable_value_id("bmB", "beemesh:nodes:1", 7, 99));
  EXPECT_NE(id, stable_value_id("bmA", "beemesh:nodes:2", 7, 99));
  EXPECT_NE(id, stable_value_id("bmA", "beemesh:nodes:1", 8, 99));
  EXPECT_NE(id, stable_value_id("bmA", "beemesh:nodes:1", 7, 98));
  EXPECT_NE(stable_value_id("bmA", "b", 7, 99), stable_value_id("bm", "Ab", 7, 99))
      << "parts are delimited";
}

// Hostile: a value put first under the id of a record not put yet makes the storing nodes
// refuse that record (OpenDHT's edit policy), so the next record's id must not be guessable
// from the last one's sequence.
TEST_F(ProviderManagerTest, AReSignedStableRecordsIdCannotBeToldFromItsSequenceAlone) {
  auto config = fast_config();
  config.stable_ids = {"stable:"};
  ProviderManager a(dht, alice, system_clock(), config);
  a.announce("stable:1", metadata_of(alice), 3600s);
  const auto first = a.published("stable:1");
  a.announce("stable:1", metadata_of(alice), 3600s);
  const auto second = a.published("stable:1");
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->salt, second->salt);
  EXPECT_NE(second->value_id,
            stable_value_id(alice.node_id(), "stable:1", second->sequence, first->salt));
}

TEST_F(ProviderManagerTest, AStableIdKeepsItsValueIdPastMaxRefreshInterval) {
  auto config = fast_config();
  config.max_refresh_interval = 1s;
  config.stable_ids = {"stable:"};
  ProviderManager a(dht, alice, system_clock(), config);
  a.announce("stable:1", metadata_of(alice), 3600s);
  a.announce("other", metadata_of(alice), 3600s);
  ASSERT_TRUE(eventually([&] {
    return !stored_records(dht, "stable:1").empty() && !stored_records(dht, "other").empty();
  }));
  const auto stable_id = dht.permanent_ids(dht::provider_key("stable:1"));
  const auto other_id = dht.permanent_ids(dht::provider_key("other"));
  ASSERT_TRUE(
      eventually([&] { return dht.permanent_ids(dht::provider_key("other")) != other_id; }, 5s))
      << "a record not listed is re-signed after max_refresh_interval";
  EXPECT_EQ(dht.permanent_ids(dht::provider_key("stable:1")), stable_id);
}

// ---- watch(): for a key read often that is usually empty (the directory's joins) ----

TEST_F(ProviderManagerTest, AWatchedEmptyKeyIsCachedAndListenedTo) {
  ProviderManager b(dht, bob, system_clock(), fast_config());
  b.watch("joins");
  EXPECT_TRUE(b.discover("joins").empty());
  const int gets = dht.gets;
  EXPECT_TRUE(b.discover("joins").empty());
  EXPECT_EQ(dht.gets, gets) << "the empty answer is a cache hit";
  EXPECT_EQ(dht.active_listens(), 1u);
}

TEST_F(ProviderManagerTest, AWatchedKeyLearnsOfAnAnnouncementThroughItsListen) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  b.watch("joins");
  ASSERT_TRUE(b.discover("joins").empty());
  const int gets = dht.gets;
  a.announce("joins", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return b.discover("joins").size() == 1; }));
  EXPECT_EQ(dht.gets, gets);
}

TEST_F(ProviderManagerTest, CleanupKeepsAWatchedEntryAndItsListen) {
  auto config = fast_config();
  config.cache_ttl = 50ms;  // cleanup every 20 ms would drop an unwatched empty entry
  ProviderManager b(dht, bob, system_clock(), config);
  b.watch("joins");
  ASSERT_TRUE(b.discover("joins").empty());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(b.stats().cache_entries, 1u);
  EXPECT_EQ(dht.active_listens(), 1u);
}

TEST_F(ProviderManagerTest, ExpiryNoticesDoNotInvalidateAWatchedKey) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce("joins", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "joins").empty(); }));
  b.watch("joins");
  ASSERT_EQ(b.discover("joins").size(), 1u);
  const int gets = dht.gets;
  dht.expire_all(dht::provider_key("joins"));
  EXPECT_EQ(b.discover("joins").size(), 1u) << "the record itself is still within its TTL";
  EXPECT_EQ(dht.gets, gets);
}

TEST_F(ProviderManagerTest, UnwatchDropsTheEntryAndCancelsItsListenAtOnce) {
  auto config = fast_config();
  config.cleanup_interval = 1h;  // nothing left to the cleanup
  ProviderManager announcer(dht, bob, system_clock(), fast_config());
  announcer.announce("m1", metadata_of(bob), 300s);
  ASSERT_TRUE(eventually([&] { return announcer.stats().puts_ok == 1; }));
  ProviderManager pm(dht, alice, system_clock(), config);
  pm.watch("m1");
  ASSERT_FALSE(pm.discover("m1").empty());
  ASSERT_TRUE(eventually([&] { return dht.active_listens() == 1; }));
  pm.unwatch("m1");
  EXPECT_EQ(dht.active_listens(), 0u);
  const int gets = dht.gets;
  (void)pm.discover("m1");
  EXPECT_EQ(dht.gets, gets + 1) << "the entry is no longer a cache hit";
}

TEST_F(ProviderManagerTest, AnUnwatchedKeyIsCachedOnlyWhenItListsAProvider) {
  ProviderManager b(dht, bob, system_clock(), fast_config());
  b.watch("joins");
  b.unwatch("joins");
  EXPECT_TRUE(b.discover("joins").empty());
  EXPECT_EQ(b.stats().cache_entries, 0u);
  EXPECT_EQ(dht.active_listens(), 0u);
}

TEST_F(ProviderManagerTest, AnnouncedRecordsCarryTheIdentitysCredential) {
  alice.set_credential(to_bytes("alice's credential"));
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  EXPECT_EQ(stored_records(dht, "m1")[0].credential, to_bytes("alice's credential"));
}

TEST_F(ProviderManagerTest, WithdrawalsCarryTheIdentitysCredential) {
  alice.set_credential(to_bytes("alice's credential"));
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.withdraw("m1");
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  auto records = stored_records(dht, "m1");
  EXPECT_TRUE(records[0].withdrawn);
  EXPECT_EQ(records[0].credential, to_bytes("alice's credential"));
}

TEST_F(ProviderManagerTest, DiscoverRefusesRecordsDatedMoreThan30SecondsAhead) {
  const auto now = system_clock().now_ms();
  dht.put_raw(dht::provider_key("m1"), {0, dht::ValueKind::provider_record,
                                        signed_provider_record(bob, "m1", 1, now + 300'000)});
  dht.put_raw(dht::provider_key("m1"), {0, dht::ValueKind::provider_record,
                                        signed_provider_record(identity_n(3), "m1", 1, now)});
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  auto found = pm.discover("m1");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metadata.node_id, identity_n(3).node_id());
  EXPECT_GE(pm.stats().records_out_of_range, 1u);  // the listen may see it again
}

TEST_F(ProviderManagerTest, DiscoverRefusesRecordsWithATtlOverOneDay) {
  const auto now = system_clock().now_ms();
  dht.put_raw(dht::provider_key("m1"),
              {0, dht::ValueKind::provider_record,
               signed_provider_record(bob, "m1", 1, now, /*ttl_s=*/86'401)});
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  EXPECT_TRUE(pm.discover("m1").empty());
  EXPECT_GE(pm.stats().records_out_of_range, 1u);
}

TEST_F(ProviderManagerTest, AnnounceCapsTheTtlAtOneDay) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  pm.announce("m1", metadata_of(alice), 100'000s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  EXPECT_EQ(stored_records(dht, "m1")[0].ttl_s, 86'400);
}

class ProviderMembershipTest : public ProviderManagerTest {
 protected:
  crypto::Identity admin = identity_n(100);
  crypto::Membership membership{admin.public_key(), "prod", system_clock()};

  Bytes credential(const crypto::Identity& subject, crypto::CertKind kind) {
    const auto now = system_clock().now_ms();
    return crypto::make_credential(crypto::issue_certificate(
        admin,
        crypto::CertificateBody{
            .kind = kind,
            .subject = subject.public_key(),
            .name = "n",
            .role = kind == crypto::CertKind::kUser ? crypto::Role::kDeployer : crypto::Role::kNone,
            .mesh_id = "prod",
            .issued_ms = now,
            .expires_ms = now + 3'600'000}));
  }
  void put_record(const crypto::Identity& signer, Bytes cred) {
    auto r = testing::provider_record(signer, "m1", 1, system_clock().now_ms());
    r.credential = std::move(cred);
    dht.put_raw(dht::provider_key("m1"),
                {0, dht::ValueKind::provider_record, crypto::sign_provider_record(signer, r)});
  }
  ProviderConfig members_only() {
    auto c = fast_config();
    c.membership = &membership;
    return c;
  }
};

TEST_F(ProviderMembershipTest, DiscoverKeepsRecordsOfMemberNodes) {
  put_record(bob, credential(bob, crypto::CertKind::kNode));
  ProviderManager pm(dht, alice, system_clock(), members_only());
  auto found = pm.discover("m1");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metadata.node_id, bob.node_id());
}

TEST_F(ProviderMembershipTest, DiscoverDropsRecordsWithoutACredential) {
  put_record(bob, {});
  ProviderManager pm(dht, alice, system_clock(), members_only());
  EXPECT_TRUE(pm.discover("m1").empty());
  EXPECT_GE(pm.stats().records_not_member, 1u);
}

TEST_F(ProviderMembershipTest, DiscoverDropsRecordsWithASelfIssuedCredential) {
  auto mallory = identity_n(9);
  const auto now = system_clock().now_ms();
  put_record(mallory, crypto::make_credential(crypto::issue_certificate(
                          mallory, crypto::CertificateBody{.kind = crypto::CertKind::kNode,
                                                           .subject = mallory.public_key(),
                                                           .name = "evil",
                                                           .mesh_id = "prod",
                                                           .issued_ms = now,
                                                           .expires_ms = now + 3'600'000})));
  ProviderManager pm(dht, alice, system_clock(), members_only());
  EXPECT_TRUE(pm.discover("m1").empty());
  EXPECT_GE(pm.stats().records_not_member, 1u);
}

TEST_F(ProviderMembershipTest, DiscoverDropsRecordsCarryingAnotherNodesCredential) {
  put_record(identity_n(9), credential(bob, crypto::CertKind::kNode));
  ProviderManager pm(dht, alice, system_clock(), members_only());
  EXPECT_TRUE(pm.discover("m1").empty());
}

TEST_F(ProviderMembershipTest, DiscoverDropsRecordsSignedByAUserRatherThanANode) {
  put_record(bob, credential(bob, crypto::CertKind::kUser));
  ProviderManager pm(dht, alice, system_clock(), members_only());
  EXPECT_TRUE(pm.discover("m1").empty());
  EXPECT_GE(pm.stats().records_not_member, 1u);
}

TEST_F(ProviderMembershipTest, AnnouncedRecordsOfAMemberAreDiscoveredByMembers) {
  alice.set_credential(credential(alice, crypto::CertKind::kNode));
  ProviderManager a(dht, alice, system_clock(), members_only());
  ProviderManager b(dht, bob, system_clock(), members_only());
  a.announce("m1", metadata_of(alice), 600s);
  ASSERT_TRUE(eventually([&] { return !stored_records(dht, "m1").empty(); }));
  auto found = b.discover("m1");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].metadata.node_id, alice.node_id());
}

TEST_F(ProviderManagerTest, PeerRecordsMapANodeIdToItsEndpoints) {
  ProviderManager a(dht, alice, system_clock(), fast_config());
  ProviderManager b(dht, bob, system_clock(), fast_config());
  a.announce_peer({"127.0.0.1:7401", "[::1]:7401"});
  ASSERT_TRUE(eventually([&] { return b.lookup_peer(alice.node_id()).ok(); }));
  auto peer = b.lookup_peer(alice.node_id());
  EXPECT_EQ(peer->node_id, alice.node_id());
  EXPECT_EQ(peer->endpoints, (std::vector<std::string>{"127.0.0.1:7401", "[::1]:7401"}));
  auto missing = b.lookup_peer(identity_n(5).node_id());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "peer_not_found");
}

TEST_F(ProviderManagerTest, APeerRecordSignedByAnotherNodeIsIgnored) {
  protocol::PeerRecord forged;
  forged.node_id = alice.node_id();
  forged.signer_public_key = alice.public_key();
  forged.endpoints = {"6.6.6.6:1"};
  forged.timestamp_ms = system_clock().now_ms();
  forged.ttl_s = 600;
  forged.sequence = 1;
  dht.put_raw(dht::peer_key(alice.node_id()),
              {0, dht::ValueKind::peer_record, crypto::sign_peer_record(bob, forged)});
  ProviderManager c(dht, identity_n(3), system_clock(), fast_config());
  auto peer = c.lookup_peer(alice.node_id());
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.error().code, "peer_not_found");
}

TEST_F(ProviderManagerTest, StatsReportDhtNodes) {
  ProviderManager pm(dht, alice, system_clock(), fast_config());
  EXPECT_EQ(pm.stats().dht_nodes, 7u);
}

}  // namespace
}  // namespace beemesh::provider
