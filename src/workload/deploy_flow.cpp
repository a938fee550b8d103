// The deploy path of the WorkloadManager: queueing, validation, engine selection, deploy,
// persistence, events and the provider announcement.
#include <spdlog/spdlog.h>

#include <utility>

#include "manifest/manifest.h"
#include "workload/work_queue.h"
#include "workload/workload_manager.h"

namespace beemesh::workload {

struct WorkloadManager::PendingDeploy {
  DeployRequest request;
  uint64_t ticket = 0;
  DeployCallback done;
  bool reserved = false;  // its workload id is reserved in the table
};

bool WorkloadManager::submit(std::function<void()> run, std::function<void(Error)> refuse) {
  std::optional<Error> refusal;
  {
    MutexLock lock(mutex_);
    if (!started_) {
      refusal = make_error("not_started", "workload manager is not started");
    } else if (stopping_) {
      refusal = make_error("shutting_down", "workload manager is shutting down");
    } else {
      WorkQueue::Job job{
          std::move(run), [refuse] {
            refuse(make_error("shutting_down", "workload manager stopped before the request ran"));
          }};
      if (!queue_->try_submit(std::move(job))) {
        refusal = make_error("busy", "workload manager queue is full (" +
                                         std::to_string(config_.max_queued_deployments) +
                                         " requests waiting)");
      }
    }
  }
  if (refusal) {
    refuse(std::move(*refusal));
    return false;
  }
  return true;
}

void WorkloadManager::deploy_workload(DeployRequest request, DeployCallback on_done) {
  auto pending = std::make_shared<PendingDeploy>();
  pending->request = std::move(request);
  pending->done = std::move(on_done);
  {
    MutexLock lock(mutex_);
    pending->ticket = next_ticket_++;
    ++outstanding_deploys_;
  }
  submit(
      [this, pending] {
        auto result = run_deploy(*pending);
        finish_deploy();
        if (pending->done) pending->done(std::move(result));
      },
      [this, pending](Error error) {
        spdlog::warn("workload: deploy of manifest {} refused: {}", pending->request.manifest_id,
                     error.to_string());
        finish_deploy();
        if (pending->done) pending->done(std::move(error));
      });
}

void WorkloadManager::finish_deploy() {
  MutexLock lock(mutex_);
  // With no deploy outstanding, no request older than a removal is left to cancel.
  if (--outstanding_deploys_ == 0) removed_at_ticket_.clear();
}

std::future<Result<WorkloadRecord>> WorkloadManager::deploy_workload(DeployRequest request) {
  auto promise = std::make_shared<std::promise<Result<WorkloadRecord>>>();
  auto future = promise->get_future();
  deploy_workload(std::move(request), [promise](Result<WorkloadRecord> result) {
    promise->set_value(std::move(result));
  });
  return future;
}

bool WorkloadManager::superseded(const std::string& manifest_id, const std::string& owner,
                                 uint64_t ticket) const {
  auto it = removed_at_ticket_.find({manifest_id, owner});
  return it != removed_at_ticket_.end() && it->second > ticket;
}

Result<WorkloadRecord> WorkloadManager::run_deploy(PendingDeploy& pending) {
  std::string workload_id = pending.request.config.workload_id;
  auto result = deploy_steps(pending, workload_id);
  if (pending.reserved) table_.unreserve(workload_id);  // no-op once it is in the table
  if (!result) {
    spdlog::warn("workload: deploy of {} (manifest {}) failed: {}", workload_id,
                 pending.request.manifest_id, result.error().to_string());
    events_.publish(EventKind::DeployFailed, workload_id, pending.request.manifest_id,
                    result.error().to_string());
  }
  return result;
}

Result<WorkloadRecord> WorkloadManager::deploy_steps(PendingDeploy& pending,
                                                     std::string& workload_id) {
  DeployRequest& request = pending.request;
  const std::string& manifest_id = request.manifest_id;
  runtime::DeploymentConfig& config = request.config;

  if (manifest_id.empty()) return make_error("invalid_request", "deploy: manifest id is empty");
  if (request.owner.empty()) {
    return make_error("invalid_request", "deploy of " + manifest_id + ": owner is empty");
  }
  if (config.manifest_id.empty()) config.manifest_id = manifest_id;
  if (config.manifest_id != manifest_id) {
    return make_error("invalid_request", "deploy of " + manifest_id +
                                             ": config names another manifest id '" +
                                             config.manifest_id + "'");
  }
  if (config.workload_id.empty()) config.workload_id = runtime::new_workload_id();
  if (!runtime::is_valid_workload_id(config.workload_id)) {
    return make_error("invalid_workload_id", "deploy of " + manifest_id + ": workload id '" +
                                                 config.workload_id +
                                                 "' is not 16 lowercase hex characters");
  }
  if (!table_.reserve(config.workload_id)) {
    return make_error("already_exists", "workload " + config.workload_id + " already exists");
  }
  pending.reserved = true;
  workload_id = config.workload_id;
  {
    MutexLock lock(mutex_);
    if (superseded(manifest_id, request.owner, pending.ticket)) {
      return make_error("cancelled", "manifest " + manifest_id + " was removed before deploy");
    }
  }

  std::string restart_policy;
  Resources reservation;
  // Parsed once on this node: by the caller, or here. Engines get the parsed form.
  if (!request.manifest) {
    auto parsed = manifest::parse_shared(request.manifest_yaml, "manifest " + manifest_id);
    if (!parsed) return parsed.error();
    request.manifest = std::move(*parsed);
  }
  const manifest::Manifest& parsed = *request.manifest;
  if (config_.validate_manifests) {
    const manifest::Document* primary = parsed.primary();
    if (primary == nullptr) {
      return make_error("invalid_manifest",
                        "manifest " + manifest_id + ": no Pod, Deployment or StatefulSet to run");
    }
    restart_policy = primary->restart_policy;
  }
  reservation = reservation_of(parsed, config);
  table_.set_reservation(workload_id, reservation);

  auto selected = engines_.select(request.engine ? request.engine : config_.preferred_runtime);
  if (!selected) return selected.error();
  std::shared_ptr<runtime::RuntimeEngine> engine = std::move(selected).value();
  const std::string engine_name = engine->name();
  if (config_.validate_manifests) BEEMESH_TRY(engine->validate_manifest(parsed));

  events_.publish(EventKind::Deploying, workload_id, manifest_id, "engine " + engine_name);
  auto info = engine->deploy(request.manifest, config);
  if (!info) {
    return make_error("deploy_failed", "engine " + engine_name + ": " + info.error().to_string());
  }
  if (!info->id.empty() && info->id != workload_id) {
    // The engine honours DeploymentConfig::workload_id; anything else is its bug.
    spdlog::warn("workload: engine {} named workload {} as {}", engine_name, workload_id, info->id);
  }

  WorkloadRecord record;
  record.id = workload_id;
  record.manifest_id = manifest_id;
  record.owner = request.owner;
  record.engine = engine_name;
  record.state = info->state;
  record.healthy = is_up(info->state);
  record.restart_policy = !restart_policy.empty() ? restart_policy : info->restart_policy;
  record.config = config;
  record.pods = info->pods;
  record.ports = info->ports;
  record.created_at_ms = info->created_at_ms != 0 ? info->created_at_ms : clock_.now_ms();
  record.updated_at_ms = clock_.now_ms();
  record.message = info->message;
  record.reserved = reservation;

  // Into the table, owned by this deploy, atomically with the cancellation check: a
  // removal marked later finds it there (and waits for it); one marked earlier cancels.
  std::optional<Error> failure;
  {
    MutexLock lock(mutex_);
    if (superseded(manifest_id, request.owner, pending.ticket)) {
      failure = make_error("cancelled", "manifest " + manifest_id + " was removed during deploy");
    } else {
      table_.insert_owned(record);
    }
  }
  if (!failure) {
    auto saved = request.applied ? store_.put_deployed(record, *request.applied)
                                 : store_.put_workload(record);
    if (!saved) {
      failure = saved.error();
      table_.erase(workload_id);
    }
  }
  if (failure) {
    if (auto undone = engine->remove(workload_id); !undone) {
      spdlog::error("workload: could not undo deploy of {}: {}", workload_id,
                    undone.error().to_string());
    }
    return *failure;
  }

  spdlog::info("workload: deployed {} (manifest {}) on {}: {}", workload_id, manifest_id,
               engine_name, runtime::to_string(record.state));
  events_.publish(EventKind::Deployed, workload_id, manifest_id,
                  "engine " + engine_name + ", " + std::string(runtime::to_string(record.state)));
  if (record.healthy) provider_.update(manifest_id, workload_id);
  table_.release(workload_id);
  return record;
}

}  // namespace beemesh::workload
