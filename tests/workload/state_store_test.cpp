// The durable state store: a real SQLite file in a temporary directory.
#include "workload/state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <thread>

#include "workload/fakes.h"

namespace beemesh::workload {
namespace {

using testing::TempDir;

WorkloadRecord sample_workload(const std::string& id, const std::string& manifest_id = "m1") {
  WorkloadRecord r;
  r.id = id;
  r.manifest_id = manifest_id;
  r.owner = "ab12";
  r.engine = "mock";
  r.state = runtime::WorkloadState::Running;
  r.healthy = true;
  r.restart_policy = "OnFailure";
  r.config.replicas = 2;
  r.config.memory_limit_bytes = 64 * 1024 * 1024;
  r.config.env = {{"A", "1"}, {"B", "two"}};
  r.config.volumes = {{"/srv/data", "/data", true}};
  r.config.port_mappings = {{"", "web", 8080, 18080, "TCP", "127.0.0.1"}};
  r.config.publish_ports = true;
  r.config.manifest_id = manifest_id;
  r.config.workload_id = id;
  r.config.labels = {{"tier", "front"}};
  r.pods = {"web-" + id.substr(0, 8) + "-0", "web-" + id.substr(0, 8) + "-1"};
  r.ports = {{r.pods[0], "web", 8080, 30000, "TCP", "127.0.0.1"}};
  r.created_at_ms = 1000;
  r.updated_at_ms = 2000;
  r.restarts = 3;
  r.reserved = {128 * 1024 * 1024, 250};
  r.message = "running";
  return r;
}

void expect_same(const WorkloadRecord& a, const WorkloadRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.manifest_id, b.manifest_id);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.engine, b.engine);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.healthy, b.healthy);
  EXPECT_EQ(a.restart_policy, b.restart_policy);
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.pods, b.pods);
  EXPECT_EQ(a.ports, b.ports);
  EXPECT_EQ(a.created_at_ms, b.created_at_ms);
  EXPECT_EQ(a.updated_at_ms, b.updated_at_ms);
  EXPECT_EQ(a.restarts, b.restarts);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.reserved, b.reserved);
}

std::unique_ptr<StateStore> open_store(const TempDir& dir, const Clock& clock = system_clock()) {
  auto store = StateStore::open(dir.path() / "data" / StateStore::kDefaultFileName, clock);
  EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().to_string());
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(StateStore, WorkloadRoundTripsEveryField) {
  TempDir dir;
  auto store = open_store(dir);
  const auto record = sample_workload("0123456789abcdef");
  ASSERT_TRUE(store->put_workload(record).ok());
  auto loaded = store->get_workload(record.id);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  expect_same(*loaded, record);
}

TEST(StateStore, PutReplacesTheWorkloadWithTheSameId) {
  TempDir dir;
  auto store = open_store(dir);
  auto record = sample_workload("0123456789abcdef");
  ASSERT_TRUE(store->put_workload(record).ok());
  record.healthy = false;
  record.state = runtime::WorkloadState::Failed;
  ASSERT_TRUE(store->put_workload(record).ok());
  auto all = store->list_workloads();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_FALSE(all->front().healthy);
  EXPECT_EQ(all->front().state, runtime::WorkloadState::Failed);
}

TEST(StateStore, MissingRowsAreNotFound) {
  TempDir dir;
  auto store = open_store(dir);
  EXPECT_EQ(store->get_workload("nope").error().code, "not_found");
  EXPECT_EQ(store->get_applied_manifest("nope").error().code, "not_found");
  EXPECT_EQ(store->get_key_share("nope", "owner", 1).error().code, "not_found");
}

TEST(StateStore, DeleteReportsWhetherARowWasRemoved) {
  TempDir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store->put_workload(sample_workload("aaaaaaaaaaaaaaaa")).ok());
  EXPECT_TRUE(store->delete_workload("aaaaaaaaaaaaaaaa").value());
  EXPECT_FALSE(store->delete_workload("aaaaaaaaaaaaaaaa").value());
  EXPECT_EQ(store->get_workload("aaaaaaaaaaaaaaaa").error().code, "not_found");
}

TEST(StateStore, WorkloadsOfSelectsOneManifest) {
  TempDir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store->put_workload(sample_workload("aaaaaaaaaaaaaaaa", "m1")).ok());
  ASSERT_TRUE(store->put_workload(sample_workload("bbbbbbbbbbbbbbbb", "m2")).ok());
  ASSERT_TRUE(store->put_workload(sample_workload("cccccccccccccccc", "m1")).ok());
  auto of_m1 = store->workloads_of("m1");
  ASSERT_TRUE(of_m1.ok());
  ASSERT_EQ(of_m1->size(), 2u);
  EXPECT_EQ((*of_m1)[0].id, "aaaaaaaaaaaaaaaa");
  EXPECT_EQ((*of_m1)[1].id, "cccccccccccccccc");
}

TEST(StateStore, AppliedManifestCrud) {
  TempDir dir;
  ManualClock clock(5000);
  auto store = open_store(dir, clock);
  AppliedManifestRecord record{"m1", "owner-hex", Bytes{0, 1, 2, 0xff}, 0};
  ASSERT_TRUE(store->put_applied_manifest(record).ok());
  auto loaded = store->get_applied_manifest("m1");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->owner, "owner-hex");
  EXPECT_EQ(loaded->record, record.record);
  EXPECT_EQ(loaded->updated_at_ms, 5000);  // filled from the clock

  record.record = Bytes{9};
  record.updated_at_ms = 6000;
  ASSERT_TRUE(store->put_applied_manifest(record).ok());
  EXPECT_EQ(store->get_applied_manifest("m1")->record, Bytes{9});
  EXPECT_EQ(store->list_applied_manifests()->size(), 1u);

  EXPECT_TRUE(store->delete_applied_manifest("m1").value());
  EXPECT_FALSE(store->delete_applied_manifest("m1").value());
  EXPECT_TRUE(store->list_applied_manifests()->empty());
}

TEST(StateStore, PutDeployedStoresTheWorkloadAndItsAppliedRecordTogether) {
  TempDir dir;
  auto store = open_store(dir);
  auto workload = sample_workload("1111111111111111");
  AppliedManifestRecord applied{"m1", "ab12", Bytes{4, 5, 6}, 0};
  ASSERT_TRUE(store->put_deployed(workload, applied).ok());
  auto loaded = store->get_workload(workload.id);
  ASSERT_TRUE(loaded.ok());
  expect_same(*loaded, workload);
  ASSERT_TRUE(store->get_applied_manifest("m1").ok());
  EXPECT_EQ(store->get_applied_manifest("m1")->record, applied.record);
}

TEST(StateStore, PutDeployedWithAnInvalidAppliedRecordStoresNeither) {
  TempDir dir;
  auto store = open_store(dir);
  auto workload = sample_workload("2222222222222222");
  auto refused = store->put_deployed(workload, AppliedManifestRecord{"", "ab12", Bytes{1}, 0});
  ASSERT_FALSE(refused.ok());
  EXPECT_FALSE(store->get_workload(workload.id).ok());
  EXPECT_TRUE(store->list_applied_manifests()->empty());
}

constexpr int64_t kStart = 1'700'000'000'000;  // ManualClock's default start
constexpr int64_t kHour = 3'600'000;

KeyShareRecord share_of(const std::string& manifest_id, const std::string& owner, int index,
                        Bytes sealed = Bytes(100, 7), int64_t expires_ms = kStart + kHour) {
  return KeyShareRecord{manifest_id,          owner, index, std::move(sealed),
                        "publisher-" + owner, 2,     0,     expires_ms};
}

TEST(StateStore, KeyShareCrud) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  for (int index : {3, 1, 2}) {
    auto share = share_of("m1", "owner", index, Bytes{static_cast<uint8_t>(index), 7});
    share.created_at_ms = 100 + index;
    ASSERT_TRUE(store->put_key_share(share).ok());
  }
  ASSERT_TRUE(store->put_key_share(share_of("m2", "owner", 1, Bytes{})).ok());

  auto one = store->get_key_share("m1", "owner", 2);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->sealed_share, (Bytes{2, 7}));
  EXPECT_EQ(one->owner, "owner");
  EXPECT_EQ(one->publisher, "publisher-owner");
  EXPECT_EQ(one->threshold, 2);
  EXPECT_EQ(one->created_at_ms, 102);
  EXPECT_EQ(one->expires_ms, kStart + kHour);

  auto of_m1 = store->key_shares_of_owner("m1", "owner");
  ASSERT_TRUE(of_m1.ok());
  ASSERT_EQ(of_m1->size(), 3u);
  EXPECT_EQ((*of_m1)[0].share_index, 1);
  EXPECT_EQ((*of_m1)[2].share_index, 3);

  auto empty = store->get_key_share("m2", "owner", 1);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->sealed_share.empty());

  EXPECT_TRUE(store->delete_key_share("m1", "owner", 3).value());
  EXPECT_EQ(store->delete_key_shares_of_owner("m1", "owner").value(), 2);
  EXPECT_TRUE(store->key_shares_of_owner("m1", "owner")->empty());
  EXPECT_EQ(store->key_shares_of_owner("m2", "owner")->size(), 1u);
}

TEST(StateStore, OwnersHoldSharesUnderOneManifestIdWithoutConflict) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  ASSERT_TRUE(store->put_key_share(share_of("m1", "stranger", 1, Bytes{1})).ok());
  ASSERT_TRUE(store->put_key_share(share_of("m1", "victim", 1, Bytes{2})).ok());
  EXPECT_EQ(store->get_key_share("m1", "stranger", 1)->sealed_share, (Bytes{1}));
  EXPECT_EQ(store->get_key_share("m1", "victim", 1)->sealed_share, (Bytes{2}));
}

TEST(StateStore, DeletingKeySharesRemovesOnlyThatOwners) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  ASSERT_TRUE(store->put_key_share(share_of("m1", "victim", 1)).ok());
  ASSERT_TRUE(store->put_key_share(share_of("m1", "stranger", 1)).ok());
  EXPECT_EQ(store->delete_key_shares_of_owner("m1", "stranger").value(), 1);
  EXPECT_FALSE(store->delete_key_share("m1", "stranger", 1).value());
  EXPECT_EQ(store->key_shares_of_owner("m1", "victim")->size(), 1u);
}

TEST(StateStore, ASharePutAgainByItsOwnerReplacesIt) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  ASSERT_TRUE(store->put_key_share(share_of("m1", "owner", 1, Bytes{1})).ok());
  auto again = share_of("m1", "owner", 1, Bytes{2});
  again.publisher = "another-entry-node";
  ASSERT_TRUE(store->put_key_share(again).ok());
  auto held = store->key_shares_of_owner("m1", "owner");
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ(held->front().sealed_share, (Bytes{2}));
  EXPECT_EQ(held->front().publisher, "another-entry-node");
}

TEST(StateStore, KeySharesOfPublisherAreThoseThatNodeStored) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  ASSERT_TRUE(store->put_key_share(share_of("m1", "a", 1)).ok());
  ASSERT_TRUE(store->put_key_share(share_of("m1", "b", 2)).ok());
  auto from_a = store->key_shares_of_publisher("m1", "publisher-a");
  ASSERT_EQ(from_a->size(), 1u);
  EXPECT_EQ(from_a->front().owner, "a");
  EXPECT_TRUE(store->key_shares_of_publisher("m1", "nobody")->empty());
}

TEST(StateStore, KeySharesOfPublisherComeByShareIndexThenOwner) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  for (auto [owner, index] :
       {std::pair{"b", 2}, std::pair{"c", 1}, std::pair{"a", 2}, std::pair{"a", 3}}) {
    auto share = share_of("m1", owner, index);
    share.publisher = "entry";
    ASSERT_TRUE(store->put_key_share(share).ok());
  }
  auto held = store->key_shares_of_publisher("m1", "entry");
  ASSERT_TRUE(held.ok());
  std::vector<std::pair<int, std::string>> order;
  for (const auto& share : *held) order.emplace_back(share.share_index, share.owner);
  EXPECT_EQ(order,
            (std::vector<std::pair<int, std::string>>{{1, "c"}, {2, "a"}, {2, "b"}, {3, "a"}}));
}

TEST(StateStore, ExpiredSharesAreNeverRead) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  ASSERT_TRUE(store->put_key_share(share_of("m1", "owner", 1, Bytes{1}, kStart + 1000)).ok());
  clock.advance_ms(1000);
  EXPECT_EQ(store->get_key_share("m1", "owner", 1).error().code, "not_found");
  EXPECT_TRUE(store->key_shares_of_owner("m1", "owner")->empty());
  EXPECT_TRUE(store->key_shares_of_publisher("m1", "publisher-owner")->empty());
}

TEST(StateStore, DropExpiredDeletesOnlyExpiredShares) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  ASSERT_TRUE(store->put_key_share(share_of("m1", "owner", 1, Bytes{1}, kStart + 1000)).ok());
  ASSERT_TRUE(store->put_key_share(share_of("m1", "owner", 2, Bytes{2}, kStart + 5000)).ok());
  EXPECT_EQ(store->drop_expired_key_shares(kStart + 1000).value(), 1);
  EXPECT_EQ(store->drop_expired_key_shares(kStart + 1000).value(), 0);
  EXPECT_EQ(store->key_shares_of_owner("m1", "owner")->size(), 1u);
}

TEST(StateStore, AShareWithoutAFutureExpiryIsRefused) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  EXPECT_EQ(store->put_key_share(share_of("m1", "owner", 1, Bytes{1}, 0)).error().code, "expired");
  EXPECT_EQ(store->put_key_share(share_of("m1", "owner", 1, Bytes{1}, kStart)).error().code,
            "expired");
  EXPECT_TRUE(store->key_shares_of_owner("m1", "owner")->empty());
}

TEST(StateStore, QuotaRefusesAShareBeyondTheOwnersShareCount) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  const KeyShareQuota quota{.max_shares = 2, .max_bytes = 1 << 20};
  ASSERT_TRUE(store->put_key_share(share_of("m1", "owner", 1), quota).ok());
  ASSERT_TRUE(store->put_key_share(share_of("m2", "owner", 1), quota).ok());
  auto refused = store->put_key_share(share_of("m3", "owner", 1), quota);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "quota_exceeded");
  EXPECT_EQ(store->get_key_share("m3", "owner", 1).error().code, "not_found");
}

TEST(StateStore, QuotaRefusesAShareBeyondTheOwnersBytes) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  const KeyShareQuota quota{.max_shares = 100, .max_bytes = 150};
  ASSERT_TRUE(store->put_key_share(share_of("m1", "owner", 1, Bytes(100, 1)), quota).ok());
  EXPECT_EQ(store->put_key_share(share_of("m2", "owner", 1, Bytes(51, 1)), quota).error().code,
            "quota_exceeded");
  EXPECT_TRUE(store->put_key_share(share_of("m2", "owner", 1, Bytes(50, 1)), quota).ok());
}

TEST(StateStore, QuotaCountsOnlyThatOwnersUnexpiredSharesAndNotTheOneReplaced) {
  TempDir dir;
  ManualClock clock;
  auto store = open_store(dir, clock);
  const KeyShareQuota quota{.max_shares = 1, .max_bytes = 1 << 20};
  ASSERT_TRUE(
      store->put_key_share(share_of("m1", "owner", 1, Bytes(100, 1), kStart + 10), quota).ok());
  EXPECT_TRUE(store->put_key_share(share_of("m1", "other", 1), quota).ok());  // another owner
  EXPECT_TRUE(store->put_key_share(share_of("m1", "owner", 1), quota).ok());  // replaces its own
  clock.advance_ms(kHour);  // the owner's share has expired: it no longer counts
  EXPECT_TRUE(
      store->put_key_share(share_of("m2", "owner", 1, Bytes(100, 1), kStart + 2 * kHour), quota)
          .ok());
}

TEST(StateStore, TheDefaultQuotaIsTenThousandSharesAndSixtyFourMebibytes) {
  const KeyShareQuota quota;
  EXPECT_EQ(quota.max_shares, 10'000);
  EXPECT_EQ(quota.max_bytes, 64 * 1024 * 1024);
}

TEST(StateStore, ASchemaOneFileKeepsItsWorkloadsAndDropsItsUnownedShares) {
  TempDir dir;
  const auto file = dir.path() / "old.db";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
    const char* v1 = R"sql(
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
INSERT INTO schema_migrations VALUES (1, 0);
CREATE TABLE workloads (id TEXT PRIMARY KEY, manifest_id TEXT NOT NULL, owner TEXT NOT NULL,
  engine TEXT NOT NULL, state TEXT NOT NULL, healthy INTEGER NOT NULL,
  restart_policy TEXT NOT NULL, config TEXT NOT NULL, pods TEXT NOT NULL, ports TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  restarts INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '');
CREATE INDEX workloads_by_manifest ON workloads(manifest_id);
CREATE TABLE applied_manifests (manifest_id TEXT PRIMARY KEY, owner TEXT NOT NULL,
  record BLOB NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE key_shares (manifest_id TEXT NOT NULL, share_index INTEGER NOT NULL,
  sealed_share BLOB NOT NULL, owner_public_key TEXT NOT NULL, threshold INTEGER NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (manifest_id, share_index));
INSERT INTO workloads VALUES ('0123456789abcdef', 'm1', 'ab12', 'mock', 'Running', 1,
  'Always', '{}', '[]', '[]', 1, 2, 0, '');
INSERT INTO key_shares VALUES ('m1', 1, x'0102', 'someone', 2, 1);
)sql";
    ASSERT_EQ(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(raw);
    sqlite3_close(raw);
  }
  ManualClock clock;
  auto store = StateStore::open(file, clock);
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  EXPECT_EQ((*store)->schema_version().value(), StateStore::kSchemaVersion);
  EXPECT_TRUE((*store)->get_workload("0123456789abcdef").ok());
  EXPECT_TRUE((*store)->key_shares_of_owner("m1", "someone")->empty());
  EXPECT_TRUE((*store)->put_key_share(share_of("m1", "someone", 1)).ok());
}

TEST(StateStore, EverythingSurvivesReopeningTheFile) {
  TempDir dir;
  ManualClock clock;
  const auto record = sample_workload("0123456789abcdef");
  {
    auto store = open_store(dir, clock);
    ASSERT_TRUE(store->put_workload(record).ok());
    ASSERT_TRUE(store->put_applied_manifest({"m1", "owner", Bytes{1, 2, 3}, 10}).ok());
    ASSERT_TRUE(store->put_key_share(share_of("m1", "owner", 1, Bytes{4, 5}, kStart + kHour)).ok());
  }
  auto store = open_store(dir, clock);
  auto loaded = store->get_workload(record.id);
  ASSERT_TRUE(loaded.ok());
  expect_same(*loaded, record);
  EXPECT_EQ(store->get_applied_manifest("m1")->record, (Bytes{1, 2, 3}));
  EXPECT_EQ(store->get_key_share("m1", "owner", 1)->sealed_share, (Bytes{4, 5}));
  EXPECT_EQ(store->schema_version().value(), StateStore::kSchemaVersion);
}

TEST(StateStore, UsesWriteAheadLoggingAndAPrivateFile) {
  TempDir dir;
  auto store = open_store(dir);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(store->path().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(raw);

  struct stat info {};
  ASSERT_EQ(::stat(store->path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(StateStore, RecordsItsSchemaVersionInTheMigrationsTable) {
  TempDir dir;
  auto store = open_store(dir);
  EXPECT_EQ(store->schema_version().value(), StateStore::kSchemaVersion);
  store.reset();
  store = open_store(dir);  // reopening applies nothing twice
  EXPECT_EQ(store->schema_version().value(), StateStore::kSchemaVersion);
}

TEST(StateStore, RefusesAFileFromANewerSchema) {
  TempDir dir;
  auto path = open_store(dir)->path();
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(raw, "INSERT INTO schema_migrations VALUES (99, 0)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);

  auto reopened = StateStore::open(path);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.error().code, "state_schema_too_new");
}

TEST(StateStore, OpeningAnUnwritablePathIsAStateStoreError) {
  auto store = StateStore::open("/proc/beemesh-no/state.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "state_store");
}

TEST(StateStore, ConcurrentWritersLoseNothing) {
  TempDir dir;
  auto store = open_store(dir);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        char id[17];
        std::snprintf(id, sizeof id, "%08x%08x", t, i);
        EXPECT_TRUE(store->put_workload(sample_workload(id)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(store->list_workloads()->size(), 200u);
}

}  // namespace
}  // namespace beemesh::workload
