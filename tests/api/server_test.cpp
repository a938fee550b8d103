// The REST API over real HTTP on 127.0.0.1, answered by a fake NodeService.
#include "api/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include "api/fake_authenticator.h"
#include "api/fake_node_service.h"
#include "api/http_status.h"
#include "api/json.h"
#include "api/version.h"

namespace beemesh::api {
namespace {

using testing::FakeAuthenticator;
using testing::FakeNodeService;
using testing::kDeployerCredential;
using testing::kGoodAuth;
using testing::kViewerCredential;
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
    server = std::make_unique<ApiServer>(service, authenticator, config);
    auto started = server->start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    http = client_as(kDeployerCredential);
    anonymous = client_as("");
  }

  // A client whose every request carries `credential` (none when empty).
  std::unique_ptr<httplib::Client> client_as(const std::string& credential) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    c->set_read_timeout(std::chrono::seconds(10));
    if (!credential.empty()) {
      c->set_default_headers({{kCredentialHeader, credential}, {kAuthHeader, kGoodAuth}});
    }
    return c;
  }

  FakeNodeService service;
  FakeAuthenticator authenticator;
  std::unique_ptr<ApiServer> server;
  std::unique_ptr<httplib::Client> http;       // a deployer
  std::unique_ptr<httplib::Client> anonymous;  // no credential
};

// --- server life ---------------------------------------------------------------------------

TEST_F(ApiServerTest, PortZeroBindsAnEphemeralPortOnLoopback) {
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->url(), "http://127.0.0.1:" + std::to_string(server->port()));
}

TEST_F(ApiServerTest, BindingATakenPortFailsWithBindFailed) {
  ApiServer second(service, authenticator, ApiConfig{.port = server->port()});
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

TEST_F(ApiServerTest, AWorkloadLookupNamingANodeIdOver128BytesIsRefusedAsBadRequest) {
  service.workload_list = {make_workload("w1", "m1", runtime::WorkloadState::Running, "bmself")};
  auto res = http->Get("/workloads/w1?node=" + std::string(129, 'b'));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(body_json(res)["error"]["code"], "bad_request");
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
      c.set_default_headers({{kCredentialHeader, kViewerCredential}, {kAuthHeader, kGoodAuth}});
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

TEST_F(ApiServerTest, EventsReplayOnlyAnswersTheRecentEventsAndEndsWithoutAStream) {
  service.recent_events = {make_event("Deploying", "w1", "m1", 1),
                           make_event("Deployed", "w1", "m1", 2)};
  auto res = http->Get("/events?replay=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  EXPECT_NE(res->body.find("event: Deploying\n"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("event: Deployed\n"), std::string::npos) << res->body;
  EXPECT_EQ(server->active_event_streams(), 0);
  EXPECT_EQ(service.subscriber_count(), 0);
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

// --- trust boundary: Host, Origin, authentication, roles --------------------------------------

std::string error_code(const httplib::Result& res) {
  return body_json(res)["error"]["code"].get<std::string>();
}

std::string error_message(const httplib::Result& res) {
  return body_json(res)["error"]["message"].get<std::string>();
}

TEST_F(ApiServerTest, ForeignHostIsRefusedAsForbiddenHost) {
  auto res = http->Get("/workloads", {{"Host", "attacker.example:7480"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 421);
  EXPECT_EQ(error_code(res), "forbidden_host");
  EXPECT_TRUE(authenticator.requests().empty());
}

TEST_F(ApiServerTest, ForeignHostIsRefusedEvenForHealth) {
  auto res = anonymous->Get("/health", {{"Host", "rebound.attacker.example"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 421);
  EXPECT_EQ(error_code(res), "forbidden_host");
}

TEST_F(ApiServerTest, ForeignHostCannotApply) {
  auto headers = owner_headers();
  headers.emplace("Host", "attacker.example");
  auto res = http->Post("/apply", headers, "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 421);
  EXPECT_TRUE(service.apply_calls().empty());
}

TEST_F(ApiServerTest, LoopbackNamesWithAnyPortAreAccepted) {
  for (const char* host : {"localhost", "localhost:1", "LOCALHOST:7480", "127.0.0.1",
                           "127.0.0.1:99", "[::1]", "[::1]:7480"}) {
    auto res = anonymous->Get("/health", {{"Host", host}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << host;
  }
}

TEST_F(ApiServerTest, LoopbackLookalikeHostsAreRefused) {
  for (const char* host :
       {"localhost.attacker.example", "127.0.0.1.nip.io", "127.1", "[::1", "localhost:80x", ""}) {
    auto res = anonymous->Get("/health", {{"Host", host}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 421) << host;
  }
}

TEST_F(ApiServerTest, ConfiguredAllowedHostIsAccepted) {
  start(ApiConfig{.allowed_hosts = {"node1.example.org", "api.example.org:7480"}});
  auto any_port = anonymous->Get("/health", {{"Host", "Node1.example.org:9999"}});
  ASSERT_TRUE(any_port);
  EXPECT_EQ(any_port->status, 200);
  auto right_port = anonymous->Get("/health", {{"Host", "api.example.org:7480"}});
  ASSERT_TRUE(right_port);
  EXPECT_EQ(right_port->status, 200);
  auto wrong_port = anonymous->Get("/health", {{"Host", "api.example.org:7481"}});
  ASSERT_TRUE(wrong_port);
  EXPECT_EQ(wrong_port->status, 421);
}

TEST_F(ApiServerTest, RequestWithAnOriginIsRefused) {
  auto res = http->Post("/apply", {{"Origin", "http://127.0.0.1:7480"}}, "kind: Pod\n",
                        "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(error_code(res), "forbidden_origin");
  EXPECT_TRUE(service.apply_calls().empty());
  EXPECT_TRUE(authenticator.requests().empty());
}

TEST_F(ApiServerTest, OriginIsRefusedEvenForHealth) {
  auto res = anonymous->Get("/health", {{"Origin", "null"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(error_code(res), "forbidden_origin");
}

TEST_F(ApiServerTest, NoAnswerCarriesCorsHeaders) {
  auto preflight = anonymous->Options("/apply");
  ASSERT_TRUE(preflight);
  auto refused = anonymous->Get("/health", {{"Origin", "http://attacker.example"}});
  ASSERT_TRUE(refused);
  auto ok = http->Get("/workloads");
  ASSERT_TRUE(ok);
  for (const auto* res : {&preflight.value(), &refused.value(), &ok.value()}) {
    for (const auto& [name, value] : res->headers) {
      EXPECT_FALSE(name.starts_with("Access-Control-")) << name << ": " << value;
    }
  }
}

TEST_F(ApiServerTest, HealthNeedsNoCredential) {
  auto res = anonymous->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(authenticator.requests().empty());
}

TEST_F(ApiServerTest, ReadsWithoutCredentialAreUnauthenticated) {
  service.workload_logs["w1"] = "secret\n";
  service.workload_list = {make_workload("w1", "m1", runtime::WorkloadState::Running, "bmself")};
  for (const char* path : {"/nodes", "/workloads", "/workloads/w1", "/workloads/w1/logs",
                           "/providers/m1", "/events", "/metrics"}) {
    auto res = anonymous->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path;
    EXPECT_EQ(error_code(res), "unauthenticated") << path;
    EXPECT_EQ(res->body.find("secret"), std::string::npos);
  }
  EXPECT_EQ(service.last_tail.load(), -2);  // logs never asked
  EXPECT_EQ(service.subscriber_count(), 0);
}

TEST_F(ApiServerTest, ApplyWithoutCredentialIsUnauthenticated) {
  auto res = anonymous->Post("/apply", owner_headers(), "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(error_code(res), "unauthenticated");
  EXPECT_TRUE(service.apply_calls().empty());
}

TEST_F(ApiServerTest, OwnerHeadersAloneDoNotAuthenticate) {
  auto res = anonymous->Delete("/manifests/m1", owner_headers());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(service.delete_calls().empty());
}

TEST_F(ApiServerTest, UserOverTheReplayQuotaGetsTooManyRequests) {
  auto flooding = client_as(std::string(testing::kFloodingCredential));
  auto res = flooding->Get("/workloads");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(error_code(res), "too_many_requests");
}

TEST_F(ApiServerTest, UnknownCredentialIsUnauthenticatedWithTheAuthenticatorsReason) {
  auto stranger = client_as("5712a9");
  auto res = stranger->Get("/workloads");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(error_code(res), "unauthenticated");
  EXPECT_NE(error_message(res).find("not_a_member"), std::string::npos) << error_message(res);
}

TEST_F(ApiServerTest, BadAuthTokenIsUnauthenticated) {
  auto res =
      anonymous->Get("/workloads", {{kCredentialHeader, kViewerCredential}, {kAuthHeader, "0bad"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_NE(error_message(res).find("bad_signature"), std::string::npos);
}

// httplib refuses header lines over 8 KiB itself (400); the server's own caps are the
// backstop. Either way the authenticator never sees an oversized credential.
TEST_F(ApiServerTest, OversizedCredentialNeverReachesTheAuthenticator) {
  std::string huge(2 * crypto::kMaxCredentialSize + 2, 'a');
  auto res = anonymous->Get("/workloads", {{kCredentialHeader, huge}, {kAuthHeader, kGoodAuth}});
  ASSERT_TRUE(res);
  EXPECT_TRUE(res->status == 400 || res->status == 401) << res->status;
  EXPECT_TRUE(authenticator.requests().empty());
}

TEST_F(ApiServerTest, AuthenticatorSeesMethodPathWithoutQueryAndBothHeaders) {
  service.workload_logs["w1"] = "x\n";
  ASSERT_TRUE(http->Get("/workloads/w1/logs?tail=3"));
  auto requests = authenticator.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/workloads/w1/logs");
  EXPECT_EQ(requests[0].credential_hex, kDeployerCredential);
  EXPECT_EQ(requests[0].auth_hex, kGoodAuth);
}

TEST_F(ApiServerTest, ViewerCanRead) {
  service.workload_list = {make_workload("w1", "m1", runtime::WorkloadState::Running, "bmself")};
  auto viewer = client_as(kViewerCredential);
  auto res = viewer->Get("/workloads");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto list = workloads_from_json(body_json(res));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(ApiServerTest, ViewerCannotApply) {
  auto viewer = client_as(kViewerCredential);
  auto res = viewer->Post("/apply", owner_headers(), "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(error_code(res), "forbidden_role");
  EXPECT_NE(error_message(res).find("needs role deployer"), std::string::npos)
      << error_message(res);
  EXPECT_NE(error_message(res).find("holds role viewer"), std::string::npos);
  EXPECT_TRUE(service.apply_calls().empty());
}

TEST_F(ApiServerTest, ViewerCannotDelete) {
  auto viewer = client_as(kViewerCredential);
  auto res = viewer->Delete("/manifests/m1", owner_headers());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(error_code(res), "forbidden_role");
  EXPECT_TRUE(service.delete_calls().empty());
}

TEST_F(ApiServerTest, DeployerCanApplyAndTheServiceIsToldWhoCalled) {
  auto res = http->Post("/apply", owner_headers(), "kind: Pod\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto calls = service.apply_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].caller.role, crypto::Role::kDeployer);
  EXPECT_EQ(calls[0].caller.name, "dave");
}

TEST_F(ApiServerTest, AdminCanDeleteAndTheServiceIsToldWhoCalled) {
  auto admin = client_as(testing::kAdminCredential);
  auto res = admin->Delete("/manifests/m1", owner_headers());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  auto calls = service.delete_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].caller.role, crypto::Role::kAdmin);
}

TEST_F(ApiServerTest, TooManyHeadersAreRefused) {
  start(ApiConfig{.max_header_count = 8});
  httplib::Headers many;
  for (int i = 0; i < 10; ++i) many.emplace("X-Filler-" + std::to_string(i), "x");
  auto res = anonymous->Get("/health", many);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 431);
  EXPECT_EQ(error_code(res), "header_too_large");
}

// --- revocations ---------------------------------------------------------------------------------

TEST_F(ApiServerTest, RevocationsNeedNoCredentialAndReachTheServiceDecoded) {
  auto res = anonymous->Post("/mesh/revocations", "00ff10\n", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  ASSERT_EQ(service.revocation_lists().size(), 1u);
  EXPECT_EQ(service.revocation_lists()[0], std::string("\x00\xff\x10", 3));
}

TEST_F(ApiServerTest, RevocationsMayBeRawBytes) {
  auto res =
      anonymous->Post("/mesh/revocations", std::string("\x01\x02", 2), "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  ASSERT_EQ(service.revocation_lists().size(), 1u);
  EXPECT_EQ(service.revocation_lists()[0], std::string("\x01\x02", 2));
}

TEST_F(ApiServerTest, RevocationsThatAreNotHexAreABadRequest) {
  auto res = anonymous->Post("/mesh/revocations", "not hex", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(service.revocation_lists().empty());
}

TEST_F(ApiServerTest, RevocationsRefusedByTheServiceMapTheirCode) {
  service.revocations_error = make_error("stale_revocations", "sequence 3 is not newer than 5");
  auto res = anonymous->Post("/mesh/revocations", "00", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(error_code(res), "stale_revocations");
}

// --- transport security
// ----------------------------------------------------------------------------

TEST(ApiServerStart, NonLoopbackAddressWithoutTlsDoesNotStart) {
  FakeNodeService service;
  FakeAuthenticator authenticator;
  for (const char* host : {"0.0.0.0", "::", "192.0.2.1"}) {
    ApiServer server(service, authenticator, ApiConfig{.host = host, .port = 0});
    auto started = server.start();
    ASSERT_FALSE(started.ok()) << host;
    EXPECT_EQ(started.error().code, "api_requires_tls") << host;
  }
}

TEST(ApiServerStart, ACertificateWithoutAKeyIsATlsConfigError) {
  FakeNodeService service;
  FakeAuthenticator authenticator;
  ApiServer server(service, authenticator,
                   ApiConfig{.host = "0.0.0.0", .port = 0, .tls_cert_file = "/nonexistent.pem"});
  auto started = server.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, "tls_config");
}

TEST(ApiServerStart, UnreadableTlsFilesFailToStart) {
  FakeNodeService service;
  FakeAuthenticator authenticator;
  ApiServer server(service, authenticator,
                   ApiConfig{.port = 0,
                             .tls_cert_file = "/nonexistent/cert.pem",
                             .tls_key_file = "/nonexistent/key.pem"});
  auto started = server.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, "tls_failed");
}

TEST(ApiServerStart, LoopbackNamesAreLoopback) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.8.9.10"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.example"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("::"));
}

// A self-signed certificate made with the openssl tool (the test is skipped without it).
class TlsFiles {
 public:
  TlsFiles() {
    char pattern[] = "/tmp/beemesh-api-tls-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return;
    dir_ = pattern;
    cert = dir_ + "/cert.pem";
    key = dir_ + "/key.pem";
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
        "-keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~TlsFiles() {
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  std::string cert;
  std::string key;
  bool ok = false;

 private:
  std::string dir_;
};

TEST(ApiServerStart, WithTlsTheApiServesHttpsOnly) {
  TlsFiles tls;
  if (!tls.ok) GTEST_SKIP() << "openssl is not available";
  FakeNodeService service;
  FakeAuthenticator authenticator;
  ApiServer server(service, authenticator,
                   ApiConfig{.port = 0, .tls_cert_file = tls.cert, .tls_key_file = tls.key});
  auto started = server.start();
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  EXPECT_TRUE(server.url().starts_with("https://"));
  httplib::Client https(server.url());
  https.enable_server_certificate_verification(false);
  auto res = https.Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  httplib::Client plain("127.0.0.1", server.port());
  plain.set_read_timeout(std::chrono::seconds(2));
  auto refused = plain.Get("/health");
  EXPECT_TRUE(!refused || refused->status != 200);
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
  EXPECT_EQ(http_status_for("unauthenticated"), 401);
  EXPECT_EQ(http_status_for("forbidden_role"), 403);
  EXPECT_EQ(http_status_for("forbidden_origin"), 403);
  EXPECT_EQ(http_status_for("forbidden_host"), 421);
  EXPECT_EQ(http_status_for("stale_revocations"), 409);
  EXPECT_EQ(http_status_for("forbidden_pod_security"), 403);
  EXPECT_EQ(http_status_for("name_conflict"), 409);
  EXPECT_EQ(http_status_for("no_credential"), 401);
  EXPECT_EQ(http_status_for("not_a_member"), 403);
  EXPECT_EQ(http_status_for("too_many_requests"), 429);
  EXPECT_EQ(http_status_for("anything_else"), 500);
}

}  // namespace
}  // namespace beemesh::api
