#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "manifest/manifest.h"
#include "manifest/samples.h"

namespace beemesh::manifest {
namespace {

constexpr const char* kWorkloadId = "3f2a91c0deadbeef";

Manifest parsed(const std::string& yaml) {
  auto m = parse(yaml, "test.yaml");
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  return m.ok() ? *m : Manifest{};
}

RewriteOptions ids() {
  RewriteOptions o;
  o.manifest_id = "0123456789abcdef0123456789abcdef";
  o.workload_id = kWorkloadId;
  return o;
}

std::vector<YAML::Node> rewrite(const std::string& yaml, const RewriteOptions& options) {
  auto out = rewrite_for_deployment(parsed(yaml), options);
  EXPECT_TRUE(out.ok()) << out.error().to_string();
  return out.ok() ? YAML::LoadAll(*out) : std::vector<YAML::Node>{};
}

std::map<std::string, std::string> env_of(const YAML::Node& container) {
  std::map<std::string, std::string> env;
  for (const auto& e : container["env"]) env[e["name"].Scalar()] = e["value"].Scalar();
  return env;
}

TEST(PodNames, AreNameWorkloadPrefixAndReplicaIndex) {
  EXPECT_EQ(pod_names(parsed(samples::kDeployment), ids()),
            (std::vector<std::string>{"api-3f2a91c0deadbeef-0", "api-3f2a91c0deadbeef-1",
                                      "api-3f2a91c0deadbeef-2"}));
}

TEST(PodNames, AreNameAndIndexWithoutWorkloadId) {
  EXPECT_EQ(pod_names(parsed(samples::kStatefulSet), RewriteOptions{}),
            (std::vector<std::string>{"db-0", "db-1"}));
}

TEST(PodNames, FollowDocumentOrderAndSkipConfigMaps) {
  Manifest m =
      parsed(samples::kPod + "---\n" + samples::kConfigMap + "---\n" + samples::kStatefulSet);
  EXPECT_EQ(pod_names(m, RewriteOptions{}), (std::vector<std::string>{"web-0", "db-0", "db-1"}));
}

TEST(PodNames, FollowTheReplicasOption) {
  RewriteOptions o;
  o.replicas = 1;
  EXPECT_EQ(pod_names(parsed(samples::kDeployment), o), (std::vector<std::string>{"api-0"}));
}

TEST(PodNames, AreCutInTheNameNeverInTheWorkloadId) {
  std::string name = std::string(43, 'a') + "-" + std::string(19, 'b');  // 63 characters
  std::string yaml = samples::kStatefulSet;
  yaml.replace(yaml.find("name: db"), 8, "name: " + name);
  auto names = pod_names(parsed(yaml), ids());
  ASSERT_EQ(names.size(), 2u);
  // 44 characters are kept for the name; the cut leaves a trailing '-', which is dropped.
  EXPECT_EQ(names[0], std::string(43, 'a') + "-3f2a91c0deadbeef-0");
  EXPECT_EQ(names[1], std::string(43, 'a') + "-3f2a91c0deadbeef-1");
}

TEST(PodNames, DifferForWorkloadIdsSharingTheirFirstCharacters) {
  RewriteOptions other = ids();
  other.workload_id = "3f2a91c000000000";
  EXPECT_NE(pod_names(parsed(samples::kPod), ids()), pod_names(parsed(samples::kPod), other));
}

TEST(Rewrite, RefusesAWorkloadIdOutsideLowercaseLettersAndDigits) {
  for (const char* id :
       {"3F2A91C0deadbeef", "3f2a-91c0", "a/b", "0123456789abcdef0123456789abcdef0"}) {
    RewriteOptions o = ids();
    o.workload_id = id;
    auto out = rewrite_for_deployment(parsed(samples::kPod), o);
    ASSERT_FALSE(out.ok()) << id;
    EXPECT_EQ(out.error().code, "invalid_argument") << id;
  }
}

TEST(Rewrite, WritesOnePodPerReplica) {
  auto docs = rewrite(samples::kDeployment, ids());
  ASSERT_EQ(docs.size(), 3u);
  for (const auto& d : docs) {
    EXPECT_EQ(d["apiVersion"].Scalar(), "v1");
    EXPECT_EQ(d["kind"].Scalar(), "Pod");
    EXPECT_EQ(d["spec"]["containers"].size(), 2u);
  }
}

TEST(Rewrite, GivesEveryPodADistinctNameFromPodNames) {
  auto docs = rewrite(samples::kDeployment, ids());
  auto names = pod_names(parsed(samples::kDeployment), ids());
  ASSERT_EQ(docs.size(), names.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(docs[i]["metadata"]["name"].Scalar(), names[i]);
  }
}

TEST(Rewrite, ReplicasOptionOverridesTheManifest) {
  RewriteOptions o = ids();
  o.replicas = 5;
  EXPECT_EQ(rewrite(samples::kDeployment, o).size(), 5u);
}

TEST(Rewrite, ZeroReplicasWritesOnlyPassThroughDocuments) {
  RewriteOptions o = ids();
  o.replicas = 0;
  auto docs = rewrite(samples::kConfigMap + "---\n" + samples::kDeployment, o);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0]["kind"].Scalar(), "ConfigMap");
}

TEST(Rewrite, StatefulSetBecomesPods) {
  auto docs = rewrite(samples::kStatefulSet, ids());
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1]["kind"].Scalar(), "Pod");
  EXPECT_EQ(docs[1]["metadata"]["name"].Scalar(), "db-3f2a91c0deadbeef-1");
}

TEST(Rewrite, PodDocumentBecomesOnePodWithTheNewName) {
  auto docs = rewrite(samples::kPod, ids());
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0]["metadata"]["name"].Scalar(), "web-3f2a91c0deadbeef-0");
}

TEST(Rewrite, LabelsEveryPodWithManifestAndWorkloadIds) {
  for (const auto& d : rewrite(samples::kDeployment, ids())) {
    const YAML::Node labels = d["metadata"]["labels"];
    EXPECT_EQ(labels["beemesh.io/manifest-id"].Scalar(), "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(labels["beemesh.io/workload-id"].Scalar(), kWorkloadId);
  }
}

TEST(Rewrite, KeepsTemplateLabelsAndAddsOptionLabels) {
  RewriteOptions o = ids();
  o.labels = {{"team", "blue"}, {"app", "override"}};
  auto docs = rewrite(samples::kDeployment, o);
  const YAML::Node labels = docs.at(0)["metadata"]["labels"];
  EXPECT_EQ(labels["tier"].Scalar(), "1");
  EXPECT_EQ(labels["tier"].Tag(), "!");  // still a string, as Kubernetes requires
  EXPECT_EQ(labels["team"].Scalar(), "blue");
  EXPECT_EQ(labels["app"].Scalar(), "override");
}

TEST(Rewrite, OptionLabelsCannotReplaceTheIdLabels) {
  RewriteOptions o = ids();
  o.labels = {{"beemesh.io/workload-id", "forged"}};
  auto docs = rewrite(samples::kPod, o);
  EXPECT_EQ(docs.at(0)["metadata"]["labels"]["beemesh.io/workload-id"].Scalar(), kWorkloadId);
}

TEST(Rewrite, InvalidOptionLabelIsAnError) {
  RewriteOptions o = ids();
  o.labels = {{"bad key", "x"}};
  auto out = rewrite_for_deployment(parsed(samples::kPod), o);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "invalid_argument");
}

TEST(Rewrite, KeepsNamespaceAndTemplateAnnotations) {
  auto docs = rewrite(samples::kDeployment, ids());
  EXPECT_EQ(docs.at(0)["metadata"]["namespace"].Scalar(), "shop");
  EXPECT_EQ(docs.at(0)["metadata"]["annotations"]["note"].Scalar(), "kept");
}

TEST(Rewrite, InjectsEnvIntoEveryContainer) {
  RewriteOptions o = ids();
  o.env = {{"BEEMESH_NODE", "n1"}};
  for (const auto& d : rewrite(samples::kDeployment, o)) {
    for (const auto& c : d["spec"]["containers"]) EXPECT_EQ(env_of(c)["BEEMESH_NODE"], "n1");
  }
}

TEST(Rewrite, InjectedEnvOverridesSameNameVariableOnce) {
  RewriteOptions o = ids();
  o.env = {{"GREETING", "bonjour"}};
  auto docs = rewrite(samples::kPod, o);
  const YAML::Node env = docs.at(0)["spec"]["containers"][0]["env"];
  ASSERT_EQ(env.size(), 2u);  // replaced in place, not appended
  EXPECT_EQ(env[0]["name"].Scalar(), "GREETING");
  EXPECT_EQ(env[0]["value"].Scalar(), "bonjour");
  EXPECT_EQ(env[1]["value"].Scalar(), "8080");
}

TEST(Rewrite, InjectedEnvKeepsValueFromEntriesOfOtherNames) {
  RewriteOptions o = ids();
  o.env = {{"B", "2"}};
  auto docs = rewrite(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      image: img
      env:
        - name: A
          valueFrom: {configMapKeyRef: {name: cfg, key: a}}
)",
                      o);
  const YAML::Node env = docs.at(0)["spec"]["containers"][0]["env"];
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env[0]["valueFrom"]["configMapKeyRef"]["name"].Scalar(), "cfg");
  EXPECT_EQ(env[1]["name"].Scalar(), "B");
}

TEST(Rewrite, InjectedEnvValuesStayStrings) {
  RewriteOptions o = ids();
  o.env = {{"PORT", "8080"}, {"DEBUG", "true"}};
  auto docs = rewrite(samples::kPod, o);
  for (const auto& e : docs.at(0)["spec"]["containers"][0]["env"]) {
    std::string name = e["name"].Scalar();
    if (name == "PORT" || name == "DEBUG") {
      EXPECT_EQ(e["value"].Tag(), "!") << name;
    }
  }
}

TEST(Rewrite, WritesMemoryLimitInBytesAndCpuLimitInMillis) {
  RewriteOptions o = ids();
  o.memory_limit_bytes = 256 * 1024 * 1024;
  o.cpu_limit_millis = 750;
  for (const auto& c : rewrite(samples::kDeployment, o).at(0)["spec"]["containers"]) {
    EXPECT_EQ(c["resources"]["limits"]["memory"].Scalar(), "268435456");
    EXPECT_EQ(c["resources"]["limits"]["cpu"].Scalar(), "750m");
  }
}

TEST(Rewrite, LimitsAreAddedToContainersWithoutResources) {
  RewriteOptions o = ids();
  o.memory_limit_bytes = 1000;
  auto c = rewrite(samples::kStatefulSet, o).at(0)["spec"]["containers"][0];
  EXPECT_EQ(c["resources"]["limits"]["memory"].Scalar(), "1000");
  EXPECT_FALSE(c["resources"]["limits"]["cpu"].IsDefined());
}

TEST(Rewrite, InitContainersGetEnvAndLimitsToo) {
  RewriteOptions o = ids();
  o.env = {{"A", "b"}};
  o.cpu_limit_millis = 100;
  auto docs = rewrite(R"(apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: init, image: img}]
  containers: [{name: app, image: img}]
)",
                      o);
  const YAML::Node init = docs.at(0)["spec"]["initContainers"][0];
  EXPECT_EQ(env_of(init)["A"], "b");
  EXPECT_EQ(init["resources"]["limits"]["cpu"].Scalar(), "100m");
}

TEST(Rewrite, LimitsLowerRequestsThatExceedThem) {
  RewriteOptions o = ids();
  o.memory_limit_bytes = 8 * 1024 * 1024;  // below the sidecar's 16Mi request
  o.cpu_limit_millis = 200;                // above its 100m request
  auto sidecar = rewrite(samples::kDeployment, o).at(0)["spec"]["containers"][1];
  EXPECT_EQ(sidecar["resources"]["requests"]["memory"].Scalar(), "8388608");
  EXPECT_EQ(sidecar["resources"]["requests"]["cpu"].Scalar(), "100m");
}

TEST(Rewrite, KeepsManifestLimitsWithoutOptions) {
  auto c = rewrite(samples::kPod, ids()).at(0)["spec"]["containers"][0];
  EXPECT_EQ(c["resources"]["limits"]["memory"].Scalar(), "64Mi");
}

TEST(Rewrite, KeepsRestartPolicy) {
  EXPECT_EQ(rewrite(samples::kPod, ids()).at(0)["spec"]["restartPolicy"].Scalar(), "OnFailure");
  EXPECT_EQ(rewrite(samples::kDeployment, ids()).at(0)["spec"]["restartPolicy"].Scalar(), "Always");
}

TEST(Rewrite, HostPortAssignmentPublishesOnlyTheNamedPod) {
  RewriteOptions o = ids();
  o.replicas = 2;
  o.host_ports = {{1, "store", 5432, 25432, "127.0.0.1"}};
  auto docs = rewrite(samples::kStatefulSet, o);
  ASSERT_EQ(docs.size(), 2u);
  const YAML::Node published = docs[1]["spec"]["containers"][0]["ports"][0];
  EXPECT_EQ(published["hostPort"].as<int>(), 25432);
  EXPECT_EQ(published["hostIP"].Scalar(), "127.0.0.1");
  EXPECT_EQ(docs[0]["spec"]["containers"][0]["ports"][0]["hostPort"].as<int>(), 15432);
}

TEST(Rewrite, HostPortAssignmentAddsAMissingPortEntry) {
  RewriteOptions o = ids();
  o.host_ports = {{0, "server", 9000, 19000, ""}};
  auto docs = rewrite(samples::kDeployment, o);
  const YAML::Node ports = docs.at(0)["spec"]["containers"][0]["ports"];
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0]["containerPort"].as<int>(), 9000);
  EXPECT_EQ(ports[0]["hostPort"].as<int>(), 19000);
  EXPECT_FALSE(ports[0]["hostIP"].IsDefined());
}

TEST(Rewrite, HostPortZeroUnpublishesThePort) {
  RewriteOptions o = ids();
  o.host_ports = {{0, "store", 5432, 0, ""}};
  auto docs = rewrite(samples::kStatefulSet, o);
  EXPECT_FALSE(docs.at(0)["spec"]["containers"][0]["ports"][0]["hostPort"].IsDefined());
}

TEST(Rewrite, HostPortAssignmentForUnknownContainerIsAnError) {
  RewriteOptions o = ids();
  o.host_ports = {{0, "nope", 80, 8080, ""}};
  auto out = rewrite_for_deployment(parsed(samples::kPod), o);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "invalid_argument");
  EXPECT_EQ(out.error().message,
            "host port assignment for pod 'web-3f2a91c0deadbeef-0': no container 'nope'");
}

TEST(Rewrite, HostPortAssignmentBeyondThePodsIsAnError) {
  RewriteOptions o = ids();
  o.host_ports = {{1, "httpd", 8080, 8080, ""}};
  auto out = rewrite_for_deployment(parsed(samples::kPod), o);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message, "host port assignment: pod index 1 out of range (1 pods)");
}

TEST(Rewrite, NegativeReplicasOptionIsAnError) {
  RewriteOptions o = ids();
  o.replicas = -1;
  auto out = rewrite_for_deployment(parsed(samples::kPod), o);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "invalid_argument");
}

TEST(Rewrite, ConfigMapsPassThroughUnchangedAndSecretsComeFirstToo) {
  Manifest m = parsed(samples::kPod + "---\n" + samples::kConfigMap + "---\n" + samples::kSecret);
  auto out = rewrite_for_deployment(m, ids());
  ASSERT_TRUE(out.ok());
  std::string expected_prefix = m.documents[1].yaml + "---\n";
  EXPECT_EQ(out->substr(0, expected_prefix.size()), expected_prefix);
  auto docs = YAML::LoadAll(*out);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[1]["kind"].Scalar(), "Secret");
  EXPECT_EQ(docs[2]["kind"].Scalar(), "Pod");
}

TEST(Rewrite, SecretsGetNamesOfTheirWorkload) {
  // Podman keeps Secrets node-wide by name: another owner's Secret "credentials" must never
  // be the one this workload's pods read or replace.
  std::string pod =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n  containers:\n"
      "  - name: c\n    image: localhost/busybox:latest\n"
      "    env:\n    - name: P\n      valueFrom: {secretKeyRef: {name: credentials, key: "
      "password}}\n"
      "    envFrom:\n    - secretRef: {name: credentials}\n"
      "    volumeMounts:\n    - {name: s, mountPath: /s}\n"
      "  volumes:\n  - {name: s, secret: {secretName: credentials}}\n";
  Manifest m = parsed(pod + "---\n" + samples::kSecret);
  auto out = rewrite_for_deployment(m, ids());
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  auto docs = YAML::LoadAll(*out);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0]["metadata"]["name"].Scalar(), "credentials-3f2a91c0deadbeef");
  YAML::Node spec = docs[1]["spec"];
  EXPECT_EQ(spec["volumes"][0]["secret"]["secretName"].Scalar(), "credentials-3f2a91c0deadbeef");
  YAML::Node c = spec["containers"][0];
  EXPECT_EQ(c["envFrom"][0]["secretRef"]["name"].Scalar(), "credentials-3f2a91c0deadbeef");
  bool found = false;
  for (const auto& var : c["env"]) {
    if (var["name"].Scalar() == "P") {
      found = true;
      EXPECT_EQ(var["valueFrom"]["secretKeyRef"]["name"].Scalar(), "credentials-3f2a91c0deadbeef");
    }
  }
  EXPECT_TRUE(found);
}

TEST(Rewrite, OutputParsesBackAsAValidManifest) {
  RewriteOptions o = ids();
  o.env = {{"A", "1"}};
  o.memory_limit_bytes = 1 << 30;
  o.cpu_limit_millis = 1500;
  o.host_ports = {{0, "httpd", 8080, 18080, "127.0.0.1"}};
  Manifest m = parsed(samples::kPod + "---\n" + samples::kConfigMap + "---\n" +
                      samples::kDeployment + "---\n" + samples::kStatefulSet);
  auto out = rewrite_for_deployment(m, o);
  ASSERT_TRUE(out.ok());
  auto again = parse(*out, "rewritten");
  ASSERT_TRUE(again.ok()) << again.error().to_string() << "\n" << *out;
  ASSERT_EQ(again->documents.size(), 1u + 1 + 3 + 2);
  for (const auto& d : again->documents) {
    if (!d.is_workload()) continue;
    EXPECT_EQ(d.kind, "Pod");
    for (const auto& c : d.containers) {
      EXPECT_EQ(c.memory_limit_bytes, 1 << 30);
      EXPECT_EQ(c.cpu_limit_millis, 1500);
    }
  }
  EXPECT_EQ(again->documents[1].containers[0].ports[0].host_port, 18080);
}

TEST(Rewrite, DocumentWithoutYamlIsRewrittenFromItsFields) {
  Manifest m;
  m.source = "built";
  Document d;
  d.index = 1;
  d.api_version = "v1";
  d.kind = "Pod";
  d.name = "hand";
  d.replicas = 2;
  Container c;
  c.name = "app";
  c.image = "localhost/busybox:latest";
  c.command = {"sleep", "60"};
  c.ports = {ContainerPort{"http", 80, 0, "TCP"}};
  c.memory_limit_bytes = 1024 * 1024;
  d.containers = {c};
  m.documents = {d};
  auto out = rewrite_for_deployment(m, ids());
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  auto again = parse(*out);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  ASSERT_EQ(again->documents.size(), 2u);
  EXPECT_EQ(again->documents[1].name, "hand-3f2a91c0deadbeef-1");
  EXPECT_EQ(again->documents[1].containers[0].command, c.command);
  EXPECT_EQ(again->documents[1].containers[0].memory_limit_bytes, 1024 * 1024);
}

// The rewrite reads the parsed tree in place (no clone of it): rewriting twice gives the
// same pods, and the tree is left as parsed.
TEST(RewriteReadsInPlace, TheParsedTreeIsLeftAsParsedAndARewriteCanBeRepeated) {
  Manifest m = parsed(samples::kDeployment);
  std::vector<std::string> before;
  for (const auto& doc : m.documents) before.push_back(doc.tree ? YAML::Dump(*doc.tree) : "");
  RewriteOptions options = ids();
  options.env = {{"EXTRA", "1"}};
  auto first = rewrite_for_deployment(m, options);
  auto second = rewrite_for_deployment(m, options);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  for (size_t i = 0; i < m.documents.size(); ++i) {
    EXPECT_EQ(m.documents[i].tree ? YAML::Dump(*m.documents[i].tree) : "", before[i]);
  }
}

}  // namespace
}  // namespace beemesh::manifest
