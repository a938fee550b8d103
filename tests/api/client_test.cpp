// ApiClient (src/api/client->h) against a real ApiServer answered by a fake NodeService.
#include "api/client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "api/fake_authenticator.h"
#include "api/fake_node_service.h"
#include "api/server.h"

namespace beemesh::api {
namespace {

using testing::FakeAuthenticator;
using testing::FakeNodeService;

const OwnerAuth kAuth{std::string(64, 'c'), "0a0b"};

class ApiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = server.start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    client = std::make_unique<ApiClient>("http://127.0.0.1:" + std::to_string(server.port()));
    client->set_signer([this](std::string_view method, std::string_view path) {
      signed_requests.push_back(std::string(method) + " " + std::string(path));
      return Result<AuthHeaders>(AuthHeaders{testing::kDeployerCredential, testing::kGoodAuth});
    });
  }

  FakeNodeService service;
  FakeAuthenticator authenticator;
  ApiServer server{service, authenticator, ApiConfig{.port = 0}};
  std::vector<std::string> signed_requests;
  std::unique_ptr<ApiClient> client;
};

TEST_F(ApiClientTest, HealthReadsTheNodesIdentity) {
  auto h = client->health();
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(h->node_id, "bmselfnode");
  EXPECT_EQ(h->public_key_hex, std::string(64, 'a'));
  EXPECT_FALSE(h->version.empty());
}

TEST_F(ApiClientTest, AcceptsAServerWithoutScheme) {
  ApiClient bare("127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(bare.server(), "http://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(bare.health().ok());
}

TEST_F(ApiClientTest, ApplyCallsProgressForEachStepThenReturnsTheOutcome) {
  service.apply_outcome = testing::make_outcome("m1");
  std::vector<std::string> steps;
  ApplyOptions options;
  options.replicas = 1;
  options.source = "web.yaml";
  auto outcome = client->apply("kind: Pod\n", options, kAuth,
                               [&](std::string_view step) { steps.emplace_back(step); });
  ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
  EXPECT_EQ(outcome->manifest_id, "m1");
  EXPECT_EQ(steps, service.apply_steps);
  auto calls = service.apply_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].options.replicas, 1);
  EXPECT_EQ(calls[0].options.source, "web.yaml");
  EXPECT_EQ(calls[0].auth.token_hex, "0a0b");
}

TEST_F(ApiClientTest, ApplyWithoutProgressReturnsTheOutcome) {
  service.apply_outcome = testing::make_outcome("m2");
  auto outcome = client->apply("kind: Pod\n", {}, kAuth);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->manifest_id, "m2");
}

TEST_F(ApiClientTest, ServerErrorBecomesAnErrorWithItsCode) {
  service.apply_error = make_error("no_capacity", "no node has 64Mi free");
  auto outcome = client->apply("kind: Pod\n", {}, kAuth);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, "no_capacity");
  EXPECT_EQ(outcome.error().message, "no node has 64Mi free");
}

TEST_F(ApiClientTest, StreamedErrorBecomesAnErrorWithItsCode) {
  service.apply_error = make_error("bad_signature", "grant not signed by owner");
  int steps = 0;
  auto outcome = client->apply("kind: Pod\n", {}, kAuth, [&](std::string_view) { ++steps; });
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, "bad_signature");
  EXPECT_EQ(steps, 5);
}

TEST_F(ApiClientTest, AWorkloadLookupNamesTheNodeItWasPlacedOnSoOnlyThatNodeIsAsked) {
  service.workload_list = {
      testing::make_workload("w1", "m1", runtime::WorkloadState::Running, "bmn")};

  auto one = client->workload("w1", "bmnode-1");

  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_EQ(service.last_workload_node(), "bmnode-1");
}

TEST_F(ApiClientTest, ReadsWorkloadsLogsProvidersAndDeletes) {
  service.workload_list = {
      testing::make_workload("w1", "m1", runtime::WorkloadState::Running, "bmn")};
  service.workload_logs["w1"] = "hello\n";
  service.provider_map["m1"] = {testing::make_provider("m1", "bmn", "127.0.0.1:7401", "mock")};
  service.delete_outcome.removed = 1;

  auto list = client->workloads();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  auto one = client->workload("w1");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->node_id, "bmn");
  auto logs = client->logs("w1", 10);
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(*logs, "hello\n");
  EXPECT_EQ(service.last_tail.load(), 10);
  auto providers = client->providers("m1");
  ASSERT_TRUE(providers.ok());
  EXPECT_EQ(providers->size(), 1u);
  auto deleted = client->delete_manifest("m1", kAuth);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->removed, 1);
  auto metrics = client->metrics();
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(*metrics, service.metrics);
}

TEST_F(ApiClientTest, EveryCallButHealthIsSignedOnceForItsMethodAndPathWithoutQuery) {
  service.workload_logs["w1"] = "x\n";
  ASSERT_TRUE(client->health().ok());
  ASSERT_TRUE(client->workloads().ok());
  ASSERT_TRUE(client->logs("w1", 5).ok());
  ASSERT_TRUE(client->apply("kind: Pod\n", {}, kAuth, [](std::string_view) {}).ok());
  ASSERT_TRUE(client->delete_manifest("m1", kAuth).ok());
  EXPECT_EQ(signed_requests, (std::vector<std::string>{"GET /workloads", "GET /workloads/w1/logs",
                                                       "POST /apply", "DELETE /manifests/m1"}));
  std::vector<std::string> seen;
  for (const auto& r : authenticator.requests()) seen.push_back(r.method + " " + r.path);
  EXPECT_EQ(seen, signed_requests);
}

TEST_F(ApiClientTest, ASignerErrorIsReturnedAndNothingIsSent) {
  client->set_signer([](std::string_view, std::string_view) -> Result<AuthHeaders> {
    return make_error("no_identity", "no user key");
  });
  auto list = client->workloads();
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, "no_identity");
  EXPECT_TRUE(authenticator.requests().empty());
}

TEST_F(ApiClientTest, WithoutASignerTheServerSaysUnauthenticated) {
  ApiClient bare("http://127.0.0.1:" + std::to_string(server.port()));
  auto list = bare.workloads();
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, "unauthenticated");
}

TEST_F(ApiClientTest, UnknownWorkloadIsNotFound) {
  auto one = client->workload("nope");
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().code, "not_found");
}

TEST_F(ApiClientTest, EventsDeliversReplayedThenLiveEvents) {
  service.recent_events = {testing::make_event("Deployed", "w1")};
  std::vector<std::string> types;
  std::thread publisher([&] {
    while (service.subscriber_count() == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    service.publish(testing::make_event("Removed", "w1"));
  });
  auto done = client->events([&](const EventView& e) {
    types.push_back(e.type);
    return types.size() < 2;
  });
  publisher.join();
  ASSERT_TRUE(done.ok()) << done.error().to_string();
  EXPECT_EQ(types, (std::vector<std::string>{"Deployed", "Removed"}));
}

TEST_F(ApiClientTest, EventsReplayOnlyReturnsAfterTheRecentEvents) {
  service.recent_events = {testing::make_event("Deployed", "w1"),
                           testing::make_event("Removed", "w1")};
  std::vector<std::string> types;
  auto done = client->events(
      [&](const EventView& e) {
        types.push_back(e.type);
        return true;
      },
      /*replay_only=*/true);
  ASSERT_TRUE(done.ok()) << done.error().to_string();
  EXPECT_EQ(types, (std::vector<std::string>{"Deployed", "Removed"}));
}

TEST(ApiClientErrors, UnreachableServerSaysConnectionRefused) {
  int port = 0;
  {
    FakeNodeService service;
    FakeAuthenticator authenticator;
    ApiServer server(service, authenticator, ApiConfig{.port = 0});
    ASSERT_TRUE(server.start().ok());
    port = server.port();
  }  // nothing listens there any more
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  ApiClient client(url);
  auto h = client.health();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, "unreachable");
  EXPECT_EQ(h.error().message, "cannot reach beemesh node at " + url + ": connection refused");
}

TEST(ApiClientErrors, NonJsonErrorAnswerBecomesHttpStatusCode) {
  httplib::Server raw;
  raw.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.status = 502;
    res.set_content("bad gateway\n", "text/plain");
  });
  int port = raw.bind_to_any_port("127.0.0.1");
  std::thread t([&] { raw.listen_after_bind(); });
  auto h = ApiClient("http://127.0.0.1:" + std::to_string(port)).health();
  raw.stop();
  t.join();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, "http_502");
  EXPECT_NE(h.error().message.find("bad gateway"), std::string::npos);
}

}  // namespace
}  // namespace beemesh::api
