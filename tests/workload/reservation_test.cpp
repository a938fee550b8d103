// What a workload reserves of its node's capacity: the rule (reservation_of) and the
// manager's running total (reserved()), which the node's capacity reply subtracts.
#include <gtest/gtest.h>

#include <future>
#include <limits>
#include <ostream>

#include "manifest/manifest.h"
#include "runtime/mock/mock_engine.h"
#include "workload/fakes.h"
#include "workload/resources.h"
#include "workload/workload_manager.h"

namespace beemesh::workload {

void PrintTo(const Resources& r, std::ostream* out) {
  *out << "{" << r.memory_bytes << " bytes, " << r.cpu_millis << "m}";
}

namespace {

using testing::FakeAnnouncer;
using testing::GatedEngine;
using testing::kPatience;
using testing::TempDir;

constexpr int64_t kMi = 1024 * 1024;

// Two replicas (in the manifest) of: app (requests 64Mi/250m, limits 128Mi/500m), sidecar (limits
// only, 16Mi/50m), bare (no resources).
const char* const kDeployment = R"yaml(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: app
          image: localhost/busybox:latest
          command: ["sleep", "3600"]
          resources:
            requests:
              memory: 64Mi
              cpu: 250m
            limits:
              memory: 128Mi
              cpu: 500m
        - name: sidecar
          image: localhost/busybox:latest
          command: ["sleep", "3600"]
          resources:
            limits:
              memory: 16Mi
              cpu: 50m
        - name: bare
          image: localhost/busybox:latest
          command: ["sleep", "3600"]
)yaml";

// One pod (DeploymentConfig's default replica count): 64Mi + 16Mi + 0, 250m + 50m + 0.
const Resources kDeploymentReserves{(64 + 16) * kMi, 250 + 50};

manifest::Manifest parsed(const std::string& yaml) {
  auto m = manifest::parse(yaml);
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  return m.ok() ? *m : manifest::Manifest{};
}

// ---- the rule

TEST(Reservation, EachContainerReservesItsRequestElseItsLimitElseNothing) {
  EXPECT_EQ(reservation_of(parsed(kDeployment), {}), kDeploymentReserves);
}

TEST(Reservation, TheManifestsReplicasCountWhenTheDeployLeavesThemToIt) {
  runtime::DeploymentConfig config;
  config.replicas = 0;  // the manifest's
  EXPECT_EQ(reservation_of(parsed(kDeployment), config),
            (Resources{2 * (64 + 16) * kMi, 2 * (250 + 50)}));
}

TEST(Reservation, ContainersWithoutRequestsOrLimitsReserveNothing) {
  EXPECT_EQ(reservation_of(parsed(testing::pod_manifest("web")), {}), Resources{});
}

TEST(Reservation, TheDeploysReplicaCountReplacesTheManifests) {
  runtime::DeploymentConfig config;
  config.replicas = 3;
  EXPECT_EQ(reservation_of(parsed(kDeployment), config),
            (Resources{3 * (64 + 16) * kMi, 3 * (250 + 50)}));
}

TEST(Reservation, TheDeploysLimitReplacesTheManifestsLimitAndCapsTheRequest) {
  runtime::DeploymentConfig config;
  config.memory_limit_bytes = 32 * kMi;  // app's request capped; sidecar's and bare's limit
  config.cpu_limit_millis = 100;
  EXPECT_EQ(reservation_of(parsed(kDeployment), config), (Resources{3 * 32 * kMi, 3 * 100}));
}

TEST(Reservation, SumsSaturateInsteadOfOverflowing) {
  runtime::DeploymentConfig config;
  config.replicas = 1'000'000;
  config.memory_limit_bytes = int64_t{1} << 50;
  const auto reserved = reservation_of(parsed(kDeployment), config);
  EXPECT_EQ(reserved.memory_bytes, std::numeric_limits<int64_t>::max());
}

// ---- the manager's total

class ManagerReservationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_ = std::make_shared<runtime::MockEngine>(runtime::MockConfig{}, clock_);
    auto store = StateStore::open(dir_.path() / StateStore::kDefaultFileName, clock_);
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    store_ = std::move(store).value();
  }

  std::unique_ptr<WorkloadManager> start(std::shared_ptr<runtime::RuntimeEngine> engine = {}) {
    if (!engine) engine = mock_;
    registry_ = std::make_unique<runtime::EngineRegistry>();
    registry_->add(engine, 0, /*implicit=*/false);
    WorkloadManagerConfig c;
    c.preferred_runtime = "mock";
    c.run_health_monitor = false;
    auto manager = std::make_unique<WorkloadManager>(c, *registry_, &announcer_, *store_, bus_,
                                                     clock_, provider::ProviderMetadata{});
    auto report = manager->start();
    EXPECT_TRUE(report.ok()) << report.error().to_string();
    return manager;
  }

  static DeployRequest request(const std::string& yaml = kDeployment) {
    DeployRequest r;
    r.manifest_id = "m1";
    r.owner = "0wner0wner";
    r.manifest_yaml = yaml;
    return r;
  }

  static Result<WorkloadRecord> deploy(WorkloadManager& manager, DeployRequest r = request()) {
    auto future = manager.deploy_workload(std::move(r));
    if (future.wait_for(kPatience) != std::future_status::ready) {
      return make_error("timeout", "deploy did not end");
    }
    return future.get();
  }

  ManualClock clock_;
  TempDir dir_;
  EventBus bus_{clock_};
  FakeAnnouncer announcer_;
  std::shared_ptr<runtime::MockEngine> mock_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<runtime::EngineRegistry> registry_;
};

TEST_F(ManagerReservationTest, NothingIsReservedWithoutWorkloads) {
  auto manager = start();
  EXPECT_EQ(manager->reserved(), Resources{});
}

TEST_F(ManagerReservationTest, RunningWorkloadReservesWhatItsContainersAsk) {
  auto manager = start();
  auto record = deploy(*manager);
  ASSERT_TRUE(record.ok()) << record.error().to_string();
  EXPECT_EQ(record->reserved, kDeploymentReserves);
  EXPECT_EQ(manager->reserved(), kDeploymentReserves);
}

TEST_F(ManagerReservationTest, ReservationsOfSeveralWorkloadsAddUp) {
  auto manager = start();
  ASSERT_TRUE(deploy(*manager).ok());
  ASSERT_TRUE(deploy(*manager).ok());
  Resources twice = kDeploymentReserves;
  twice += kDeploymentReserves;
  EXPECT_EQ(manager->reserved(), twice);
}

TEST_F(ManagerReservationTest, RemovedWorkloadNoLongerReserves) {
  auto manager = start();
  auto record = deploy(*manager);
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(manager->remove(record->id).ok());
  EXPECT_EQ(manager->reserved(), Resources{});
}

TEST_F(ManagerReservationTest, DeployInsideTheEngineAlreadyReserves) {
  auto gated = std::make_shared<GatedEngine>(mock_);
  gated->close_gate();
  auto manager = start(gated);
  auto future = manager->deploy_workload(request());
  ASSERT_TRUE(gated->wait_inside(1));

  EXPECT_EQ(manager->reserved(), kDeploymentReserves);

  gated->open_gate();
  ASSERT_EQ(future.wait_for(kPatience), std::future_status::ready);
  ASSERT_TRUE(future.get().ok());
  EXPECT_EQ(manager->reserved(), kDeploymentReserves);
}

TEST_F(ManagerReservationTest, FailedDeployReservesNothing) {
  mock_->set_success_rate(0.0);
  auto manager = start();
  ASSERT_FALSE(deploy(*manager).ok());
  EXPECT_EQ(manager->reserved(), Resources{});
}

TEST_F(ManagerReservationTest, ReservationOutlivesARestartOfTheNode) {
  {
    auto manager = start();
    ASSERT_TRUE(deploy(*manager).ok());
  }
  auto restarted = start();  // adopts the stored record: the manifest is not at hand
  EXPECT_EQ(restarted->reserved(), kDeploymentReserves);
}

}  // namespace
}  // namespace beemesh::workload
