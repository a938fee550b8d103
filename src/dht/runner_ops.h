// dht/runner_ops.h — the operations a DHT node handed to its runner and has not reported yet,
// so that a restart of the runner neither loses them nor reports them on the caller's thread.
//
// Why: OpenDHT 2.4.12's DhtRunner drops the operations queued in it at join() without calling
// their callbacks, and calls the callback of a get, put or query made while it is not running
// at once, on the calling thread (dhtrunner.cpp, `running != State::Running`). A restart in
// place (dht/opendht_dht.h) joins the old runner and runs a new one: an operation made in
// between was reported on a thread of the node's own code (which may hold its own locks or be
// iterating its own state there), and one queued just before was never reported at all.
//
// Promise:
//  * begin(fail) registers an operation and returns its id (never 0); `fail` reports it failed.
//  * submit(id, send) runs `send` (which queues the operation in the runner) at once, on the
//    calling thread, while the runner is up; while it is down it holds `send` until up(). An
//    exception from `send` reaches the caller, the operation still registered.
//  * finish(id) is true once per operation, for the report that counts: the runner's callback
//    reports only when it returns true. After fail_sent(), fail_held() or clear() took the
//    operation, finish() is false: every operation is reported at most once.
//  * down(): from its return, submit() holds; a `send` running meanwhile has returned (the
//    runner may be joined). up() runs the held sends, in the order they came (one that throws
//    fails its operation with `dht_failed`, after the lock), then submit() runs them at once
//    again. Starts up.
//  * fail_sent(error), once the old runner is gone: every operation sent to a runner and not
//    finished is unregistered and failed with `error`; held ones stay. fail_held(error): the
//    held ones are unregistered and failed (a restart that could not start a new runner).
//    Both call the `fail`s on the calling thread, after releasing the lock, and return how many.
//  * clear() (shutdown): forgets every operation without a report; submit() then drops sends.
//  * Thread-safe. `send` runs under the lock (so that down() can wait for it): it must not call
//    back into this object, nor wait for a thread that does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "common/mutex.h"
#include "common/result.h"

namespace beemesh::dht {

class RunnerOps {
 public:
  using Send = std::function<void()>;
  using Fail = std::function<void(const Error&)>;

  uint64_t begin(Fail fail) EXCLUDES(mutex_);
  void submit(uint64_t id, const Send& send) EXCLUDES(mutex_);
  bool finish(uint64_t id) EXCLUDES(mutex_);

  void down() EXCLUDES(mutex_);
  void up() EXCLUDES(mutex_);
  size_t fail_sent(const Error& error) EXCLUDES(mutex_);
  size_t fail_held(const Error& error) EXCLUDES(mutex_);
  void clear() EXCLUDES(mutex_);

  size_t registered() const EXCLUDES(mutex_);  // begun and not reported
  size_t held() const EXCLUDES(mutex_);        // of those, waiting for up()

 private:
  struct Op {
    Fail fail;
    Send held;  // empty: sent (or not submitted yet)
  };
  // Unregisters and returns the `fail`s of the operations `pred` selects.
  template <typename Pred>
  std::vector<Fail> take(Pred pred) REQUIRES(mutex_);
  // take() under the lock, then each `fail` with `error` after it; how many.
  template <typename Pred>
  size_t fail_where(Pred pred, const Error& error) EXCLUDES(mutex_);

  mutable Mutex mutex_;
  bool up_ GUARDED_BY(mutex_) = true;
  bool cleared_ GUARDED_BY(mutex_) = false;
  uint64_t next_id_ GUARDED_BY(mutex_) = 1;
  std::map<uint64_t, Op> ops_ GUARDED_BY(mutex_);  // ids grow: held ones run in id order
};

}  // namespace beemesh::dht
