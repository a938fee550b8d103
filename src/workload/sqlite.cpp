#include "workload/sqlite.h"

#include <utility>

namespace beemesh::workload::sqlite {

Error error(sqlite3* db, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  return make_error("state_store", std::move(message));
}

Result<Db> open(const std::string& file) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(file.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return error(db.get(), "open " + file);
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

Result<void> exec(sqlite3* db, std::string_view sql, std::string_view what) {
  char* message = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = std::string(what) + ": " + (message != nullptr ? message : "error");
    sqlite3_free(message);
    return make_error("state_store", std::move(detail));
  }
  return ok_result();
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return error(db, "prepare \"" + std::string(sql) + "\"");
  Statement statement;
  statement.stmt_.reset(raw);
  return statement;
}

Statement& Statement::bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_blob(int index, ByteView blob) {
  // An empty blob must not become NULL (a null pointer binds NULL).
  const int rc = blob.empty() ? sqlite3_bind_zeroblob(stmt_.get(), index, 0)
                              : sqlite3_bind_blob(stmt_.get(), index, blob.data(),
                                                  static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Result<bool> Statement::step(std::string_view what) {
  sqlite3* db = sqlite3_db_handle(stmt_.get());
  if (bind_error_ != SQLITE_OK) {
    return make_error("state_store",
                      std::string(what) + ": bind failed: " + sqlite3_errstr(bind_error_));
  }
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error(db, what);
}

Result<void> Statement::run(std::string_view what) {
  auto stepped = step(what);
  if (!stepped) return stepped.error();
  return ok_result();
}

int64_t Statement::column_int(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)));
}

Bytes Statement::column_blob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_.get(), column));
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  if (data == nullptr || size <= 0) return {};
  return Bytes(data, data + size);
}

int Statement::changes() const {
  return sqlite3_changes(sqlite3_db_handle(stmt_.get()));
}

void Statement::reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_ = SQLITE_OK;
}

Result<TransactionStatements> TransactionStatements::prepare(sqlite3* db) {
  TransactionStatements out;
  for (auto [statement, sql] :
       {std::pair{&out.begin, "BEGIN IMMEDIATE"}, std::pair{&out.commit, "COMMIT"},
        std::pair{&out.rollback, "ROLLBACK"}}) {
    auto prepared = Statement::prepare(db, sql);
    if (!prepared) return prepared.error();
    *statement = std::move(*prepared);
  }
  return out;
}

Result<Transaction> Transaction::begin(sqlite3* db) {
  auto begun = exec(db, "BEGIN IMMEDIATE", "begin transaction");
  if (!begun) return begun.error();
  return Transaction(db);
}

Result<Transaction> Transaction::begin(TransactionStatements& prepared) {
  Statement::Use use(prepared.begin);
  auto begun = prepared.begin.run("begin transaction");
  if (!begun) return begun.error();
  return Transaction(sqlite3_db_handle(prepared.begin.handle()), &prepared);
}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), prepared_(std::exchange(other.prepared_, nullptr)) {}

Transaction::~Transaction() {
  if (db_ == nullptr) return;
  if (prepared_ != nullptr) {
    Statement::Use use(prepared_->rollback);
    (void)prepared_->rollback.run("rollback transaction");
  } else {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Result<void> Transaction::commit() {
  Result<void> committed = ok_result();
  if (prepared_ != nullptr) {
    Statement::Use use(prepared_->commit);
    committed = prepared_->commit.run("commit transaction");
  } else {
    committed = exec(db_, "COMMIT", "commit transaction");
  }
  if (committed) db_ = nullptr;
  return committed;
}

}  // namespace beemesh::workload::sqlite
