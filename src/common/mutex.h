// common/mutex.h — a std::mutex the thread-safety analysis understands.
//
// Promise: Mutex is a std::mutex annotated as a capability (common/thread_annotations.h),
// so members marked GUARDED_BY(mutex_) are checked by `clang -Wthread-safety`; MutexLock
// holds it for a scope; CondVar waits on it (std::condition_variable_any: the mutex is
// released while waiting and held again when wait returns). No recursion, no timeouts on
// lock(): the same contract as std::mutex. Waits take no predicate lambda (the analysis
// cannot see that a lambda runs under the lock): loop on the condition instead.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/thread_annotations.h"

namespace beemesh {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mutex_.lock(); }
  void unlock() RELEASE() { mutex_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mutex_.try_lock(); }

 private:
  std::mutex mutex_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() RELEASE() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

class CondVar {
 public:
  // Releases `mutex` while waiting; it is held again when these return.
  void wait(Mutex& mutex) REQUIRES(mutex) { cv_.wait(mutex); }
  // False when `timeout` passed without a notification (spurious wake-ups return true).
  template <class Rep, class Period>
  bool wait_for(Mutex& mutex, std::chrono::duration<Rep, Period> timeout) REQUIRES(mutex) {
    return cv_.wait_for(mutex, timeout) == std::cv_status::no_timeout;
  }
  // False when `deadline` passed without a notification.
  template <class Clock, class Duration>
  bool wait_until(Mutex& mutex, std::chrono::time_point<Clock, Duration> deadline) REQUIRES(mutex) {
    return cv_.wait_until(mutex, deadline) == std::cv_status::no_timeout;
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace beemesh
