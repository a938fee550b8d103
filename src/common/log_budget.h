// common/log_budget.h — a bound on how many lines a noisy source may log.
//
// Promise: take() allows at most `per_second` lines in each wall-clock second (steady
// clock) and refuses the rest, so a peer that provokes a warning per request cannot fill
// the disk. When a line is allowed after some were refused, take() says how many were
// refused since the last allowed line (log it with that line). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace beemesh {

class LogBudget {
 public:
  explicit LogBudget(int per_second) : per_second_(per_second) {}

  // nullopt: do not log this line. Otherwise the number of lines refused before it.
  std::optional<int64_t> take() {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= per_second_) {
      ++refused_;
      return std::nullopt;
    }
    ++used_;
    auto refused = refused_;
    refused_ = 0;
    return refused;
  }

 private:
  const int per_second_;
  std::mutex mutex_;  // guards the three below
  std::chrono::steady_clock::time_point window_start_{};
  int used_ = 0;
  int64_t refused_ = 0;
};

}  // namespace beemesh
