// workload/sqlite.h — a thin RAII layer over libsqlite3 for the state store (internal).
//
// Promise: handles are closed/finalized by their owners; a Statement is reset and its
// bindings cleared at the end of every use (Statement::Use), so a prepared statement can be
// reused; every SQLite failure becomes Error{"state_store", "<what>: <sqlite message>"}.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace beemesh::workload::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

Error error(sqlite3* db, std::string_view what);
Result<Db> open(const std::string& file);
Result<void> exec(sqlite3* db, std::string_view sql, std::string_view what);

class Statement {
 public:
  Statement() = default;
  static Result<Statement> prepare(sqlite3* db, std::string_view sql);

  // 1-based parameter indices, as in SQLite.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind_blob(int index, ByteView blob);

  // true: a row is available; false: done. Reports a failed bind too.
  Result<bool> step(std::string_view what);
  // Runs a statement that returns no rows.
  Result<void> run(std::string_view what);

  int64_t column_int(int column) const;
  std::string column_text(int column) const;
  Bytes column_blob(int column) const;
  int changes() const;

  void reset();
  sqlite3_stmt* handle() const { return stmt_.get(); }

  // Resets the statement when the scope ends.
  class Use {
   public:
    explicit Use(Statement& statement) : statement_(statement) {}
    ~Use() { statement_.reset(); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    Statement& statement_;
  };

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int bind_error_ = SQLITE_OK;
};

// BEGIN IMMEDIATE, COMMIT and ROLLBACK prepared once for a connection: sqlite3_exec
// compiles its SQL on every call (a parser allocation each time, ~1 % of an apply's CPU).
struct TransactionStatements {
  static Result<TransactionStatements> prepare(sqlite3* db);
  Statement begin;
  Statement commit;
  Statement rollback;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when commit() was not reached.
class Transaction {
 public:
  static Result<Transaction> begin(sqlite3* db);
  // The same with the connection's prepared statements (which must outlive it).
  static Result<Transaction> begin(TransactionStatements& prepared);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Result<void> commit();

 private:
  explicit Transaction(sqlite3* db, TransactionStatements* prepared = nullptr)
      : db_(db), prepared_(prepared) {}
  sqlite3* db_ = nullptr;
  TransactionStatements* prepared_ = nullptr;
};

}  // namespace beemesh::workload::sqlite
