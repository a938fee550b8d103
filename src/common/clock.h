// common/clock.h — time sources. Components take a Clock& so tests can move time.
//
// Promise: now_ms() is Unix time in milliseconds; ManualClock only moves when told.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace beemesh {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
  int64_t now_s() const { return now_ms() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void advance_ms(int64_t ms) { now_ += ms; }
  void set_ms(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

// The process-wide real clock. Stateless, so sharing it is not mutable global state.
inline const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace beemesh
