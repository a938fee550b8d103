// Start-up reconciliation of the state store with what the engines actually run.
#include "workload/reconciler.h"

#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <utility>

namespace beemesh::workload {

namespace {

struct Found {
  std::string engine;
  runtime::WorkloadInfo info;
};

void merge(WorkloadRecord& record, const std::string& engine, const runtime::WorkloadInfo& info) {
  record.engine = engine;
  record.state = info.state;
  record.healthy = is_up(info.state);
  record.pods = info.pods;
  record.ports = info.ports;
  record.message = info.message;
}

}  // namespace

Result<ReconcileReport> Reconciler::run() {
  ReconcileReport report;
  auto stored = store_.list_workloads();
  if (!stored) return stored.error();

  // What the engines run now.
  std::map<std::string, Found> running;
  std::set<std::string> listed_engines;
  for (const auto& name : engines_.names()) {
    auto engine = engines_.get(name);
    if (!engine || !engine->is_available()) {
      spdlog::info("workload: reconcile: engine {} not available, its workloads stay unverified",
                   name);
      continue;
    }
    auto listed = engine->list();
    if (!listed) {
      spdlog::warn("workload: reconcile: listing engine {} failed: {}", name,
                   listed.error().to_string());
      continue;
    }
    listed_engines.insert(name);
    for (auto& info : *listed) {
      if (running.contains(info.id)) {
        spdlog::warn("workload: reconcile: workload {} reported by {} and {}; keeping {}", info.id,
                     running[info.id].engine, name, running[info.id].engine);
        continue;
      }
      std::string id = info.id;
      running.emplace(std::move(id), Found{name, std::move(info)});
    }
  }

  std::vector<WorkloadRecord> keep;      // adopted or unverified: managed from now on
  std::vector<WorkloadRecord> vanished;  // deleted
  std::vector<WorkloadRecord> down;      // adopted but not running
  const int64_t now = clock_.now_ms();

  for (auto& record : stored.value()) {
    if (auto it = running.find(record.id); it != running.end()) {
      const bool was_healthy = record.healthy;
      merge(record, it->second.engine, it->second.info);
      record.updated_at_ms = now;
      running.erase(it);
      report.adopted.push_back(record.id);
      if (!record.healthy && was_healthy) down.push_back(record);
      keep.push_back(std::move(record));
    } else if (listed_engines.contains(record.engine)) {
      report.vanished.push_back(record.id);
      vanished.push_back(std::move(record));
    } else {
      report.unverified.push_back(record.id);
      keep.push_back(std::move(record));
    }
  }

  // Engine workloads this store does not know: adopt those of manifests applied here.
  for (auto& [id, found] : running) {
    const runtime::WorkloadInfo& info = found.info;
    auto applied = info.manifest_id.empty()
                       ? Result<AppliedManifestRecord>(make_error("not_found", "no manifest id"))
                       : store_.get_applied_manifest(info.manifest_id);
    if (!applied) {
      if (applied.error().code != "not_found") {
        spdlog::warn("workload: reconcile: looking up manifest {} failed: {}", info.manifest_id,
                     applied.error().to_string());
      }
      spdlog::info(
          "workload: reconcile: {} workload {} (manifest '{}') is not known here; left alone",
          found.engine, id, info.manifest_id);
      report.ignored.push_back(id);
      continue;
    }
    WorkloadRecord record;
    record.id = id;
    record.manifest_id = info.manifest_id;
    record.owner = applied->owner;
    record.restart_policy = info.restart_policy;
    record.config.manifest_id = info.manifest_id;
    record.config.workload_id = id;
    record.created_at_ms = info.created_at_ms != 0 ? info.created_at_ms : now;
    record.updated_at_ms = now;
    merge(record, found.engine, info);
    spdlog::info("workload: reconcile: adopting {} workload {} of manifest {}", found.engine, id,
                 info.manifest_id);
    report.adopted.push_back(id);
    if (!record.healthy) down.push_back(record);
    keep.push_back(std::move(record));
  }

  for (const auto& record : keep) BEEMESH_TRY(store_.put_workload(record));
  for (const auto& record : vanished) BEEMESH_TRY(store_.delete_workload(record.id));
  for (auto& record : keep) table_.insert(std::move(record));

  // Report and settle provider records.
  for (const auto& record : vanished) {
    const std::string reason = "vanished from engine " + record.engine + " while the node was down";
    spdlog::warn("workload: reconcile: {} (manifest {}) {}; record deleted", record.id,
                 record.manifest_id, reason);
    if (record.healthy) {
      events_.publish(EventKind::Unhealthy, record.id, record.manifest_id, reason);
    }
    events_.publish(EventKind::Removed, record.id, record.manifest_id, reason);
    provider_.update(record.manifest_id, record.id);
  }
  for (const auto& record : down) {
    std::string reason = "found " + std::string(runtime::to_string(record.state)) + " at start";
    if (!record.message.empty()) reason += ": " + record.message;
    events_.publish(EventKind::Unhealthy, record.id, record.manifest_id, reason);
  }
  for (const auto& id : report.adopted) {
    auto record = table_.get(id);
    if (!record) continue;
    // Announces a running workload; withdraws a manifest none of whose workloads runs.
    provider_.update(record->manifest_id, id);
  }
  return report;
}

}  // namespace beemesh::workload
