#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "manifest/manifest.h"
#include "manifest/samples.h"

namespace beemesh::manifest {
namespace {

Manifest parse_ok(const std::string& yaml) {
  auto m = parse(yaml, "test.yaml");
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  return m.ok() ? *m : Manifest{};
}

TEST(Parse, AcceptsPodWithItsContainerFields) {
  Manifest m = parse_ok(samples::kPod);
  ASSERT_EQ(m.documents.size(), 1u);
  const Document& d = m.documents[0];
  EXPECT_EQ(d.index, 1);
  EXPECT_EQ(d.api_version, "v1");
  EXPECT_EQ(d.kind, "Pod");
  EXPECT_EQ(d.name, "web");
  EXPECT_EQ(d.namespace_, "default");
  EXPECT_EQ(d.replicas, 1);
  EXPECT_EQ(d.restart_policy, "OnFailure");
  ASSERT_EQ(d.containers.size(), 1u);
  const Container& c = d.containers[0];
  EXPECT_EQ(c.name, "httpd");
  EXPECT_EQ(c.image, "localhost/busybox:latest");
  EXPECT_EQ(c.command, (std::vector<std::string>{"httpd", "-f", "-p", "8080"}));
  ASSERT_EQ(c.env.size(), 2u);
  EXPECT_EQ(c.env[1].name, "PORT");
  EXPECT_EQ(c.env[1].value, "8080");
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].container_port, 8080);
  EXPECT_EQ(c.ports[0].host_port, 0);
  EXPECT_EQ(c.ports[0].protocol, "TCP");
  EXPECT_EQ(c.memory_limit_bytes, 64 * 1024 * 1024);
  EXPECT_EQ(c.cpu_limit_millis, 500);
  EXPECT_EQ(c.memory_request_bytes, 32 * 1024 * 1024);
  EXPECT_EQ(c.cpu_request_millis, 250);
}

TEST(Parse, AcceptsDeploymentWithReplicasNamespaceAndTemplateContainers) {
  Manifest m = parse_ok(samples::kDeployment);
  ASSERT_EQ(m.documents.size(), 1u);
  const Document& d = m.documents[0];
  EXPECT_EQ(d.kind, "Deployment");
  EXPECT_EQ(d.api_version, "apps/v1");
  EXPECT_EQ(d.namespace_, "shop");
  EXPECT_EQ(d.replicas, 3);
  EXPECT_EQ(d.restart_policy, "Always");
  ASSERT_EQ(d.containers.size(), 2u);
  EXPECT_EQ(d.containers[0].args, (std::vector<std::string>{"sleep", "3600"}));
  EXPECT_EQ(d.containers[0].cpu_limit_millis, 1000);
  EXPECT_FALSE(d.containers[1].memory_limit_bytes.has_value());
}

TEST(Parse, AcceptsStatefulSetWithHostPort) {
  Manifest m = parse_ok(samples::kStatefulSet);
  const Document& d = m.documents.at(0);
  EXPECT_EQ(d.kind, "StatefulSet");
  EXPECT_EQ(d.replicas, 2);
  EXPECT_EQ(d.containers.at(0).ports.at(0).host_port, 15432);
}

TEST(Parse, AcceptsConfigMapAsNonWorkload) {
  Manifest m = parse_ok(samples::kConfigMap);
  const Document& d = m.documents.at(0);
  EXPECT_EQ(d.kind, "ConfigMap");
  EXPECT_FALSE(d.is_workload());
  EXPECT_EQ(m.primary(), nullptr);
}

TEST(Parse, AcceptsSecretWithBase64DataAndStringData) {
  Manifest m = parse_ok(samples::kSecret);
  EXPECT_EQ(m.documents.at(0).kind, "Secret");
  EXPECT_FALSE(m.documents.at(0).is_workload());
}

TEST(Parse, AcceptsDeploymentWithZeroReplicas) {
  std::string yaml = samples::kDeployment;
  yaml.replace(yaml.find("replicas: 3"), 11, "replicas: 0");
  EXPECT_EQ(parse_ok(yaml).documents.at(0).replicas, 0);
}

TEST(Parse, DefaultsDeploymentReplicasToOne) {
  std::string yaml = samples::kDeployment;
  yaml.erase(yaml.find("  replicas: 3\n"), 14);
  EXPECT_EQ(parse_ok(yaml).documents.at(0).replicas, 1);
}

TEST(Parse, NumbersDocumentsByPositionSkippingEmptyOnes) {
  Manifest m =
      parse_ok(samples::kConfigMap + "---\n---\n# only a comment\n---\n" + samples::kPod + "---\n");
  ASSERT_EQ(m.documents.size(), 2u);
  EXPECT_EQ(m.documents[0].index, 1);
  EXPECT_EQ(m.documents[1].index, 4);
}

TEST(Parse, PrimaryIsTheFirstWorkloadDocument) {
  Manifest m =
      parse_ok(samples::kConfigMap + "---\n" + samples::kStatefulSet + "---\n" + samples::kPod);
  ASSERT_NE(m.primary(), nullptr);
  EXPECT_EQ(m.primary()->name, "db");
}

TEST(Parse, KeepsTheSourceNameForMessages) {
  auto m = parse(samples::kPod, "web.yaml");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->source, "web.yaml");
}

TEST(Parse, DocumentYamlReparsesToTheSameDocument) {
  Manifest m = parse_ok(samples::kDeployment);
  Manifest again = parse_ok(m.documents[0].yaml);
  const Document& d = again.documents.at(0);
  EXPECT_EQ(d.name, "api");
  EXPECT_EQ(d.replicas, 3);
  EXPECT_EQ(d.containers.size(), 2u);
  EXPECT_EQ(d.yaml, m.documents[0].yaml);
}

TEST(Parse, DocumentYamlKeepsQuotedNumbersAsStrings) {
  Manifest m = parse_ok(samples::kConfigMap);
  YAML::Node root = YAML::Load(m.documents[0].yaml);
  EXPECT_EQ(root["data"]["port"].Tag(), "!");  // written quoted: still the string "8080"
  EXPECT_EQ(root["data"]["port"].Scalar(), "8080");
  EXPECT_EQ(root["data"]["motd"].Scalar(), "hello\nworld\n");
}

TEST(Parse, DocumentYamlQuotesPlainNumbersInStringFields) {
  Manifest m = parse_ok(R"(apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    version: 2
spec:
  containers:
    - name: c
      image: img
      env:
        - name: PORT
          value: 8080
)");
  YAML::Node root = YAML::Load(m.documents[0].yaml);
  EXPECT_EQ(root["metadata"]["labels"]["version"].Tag(), "!");
  EXPECT_EQ(root["spec"]["containers"][0]["env"][0]["value"].Tag(), "!");
}

TEST(Parse, DocumentYamlRoundTripsAwkwardStrings) {
  Manifest m = parse_ok(R"(apiVersion: v1
kind: Pod
metadata: {name: x, labels: {}, annotations: {a: "multi\nline: yes", b: 'it''s'}}
spec:
  volumes: []
  containers: [{name: c, image: i, command: ["a: b", "#x", "*y", "", "null", "~", "0x10"]}]
)");
  Manifest again = parse_ok(m.documents.at(0).yaml);
  EXPECT_EQ(again.documents.at(0).yaml, m.documents.at(0).yaml);
  EXPECT_EQ(again.documents.at(0).containers.at(0).command,
            (std::vector<std::string>{"a: b", "#x", "*y", "", "null", "~", "0x10"}));
}

TEST(Parse, AcceptsInitContainersWithoutCountingThemAsContainers) {
  Manifest m = parse_ok(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: init, image: img, ports: [{containerPort: 80}]}]
  containers: [{name: app, image: img, ports: [{containerPort: 80}]}]
)");
  ASSERT_EQ(m.documents.at(0).containers.size(), 1u);
  EXPECT_EQ(m.documents.at(0).containers[0].name, "app");
}

TEST(Parse, TotalsSumRequestsElseLimitsTimesReplicas) {
  Manifest m = parse_ok(samples::kDeployment + "---\n" + samples::kPod);
  // Deployment: 3 x (128Mi limit + 16Mi request); Pod: 32Mi request.
  EXPECT_EQ(m.total_memory_bytes(), (3 * (128 + 16) + 32) * 1024 * 1024);
  // Deployment: 3 x (1000m limit + 100m request); Pod: 250m request.
  EXPECT_EQ(m.total_cpu_millis(), 3 * 1100 + 250);
}

TEST(Parse, TotalsIgnoreConfigMapsAndSecrets) {
  Manifest m = parse_ok(samples::kConfigMap + "---\n" + samples::kSecret);
  EXPECT_EQ(m.total_memory_bytes(), 0);
  EXPECT_EQ(m.total_cpu_millis(), 0);
}

TEST(Parse, AcceptsSameNameAcrossDifferentDataKinds) {
  Manifest m = parse_ok(R"(apiVersion: v1
kind: ConfigMap
metadata: {name: app}
---
apiVersion: v1
kind: Secret
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers: [{name: c, image: img}]
)");
  EXPECT_EQ(m.documents.size(), 3u);
}

TEST(Parse, AcceptsUdpAndTcpOnTheSamePort) {
  Manifest m = parse_ok(R"(apiVersion: v1
kind: Pod
metadata: {name: dns}
spec:
  containers:
    - name: c
      image: img
      ports:
        - {containerPort: 53, protocol: UDP}
        - {containerPort: 53, protocol: TCP}
)");
  EXPECT_EQ(m.documents.at(0).containers.at(0).ports.size(), 2u);
}

}  // namespace
}  // namespace beemesh::manifest
