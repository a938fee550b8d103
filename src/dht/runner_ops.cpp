#include "dht/runner_ops.h"

#include <exception>
#include <utility>

namespace beemesh::dht {

uint64_t RunnerOps::begin(Fail fail) {
  MutexLock lock(mutex_);
  const uint64_t id = next_id_++;
  if (!cleared_) ops_.emplace(id, Op{std::move(fail), {}});
  return id;
}

void RunnerOps::submit(uint64_t id, const Send& send) {
  MutexLock lock(mutex_);
  auto it = ops_.find(id);
  if (it == ops_.end()) return;  // cleared, or already failed
  if (!up_) {
    it->second.held = send;
    return;
  }
  send();
}

bool RunnerOps::finish(uint64_t id) {
  MutexLock lock(mutex_);
  return ops_.erase(id) > 0;
}

void RunnerOps::down() {
  MutexLock lock(mutex_);
  up_ = false;
}

void RunnerOps::up() {
  std::vector<std::pair<Fail, Error>> failed;
  {
    MutexLock lock(mutex_);
    up_ = true;
    for (auto it = ops_.begin(); it != ops_.end();) {
      if (!it->second.held) {
        ++it;
        continue;
      }
      const Send send = std::exchange(it->second.held, {});
      try {
        send();
        ++it;
      } catch (const std::exception& e) {
        failed.emplace_back(std::move(it->second.fail), make_error("dht_failed", e.what()));
        it = ops_.erase(it);
      }
    }
  }
  for (auto& [fail, error] : failed) {
    if (fail) fail(error);
  }
}

template <typename Pred>
std::vector<RunnerOps::Fail> RunnerOps::take(Pred pred) {
  std::vector<Fail> taken;
  for (auto it = ops_.begin(); it != ops_.end();) {
    if (pred(it->second)) {
      taken.push_back(std::move(it->second.fail));
      it = ops_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

template <typename Pred>
size_t RunnerOps::fail_where(Pred pred, const Error& error) {
  std::vector<Fail> failed;
  {
    MutexLock lock(mutex_);
    failed = take(pred);
  }
  for (auto& fail : failed) {
    if (fail) fail(error);
  }
  return failed.size();
}

size_t RunnerOps::fail_sent(const Error& error) {
  return fail_where([](const Op& op) { return !op.held; }, error);
}

size_t RunnerOps::fail_held(const Error& error) {
  return fail_where([](const Op& op) { return static_cast<bool>(op.held); }, error);
}

void RunnerOps::clear() {
  std::map<uint64_t, Op> dropped;
  {
    MutexLock lock(mutex_);
    cleared_ = true;
    dropped.swap(ops_);
  }
  // Destroyed here, outside the lock: a callback's captures may hold anything.
}

size_t RunnerOps::registered() const {
  MutexLock lock(mutex_);
  return ops_.size();
}

size_t RunnerOps::held() const {
  MutexLock lock(mutex_);
  size_t n = 0;
  for (const auto& [id, op] : ops_) n += op.held ? 1 : 0;
  return n;
}

}  // namespace beemesh::dht
