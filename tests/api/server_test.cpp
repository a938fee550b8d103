// The REST API over real HTTP on 127.0.0.1, answered by a fake NodeService.
#include "api/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "api/fake_node_service.h"
#include "api/http_status.h"
#include "api/json.h"
#include "api/version.h"

namespace beemesh::api {
namespace {

using testing::FakeNodeService;
using testing::make_event;
using testing::make_node;
using testing::make_outcome;
using testing::make_provider;
using testing::make_workload;

const std::string kOwner(64, 'c');

httplib::Headers owner_headers() {
  return {{"X-Beemesh-Owner", kOwner}, {"X-Beemesh-Token", "00ff12"}};
}

Json body_json(const httplib::Result& res) {
  return Json::parse(res->body);
}

// Waits (up to 10 s, then fails the test) until `done` is true.
template <typename Fn>
bool eventually(Fn done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(ApiConfig config) {
    if (server) server->stop();
    config.port = 0;
    server = std::make_unique<ApiServer>(service, config);
    auto started = server->start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    http = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    http->set_read_timeout(std::chrono::seconds(10));
  }

  FakeNodeService service;
  std::unique_ptr<ApiServer> server;
  std::unique_ptr<httplib::Client> http;
};

// --- server life ---------------------------------------------------------------------------

TEST_F(ApiServerTest, PortZeroBindsAnEphemeralPortOnLoopback) {
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->url(), "http://127.0.0.1:" + std::to_string(server->port()));
}

TEST_F(ApiServerTest, BindingATakenPortFailsWithBindFailed) {
  ApiServer second(service, ApiConfig{.port = server->port()});
  auto started = second.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, "bind_failed");
  EXPECT_NE(started.error().message.find(std::to_string(server->port())), std::string::npos);
}

TEST_F(ApiServerTest, StartingTwiceIsAnError) {
  auto again = server->start();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "already_started");
}

TEST_F(ApiServerTest, StopIsIdempotentAndClosesThePort) {
  int port = server->port();
  server->stop();
  server->stop();
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(std::chrono::seconds(2));
  EXPECT_FALSE(c.Get("/health"));
}

// --- endpoints ------------------------------------------------------------------------------

TEST_F(ApiServerTest, HealthSaysOkWithNodeIdNameAndVersion) {
  auto res = http->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  Json j = body_json(res);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["node_id"], "bmselfnode");
  EXPECT_EQ(j["name"], "node-a");
  EXPECT_EQ(j["version"], std::string(kVersion));
  EXPECT_EQ(j["public_key"], std::string(64, 'a'));
}

TEST_F(ApiServerTest, NodesListsEveryKnownNode) {
  service.node_list = {service.self_info, make_node("bmother", "node-b", "podman")};
  auto res = http->Get("/nodes");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto nodes = nodes_from_json(body_json(res));
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_TRUE((*nodes)[0].self);
  EXPECT_EQ((*nodes)[1].node_id, "bmother");
  EXPECT_EQ((*nodes)[1].engine, "podman");
}

TEST_F(ApiServerTest, ApplyPassesBodyQueryAndOwnerHeadersToTheService) {
  service.apply_outcome = make_outcome("m1", 2, 2);
  auto res = http->Post("/apply?replicas=2&node=node-b&source=web.yaml", owner_headers(),
                        "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto calls = service.apply_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].yaml, "kind: Pod\n");
  EXPECT_EQ(calls[0].options.replicas, 2);
  EXPECT_EQ(calls[0].options.node, "node-b");
  EXPECT_EQ(calls[0].options.source, "web.yaml");
  EXPECT_EQ(calls[0].auth.owner_public_key_hex, kOwner);
  EXPECT_EQ(calls[0].auth.token_hex, "00ff12");
  auto outcome = apply_outcome_from_json(body_json(res));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->manifest_id, "m1");
  EXPECT_EQ(outcome->replicas_placed, 2);
}

TEST_F(ApiServerTest, ApplyWithoutQueryUsesTheManifestsReplicas) {
  auto res = http->Post("/apply", owner_headers(), "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  ASSERT_EQ(service.apply_calls().size(), 1u);
  EXPECT_EQ(service.apply_calls()[0].options.replicas, -1);
  EXPECT_EQ(service.apply_calls()[0].options.source, "request");
}

TEST_F(ApiServerTest, ApplyWithoutOwnerHeadersIsRefusedBeforeTheService) {
  auto res = http->Post("/apply", "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(body_json(res)["error"]["code"], "unauthorized");
  EXPECT_TRUE(service.apply_calls().empty());
}

TEST_F(ApiServerTest, ApplyWithMalformedOwnerKeyIsABadRequest) {
  httplib::Headers headers{{"X-Beemesh-Owner", "xyz"}, {"X-Beemesh-Token", "00"}};
  auto res = http->Post("/apply", headers, "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(body_json(res)["error"]["code"], "bad_request");
}

TEST_F(ApiServerTest, ApplyWithNonNumericReplicasIsABadRequest) {
  auto res = http->Post("/apply?replicas=two", owner_headers(), "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  Json j = body_json(res);
  EXPECT_EQ(j["error"]["code"], "bad_request");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("replicas=two"), std::string::npos);
  EXPECT_TRUE(service.apply_calls().empty());
}

TEST_F(ApiServerTest, ApplyWithEmptyBodyIsAnInvalidManifest) {
  auto res = http->Post("/apply", owner_headers(), "", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(body_json(res)["error"]["code"], "invalid_manifest");
}

TEST_F(ApiServerTest, ApplyErrorCarriesTheServiceCodeMessageAndStatus) {
  struct Case {
    std::string code;
    int status;
  };
  for (const Case& c :
       {Case{"invalid_manifest", 400}, Case{"bad_signature", 403}, Case{"forbidden", 403},
        Case{"not_found", 404}, Case{"busy", 503}, Case{"no_capacity", 503}, Case{"timeout", 504},
        Case{"storage_failed", 500}}) {
    service.apply_error = make_error(c.code, "web.yaml doc 1: because " + c.code);
    auto res = http->Post("/apply", owner_headers(), "kind: Pod\n", "application/yaml");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << c.code;
    Json j = body_json(res);
    EXPECT_EQ(j["error"]["code"], c.code);
    EXPECT_EQ(j["error"]["message"], "web.yaml doc 1: because " + c.code);
  }
}

TEST_F(ApiServerTest, ApplyWithProgressStreamsStepLinesThenTheResult) {
  service.apply_outcome = make_outcome("m1");
  auto res = http->Post("/apply?progress=1", owner_headers(), "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/x-ndjson");
  EXPECT_EQ(res->body,
            "{\"progress\":\"placing\"}\n"
            "{\"progress\":\"encrypting\"}\n"
            "{\"progress\":\"distributing shares\"}\n"
            "{\"progress\":\"deploying on 1 nodes\"}\n"
            "{\"progress\":\"announced\"}\n"
            "{\"result\":" +
                apply_outcome_to_json(service.apply_outcome).dump() + "}\n");
}

TEST_F(ApiServerTest, ApplyWithProgressEndsWithTheErrorLine) {
  service.apply_steps = {"placing"};
  service.apply_error = make_error("no_capacity", "no node has 64Mi free");
  auto res = http->Post("/apply?progress=1", owner_headers(), "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body,
            "{\"progress\":\"placing\"}\n"
            "{\"error\":{\"code\":\"no_capacity\",\"message\":\"no node has 64Mi free\"}}\n");
}

TEST_F(ApiServerTest, BodyOverTheLimitIsRejectedWith413WithoutCallingTheService) {
  start(ApiConfig{.max_body_bytes = 1024});
  std::string big(4096, '#');
  auto res = http->Post("/apply", owner_headers(), big, "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(body_json(res)["error"]["code"], "payload_too_large");
  EXPECT_TRUE(service.apply_calls().empty());
}

TEST_F(ApiServerTest, BodyAtTheLimitIsAccepted) {
  start(ApiConfig{.max_body_bytes = 1024});
  auto res = http->Post("/apply", owner_headers(), std::string(1024, '#'), "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(ApiServerTest, WorkloadsListsThisNodesWorkloads) {
  service.workload_list = {make_workload("w1", "m1", runtime::WorkloadState::Running, "bmself"),
                           make_workload("w2", "m1", runtime::WorkloadState::Failed, "bmself")};
  auto res = http->Get("/workloads");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto list = workloads_from_json(body_json(res));
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].info.id, "w1");
  EXPECT_EQ((*list)[1].info.state, runtime::WorkloadState::Failed);
}

TEST_F(ApiServerTest, WorkloadByIdReturnsThatWorkload) {
  service.workload_list = {make_workload("w1", "m1", runtime::WorkloadState::Running, "bmself")};
  auto res = http->Get("/workloads/w1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto w = workload_from_json(body_json(res));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->info.manifest_id, "m1");
  EXPECT_EQ(w->health, "healthy");
}

TEST_F(ApiServerTest, UnknownWorkloadIsNotFound) {
  auto res = http->Get("/workloads/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(body_json(res)["error"]["code"], "not_found");
}

TEST_F(ApiServerTest, LogsAreTextAndPassTheTail) {
  service.workload_logs["w1"] = "line 1\nline 2\n";
  auto res = http->Get("/workloads/w1/logs?tail=5");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "line 1\nline 2\n");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(service.last_tail.load(), 5);
}

TEST_F(ApiServerTest, LogsWithoutTailAskForEverything) {
  service.workload_logs["w1"] = "x\n";
  ASSERT_TRUE(http->Get("/workloads/w1/logs"));
  EXPECT_EQ(service.last_tail.load(), -1);
}

TEST_F(ApiServerTest, LogsWithBadTailIsABadRequest) {
  auto res = http->Get("/workloads/w1/logs?tail=-5");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(ApiServerTest, DeleteManifestPassesOwnerAuth) {
  service.delete_outcome.removed = 2;
  auto res = http->Delete("/manifests/m1", owner_headers());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto calls = service.delete_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].manifest_id, "m1");
  EXPECT_EQ(calls[0].auth.owner_public_key_hex, kOwner);
  EXPECT_EQ(calls[0].auth.token_hex, "00ff12");
  auto outcome = delete_outcome_from_json(body_json(res));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->removed, 2);
}

TEST_F(ApiServerTest, DeleteWithoutOwnerHeadersIsForbidden) {
  auto res = http->Delete("/manifests/m1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_TRUE(service.delete_calls().empty());
}

TEST_F(ApiServerTest, DeleteRefusedByTheServiceMapsItsCode) {
  service.delete_error = make_error("bad_signature", "delete token not signed by the owner");
  auto res = http->Delete("/manifests/m1", owner_headers());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(body_json(res)["error"]["code"], "bad_signature");
}

TEST_F(ApiServerTest, ProvidersListsTheProvidersOfAManifest) {
  provider::ProviderInfo p = make_provider("m1", "bmb", "127.0.0.1:7402", "podman");
  p.ttl_s = 300;
  service.provider_map["m1"] = {p};
  auto res = http->Get("/providers/m1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  Json j = body_json(res);
  EXPECT_EQ(j["manifest_id"], "m1");
  auto list = providers_from_json(j);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].metadata.rpc_endpoint, "127.0.0.1:7402");
}

TEST_F(ApiServerTest, ProvidersOfAnUnknownManifestIsAnEmptyList) {
  auto res = http->Get("/providers/unknown");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(body_json(res)["providers"].empty());
}

TEST_F(ApiServerTest, MetricsAreServedInPrometheusTextFormat) {
  auto res = http->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body, service.metrics);
}

TEST_F(ApiServerTest, UnknownRouteIsAJsonNotFound) {
  auto res = http->Get("/nothing/here");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  Json j = body_json(res);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["message"], "no endpoint GET /nothing/here");
}

// --- events ----------------------------------------------------------------------------------

// Reads SSE frames from GET /events on a thread until `want` frames with data arrived.
struct EventReader {
  explicit EventReader(int port, size_t want) {
    thread = std::thread([this, port, want] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(std::chrono::seconds(10));
      std::string buffer;
      auto res = c.Get(
          "/events",
          [&](const httplib::Response& r) {
            status = r.status;
            content_type = r.get_header_value("Content-Type");
            return true;
          },
          [&](const char* data, size_t len) {
            buffer.append(data, len);
            for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
              std::string frame = buffer.substr(0, end + 2);
              buffer.erase(0, end + 2);
              if (frame.find("data: ") == std::string::npos) continue;
              std::lock_guard lock(mutex);
              frames.push_back(frame);
              if (frames.size() >= want) return false;
            }
            return true;
          });
      if (!res && res.error() != httplib::Error::Canceled) failed = true;
      finished = true;
    });
  }
  ~EventReader() {
    if (thread.joinable()) thread.join();
  }
  size_t count() {
    std::lock_guard lock(mutex);
    return frames.size();
  }
  std::vector<std::string> take() {
    thread.join();
    return frames;
  }

  std::thread thread;
  std::mutex mutex;
  std::vector<std::string> frames;
  std::atomic<int> status{0};
  std::string content_type;
  std::atomic<bool> failed{false};
  std::atomic<bool> finished{false};
};

TEST_F(ApiServerTest, EventsReplayRecentEventsThenDeliverLiveOnes) {
  service.recent_events = {make_event("Deploying", "w1", "m1", 1),
                           make_event("Deployed", "w1", "m1", 2)};
  EventReader reader(server->port(), 3);
  ASSERT_TRUE(eventually([&] { return reader.count() == 2; }));
  ASSERT_TRUE(eventually([&] { return service.subscriber_count() == 1; }));
  service.publish(make_event("Unhealthy", "w1", "m1", 3, "container web exited (137)"));
  auto frames = reader.take();
  EXPECT_EQ(reader.status, 200);
  EXPECT_EQ(reader.content_type, "text/event-stream");
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0],
            "event: Deploying\ndata: "
            "{\"manifest_id\":\"m1\",\"reason\":\"\",\"time_ms\":1,\"type\":\"Deploying\","
            "\"workload_id\":\"w1\"}\n\n");
  EXPECT_TRUE(frames[1].starts_with("event: Deployed\n"));
  EXPECT_TRUE(frames[2].starts_with("event: Unhealthy\n"));
  EXPECT_NE(frames[2].find("container web exited (137)"), std::string::npos);
}

TEST_F(ApiServerTest, EventStreamDropsItsSubscriptionWhenTheClientGoesAway) {
  start(ApiConfig{.event_heartbeat = std::chrono::milliseconds(20)});
  service.recent_events = {make_event("Deployed", "w1")};
  {
    EventReader reader(server->port(), 1);
    (void)reader.take();  // the client hangs up after the first event
  }
  EXPECT_TRUE(eventually([&] { return service.subscriber_count() == 0; }));
  EXPECT_TRUE(eventually([&] { return server->active_event_streams() == 0; }));
}

TEST_F(ApiServerTest, EventStreamsBeyondTheLimitAreBusy) {
  start(ApiConfig{.max_event_streams = 1});
  EventReader first(server->port(), 1);
  ASSERT_TRUE(eventually([&] { return server->active_event_streams() == 1; }));
  auto res = http->Get("/events");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(body_json(res)["error"]["code"], "busy");
  service.publish(make_event("Deployed"));
  (void)first.take();
}

TEST_F(ApiServerTest, StopEndsOpenEventStreams) {
  EventReader reader(server->port(), 100);
  ASSERT_TRUE(eventually([&] { return service.subscriber_count() == 1; }));
  server->stop();
  EXPECT_TRUE(eventually([&] { return reader.finished.load(); }));
  EXPECT_EQ(service.subscriber_count(), 0);
}

// --- status mapping ----------------------------------------------------------------------------

TEST(HttpStatus, MapsErrorCodesToStatuses) {
  EXPECT_EQ(http_status_for("invalid_manifest"), 400);
  EXPECT_EQ(http_status_for("bad_request"), 400);
  EXPECT_EQ(http_status_for("bad_signature"), 403);
  EXPECT_EQ(http_status_for("unauthorized"), 403);
  EXPECT_EQ(http_status_for("forbidden"), 403);
  EXPECT_EQ(http_status_for("not_found"), 404);
  EXPECT_EQ(http_status_for("payload_too_large"), 413);
  EXPECT_EQ(http_status_for("busy"), 503);
  EXPECT_EQ(http_status_for("no_capacity"), 503);
  EXPECT_EQ(http_status_for("timeout"), 504);
  EXPECT_EQ(http_status_for("anything_else"), 500);
}

}  // namespace
}  // namespace beemesh::api
