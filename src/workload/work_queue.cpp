#include "workload/work_queue.h"

#include <pthread.h>
#include <algorithm>
#include <utility>

namespace beemesh::workload {

WorkQueue::WorkQueue(size_t workers, size_t max_queued) : max_queued_(max_queued) {
  worker_count_ = std::max<size_t>(workers, 1);
  workers_.reserve(worker_count_);
  for (size_t i = 0; i < worker_count_; ++i) {
    workers_.emplace_back([this] { work(); });
    ::pthread_setname_np(workers_.back().native_handle(), "work-queue");
  }
}

WorkQueue::~WorkQueue() {
  shutdown();
}

bool WorkQueue::try_submit(Job job) {
  {
    MutexLock lock(mutex_);
    if (stopping_ || jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkQueue::shutdown() {
  MutexLock shutdown_lock(shutdown_mutex_);
  std::deque<Job> cancelled;
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    cancelled.swap(jobs_);
  }
  wake_.notify_all();
  for (auto& job : cancelled) {
    if (job.cancel) job.cancel();
  }
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

size_t WorkQueue::queued() const {
  MutexLock lock(mutex_);
  return jobs_.size();
}

size_t WorkQueue::running() const {
  MutexLock lock(mutex_);
  return running_;
}

void WorkQueue::work() {
  while (true) {
    Job job;
    {
      MutexLock lock(mutex_);
      while (!stopping_ && jobs_.empty()) wake_.wait(mutex_);
      if (jobs_.empty()) return;  // stopping and nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    if (job.run) job.run();
    MutexLock lock(mutex_);
    --running_;
  }
}

}  // namespace beemesh::workload
