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
  EXPECT_EQ(store->get_key_share("nope", 1).error().code, "not_found");
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

TEST(StateStore, KeyShareCrud) {
  TempDir dir;
  auto store = open_store(dir);
  for (int index : {3, 1, 2}) {
    KeyShareRecord share{"m1",        index, Bytes{static_cast<uint8_t>(index), 7},
                         "owner-hex", 2,     100 + index};
    ASSERT_TRUE(store->put_key_share(share).ok());
  }
  ASSERT_TRUE(store->put_key_share({"m2", 1, Bytes{}, "owner-hex", 2, 0}).ok());

  auto one = store->get_key_share("m1", 2);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->sealed_share, (Bytes{2, 7}));
  EXPECT_EQ(one->owner_public_key, "owner-hex");
  EXPECT_EQ(one->threshold, 2);
  EXPECT_EQ(one->created_at_ms, 102);

  auto of_m1 = store->key_shares_of("m1");
  ASSERT_TRUE(of_m1.ok());
  ASSERT_EQ(of_m1->size(), 3u);
  EXPECT_EQ((*of_m1)[0].share_index, 1);
  EXPECT_EQ((*of_m1)[2].share_index, 3);

  auto empty = store->get_key_share("m2", 1);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->sealed_share.empty());

  EXPECT_TRUE(store->delete_key_share("m1", 3).value());
  EXPECT_EQ(store->delete_key_shares("m1").value(), 2);
  EXPECT_TRUE(store->key_shares_of("m1")->empty());
  EXPECT_EQ(store->key_shares_of("m2")->size(), 1u);
}

TEST(StateStore, EverythingSurvivesReopeningTheFile) {
  TempDir dir;
  const auto record = sample_workload("0123456789abcdef");
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_workload(record).ok());
    ASSERT_TRUE(store->put_applied_manifest({"m1", "owner", Bytes{1, 2, 3}, 10}).ok());
    ASSERT_TRUE(store->put_key_share({"m1", 1, Bytes{4, 5}, "owner", 2, 20}).ok());
  }
  auto store = open_store(dir);
  auto loaded = store->get_workload(record.id);
  ASSERT_TRUE(loaded.ok());
  expect_same(*loaded, record);
  EXPECT_EQ(store->get_applied_manifest("m1")->record, (Bytes{1, 2, 3}));
  EXPECT_EQ(store->get_key_share("m1", 1)->sealed_share, (Bytes{4, 5}));
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
  EXPECT_EQ(store->schema_version().value(), 1);
  store.reset();
  store = open_store(dir);  // reopening applies nothing twice
  EXPECT_EQ(store->schema_version().value(), 1);
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
