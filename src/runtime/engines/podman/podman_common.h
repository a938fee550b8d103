// runtime/engines/podman/podman_common.h — what the two Podman engines (the CLI engine,
// podman_engine.h, and the libpod REST engine, podman_rest_engine.h) share on the deploy
// path, so they create, label and check workloads the same way.
//
// Promise: pure functions (and one small thread-safe set) that never run podman.
//  * label_for_podman() adds the labels status() reads back: beemesh.io/restart-policy and
//    beemesh.io/port-<port>-<proto> = the container that declares the port.
//  * adapt_for_podman() turns the rewritten YAML into what Podman 4.3 must see: container
//    ports without hostPort dropped (4.3 would publish them on the same host port) and
//    DeploymentConfig::volumes as hostPath volumes mounted into every container.
//  * check_no_conflict() refuses (Error{"name_conflict"}) a deploy whose pod names are held
//    by containers of another workload id (or none), or whose workload id runs for another
//    manifest id, given every container Podman has (`ps -a --pod` records).
//  * HostPortReservations picks free host ports for a plan's unassigned ports, never one
//    that a deploy still in flight has picked.
//  * prepare_podman_yaml() is the start of both engines' deploy: label, reserve host ports,
//    rewrite and adapt a plan into the YAML handed to Podman.
//  * wait_until_running() polls the engine's query (through callbacks, so it runs no podman
//    itself) until the workload runs, stops for good, fails, or the deadline passes.
//  * finish_deploy() checks Podman publishes every planned port and fills in the plan.
//  * deploy_with_retries() runs one deploy attempt again (3 attempts at most) while the
//    attempt lost a picked host port to another process, releasing its picks each time.
//  * retry_if_replaced_port_busy(): a redeploy's attempt that failed with "address already in
//    use" is tried again too, after kReplacedPortWait: the workload it replaced can hold its
//    host ports for a moment after its removal returned (its container processes exit after
//    `pod rm`; PodmanEngineTest.RedeployUnderTheSameIdReplacesThePods failed so once in CI).
//  * valid_workload_id(): workload ids go into label values, podman filters and API paths,
//    so they are 1-63 DNS-label characters; invalid_id() is the Error for one that is not.
//  * nothing_left() is Error{"remove_failed"} unless a removal left no pod and no container.
//  * remove_side_by_side() runs one removal per pod, 8 at a time, each in its own thread.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/deployment_plan.h"
#include "runtime/engines/podman/podman_json.h"
#include "runtime/runtime.h"

namespace beemesh::runtime::podman {

void label_for_podman(DeploymentPlan& plan);

Result<std::string> adapt_for_podman(const std::string& yaml,
                                     const std::vector<VolumeMount>& volumes);

// Does Podman report `want` for its pod (same container port and protocol, same host port
// and address)? Podman reports "" or "0.0.0.0" for all addresses.
bool reports_port(const WorkloadInfo& info, const PortMapping& want);

Result<void> check_no_conflict(const std::vector<ContainerRecord>& all,
                               const std::vector<std::string>& pod_names,
                               const std::string& workload_id, const std::string& manifest_id);

class HostPortReservations {
 public:
  // Assigns a free port to each of plan's unassigned ports; adds them to `picked`.
  Result<void> pick(DeploymentPlan& plan, std::set<int>& picked);
  void release(const std::set<int>& picked);

 private:
  std::mutex mutex_;
  std::set<int> reserved_;
};

// `text` without trailing newlines and spaces, cut to its last `max` characters ("..." first).
std::string tail_text(const std::string& text, std::size_t max = 600);

// Labels the plan, picks its free host ports (into `picked`), rewrites and adapts it.
Result<std::string> prepare_podman_yaml(DeploymentPlan& plan, HostPortReservations& reservations,
                                        std::set<int>& picked,
                                        const std::vector<VolumeMount>& volumes);

using QueryFn = std::function<Result<std::vector<WorkloadInfo>>()>;
using LogsFn = std::function<Result<std::string>(int tail_lines)>;

// Polls `query` every `poll` until the first workload runs (or has stopped and does not
// restart): returns it. Error "deploy_failed" if nothing was created (wording names
// `play_name`, e.g. "kube play") or it failed (with its last log lines), "timeout" after
// `start_timeout`.
Result<WorkloadInfo> wait_until_running(const QueryFn& query, const LogsFn& logs,
                                        const std::string& workload_id,
                                        std::chrono::milliseconds start_timeout,
                                        std::chrono::milliseconds poll, std::string_view play_name);

// Error "port_mismatch" unless `info` publishes every planned port; else `info` with the
// plan's manifest id, restart policy, ports and pod names.
Result<WorkloadInfo> finish_deploy(WorkloadInfo info, const DeploymentPlan& plan,
                                   const std::string& manifest_id);

bool valid_workload_id(const std::string& id);
Error invalid_id(const std::string& id);

Result<void> nothing_left(const std::string& workload_id, std::size_t pods_left,
                          std::size_t containers_left);

// One deploy attempt: picks host ports into `picked`, sets `port_race` when one was taken.
using DeployAttemptFn = std::function<Result<WorkloadInfo>(std::set<int>& picked, bool& port_race)>;

inline constexpr std::chrono::milliseconds kReplacedPortWait{500};
void retry_if_replaced_port_busy(const Result<WorkloadInfo>& attempt, bool redeploy,
                                 bool& port_race);

Result<WorkloadInfo> deploy_with_retries(const DeployAttemptFn& attempt,
                                         HostPortReservations& reservations,
                                         const std::string& workload_id,
                                         const std::string& manifest_id);

// Calls `remove(id)` for every id, up to 8 side by side (each pod removal may stall ~3 s
// on its cgroup); returns when all are done.
void remove_side_by_side(const std::vector<std::string>& ids,
                         const std::function<void(const std::string& id)>& remove);

}  // namespace beemesh::runtime::podman
