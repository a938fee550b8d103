// workload/work_queue.h — a fixed pool of worker threads fed by a bounded FIFO queue.
//
// Promise:
//  * At most `workers` jobs run at once; jobs start in submission order.
//  * try_submit() never blocks: it queues the job, or returns false when `max_queued` jobs
//    already wait or the queue is shut down (the job is then neither run nor cancelled).
//  * Every accepted job ends exactly once: run() on a worker, or cancel() (on the thread
//    calling shutdown()) when the queue shuts down before a worker took it.
//  * shutdown() (also done by the destructor) cancels waiting jobs, waits for running ones
//    and joins the workers. It must not be called from a job.
//  * Locks: mutex_ guards the queue and counters and is never held while a job runs or is
//    cancelled; shutdown_mutex_ (taken before mutex_) is held across cancel() and joins.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace beemesh::workload {

class WorkQueue {
 public:
  struct Job {
    std::function<void()> run;
    std::function<void()> cancel;  // optional
  };

  WorkQueue(size_t workers, size_t max_queued);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  bool try_submit(Job job);
  void shutdown();

  size_t queued() const;
  size_t running() const;
  size_t worker_count() const { return worker_count_; }

 private:
  void work() EXCLUDES(mutex_);

  const size_t max_queued_;
  size_t worker_count_ = 0;
  Mutex shutdown_mutex_ ACQUIRED_BEFORE(mutex_);  // serialises shutdown() calls
  mutable Mutex mutex_;
  CondVar wake_;
  std::deque<Job> jobs_ GUARDED_BY(mutex_);
  size_t running_ GUARDED_BY(mutex_) = 0;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::vector<std::thread> workers_;  // filled by the constructor, joined by shutdown()
};

}  // namespace beemesh::workload
