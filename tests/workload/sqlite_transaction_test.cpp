// sqlite::Transaction on a connection's prepared BEGIN / COMMIT / ROLLBACK
// (workload/sqlite.h): the same promise as with sqlite3_exec, use after use.
#include <gtest/gtest.h>

#include "workload/fakes.h"
#include "workload/sqlite.h"

namespace beemesh::workload::sqlite {
namespace {

struct PreparedTransactions : ::testing::Test {
  void SetUp() override {
    auto opened = open((dir.path() / "t.db").string());
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    db = std::move(*opened);
    ASSERT_TRUE(exec(db.get(), "CREATE TABLE t (v INTEGER)", "create").ok());
    auto prepared = TransactionStatements::prepare(db.get());
    ASSERT_TRUE(prepared.ok()) << prepared.error().to_string();
    statements = std::move(*prepared);
  }
  void insert(int v) {
    ASSERT_TRUE(exec(db.get(), "INSERT INTO t VALUES (" + std::to_string(v) + ")", "insert").ok());
  }
  int64_t rows() {
    auto count = Statement::prepare(db.get(), "SELECT COUNT(*) FROM t");
    EXPECT_TRUE(count.ok());
    EXPECT_TRUE(count->step("count").value_or(false));
    return count->column_int(0);
  }

  workload::testing::TempDir dir;
  Db db;
  TransactionStatements statements;
};

TEST_F(PreparedTransactions, ACommittedTransactionKeepsItsWrites) {
  auto tx = Transaction::begin(statements);
  ASSERT_TRUE(tx.ok()) << tx.error().to_string();
  insert(1);
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_EQ(rows(), 1);
}

TEST_F(PreparedTransactions, ATransactionLeftWithoutCommitIsRolledBack) {
  {
    auto tx = Transaction::begin(statements);
    ASSERT_TRUE(tx.ok());
    insert(1);
  }
  EXPECT_EQ(rows(), 0);
}

TEST_F(PreparedTransactions, TheStatementsServeTransactionAfterTransaction) {
  for (int i = 0; i < 5; ++i) {
    {
      auto rolled_back = Transaction::begin(statements);
      ASSERT_TRUE(rolled_back.ok()) << i << ": " << rolled_back.error().to_string();
      insert(100);
    }
    auto tx = Transaction::begin(statements);
    ASSERT_TRUE(tx.ok()) << i << ": " << tx.error().to_string();
    insert(i);
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_EQ(rows(), 5);
}

TEST_F(PreparedTransactions, ASecondBeginInsideATransactionFailsLikeExec) {
  auto tx = Transaction::begin(statements);
  ASSERT_TRUE(tx.ok());
  auto nested = Transaction::begin(statements);
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().code, "state_store");
  insert(7);
  ASSERT_TRUE(tx->commit().ok());
  EXPECT_EQ(rows(), 1);
}

}  // namespace
}  // namespace beemesh::workload::sqlite
