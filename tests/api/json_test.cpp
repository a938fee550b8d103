// The JSON shapes of the REST API (src/api/json.h).
#include "api/json.h"

#include <gtest/gtest.h>

#include "api/fake_node_service.h"

namespace beemesh::api {
namespace {

TEST(ApiJson, NodeClockSkewRoundTripsAndMayBeAbsent) {
  NodeInfo n = testing::make_node("bmB", "node-b", "podman");
  auto without = node_from_json(node_to_json(n));
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->clock_skew_ms);
  EXPECT_TRUE(node_to_json(n)["clock_skew_ms"].is_null());
  n.clock_skew_ms = -12'345;
  auto with = node_from_json(node_to_json(n));
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(with->clock_skew_ms, -12'345);
}

TEST(ApiJson, WorkloadRoundTripsEveryField) {
  WorkloadView w = testing::make_workload("w1", "m1", runtime::WorkloadState::Running, "bmn");
  w.info.restart_policy = "OnFailure";
  w.info.message = "ok";
  w.content_version = "0123456789abcdef0123456789abcdef";
  w.info.ports = {{.pod = "web-0",
                   .container = "web",
                   .container_port = 80,
                   .host_port = 8080,
                   .protocol = "TCP",
                   .host_ip = "127.0.0.1"}};
  auto back = workload_from_json(workload_to_json(w));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->info.id, "w1");
  EXPECT_EQ(back->info.state, runtime::WorkloadState::Running);
  EXPECT_EQ(back->info.restart_policy, "OnFailure");
  EXPECT_EQ(back->info.pods, w.info.pods);
  EXPECT_EQ(back->info.ports, w.info.ports);
  EXPECT_EQ(back->info.created_at_ms, w.info.created_at_ms);
  EXPECT_EQ(back->owner, w.owner);
  EXPECT_EQ(back->node_id, "bmn");
  EXPECT_EQ(back->health, "healthy");
  EXPECT_EQ(back->content_version, w.content_version);
}

TEST(ApiJson, WorkloadStateIsItsName) {
  WorkloadView w = testing::make_workload("w1", "m1", runtime::WorkloadState::Pending, "n");
  EXPECT_EQ(workload_to_json(w)["state"], "Pending");
  EXPECT_EQ(workload_state_from_name("Bogus"), runtime::WorkloadState::Unknown);
}

TEST(ApiJson, ProviderRoundTripsEveryField) {
  provider::ProviderInfo p;
  p.manifest_id = "m1";
  p.metadata.node_id = "bmb";
  p.metadata.rpc_endpoint = "127.0.0.1:7402";
  p.metadata.engine = "podman";
  p.metadata.capabilities = {{"arch", "amd64"}};
  p.timestamp_ms = 42;
  p.ttl_s = 300;
  p.sequence = 7;
  auto back = provider_from_json(provider_to_json(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->metadata.capabilities, p.metadata.capabilities);
  EXPECT_EQ(back->sequence, 7u);
  EXPECT_EQ(back->ttl_s, 300);
}

TEST(ApiJson, ApplyOutcomeRoundTripsPlacements) {
  ApplyOutcome o = testing::make_outcome("m1", 2, 1);
  o.placements = {testing::make_placement("a", true, "ok", "", "w1"),
                  testing::make_placement("b", false, "no_capacity", "full")};
  auto back = apply_outcome_from_json(apply_outcome_to_json(o));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->placements.size(), 2u);
  EXPECT_TRUE(back->placements[0].ok);
  EXPECT_EQ(back->placements[1].message, "full");
}

TEST(ApiJson, MissingFieldsTakeDefaults) {
  auto node = node_from_json(Json{{"node_id", "x"}});
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->node_id, "x");
  EXPECT_EQ(node->last_seen_ms, 0);
}

TEST(ApiJson, WrongFieldTypeNamesTheField) {
  auto w = workload_from_json(Json{{"id", 5}});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "bad_response");
  EXPECT_EQ(w.error().message, "workload.id: unexpected number");
}

TEST(ApiJson, ErrorShapeRoundTrips) {
  Json j = error_to_json(make_error("no_capacity", "full"));
  EXPECT_EQ(j.dump(), R"({"error":{"code":"no_capacity","message":"full"}})");
  auto e = error_from_json(j);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "no_capacity");
  EXPECT_FALSE(error_from_json(Json{{"nodes", Json::array()}}).has_value());
}

TEST(ApiJson, ParseJsonRejectsGarbageWithoutThrowing) {
  auto j = parse_json("<html>");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code, "bad_response");
}

}  // namespace
}  // namespace beemesh::api
