#include "workload/state_store.h"

#include <sys/stat.h>

#include <array>
#include <string_view>
#include <system_error>
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
constexpr std::array<Migration, 1> kMigrations{{
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
}};

static_assert(kMigrations.back().version == StateStore::kSchemaVersion);

constexpr std::string_view kWorkloadColumns =
    "id, manifest_id, owner, engine, state, healthy, restart_policy, config, pods, ports, "
    "created_at, updated_at, restarts, message";

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
  SharesOf,
  DeleteShare,
  DeleteShares,
  Count
};

struct StateStore::Impl {
  sqlite::Db db;
  std::array<sqlite::Statement, static_cast<size_t>(Sql::Count)> statements;

  sqlite::Statement& operator[](Sql which) { return statements[static_cast<size_t>(which)]; }
};

namespace {

Result<void> prepare_all(StateStore::Impl& impl) {
  const std::string cols(kWorkloadColumns);
  const std::array<std::pair<Sql, std::string>, static_cast<size_t>(Sql::Count)> sql{{
      {Sql::PutWorkload, "INSERT OR REPLACE INTO workloads (" + cols +
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                             "?14)"},
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
      {Sql::PutShare,
       "INSERT OR REPLACE INTO key_shares (manifest_id, share_index, sealed_share, "
       "owner_public_key, threshold, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {Sql::GetShare,
       "SELECT manifest_id, share_index, sealed_share, owner_public_key, threshold, created_at "
       "FROM key_shares WHERE manifest_id = ?1 AND share_index = ?2"},
      {Sql::SharesOf,
       "SELECT manifest_id, share_index, sealed_share, owner_public_key, threshold, created_at "
       "FROM key_shares WHERE manifest_id = ?1 ORDER BY share_index"},
      {Sql::DeleteShare, "DELETE FROM key_shares WHERE manifest_id = ?1 AND share_index = ?2"},
      {Sql::DeleteShares, "DELETE FROM key_shares WHERE manifest_id = ?1"},
  }};
  for (const auto& [which, text] : sql) {
    auto stmt = sqlite::Statement::prepare(impl.db.get(), text);
    if (!stmt) return stmt.error();
    impl[which] = std::move(stmt).value();
  }
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
  return r;
}

AppliedManifestRecord read_manifest(const sqlite::Statement& s) {
  return AppliedManifestRecord{s.column_text(0), s.column_text(1), s.column_blob(2),
                               s.column_int(3)};
}

KeyShareRecord read_share(const sqlite::Statement& s) {
  return KeyShareRecord{s.column_text(0), static_cast<int>(s.column_int(1)), s.column_blob(2),
                        s.column_text(3), static_cast<int>(s.column_int(4)), s.column_int(5)};
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
      .bind(14, r.message);
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

Result<void> StateStore::put_key_share(const KeyShareRecord& r) {
  if (r.manifest_id.empty()) return make_error("state_store", "put key share: empty manifest id");
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::PutShare];
  sqlite::Statement::Use use(s);
  s.bind(1, r.manifest_id)
      .bind(2, int64_t{r.share_index})
      .bind_blob(3, r.sealed_share)
      .bind(4, r.owner_public_key)
      .bind(5, int64_t{r.threshold})
      .bind(6, r.created_at_ms != 0 ? r.created_at_ms : clock_.now_ms());
  return s.run("put key share " + r.manifest_id + "/" + std::to_string(r.share_index));
}

Result<KeyShareRecord> StateStore::get_key_share(const std::string& manifest_id, int share_index) {
  std::lock_guard lock(mutex_);
  const std::string what = manifest_id + "/" + std::to_string(share_index);
  auto& s = (*impl_)[Sql::GetShare];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id).bind(2, int64_t{share_index});
  auto row = s.step("get key share " + what);
  if (!row) return row.error();
  if (!*row) return not_found("no key share " + what + " in " + path_.string());
  return read_share(s);
}

Result<std::vector<KeyShareRecord>> StateStore::key_shares_of(const std::string& manifest_id) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::SharesOf];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id);
  return collect_rows<KeyShareRecord>(s, "list key shares of " + manifest_id, read_share);
}

Result<bool> StateStore::delete_key_share(const std::string& manifest_id, int share_index) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::DeleteShare];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id).bind(2, int64_t{share_index});
  auto done = s.run("delete key share " + manifest_id + "/" + std::to_string(share_index));
  if (!done) return done.error();
  return s.changes() > 0;
}

Result<int> StateStore::delete_key_shares(const std::string& manifest_id) {
  std::lock_guard lock(mutex_);
  auto& s = (*impl_)[Sql::DeleteShares];
  sqlite::Statement::Use use(s);
  s.bind(1, manifest_id);
  auto done = s.run("delete key shares of " + manifest_id);
  if (!done) return done.error();
  return s.changes();
}

}  // namespace beemesh::workload
