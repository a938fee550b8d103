#include "workload/workload_table.h"

#include <algorithm>
#include <utility>

namespace beemesh::workload {

bool WorkloadTable::acquire(const std::string& id, bool wait) {
  MutexLock lock(mutex_);
  while (true) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    if (!it->second.busy) {
      it->second.busy = true;
      return true;
    }
    if (!wait) return false;
    released_.wait(mutex_);
  }
}

void WorkloadTable::release(const std::string& id) {
  {
    MutexLock lock(mutex_);
    auto it = entries_.find(id);
    if (it != entries_.end()) it->second.busy = false;
  }
  released_.notify_all();
}

bool WorkloadTable::reserve(const std::string& id) {
  MutexLock lock(mutex_);
  if (entries_.contains(id) || reservations_.contains(id)) return false;
  reservations_.emplace(id, Resources{});
  return true;
}

void WorkloadTable::set_reservation(const std::string& id, Resources resources) {
  MutexLock lock(mutex_);
  if (auto it = reservations_.find(id); it != reservations_.end()) it->second = resources;
}

void WorkloadTable::unreserve(const std::string& id) {
  MutexLock lock(mutex_);
  reservations_.erase(id);
}

void WorkloadTable::insert_owned(WorkloadRecord record) {
  MutexLock lock(mutex_);
  const std::string id = record.id;
  reservations_.erase(id);
  entries_[id] = Entry{std::move(record), /*busy=*/true};
}

void WorkloadTable::insert(WorkloadRecord record) {
  MutexLock lock(mutex_);
  const std::string id = record.id;
  entries_[id] = Entry{std::move(record)};
}

void WorkloadTable::erase(const std::string& id) {
  {
    MutexLock lock(mutex_);
    entries_.erase(id);
  }
  released_.notify_all();
}

std::optional<WorkloadRecord> WorkloadTable::update(const std::string& id,
                                                    const std::function<void(Entry&)>& change) {
  MutexLock lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  change(it->second);
  return it->second.record;
}

std::optional<WorkloadRecord> WorkloadTable::get(const std::string& id) const {
  MutexLock lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.record;
}

std::vector<WorkloadRecord> WorkloadTable::records() const {
  MutexLock lock(mutex_);
  std::vector<WorkloadRecord> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(entry.record);
  return out;
}

std::map<std::string, std::vector<std::string>> WorkloadTable::ids_by_engine() const {
  MutexLock lock(mutex_);
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [id, entry] : entries_) out[entry.record.engine].push_back(id);
  return out;
}

std::vector<std::string> WorkloadTable::ids_of(const std::string& manifest_id,
                                               const std::string& owner) const {
  MutexLock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, entry] : entries_) {
    if (entry.record.manifest_id == manifest_id && entry.record.owner == owner) out.push_back(id);
  }
  return out;
}

std::optional<std::string> WorkloadTable::healthy_engine(const std::string& manifest_id,
                                                         const std::string& workload_id) const {
  MutexLock lock(mutex_);
  auto it = entries_.find(workload_id);
  if (it == entries_.end() || !it->second.record.healthy ||
      it->second.record.manifest_id != manifest_id) {
    return std::nullopt;
  }
  return it->second.record.engine;
}

bool WorkloadTable::any_healthy(const std::string& manifest_id) const {
  MutexLock lock(mutex_);
  return std::any_of(entries_.begin(), entries_.end(), [&](const auto& kv) {
    return kv.second.record.manifest_id == manifest_id && kv.second.record.healthy;
  });
}

Resources WorkloadTable::reserved_total() const {
  MutexLock lock(mutex_);
  Resources total;
  for (const auto& [id, entry] : entries_) total += entry.record.reserved;
  for (const auto& [id, resources] : reservations_) total += resources;
  return total;
}

}  // namespace beemesh::workload
