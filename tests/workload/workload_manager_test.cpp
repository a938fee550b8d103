// The workload manager with the Mock engine, a recording announcer and a real SQLite file:
// deploy, failure, queueing, removal, health monitor and reconciliation after a restart.
#include "workload/workload_manager.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "runtime/mock/mock_engine.h"
#include "workload/fakes.h"

namespace beemesh::workload {
namespace {

using runtime::WorkloadState;
using testing::EventRecorder;
using testing::FakeAnnouncer;
using testing::GatedEngine;
using testing::kPatience;
using testing::pod_manifest;
using testing::TempDir;

class WorkloadManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_ = std::make_shared<runtime::MockEngine>(runtime::MockConfig{}, clock_);
    auto store = StateStore::open(dir_.path() / StateStore::kDefaultFileName, clock_);
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    store_ = std::move(store).value();
  }

  static WorkloadManagerConfig config() {
    WorkloadManagerConfig c;
    c.preferred_runtime = "mock";
    c.run_health_monitor = false;  // tests drive it with check_health_now()
    return c;
  }

  // A started manager over `engine` (the Mock engine unless given).
  std::unique_ptr<WorkloadManager> start(WorkloadManagerConfig c = config(),
                                         std::shared_ptr<runtime::RuntimeEngine> engine = {}) {
    if (!engine) engine = mock_;
    registry_ = std::make_unique<runtime::EngineRegistry>();
    registry_->add(engine, 0, /*implicit=*/false);
    auto manager = std::make_unique<WorkloadManager>(std::move(c), *registry_, &announcer_, *store_,
                                                     bus_, clock_, self_);
    auto report = manager->start();
    EXPECT_TRUE(report.ok()) << report.error().to_string();
    if (report.ok()) last_report_ = *report;
    return manager;
  }

  static DeployRequest request(const std::string& manifest_id, const std::string& name = "web",
                               const std::string& restart_policy = {}) {
    DeployRequest r;
    r.manifest_id = manifest_id;
    r.owner = "0wner0wner";
    r.manifest_yaml = pod_manifest(name, restart_policy);
    return r;
  }

  static WorkloadRecord deployed(WorkloadManager& manager, DeployRequest r) {
    auto future = manager.deploy_workload(std::move(r));
    EXPECT_EQ(future.wait_for(kPatience), std::future_status::ready);
    auto result = future.get();
    EXPECT_TRUE(result.ok()) << result.error().to_string();
    return result.ok() ? *result : WorkloadRecord{};
  }

  ManualClock clock_;
  TempDir dir_;
  EventBus bus_{clock_};
  FakeAnnouncer announcer_;
  std::shared_ptr<runtime::MockEngine> mock_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<runtime::EngineRegistry> registry_;
  provider::ProviderMetadata self_{"node-a", "127.0.0.1:7401", "", {{"arch", "amd64"}}};
  ReconcileReport last_report_;
};

// ---- deploy

TEST_F(WorkloadManagerTest, ARequestCarryingTheParsedManifestHandsThatSameFormToTheEngine) {
  auto manager = start();
  auto r = request("m1");
  auto parsed = manifest::parse_shared(r.manifest_yaml, "test");
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  r.manifest = *parsed;
  r.manifest_yaml.clear();  // not needed, not parsed again

  const auto record = deployed(*manager, r);

  EXPECT_EQ(mock_->last_deployed_manifest().get(), parsed->get());
  EXPECT_EQ(mock_->get_workload_manifest(record.id), (*parsed)->text);
}

TEST_F(WorkloadManagerTest, DeployHandsTheEngineExactlyTheManifestAndConfig) {
  auto manager = start();
  auto r = request("m1");
  r.config.env = {{"MODE", "test"}};
  r.config.memory_limit_bytes = 32 * 1024 * 1024;
  const std::string yaml = r.manifest_yaml;
  const auto record = deployed(*manager, r);

  EXPECT_EQ(mock_->get_workload_manifest(record.id), yaml);
  auto expected = r.config;
  expected.manifest_id = "m1";
  expected.workload_id = record.id;
  EXPECT_EQ(mock_->get_workload_config(record.id), expected);
  EXPECT_EQ(mock_->deploy_calls(), 1);
  EXPECT_EQ(record.manifest_id, "m1");
  EXPECT_EQ(record.owner, "0wner0wner");
  EXPECT_EQ(record.engine, "mock");
  EXPECT_EQ(record.state, WorkloadState::Running);
  EXPECT_TRUE(record.healthy);
}

TEST_F(WorkloadManagerTest, DeployEmitsDeployingDeployedAnnouncedInOrder) {
  EventRecorder events(bus_);
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  ASSERT_TRUE(events.wait_for(EventKind::Announced));
  EXPECT_EQ(
      events.kinds(record.id),
      (std::vector<EventKind>{EventKind::Deploying, EventKind::Deployed, EventKind::Announced}));
  for (const auto& e : events.events()) {
    EXPECT_EQ(e.manifest_id, "m1");
    EXPECT_EQ(e.time_ms, clock_.now_ms());
  }
}

TEST_F(WorkloadManagerTest, DeployAnnouncesThisNodeWithTheConfiguredTtl) {
  auto manager = start();
  deployed(*manager, request("m1"));
  auto calls = announcer_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].action, "announce");
  EXPECT_EQ(calls[0].manifest_id, "m1");
  EXPECT_EQ(calls[0].ttl, std::chrono::seconds(3600));
  EXPECT_EQ(calls[0].metadata.node_id, "node-a");
  EXPECT_EQ(calls[0].metadata.rpc_endpoint, "127.0.0.1:7401");
  EXPECT_EQ(calls[0].metadata.engine, "mock");
}

TEST_F(WorkloadManagerTest, DeployPersistsTheRecord) {
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  auto stored = store_->get_workload(record.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->manifest_id, "m1");
  EXPECT_EQ(stored->owner, "0wner0wner");
  EXPECT_EQ(stored->config.workload_id, record.id);
  EXPECT_EQ(stored->restart_policy, "Always");
  EXPECT_EQ(manager->list().size(), 1u);
  EXPECT_EQ(manager->workloads_of("m1").size(), 1u);
}

TEST_F(WorkloadManagerTest, NoAnnouncementWhenAnnounceAsProviderIsOff) {
  auto c = config();
  c.announce_as_provider = false;
  auto manager = start(c);
  deployed(*manager, request("m1"));
  EXPECT_TRUE(announcer_.calls().empty());
}

TEST_F(WorkloadManagerTest, FailedDeployEmitsDeployFailedPersistsAndAnnouncesNothing) {
  EventRecorder events(bus_);
  mock_->set_success_rate(0.0);
  auto manager = start();
  auto result = manager->deploy_workload(request("m1")).get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "deploy_failed");
  EXPECT_EQ(events.kinds(),
            (std::vector<EventKind>{EventKind::Deploying, EventKind::DeployFailed}));
  EXPECT_FALSE(events.events().back().reason.empty());
  EXPECT_TRUE(store_->list_workloads()->empty());
  EXPECT_TRUE(manager->list().empty());
  EXPECT_TRUE(announcer_.calls().empty());
  EXPECT_EQ(mock_->workload_count(), 0u);
}

TEST_F(WorkloadManagerTest, InvalidManifestIsRejectedBeforeTheEngine) {
  EventRecorder events(bus_);
  auto manager = start();
  auto r = request("m1");
  r.manifest_yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec: {}\n";
  auto result = manager->deploy_workload(r).get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "invalid_manifest");
  EXPECT_EQ(mock_->deploy_calls(), 0);
  EXPECT_EQ(events.kinds(), (std::vector<EventKind>{EventKind::DeployFailed}));
}

TEST_F(WorkloadManagerTest, NoUsableEngineIsNoEngine) {
  auto c = config();
  c.preferred_runtime = "podman";  // not registered; the Mock engine is never implicit
  auto manager = start(c);
  auto result = manager->deploy_workload(request("m1")).get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "no_engine");
}

TEST_F(WorkloadManagerTest, RequestEngineOverridesThePreferredRuntime) {
  auto c = config();
  c.preferred_runtime = "podman";
  auto manager = start(c);
  auto r = request("m1");
  r.engine = "mock";
  EXPECT_EQ(deployed(*manager, r).engine, "mock");
}

TEST_F(WorkloadManagerTest, RequestWithoutOwnerIsInvalid) {
  auto manager = start();
  auto r = request("m1");
  r.owner.clear();
  auto result = manager->deploy_workload(r).get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "invalid_request");
}

TEST_F(WorkloadManagerTest, DeployBeforeStartIsNotStarted) {
  runtime::EngineRegistry registry;
  WorkloadManager manager(config(), registry, &announcer_, *store_, bus_, clock_, self_);
  auto result = manager.deploy_workload(request("m1")).get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "not_started");
}

TEST_F(WorkloadManagerTest, CallbackFormReportsTheRecord) {
  auto manager = start();
  std::promise<Result<WorkloadRecord>> done;
  manager->deploy_workload(request("m1"),
                           [&](Result<WorkloadRecord> result) { done.set_value(result); });
  auto result = done.get_future().get();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(mock_->workload_count(), 1u);
}

// ---- queueing

TEST_F(WorkloadManagerTest, DeploysBeyondTheConcurrencyCapQueueAndAllSucceed) {
  auto gated = std::make_shared<GatedEngine>(mock_);
  auto c = config();
  c.max_concurrent_deployments = 2;
  auto manager = start(c, gated);
  gated->close_gate();

  std::vector<std::future<Result<WorkloadRecord>>> futures;
  for (int i = 0; i < 6; ++i) {
    futures.push_back(manager->deploy_workload(request("m" + std::to_string(i))));
  }
  ASSERT_TRUE(gated->wait_inside(2));
  EXPECT_EQ(gated->inside(), 2);
  EXPECT_EQ(manager->queued_requests(), 4u);

  gated->open_gate();
  for (auto& f : futures) {
    auto result = f.get();
    EXPECT_TRUE(result.ok()) << result.error().to_string();
  }
  EXPECT_EQ(gated->max_inside(), 2);
  EXPECT_EQ(mock_->workload_count(), 6u);
  EXPECT_EQ(manager->list().size(), 6u);
}

TEST_F(WorkloadManagerTest, RequestsBeyondTheQueueBoundAreBusy) {
  auto gated = std::make_shared<GatedEngine>(mock_);
  auto c = config();
  c.max_concurrent_deployments = 1;
  c.max_queued_deployments = 1;
  auto manager = start(c, gated);
  gated->close_gate();

  auto running = manager->deploy_workload(request("m1"));
  ASSERT_TRUE(gated->wait_inside(1));
  auto queued = manager->deploy_workload(request("m2"));
  auto refused = manager->deploy_workload(request("m3"));
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(refused.get().error().code, "busy");

  gated->open_gate();
  EXPECT_TRUE(running.get().ok());
  EXPECT_TRUE(queued.get().ok());
}

TEST_F(WorkloadManagerTest, StopCancelsQueuedRequestsAndFinishesRunningOnes) {
  auto gated = std::make_shared<GatedEngine>(mock_);
  auto c = config();
  c.max_concurrent_deployments = 1;
  auto manager = start(c, gated);
  gated->close_gate();

  auto running = manager->deploy_workload(request("m1"));
  ASSERT_TRUE(gated->wait_inside(1));
  auto queued = manager->deploy_workload(request("m2"));
  std::thread stopper([&] { manager->stop(); });
  EXPECT_EQ(queued.get().error().code, "shutting_down");
  gated->open_gate();
  stopper.join();
  EXPECT_TRUE(running.get().ok());
  EXPECT_EQ(manager->deploy_workload(request("m3")).get().error().code, "shutting_down");
}

TEST_F(WorkloadManagerTest, RemovingAManifestCancelsItsEarlierDeploys) {
  auto gated = std::make_shared<GatedEngine>(mock_);
  auto c = config();
  c.max_concurrent_deployments = 1;
  auto manager = start(c, gated);
  gated->close_gate();

  auto in_engine = manager->deploy_workload(request("gone"));
  ASSERT_TRUE(gated->wait_inside(1));
  auto other = manager->deploy_workload(request("kept"));
  auto waiting = manager->deploy_workload(request("gone"));
  EXPECT_EQ(manager->remove_manifest("gone", "0wner0wner").value(), 0);  // nothing deployed yet
  auto later = manager->deploy_workload(request("gone"));                // asked after the removal
  gated->open_gate();

  EXPECT_EQ(in_engine.get().error().code, "cancelled");
  EXPECT_TRUE(other.get().ok());
  EXPECT_EQ(waiting.get().error().code, "cancelled");
  EXPECT_TRUE(later.get().ok());
  EXPECT_EQ(manager->workloads_of("gone").size(), 1u);
  EXPECT_EQ(mock_->workload_count(), 2u);
}

TEST_F(WorkloadManagerTest, AnotherOwnersRemovalLeavesAPendingDeployToComplete) {
  auto gated = std::make_shared<GatedEngine>(mock_);
  auto c = config();
  c.max_concurrent_deployments = 1;
  auto manager = start(c, gated);
  gated->close_gate();

  auto in_engine = manager->deploy_workload(request("victim"));
  ASSERT_TRUE(gated->wait_inside(1));
  auto waiting = manager->deploy_workload(request("victim"));
  EXPECT_EQ(manager->remove_manifest("victim", "stranger").value(), 0);
  std::promise<Result<int>> async_done;
  manager->remove_manifest_async("victim", "stranger",
                                 [&](Result<int> result) { async_done.set_value(result); });
  gated->open_gate();

  EXPECT_TRUE(in_engine.get().ok());
  EXPECT_TRUE(waiting.get().ok());
  EXPECT_EQ(async_done.get_future().get().value(), 0);
  EXPECT_EQ(manager->workloads_of("victim").size(), 2u);
}

TEST_F(WorkloadManagerTest, RemoveManifestRemovesOnlyTheOwnersWorkloads) {
  auto manager = start();
  auto theirs = request("shared");
  theirs.owner = "0therowner";
  const auto kept = deployed(*manager, theirs);
  deployed(*manager, request("shared", "web-b"));
  EXPECT_EQ(manager->remove_manifest("shared", "0wner0wner").value(), 1);
  ASSERT_EQ(manager->workloads_of("shared").size(), 1u);
  EXPECT_EQ(manager->workloads_of("shared").front().id, kept.id);
  EXPECT_EQ(mock_->status(kept.id)->state, WorkloadState::Running);
}

TEST_F(WorkloadManagerTest, RemoveManifestWithoutAnOwnerIsInvalid) {
  auto manager = start();
  deployed(*manager, request("m1"));
  EXPECT_EQ(manager->remove_manifest("m1", "").error().code, "invalid_request");
  std::promise<Result<int>> done;
  manager->remove_manifest_async("m1", "", [&](Result<int> result) { done.set_value(result); });
  EXPECT_EQ(done.get_future().get().error().code, "invalid_request");
  EXPECT_EQ(manager->workloads_of("m1").size(), 1u);
}

TEST_F(WorkloadManagerTest, DeployUnderAMalformedWorkloadIdIsRefused) {
  auto manager = start();
  for (const char* id : {"ABCDEF0123456789", "abc", "0123456789abcdef0", "../../etc"}) {
    auto r = request("m1");
    r.config.workload_id = id;
    auto result = manager->deploy_workload(std::move(r)).get();
    ASSERT_FALSE(result.ok()) << id;
    EXPECT_EQ(result.error().code, "invalid_workload_id") << id;
  }
  EXPECT_EQ(mock_->deploy_calls(), 0);
}

// ---- status, logs, remove

TEST_F(WorkloadManagerTest, StatusReportsTheEnginesCurrentState) {
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  mock_->set_state(record.id, WorkloadState::Stopped, "container web exited (0)");
  auto status = manager->status(record.id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, WorkloadState::Stopped);
  EXPECT_EQ(status->message, "container web exited (0)");
  EXPECT_EQ(manager->status("unknown").error().code, "not_found");
}

TEST_F(WorkloadManagerTest, LogsComeFromTheEngine) {
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  mock_->set_logs(record.id, "one\ntwo\nthree\n");
  EXPECT_EQ(manager->logs(record.id, 2).value(), "two\nthree\n");
  EXPECT_EQ(manager->logs("unknown", 0).error().code, "not_found");
}

TEST_F(WorkloadManagerTest, RemoveDeletesFromEngineAndStoreWithdrawsAndEmitsRemoved) {
  EventRecorder events(bus_);
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  ASSERT_TRUE(manager->remove(record.id).ok());
  EXPECT_EQ(mock_->workload_count(), 0u);
  EXPECT_TRUE(store_->list_workloads()->empty());
  EXPECT_TRUE(manager->list().empty());
  EXPECT_EQ(announcer_.actions(), (std::vector<std::string>{"announce:m1", "withdraw:m1"}));
  EXPECT_EQ(events.kinds(record.id).back(), EventKind::Removed);
  EXPECT_EQ(manager->remove(record.id).error().code, "not_found");
}

TEST_F(WorkloadManagerTest, ProviderStaysWhileAnotherWorkloadOfTheManifestRuns) {
  auto manager = start();
  const auto first = deployed(*manager, request("m1", "web-a"));
  const auto second = deployed(*manager, request("m1", "web-b"));
  ASSERT_TRUE(manager->remove(first.id).ok());
  EXPECT_EQ(announcer_.count("withdraw", "m1"), 0);
  ASSERT_TRUE(manager->remove(second.id).ok());
  EXPECT_EQ(announcer_.count("withdraw", "m1"), 1);
}

TEST_F(WorkloadManagerTest, RemoveManifestRemovesEveryWorkloadOfIt) {
  auto manager = start();
  deployed(*manager, request("m1", "web-a"));
  deployed(*manager, request("m1", "web-b"));
  const auto other = deployed(*manager, request("m2"));
  EXPECT_EQ(manager->remove_manifest("m1", "0wner0wner").value(), 2);
  EXPECT_TRUE(manager->workloads_of("m1").empty());
  ASSERT_EQ(manager->list().size(), 1u);
  EXPECT_EQ(manager->list().front().id, other.id);
  EXPECT_FALSE(announcer_.is_announced("m1"));
  EXPECT_TRUE(announcer_.is_announced("m2"));
}

TEST_F(WorkloadManagerTest, AsyncRemoveRunsOnTheWorkers) {
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  std::promise<Result<void>> done;
  manager->remove_async(record.id, [&](Result<void> result) { done.set_value(result); });
  EXPECT_TRUE(done.get_future().get().ok());
  EXPECT_EQ(mock_->workload_count(), 0u);

  std::promise<Result<int>> all_done;
  manager->remove_manifest_async("m1", "0wner0wner",
                                 [&](Result<int> result) { all_done.set_value(result); });
  EXPECT_EQ(all_done.get_future().get().value(), 0);
}

// ---- health monitor

TEST_F(WorkloadManagerTest, CrashedWorkloadIsReportedWithdrawnRestartedAndReannounced) {
  EventRecorder events(bus_);
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  events.clear();
  announcer_.clear();

  mock_->set_state(record.id, WorkloadState::Failed, "container web exited (137)");
  manager->check_health_now();

  EXPECT_EQ(
      events.kinds(record.id),
      (std::vector<EventKind>{EventKind::Unhealthy, EventKind::Recovered, EventKind::Announced}));
  EXPECT_NE(events.events().front().reason.find("exited (137)"), std::string::npos);
  EXPECT_EQ(announcer_.actions(), (std::vector<std::string>{"withdraw:m1", "announce:m1"}));
  EXPECT_EQ(mock_->restart_calls(record.id), 1);
  auto stored = store_->get_workload(record.id);
  EXPECT_TRUE(stored->healthy);
  EXPECT_EQ(stored->restarts, 1);
}

TEST_F(WorkloadManagerTest, HealthyWorkloadsCauseNoEvents) {
  EventRecorder events(bus_);
  auto manager = start();
  deployed(*manager, request("m1"));
  events.clear();
  manager->check_health_now();
  manager->check_health_now();
  EXPECT_TRUE(events.events().empty());
}

TEST_F(WorkloadManagerTest, NeverPolicyWorkloadStaysDownAndWithdrawn) {
  EventRecorder events(bus_);
  auto manager = start();
  const auto record = deployed(*manager, request("m1", "job", "Never"));
  mock_->set_state(record.id, WorkloadState::Failed, "exited (1)");
  manager->check_health_now();
  manager->check_health_now();

  EXPECT_EQ(mock_->restart_calls(record.id), 0);
  EXPECT_EQ(events.count(EventKind::Unhealthy), 1);  // reported once, not every pass
  EXPECT_EQ(events.count(EventKind::Recovered), 0);
  EXPECT_FALSE(announcer_.is_announced("m1"));
  EXPECT_FALSE(store_->get_workload(record.id)->healthy);
  EXPECT_FALSE(manager->list().front().healthy);
}

TEST_F(WorkloadManagerTest, OnFailurePolicyRestartsFailedButNotCleanlyStoppedWorkloads) {
  auto manager = start();
  const auto stopped = deployed(*manager, request("m1", "a", "OnFailure"));
  const auto failed = deployed(*manager, request("m2", "b", "OnFailure"));
  mock_->set_state(stopped.id, WorkloadState::Stopped, "exited (0)");
  mock_->set_state(failed.id, WorkloadState::Failed, "exited (2)");
  manager->check_health_now();
  EXPECT_EQ(mock_->restart_calls(stopped.id), 0);
  EXPECT_EQ(mock_->restart_calls(failed.id), 1);
}

TEST_F(WorkloadManagerTest, WorkloadRecoveringByItselfIsReportedAndReannounced) {
  EventRecorder events(bus_);
  auto manager = start();
  const auto record = deployed(*manager, request("m1", "job", "Never"));
  mock_->set_state(record.id, WorkloadState::Stopped);
  manager->check_health_now();
  mock_->set_state(record.id, WorkloadState::Running);
  manager->check_health_now();
  EXPECT_EQ(events.count(EventKind::Recovered), 1);
  EXPECT_TRUE(announcer_.is_announced("m1"));
}

TEST_F(WorkloadManagerTest, FailedRestartIsRetriedAfterABackoff) {
  EventRecorder events(bus_);
  auto gated = std::make_shared<GatedEngine>(mock_);
  auto manager = start(config(), gated);  // interval 10 s
  const auto record = deployed(*manager, request("m1"));
  mock_->set_state(record.id, WorkloadState::Failed, "exited (1)");
  gated->fail_restarts(true);

  manager->check_health_now();
  EXPECT_EQ(gated->restart_attempts(), 1);
  manager->check_health_now();  // too early: backing off
  EXPECT_EQ(gated->restart_attempts(), 1);
  clock_.advance_ms(10'000);
  manager->check_health_now();
  EXPECT_EQ(gated->restart_attempts(), 2);
  clock_.advance_ms(10'000);  // the second failure doubled the wait to 20 s
  manager->check_health_now();
  EXPECT_EQ(gated->restart_attempts(), 2);

  gated->fail_restarts(false);
  clock_.advance_ms(10'000);
  manager->check_health_now();
  EXPECT_EQ(gated->restart_attempts(), 3);
  EXPECT_EQ(events.count(EventKind::Unhealthy), 1);
  EXPECT_EQ(events.count(EventKind::Recovered), 1);
  EXPECT_TRUE(store_->get_workload(record.id)->healthy);
}

TEST_F(WorkloadManagerTest, VanishedWorkloadIsReportedDeletedAndWithdrawn) {
  EventRecorder events(bus_);
  auto manager = start();
  const auto record = deployed(*manager, request("m1"));
  events.clear();
  mock_->clear_workloads();
  manager->check_health_now();

  EXPECT_EQ(events.kinds(record.id),
            (std::vector<EventKind>{EventKind::Unhealthy, EventKind::Removed}));
  EXPECT_TRUE(manager->list().empty());
  EXPECT_TRUE(store_->list_workloads()->empty());
  EXPECT_FALSE(announcer_.is_announced("m1"));
  EXPECT_EQ(mock_->restart_calls(record.id), 0);
}

TEST_F(WorkloadManagerTest, BackgroundMonitorNoticesACrash) {
  EventRecorder events(bus_);
  auto c = config();
  c.run_health_monitor = true;
  c.health_check_interval = std::chrono::milliseconds(20);
  auto manager = start(c);
  const auto record = deployed(*manager, request("m1"));
  mock_->set_state(record.id, WorkloadState::Failed, "exited (137)");
  EXPECT_TRUE(events.wait_for(EventKind::Recovered));
  EXPECT_EQ(events.count(EventKind::Unhealthy), 1);
}

// ---- restart of the node

TEST_F(WorkloadManagerTest, RestartedManagerAdoptsRunningWorkloadsWithoutRedeploying) {
  std::string first_id;
  {
    auto manager = start();
    first_id = deployed(*manager, request("m1")).id;
    deployed(*manager, request("m2"));
  }
  store_.reset();
  store_ = std::move(StateStore::open(dir_.path() / StateStore::kDefaultFileName, clock_).value());
  announcer_.clear();

  auto manager = start();
  EXPECT_EQ(last_report_.adopted.size(), 2u);
  EXPECT_TRUE(last_report_.vanished.empty());
  EXPECT_EQ(mock_->deploy_calls(), 2);
  EXPECT_EQ(mock_->workload_count(), 2u);
  EXPECT_EQ(manager->list().size(), 2u);
  EXPECT_EQ(store_->list_workloads()->size(), 2u);
  EXPECT_TRUE(announcer_.is_announced("m1"));
  EXPECT_TRUE(announcer_.is_announced("m2"));
  EXPECT_EQ(manager->status(first_id)->owner, "0wner0wner");
}

TEST_F(WorkloadManagerTest, RecordsOfWorkloadsThatVanishedWhileDownAreDeletedAndWithdrawn) {
  {
    auto manager = start();
    deployed(*manager, request("m1"));
  }
  mock_->clear_workloads();
  EventRecorder events(bus_);
  announcer_.clear();

  auto manager = start();
  EXPECT_EQ(last_report_.vanished.size(), 1u);
  EXPECT_TRUE(manager->list().empty());
  EXPECT_TRUE(store_->list_workloads()->empty());
  EXPECT_EQ(events.kinds(), (std::vector<EventKind>{EventKind::Unhealthy, EventKind::Removed}));
  EXPECT_EQ(announcer_.actions(), (std::vector<std::string>{"withdraw:m1"}));
}

TEST_F(WorkloadManagerTest, WorkloadFoundStoppedAtStartIsUnhealthyAndRestartedByTheMonitor) {
  std::string id;
  {
    auto manager = start();
    id = deployed(*manager, request("m1")).id;
  }
  mock_->set_state(id, WorkloadState::Failed, "exited (137)");
  EventRecorder events(bus_);
  announcer_.clear();

  auto manager = start();
  EXPECT_EQ(last_report_.adopted, std::vector<std::string>{id});
  EXPECT_EQ(events.kinds(), (std::vector<EventKind>{EventKind::Unhealthy}));
  EXPECT_EQ(announcer_.actions(), (std::vector<std::string>{"withdraw:m1"}));
  manager->check_health_now();
  EXPECT_EQ(events.count(EventKind::Recovered), 1);
  EXPECT_TRUE(announcer_.is_announced("m1"));
}

TEST_F(WorkloadManagerTest, EngineWorkloadsOfKnownManifestsAreAdoptedOthersLeftAlone) {
  ASSERT_TRUE(store_->put_applied_manifest({"known", "owner-of-known", Bytes{1}, 0}).ok());
  runtime::DeploymentConfig known_config;
  known_config.manifest_id = "known";
  auto known = mock_->deploy(pod_manifest("a"), known_config);
  runtime::DeploymentConfig stranger_config;
  stranger_config.manifest_id = "stranger";
  auto stranger = mock_->deploy(pod_manifest("b"), stranger_config);
  ASSERT_TRUE(known.ok() && stranger.ok());

  auto manager = start();
  EXPECT_EQ(last_report_.adopted, std::vector<std::string>{known->id});
  EXPECT_EQ(last_report_.ignored, std::vector<std::string>{stranger->id});
  ASSERT_EQ(manager->list().size(), 1u);
  EXPECT_EQ(manager->list().front().owner, "owner-of-known");
  EXPECT_EQ(mock_->workload_count(), 2u);  // the stranger still runs, untouched
  EXPECT_EQ(mock_->deploy_calls(), 2);
}

TEST_F(WorkloadManagerTest, RecordsOfAnUnavailableEngineAreKeptUnverified) {
  std::string id;
  {
    auto manager = start();
    id = deployed(*manager, request("m1")).id;
  }
  mock_->set_available(false);
  auto manager = start();
  EXPECT_EQ(last_report_.unverified, std::vector<std::string>{id});
  EXPECT_EQ(manager->list().size(), 1u);
}

TEST_F(WorkloadManagerTest, StartTwiceIsAnError) {
  auto manager = start();
  EXPECT_EQ(manager->start().error().code, "already_started");
}

TEST_F(WorkloadManagerTest, AnnouncedEventNeedsASuccessfulPut) {
  EventRecorder events(bus_);
  announcer_.fail_puts(true);
  auto manager = start();
  deployed(*manager, request("m1"));
  EXPECT_EQ(events.count(EventKind::Announced), 0);
  EXPECT_EQ(announcer_.count("announce", "m1"), 1);
}

}  // namespace
}  // namespace beemesh::workload
