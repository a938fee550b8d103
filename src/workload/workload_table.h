// workload/workload_table.h — the workloads this node manages, in memory, and who owns
// each one right now. Shared by the manager, the reconciler, the health monitor and the
// provider bookkeeping.
//
// Promise:
//  * Every member function is atomic (it takes the table's mutex itself) and calls
//    nothing outside the table while holding it: no engine, no SQLite, no announcer, no
//    event bus. The mutex is a leaf: no other lock is taken while it is held. Callers may
//    hold their own locks when they call in (lock order: caller's lock, then this one).
//  * Ownership: at most one thread owns a workload at a time (acquire()/release(), or the
//    deploy that inserted it with insert_owned()). Only the owner changes the workload's
//    engine state or its row in the state store, so rows and table agree without holding
//    the mutex across the SQLite write. update() may be called by the owner only.
//  * Reservations: a deploy reserves its workload id (reserve()) before it calls the
//    engine; the id is refused to every other deploy until unreserve() or insert_owned().
//    reserved_total() counts the workloads in the table and the reservations' resources.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "workload/record.h"
#include "workload/resources.h"

namespace beemesh::workload {

class WorkloadTable {
 public:
  struct Entry {
    WorkloadRecord record;
    bool busy = false;  // owned by a deploy, remove, health check or restart
    int failed_restarts = 0;
    int64_t next_restart_ms = 0;
  };

  // ---- ownership
  // Owns `id`: true when it exists and was not owned (with `wait`, waits until it is free
  // or gone). False when it is not in the table (or owned and !wait).
  bool acquire(const std::string& id, bool wait) EXCLUDES(mutex_);
  void release(const std::string& id) EXCLUDES(mutex_);

  // ---- deploys
  // False when `id` is in the table or reserved.
  bool reserve(const std::string& id) EXCLUDES(mutex_);
  // What the reserved deploy will take (counted by reserved_total() from now on).
  void set_reservation(const std::string& id, Resources resources) EXCLUDES(mutex_);
  void unreserve(const std::string& id) EXCLUDES(mutex_);
  // Adds the deployed workload, owned by the caller, and drops its reservation.
  void insert_owned(WorkloadRecord record) EXCLUDES(mutex_);

  // ---- any thread
  // Adds (or replaces) a workload nobody owns (start-up reconciliation).
  void insert(WorkloadRecord record) EXCLUDES(mutex_);
  void erase(const std::string& id) EXCLUDES(mutex_);
  // Runs `change` on the entry under the mutex (it must not call out) and returns the
  // record as changed; nullopt when `id` is gone.
  std::optional<WorkloadRecord> update(const std::string& id,
                                       const std::function<void(Entry&)>& change) EXCLUDES(mutex_);

  std::optional<WorkloadRecord> get(const std::string& id) const EXCLUDES(mutex_);
  std::vector<WorkloadRecord> records() const EXCLUDES(mutex_);
  std::map<std::string, std::vector<std::string>> ids_by_engine() const EXCLUDES(mutex_);
  std::vector<std::string> ids_of(const std::string& manifest_id, const std::string& owner) const
      EXCLUDES(mutex_);
  // The engine of `workload_id` when it is in the table, healthy and of `manifest_id`.
  std::optional<std::string> healthy_engine(const std::string& manifest_id,
                                            const std::string& workload_id) const EXCLUDES(mutex_);
  bool any_healthy(const std::string& manifest_id) const EXCLUDES(mutex_);
  // Sum of WorkloadRecord::reserved over the table plus the reservations' resources.
  Resources reserved_total() const EXCLUDES(mutex_);

 private:
  mutable Mutex mutex_;
  CondVar released_;  // an owned workload was released or erased
  std::map<std::string, Entry> entries_ GUARDED_BY(mutex_);
  std::map<std::string, Resources> reservations_ GUARDED_BY(mutex_);  // deploys in flight
};

}  // namespace beemesh::workload
