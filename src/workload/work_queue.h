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
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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
  void work();

  const size_t max_queued_;
  size_t worker_count_ = 0;
  std::mutex shutdown_mutex_;  // serialises shutdown() calls
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace beemesh::workload
