// The kube-proxy's parts without a mesh: the Status table, canonical objects, request paths,
// selectors, discovery, and the HTTPS server's screening and watches (with a fake handler).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>

#include "kube/discovery.h"
#include "kube/kube_api.h"
#include "kube/objects.h"
#include "kube/proxy.h"
#include "kube/status.h"
#include "kube/tls_cert.h"
#include "kube/views.h"

namespace beemesh::kube {
namespace {

Json web() {
  return Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","labels":{"app":"web"}},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"web","image":"localhost/busybox:latest"}]}}}})");
}

const ResourceType& deployments() {
  return *find_resource("apps", "v1", "deployments");
}

TEST(KubeStatus, EveryCodeOfTheTableMapsToItsStatusAndUnknownCodesAre500) {
  EXPECT_EQ(status_for("not_found").http_status, 404);
  EXPECT_EQ(status_for("not_found").reason, "NotFound");
  EXPECT_EQ(status_for("forbidden_role").reason, "Forbidden");
  EXPECT_EQ(status_for("already_exists").http_status, 409);
  EXPECT_EQ(status_for("stale_intent").reason, "Conflict");
  EXPECT_EQ(status_for("invalid_manifest").http_status, 422);
  EXPECT_EQ(status_for("something_new").http_status, 500);
  EXPECT_EQ(status_for("something_new").reason, "InternalError");
}

TEST(KubeStatus, AnInvalidManifestNamingAFieldIsInvalidWithThatFieldAsCause) {
  Json st =
      status_object(make_error("invalid_manifest",
                               "request doc 1: spec.template.spec.containers[0].image: missing"),
                    Subject{"apps", "Deployment", "deployments", "web"});
  EXPECT_EQ(st["reason"], "Invalid");
  EXPECT_EQ(st["code"], 422);
  EXPECT_EQ(st["details"]["causes"][0]["field"], "spec.template.spec.containers[0].image");
  EXPECT_EQ(st["details"]["causes"][0]["reason"], "FieldValueRequired");
  EXPECT_EQ(st["message"],
            "Deployment.apps \"web\" is invalid: spec.template.spec.containers[0].image: Required "
            "value");
}

TEST(KubeStatus, NotFoundNamesTheResourceAndName) {
  Json st = status_object(make_error("not_found", "x"),
                          Subject{"apps", "Deployment", "deployments", "web"});
  EXPECT_EQ(st["message"], "deployments.apps \"web\" not found");
  EXPECT_EQ(http_status(st), 404);
}

TEST(KubeCanonical, ServerFieldsStatusAndTheLastAppliedAnnotationNeverReachTheMesh) {
  Json sent = web();
  sent["metadata"]["uid"] = "u";
  sent["metadata"]["resourceVersion"] = "7";
  sent["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  sent["metadata"]["annotations"][std::string(kLastApplied)] = "{}";
  sent["status"] = {{"replicas", 2}};
  auto a = canonicalize(sent, deployments(), "default", "");
  auto b = canonicalize(web(), deployments(), "default", "");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->mesh_text, b->mesh_text);
  EXPECT_EQ(a->last_applied, "{}");
  EXPECT_EQ(a->object["metadata"]["namespace"], "default");
}

TEST(KubeCanonical, ReplicasTravelBesideTheContentSoScalingKeepsTheContentVersion) {
  Json three = web();
  three["spec"]["replicas"] = 3;
  auto a = canonicalize(web(), deployments(), "default", "");
  auto b = canonicalize(three, deployments(), "default", "");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->mesh_text, b->mesh_text);
  EXPECT_EQ(a->replicas, 2);
  EXPECT_EQ(b->replicas, 3);
  EXPECT_EQ(a->mesh_text.find("replicas"), std::string::npos);
}

TEST(KubeCanonical, KeyOrderDoesNotChangeTheBytes) {
  auto a = canonicalize(
      Json::parse(R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"w"}})"),
      deployments(), "default", "");
  auto b = canonicalize(
      Json::parse(R"({"metadata":{"name":"w"},"apiVersion":"apps/v1","kind":"Deployment"})"),
      deployments(), "default", "");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->mesh_text, b->mesh_text);
}

TEST(KubeCanonical, ANamespaceOtherThanThePathsIsABadRequest) {
  Json sent = web();
  sent["metadata"]["namespace"] = "other";
  auto c = canonicalize(sent, deployments(), "default", "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "bad_request");
}

TEST(KubeCanonical, AMissingOrBadNameIsInvalidNamingMetadataName) {
  Json sent = web();
  sent["metadata"].erase("name");
  auto c = canonicalize(sent, deployments(), "default", "");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("metadata.name"), std::string::npos);
  sent["metadata"]["name"] = "../etc";
  c = canonicalize(sent, deployments(), "default", "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "invalid_manifest");
}

TEST(KubeCanonical, AKindOtherThanThePathsIsABadRequest) {
  Json sent = web();
  sent["kind"] = "StatefulSet";
  auto c = canonicalize(sent, deployments(), "default", "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, "bad_request");
}

TEST(KubeTarget, PathsNameResourceNamespaceNameAndSubresource) {
  auto t = parse_target("/apis/apps/v1/namespaces/default/deployments/web/scale");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type->kind, "Deployment");
  EXPECT_EQ(t->ns, "default");
  EXPECT_EQ(t->name, "web");
  EXPECT_EQ(t->sub, "scale");
  auto all = parse_target("/api/v1/pods");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->ns.empty());
  EXPECT_TRUE(parse_target("/api/v1/nodes/n1"));
}

TEST(KubeTarget, UnknownResourcesAndUnsafeNamesAreNotFound) {
  EXPECT_FALSE(parse_target("/apis/batch/v1/namespaces/default/jobs"));
  EXPECT_FALSE(parse_target("/api/v1/namespaces/default/pods/..%2f"));
  EXPECT_FALSE(parse_target("/api/v1/namespaces/Bad_NS/pods"));
  EXPECT_FALSE(parse_target("/api/v1/namespaces/default/pods/a/b/c/d"));
  EXPECT_FALSE(parse_target("/nothing"));
}

TEST(KubeSelectors, EqualityInequalityAndExistence) {
  Json o{{"metadata",
          {{"name", "p"}, {"namespace", "default"}, {"labels", {{"app", "web"}, {"tier", "fe"}}}}}};
  EXPECT_TRUE(matches_labels(o, "app=web"));
  EXPECT_TRUE(matches_labels(o, "app==web,tier"));
  EXPECT_FALSE(matches_labels(o, "app=db"));
  EXPECT_FALSE(matches_labels(o, "app!=web"));
  EXPECT_FALSE(matches_labels(o, "!tier"));
  EXPECT_FALSE(matches_labels(o, "app in (web)"));  // set-based: not supported, nothing matches
  EXPECT_TRUE(matches_fields(o, "metadata.name=p"));
  EXPECT_FALSE(matches_fields(o, "metadata.name=q"));
  EXPECT_FALSE(matches_fields(o, "spec.nodeName=n1"));
}

TEST(KubeDiscovery,
     OpenApiV3DeclaresFieldValidationOnEveryPatchSoKubectlLeavesValidationToTheServer) {
  for (auto gv : {std::pair{"", "v1"}, {"apps", "v1"}}) {
    auto doc = openapi_v3_group_version(gv.first, gv.second);
    ASSERT_TRUE(doc);
    size_t patches = 0;
    for (const auto& [path, item] : (*doc)["paths"].items()) {
      if (!item.contains("patch")) continue;
      ++patches;
      EXPECT_EQ(item["patch"]["parameters"][0]["name"], "fieldValidation") << path;
      EXPECT_TRUE(item["patch"].contains("x-kubernetes-group-version-kind")) << path;
    }
    EXPECT_GT(patches, 0u);
  }
  EXPECT_TRUE(resource_list("apps", "v1"));
  EXPECT_FALSE(resource_list("batch", "v1"));
}

TEST(KubeStrategicMerge, ContainersMergeByNameAndKeepWhatThePatchDoesNotName) {
  Json target = web();
  strategic_merge(target, Json::parse(R"({"spec":{"template":{"spec":{"containers":[
      {"name":"web","env":[{"name":"A","value":"1"}]}]}}}})"));
  const auto& c = target["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["image"], "localhost/busybox:latest");
  EXPECT_EQ(c[0]["env"][0]["value"], "1");
}

TEST(KubeStrategicMerge, DeleteDirectivesNullsAndElementOrderAreHonoured) {
  Json target =
      Json::parse(R"({"l":[{"name":"a"},{"name":"b"},{"name":"c"}],"x":1,"args":["1","2"]})");
  strategic_merge(target, Json::parse(R"({"$setElementOrder/l":[{"name":"c"},{"name":"a"}],
      "l":[{"name":"b","$patch":"delete"}],"x":null,"args":["3"]})"));
  EXPECT_EQ(target, Json::parse(R"({"l":[{"name":"c"},{"name":"a"}],"args":["3"]})"));
}

// --- the HTTPS server ------------------------------------------------------------------

class FakeHandler : public ApiHandler {
 public:
  Reply handle(const Request& r) override {
    ++calls;
    return Reply{200, "application/json", Json{{"path", r.path}}.dump(), {"a warning"}};
  }
  Result<Json> list_items(const Target&, const Request&) override {
    int v = version.load();
    return Json::array({{{"metadata", {{"name", "a"}, {"namespace", "default"}}}, {"v", v}}});
  }
  int64_t now_ms() const override { return 0; }
  Result<std::string> pod_log(const Request&) override {
    return std::string(version.load() == 1 ? "a\n" : "a\nb\n");
  }
  std::atomic<int> calls{0};
  std::atomic<int> version{1};
};

class KubeProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("kube-proxy-test-" + std::to_string(::getpid()));
    auto cert = load_or_create_certificate(dir_);
    ASSERT_TRUE(cert) << cert.error().to_string();
    options_.port = 0;
    options_.token = std::string(64, 'a');
    options_.tls_cert_file = cert->cert.string();
    options_.tls_key_file = cert->key.string();
    options_.max_body_bytes = 4096;
    options_.watch_poll = std::chrono::milliseconds(100);
    options_.max_watches = 1;
    proxy_ = std::make_unique<KubeProxy>(handler_, options_);
    auto started = proxy_->start();
    ASSERT_TRUE(started) << started.error().to_string();
  }
  void TearDown() override {
    proxy_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<httplib::SSLClient> client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", proxy_->port());
    c->set_ca_cert_path((dir_ / "kube-proxy.crt").string().c_str());
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(5, 0);
    return c;
  }
  httplib::Headers auth() { return {{"Authorization", "Bearer " + options_.token}}; }

  std::filesystem::path dir_;
  FakeHandler handler_;
  ProxyOptions options_;
  std::unique_ptr<KubeProxy> proxy_;
};

TEST_F(KubeProxyTest, ARequestWithTheTokenIsServedOverHttpsWithItsWarnings) {
  auto c = client();
  auto res = c->Get("/version", auth());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Warning"), "299 - \"a warning\"");
}

TEST_F(KubeProxyTest, NoOrAWrongTokenIsUnauthorizedBeforeTheHandler) {
  auto c = client();
  auto none = c->Get("/version");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(Json::parse(none->body)["reason"], "Unauthorized");
  auto wrong = c->Get("/version", {{"Authorization", "Bearer " + std::string(64, 'b')}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(handler_.calls.load(), 0);
}

TEST_F(KubeProxyTest, RequestsFromWebPagesAndForeignHostsAreForbidden) {
  auto c = client();
  auto headers = auth();
  headers.emplace("Origin", "https://evil.example");
  auto origin = c->Get("/version", headers);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->status, 403);
  auto host_headers = auth();
  host_headers.emplace("Host", "evil.example:8001");
  auto host = c->Get("/version", host_headers);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->status, 403);
  EXPECT_EQ(handler_.calls.load(), 0);
}

TEST_F(KubeProxyTest, ABodyOverTheLimitIsRefusedBeforeTheHandler) {
  auto c = client();
  auto res = c->Post("/api/v1/namespaces/default/pods", auth(), std::string(8192, 'x'),
                     "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(handler_.calls.load(), 0);
}

TEST_F(KubeProxyTest, AWatchStreamsAddedThenModifiedAndASecondWatchIsRefused) {
  std::vector<std::string> lines;
  std::thread second;
  int second_status = 0;
  auto c = client();
  std::string buffer;
  auto res =
      c->Get("/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=3", auth(),
             [&](const char* data, size_t n) {
               buffer.append(data, n);
               for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
                 lines.push_back(buffer.substr(0, nl));
                 buffer.erase(0, nl + 1);
                 if (lines.size() == 1) {
                   second = std::thread([&] {
                     auto other = client()->Get("/api/v1/namespaces/default/pods?watch=1", auth());
                     second_status = other ? other->status : -1;
                   });
                   handler_.version = 2;
                 }
               }
               return lines.size() < 2;
             });
  if (second.joinable()) second.join();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(Json::parse(lines[0])["type"], "ADDED");
  EXPECT_EQ(Json::parse(lines[1])["type"], "MODIFIED");
  EXPECT_EQ(Json::parse(lines[1])["object"]["v"], 2);
  EXPECT_EQ(second_status, 429);
}

TEST_F(KubeProxyTest, AFollowedLogStreamsTheLogThenOnlyTheNewLinesUncompressed) {
  std::string got;
  auto c = client();
  auto headers = auth();
  headers.emplace("Accept-Encoding", "gzip");  // as kubectl sends it: must not hold data back
  auto res = c->Get("/api/v1/namespaces/default/pods/p/log?follow=true", headers,
                    [&](const char* data, size_t n) {
                      got.append(data, n);
                      if (got == "a\n") handler_.version = 2;
                      return got != "a\nb\n";
                    });
  EXPECT_EQ(got, "a\nb\n");
}

TEST(KubeProxyStart, ANonLoopbackAddressIsRefused) {
  FakeHandler handler;
  ProxyOptions options;
  options.host = "0.0.0.0";
  KubeProxy proxy(handler, options);
  auto started = proxy.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, "proxy_requires_loopback");
}

}  // namespace
}  // namespace beemesh::kube
