#include "common/log_budget.h"

#include <gtest/gtest.h>

#include <thread>

namespace beemesh {
namespace {

TEST(LogBudget, AllowsThePerSecondBudgetAndRefusesTheRest) {
  LogBudget budget(3);
  EXPECT_TRUE(budget.take().has_value());
  EXPECT_TRUE(budget.take().has_value());
  EXPECT_TRUE(budget.take().has_value());
  EXPECT_FALSE(budget.take().has_value());
  EXPECT_FALSE(budget.take().has_value());
}

TEST(LogBudget, TheFirstLineOfTheNextSecondCountsTheRefusedOnes) {
  LogBudget budget(1);
  ASSERT_EQ(budget.take(), std::optional<int64_t>(0));
  EXPECT_FALSE(budget.take().has_value());
  EXPECT_FALSE(budget.take().has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(budget.take(), std::optional<int64_t>(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(budget.take(), std::optional<int64_t>(0));
}

}  // namespace
}  // namespace beemesh
