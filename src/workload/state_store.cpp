#include "workload/state_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include "workload/record_json.h"
#include "workload/sqlite.h"

namespace beemesh::workload {

namespace {

struct Migration {
  int version;
  std::string_view sql;
};

// Append-only: a released migration is never edited; schema changes add a new one.
constexpr std::array<Migration, 3> kMigrations{{
    {1, R"sql(
CREATE TABLE workloads (
  id             TEXT PRIMARY KEY,
  manifest_id    TEXT NOT NULL,
  owner          TEXT NOT NULL,
  engine         TEXT NOT NULL,
  state          TEXT NOT NULL,
  healthy        INTEGER NOT NULL,
  restart_policy TEXT NOT NULL,
  config         TEXT NOT NULL,
  pods           TEXT NOT NULL,
  ports          TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  restarts       INTEGER NOT NULL DEFAULT 0,
  message        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX workloads_by_manifest ON workloads(manifest_id);
CREATE TABLE applied_manifests (
  manifest_id TEXT PRIMARY KEY,
  owner       TEXT NOT NULL,
  record      BLOB NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE TABLE key_shares (
  manifest_id      TEXT NOT NULL,
  share_index      INTEGER NOT NULL,
  sealed_share     BLOB NOT NULL,
  owner_public_key TEXT NOT NULL,
  threshold        INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  PRIMARY KEY (manifest_id, share_index)
);
)sql"},
    // Key shares per (manifest id, owner, share index) with an expiry. Schema-1 shares
    // name no owner and no expiry: they are dropped (an apply in flight retries).
    {2, R"sql(
DROP TABLE key_shares;
CREATE TABLE key_shares (
  manifest_id  TEXT NOT NULL,
  owner        TEXT NOT NULL,
  share_index  INTEGER NOT NULL,
  sealed_share BLOB NOT NULL,
  publisher    TEXT NOT NULL,
  threshold    INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (manifest_id, owner, share_index)
);
CREATE INDEX key_shares_by_owner ON key_shares(owner, expires_at);
CREATE INDEX key_shares_by_expiry ON key_shares(expires_at);
)sql"},
    // What each workload reserves of the node's capacity (WorkloadRecord::reserved).
    // Rows of schema 2 reserve nothing until they are deployed again.
    {3, R"sql(
ALTER TABLE workloads ADD COLUMN reserved_memory INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workloads ADD COLUMN reserved_cpu INTEGER NOT NULL DEFAULT 0;
)sql"},
}};

static_assert(kMigrations.back().version == StateStore::kSchemaVersion);

constexpr std::string_view kWorkloadColumns =
    "id, manifest_id, owner, engine, state, healthy, restart_policy, config, pods, ports, "
    "created_at, updated_at, restarts, message, reserved_memory, reserved_cpu";

constexpr std::string_view kShareColumns =
    "manifest_id, owner, share_index, sealed_share, publisher, threshold, created_at, expires_at";

Result<int> current_version(sqlite3* db) {
  auto stmt =
      sqlite::Statement::prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!stmt) return stmt.error();
  auto row = stmt->step("read schema version");
  if (!row) return row.error();
  return static_cast<int>(stmt->column_int(0));
}

Result<void> migrate(sqlite3* db, int64_t now_ms) {
  auto tx = sqlite::Transaction::begin(db);
  if (!tx) return tx.error();
  auto created = sqlite::exec(db,
                              "CREATE TABLE IF NOT EXISTS schema_migrations ("
                              "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                              "create schema_migrations");
  if (!created) return created;
  auto version = current_version(db);
  if (!version) return version.error();
  if (*version > StateStore::kSchemaVersion) {
    return make_error("state_schema_too_new", "state database has schema version " +
                                                  std::to_string(*version) +
                                                  ", this beemesh knows up to " +
                                                  std::to_string(StateStore::kSchemaVersion));
  }
  for (const auto& migration : kMigrations) {
    if (migration.version <= *version) continue;
    const std::string what = "migration " + std::to_string(migration.version);
    auto applied = sqlite::exec(db, migration.sql, what);
    if (!applied) return applied;
    auto record = sqlite::Statement::prepare(db, "INSERT INTO schema_migrations VALUES (?1, ?2)");
    if (!record) return record.error();
    record->bind(1, static_cast<int64_t>(migration.version)).bind(2, now_ms);
    auto recorded = record->run("record " + what);
    if (!recorded) return recorded;
  }
  return tx->commit();
}

}  // namespace

enum class Sql {
  PutWorkload,
  GetWorkload,
  ListWorkloads,
  WorkloadsOf,
  DeleteWorkload,
  PutManifest,
  GetManifest,
  ListManifests,
  DeleteManifest,
  PutShare,
  GetShare,
  SharesOfOwner,
  SharesOfPublisher,
  DeleteShare,
  DeleteSharesOfOwner,
  DropExpiredShares,
  ShareUsage,
  Count
};

struct StateStore::Impl {
  sqlite::Db db;
  std::array<sqlite::Statement, static_cast<size_t>(Sql::Count)> statements;
  sqlite::TransactionStatements transactions;

  sqlite::Statement& operator[](Sql which) { return statements[static_cast<size_t>(which)]; }
};

namespace {

Result<void> prepare_all(StateStore::Impl& impl) {
  const std::string cols(kWorkloadColumns);
  const std::string share_cols(kShareColumns);
  const std::array<std::pair<Sql, std::string>, static_cast<size_t>(Sql::Count)> sql{{
      {Sql::PutWorkload, "INSERT OR REPLACE INTO workloads (" + cols +
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                             "?14, ?15, ?16)"},
      {Sql::GetWorkload, "SELECT " + cols + " FROM workloads WHERE id = ?1"},
      {Sql::ListWorkloads, "SELECT " + cols + " FROM workloads ORDER BY created_at, id"},
      {Sql::WorkloadsOf,
       "SELECT " + cols + " FROM workloads WHERE manifest_id = ?1 ORDER BY created_at, id"},
      {Sql::DeleteWorkload, "DELETE FROM workloads WHERE id = ?1"},
      {Sql::PutManifest,
       "INSERT OR REPLACE INTO applied_manifests (manifest_id, owner, record, updated_at) "
       "VALUES (?1, ?2, ?3, ?4)"},
      {Sql::GetManifest,
       "SELECT manifest_id, owner, record, updated_at FROM applied_manifests "
       "WHERE manifest_id = ?1"},
      {Sql::ListManifests,
       "SELECT manifest_id, owner, record, updated_at FROM applied_manifests "
       "ORDER BY manifest_id"},
      {Sql::DeleteManifest, "DELETE FROM applied_manifests WHERE manifest_id = ?1"},
      {Sql::PutShare, "INSERT OR REPLACE INTO key_shares (" + share_cols +
                          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {Sql::GetShare, "SELECT " + share_cols +
                          " FROM key_shares WHERE manifest_id = ?1 AND owner = ?2 AND "
                          "share_index = ?3 AND expires_at > ?4"},
      {Sql::SharesOfOwner, "SELECT " + share_cols +
                               " FROM key_shares WHERE manifest_id = ?1 AND owner = ?2 AND "
                               "expires_at > ?3 ORDER BY share_index"},
      {Sql::SharesOfPublisher, "SELECT " + share_cols +
                                   " FROM key_shares WHERE manifest_id = ?1 AND publisher = ?2 "
                                   "AND expires_at > ?3"},  // sorted in C++ (no SQLite sorter)
      {Sql::DeleteShare,
       "DELETE FROM key_shares WHERE manifest_id = ?1 AND owner = ?2 AND share_index = ?3"},
      {Sql::DeleteSharesOfOwner, "DELETE FROM key_shares WHERE manifest_id = ?1 AND owner = ?2"},
      {Sql::DropExpiredShares, "DELETE FROM key_shares WHERE expires_at <= ?1"},
      // The owner's unexpired shares other than the one (manifest id, share index) names.
      {Sql::ShareUsage,
       "SELECT COUNT(*), COALESCE(SUM(LENGTH(sealed_share)), 0) FROM key_shares "
       "WHERE owner = ?1 AND expires_at > ?2 AND NOT (manifest_id = ?3 AND share_index = ?4)"},
  }};
  for (const auto& [which, text] : sql) {
    auto stmt = sqlite::Statement::prepare(impl.db.get(), text);
    if (!stmt) return stmt.error();
    impl[which] = std::move(stmt).value();
  }
  auto transactions = sqlite::TransactionStatements::prepare(impl.db.get());
  if (!transactions) return transactions.error();
  impl.transactions = std::move(*transactions);
  return ok_result();
}

Result<WorkloadRecord> read_workload(const sqlite::Statement& s) {
  WorkloadRecord r;
  r.id = s.column_text(0);
  r.manifest_id = s.column_text(1);
  r.owner = s.column_text(2);
  r.engine = s.column_text(3);
  const auto state = runtime::workload_state_from_string(s.column_text(4));
  r.state = state.value_or(runtime::WorkloadState::Unknown);
  r.healthy = s.column_int(5) != 0;
  r.restart_policy = s.column_text(6);
  auto config = config_from_json(s.column_text(7));
  if (!config) return config.error();
  r.config = std::move(config).value();
  auto pods = pods_from_json(s.column_text(8));
  if (!pods) return pods.error();
  r.pods = std::move(pods).value();
  auto ports = ports_from_json(s.column_text(9));
  if (!ports) return ports.error();
  r.ports = std::move(ports).value();
  r.created_at_ms = s.column_int(10);
  r.updated_at_ms = s.column_int(11);
  r.restarts = static_cast<int>(s.column_int(12));
  r.message = s.column_text(13);
  r.reserved.memory_bytes = s.column_int(14);
  r.reserved.cpu_millis = s.column_int(15);
  return r;
}

AppliedManifestRecord read_manifest(const sqlite::Statement& s) {
  return AppliedManifestRecord{s.column_text(0), s.column_text(1), s.column_blob(2),
                               s.column_int(3)};
}

KeyShareRecord read_share(const sqlite::Statement& s) {
  return KeyShareRecord{s.column_text(0), s.column_text(1), static_cast<int>(s.column_int(2)),
                        s.column_blob(3), s.column_text(4), static_cast<int>(s.column_int(5)),
                        s.column_int(6),  s.column_int(7)};
}

// Steps `s` to the end and reads every row with `read` (returning T or Result<T>).
template <typename T, typename Read>
Result<std::vector<T>> collect_rows(sqlite::Statement& s, const std::string& what, Read read) {
  std::vector<T> out;
  while (true) {
    auto row = s.step(what);
    if (!row) return row.error();
    if (!*row) break;
    Result<T> record = read(s);
    if (!record) return record.error();
    out.push_back(std::move(record).value());
  }
  return out;
}

Error not_found(std::string what) {
  return make_error("not_found", std::move(what));
}

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::open(const std::filesystem::path& file,
                                                     const Clock& clock) {
  std::error_code ec;
  if (file.has_parent_path()) {
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) {
      return make_error("state_store",
                        "create directory " + file.parent_path().string() + ": " + ec.message());
    }
  }
  auto impl = std::make_unique<Impl>();
  auto db = sqlite::open(file.string());
  if (!db) return db.error();
  impl->db = std::move(db).value();
  ::chmod(file.c_str(), 0600);  // node secrets live here; best effort (may not be ours)

  sqlite3* raw = impl->db.get();
  sqlite3_busy_timeout(raw, 5000);
  for (const auto& [pragma, what] : std::array<std::pair<const char*, const char*>, 3>{{
           {"PRAGMA journal_mode=WAL", "enable WAL"},
           {"PRAGMA synchronous=NORMAL", "set synchronous"},
           {"PRAGMA foreign_keys=ON", "enable foreign keys"},
       }}) {
    auto done = sqlite::exec(raw, pragma, std::string(what) + " on " + file.string());
    if (!done) return done.error();
  }
  auto migrated = migrate(raw, clock.now_ms());
  if (!migrated) return migrated.error();
  auto prepared = prepare_all(*impl);
  if (!prepared) return prepared.error();
  return std::unique_ptr<StateStore>(new StateStore(file, clock, std::move(impl)));
}

StateStore::StateStore(std::filesystem::path path, const Clock& clock, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), clock_(clock), impl_(std::move(impl)) {}

StateStore::~StateStore() = default;

Result<int> StateStore::schema_version() {
  std::lock_guard lock(mutex_);
  return current_version(impl_->db.get());
}

// ---- workloads

Result<void> StateStore::put_workload(const WorkloadRecord& r) {
  if (r.id.empty()) return make_error("state_store", "put workload: empty id");
  std::lock_guard lock(mutex_);
  return put_workload_locked(r);
}

Result<void> StateStore::put_deployed(const WorkloadRecord& r,
                                      const AppliedManifestRecord& applied) {
  if (r.id.empty()) return make_error("state_store", "put workload: empty id");
  if (applied.manifest_id.empty()) {
    return make_error("state_store", "put applied manifest: empty id");
  }
  std::lock_guard lock(mutex_);
  auto tx = sqlite::Transaction::begin(impl_->transactions);
  if (!tx) return tx.error();
  BEEMESH_TRY(put_workload_locked(r));
  BEEMESH_TRY(put_applied_manifest_locked(applied));
  return tx->commit();
}

Result<void> StateStore::put_workload_locked(const WorkloadRecord& r) {
  const int64_t now = clock_.now_ms();
  auto& s = (*impl_)[Sql::PutWorkload];
  sqlite::Statement::Use use(s);
  s.bind(1, r.id)
      .bind(2, r.manifest_id)
      .bind(3, r.owner)
      .bind(4, r.engine)
      .bind(5, runtime::to_string(r.state))
      .bind(6, int64_t{r.healthy ? 1 : 0})
      .bind(7, r.restart_policy)
      .bind(8, config_to_json(r.config))
      .bind(9, pods_to_json(r.pods))
      .bind(10, ports_to_json(r.ports))
      .bind(11, r.created_at_ms != 0 ? r.created_at_ms : now)
      .bind(12, r.updated_at_ms != 0 ? r.updated_at_ms : now)
      .bind(13, int64_t{r.restarts})
      .bind(14, r.message)
      .bind(15, r.reserved.memory_bytes)
      .bind(16, r.reserved.cpu_millis);
  return s.run("put workload " + r.id);
}

Result<WorkloadRecord> StateStore::get_workload(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::GetWorkload];
  sqlite::Statement::Use use(s);
  s.bind(1, id);
  auto row = s.step("get workload " + id);
  if (!row) return row.error();
  if (!*row) return not_found("no workload " + id + " in " + path_.string());
  return read_workload(s);
}

Result<std::vector<WorkloadRecord>> StateStore::list_workloads() {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::ListWorkloads];
  sqlite::Statement::Use use(s);
  return collect_rows<WorkloadRecord>(s, "list workloads", read_workload);
}

Result<std::vector<WorkloadRecord>> StateStore::workloads_of(const std::string& manifest_id) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::WorkloadsOf];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id);
  return collect_rows<WorkloadRecord>(s, "list workloads of " + manifest_id, read_workload);
}

Result<bool> StateStore::delete_workload(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::DeleteWorkload];
  sqlite::Statement::Use use(s);
  s.bind(1, id);
  auto done = s.run("delete workload " + id);
  if (!done) return done.error();
  return s.changes() > 0;
}

// ---- applied manifests

Result<void> StateStore::put_applied_manifest(const AppliedManifestRecord& r) {
  if (r.manifest_id.empty()) return make_error("state_store", "put applied manifest: empty id");
  std::lock_guard lock(mutex_);
  return put_applied_manifest_locked(r);
}

Result<void> StateStore::put_applied_manifest_locked(const AppliedManifestRecord& r) {
  auto& s = (*impl_)[Sql::PutManifest];
  sqlite::Statement::Use use(s);
  s.bind(1, r.manifest_id)
      .bind(2, r.owner)
      .bind_blob(3, r.record)
      .bind(4, r.updated_at_ms != 0 ? r.updated_at_ms : clock_.now_ms());
  return s.run("put applied manifest " + r.manifest_id);
}

Result<AppliedManifestRecord> StateStore::get_applied_manifest(const std::string& manifest_id) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::GetManifest];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id);
  auto row = s.step("get applied manifest " + manifest_id);
  if (!row) return row.error();
  if (!*row) return not_found("no applied manifest " + manifest_id + " in " + path_.string());
  return read_manifest(s);
}

Result<std::vector<AppliedManifestRecord>> StateStore::list_applied_manifests() {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::ListManifests];
  sqlite::Statement::Use use(s);
  return collect_rows<AppliedManifestRecord>(s, "list applied manifests", read_manifest);
}

Result<bool> StateStore::delete_applied_manifest(const std::string& manifest_id) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::DeleteManifest];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id);
  auto done = s.run("delete applied manifest " + manifest_id);
  if (!done) return done.error();
  return s.changes() > 0;
}

// ---- key shares

Result<void> StateStore::put_key_share(const KeyShareRecord& r, const KeyShareQuota& quota) {
  const std::string what = r.manifest_id + "/" + r.owner + "/" + std::to_string(r.share_index);
  if (r.manifest_id.empty()) return make_error("state_store", "put key share: empty manifest id");
  if (r.owner.empty()) return make_error("state_store", "put key share: empty owner");
  std::lock_guard lock(mutex_);
  const int64_t now = clock_.now_ms();
  if (r.expires_ms <= now) {
    return make_error("expired", "put key share " + what + ": no expiry, or already expired");
  }
  auto tx = sqlite::Transaction::begin(impl_->transactions);
  if (!tx) return tx.error();
  {
    auto& usage = (*impl_)[Sql::ShareUsage];
    sqlite::Statement::Use use(usage);
    usage.bind(1, r.owner).bind(2, now).bind(3, r.manifest_id).bind(4, int64_t{r.share_index});
    auto row = usage.step("key share usage of " + r.owner);
    if (!row) return row.error();
    const int64_t count = *row ? usage.column_int(0) : 0;
    const int64_t bytes = *row ? usage.column_int(1) : 0;
    const auto size = static_cast<int64_t>(r.sealed_share.size());
    if (count + 1 > quota.max_shares || bytes + size > quota.max_bytes) {
      return make_error("quota_exceeded", "put key share " + what + ": owner holds " +
                                              std::to_string(count) + " share(s), " +
                                              std::to_string(bytes) + " bytes here (quota " +
                                              std::to_string(quota.max_shares) + " shares, " +
                                              std::to_string(quota.max_bytes) + " bytes)");
    }
  }
  {
    auto& s = (*impl_)[Sql::PutShare];
    sqlite::Statement::Use use(s);
    s.bind(1, r.manifest_id)
        .bind(2, r.owner)
        .bind(3, int64_t{r.share_index})
        .bind_blob(4, r.sealed_share)
        .bind(5, r.publisher)
        .bind(6, int64_t{r.threshold})
        .bind(7, r.created_at_ms != 0 ? r.created_at_ms : now)
        .bind(8, r.expires_ms);
    BEEMESH_TRY(s.run("put key share " + what));
  }
  return tx->commit();
}

Result<KeyShareRecord> StateStore::get_key_share(const std::string& manifest_id,
                                                 const std::string& owner, int share_index) {
  std::lock_guard lock(mutex_);
  const std::string what = manifest_id + "/" + owner + "/" + std::to_string(share_index);
  auto& s = (*impl_)[Sql::GetShare];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id).bind(2, owner).bind(3, int64_t{share_index}).bind(4, clock_.now_ms());
  auto row = s.step("get key share " + what);
  if (!row) return row.error();
  if (!*row) return not_found("no key share " + what + " in " + path_.string());
  return read_share(s);
}

Result<std::vector<KeyShareRecord>> StateStore::key_shares_of_owner(const std::string& manifest_id,
                                                                    const std::string& owner) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::SharesOfOwner];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id).bind(2, owner).bind(3, clock_.now_ms());
  return collect_rows<KeyShareRecord>(s, "list key shares of " + manifest_id + "/" + owner,
                                      read_share);
}

Result<std::vector<KeyShareRecord>> StateStore::key_shares_of_publisher(
    const std::string& manifest_id, const std::string& publisher) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::SharesOfPublisher];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id).bind(2, publisher).bind(3, clock_.now_ms());
  auto rows = collect_rows<KeyShareRecord>(
      s, "list key shares of " + manifest_id + " stored by " + publisher, read_share);
  // By share index, then owner: the few rows are sorted here, not by an SQLite sorter
  // (which allocates one per query: ~0.5 % of an apply's CPU, issue 15).
  if (rows) {
    std::sort(rows->begin(), rows->end(), [](const KeyShareRecord& a, const KeyShareRecord& b) {
      return std::tie(a.share_index, a.owner) < std::tie(b.share_index, b.owner);
    });
  }
  return rows;
}

Result<bool> StateStore::delete_key_share(const std::string& manifest_id, const std::string& owner,
                                          int share_index) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::DeleteShare];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id).bind(2, owner).bind(3, int64_t{share_index});
  auto done =
      s.run("delete key share " + manifest_id + "/" + owner + "/" + std::to_string(share_index));
  if (!done) return done.error();
  return s.changes() > 0;
}

Result<int> StateStore::delete_key_shares_of_owner(const std::string& manifest_id,
                                                   const std::string& owner) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::DeleteSharesOfOwner];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id).bind(2, owner);
  auto done = s.run("delete key shares of " + manifest_id + "/" + owner);
  if (!done) return done.error();
  return s.changes();
}

Result<int> StateStore::drop_expired_key_shares(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::DropExpiredShares];
  sqlite::Statement::Use use(s);
  s.bind(1, now_ms);
  auto done = s.run("drop expired key shares");
  if (!done) return done.error();
  return s.changes();
}

}  // namespace beemesh::workload
