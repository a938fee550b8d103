// Every malformed input is rejected with code invalid_manifest and the exact message
// "<source> doc <n>: <field.path>: <reason>".
#include <gtest/gtest.h>

#include <string>

#include "manifest/manifest.h"
#include "manifest/samples.h"

namespace beemesh::manifest {
namespace {

// A Pod named "web" whose spec is `spec` (lines indented by two spaces).
std::string pod_spec(const std::string& spec) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n" + spec;
}

// A Pod with one container "app" (image "img") plus `extra` lines indented by six spaces.
std::string pod_container(const std::string& extra) {
  return pod_spec("  containers:\n    - name: app\n      image: img\n" + extra);
}

// A Deployment "web" whose spec is `spec` (lines indented by two spaces).
std::string deployment_spec(const std::string& spec) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n" + spec;
}

struct Malformed {
  std::string name;
  std::string yaml;
  std::string message;
};

class RejectsMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(RejectsMalformed, WithExactMessage) {
  auto m = parse(GetParam().yaml, "web.yaml");
  ASSERT_FALSE(m.ok()) << "accepted:\n" << GetParam().yaml;
  EXPECT_EQ(m.error().code, "invalid_manifest");
  EXPECT_EQ(m.error().message, GetParam().message);
}

const Malformed kCases[] = {
    // Whole input and YAML syntax.
    {"EmptyInput", "", "web.yaml: no documents"},
    {"OnlyEmptyDocuments", "---\n# nothing here\n---\n", "web.yaml: no documents"},
    {"YamlSyntaxErrorHasLineAndColumn", "apiVersion: v1\nkind: [Pod\n",
     "web.yaml doc 1: line 3, column 1: end of sequence flow not found"},
    {"YamlSyntaxErrorNamesItsDocument",
     samples::kConfigMap + "---\nkind: Pod\nmetadata: {name: x\n",
     "web.yaml doc 2: line 13, column 1: end of map flow not found"},
    {"DocumentNotAMap", "- a\n- b\n", "web.yaml doc 1: (root): must be a map"},
    {"DuplicateKey", "apiVersion: v1\nkind: Pod\nkind: Pod\n",
     "web.yaml doc 1: (root): duplicate key 'kind'"},
    // apiVersion, kind, metadata.
    {"ApiVersionMissing", "kind: Pod\n", "web.yaml doc 1: apiVersion: missing"},
    {"KindMissing", "apiVersion: v1\n", "web.yaml doc 1: kind: missing"},
    {"KindNotString", "apiVersion: v1\nkind: [Pod]\n", "web.yaml doc 1: kind: must be a string"},
    {"KindUnsupported", "apiVersion: v1\nkind: Service\n",
     "web.yaml doc 1: kind: not a supported kind: 'Service' (supported: Pod, Deployment, "
     "StatefulSet, ConfigMap, Secret)"},
    {"ApiVersionWrongForKind", "apiVersion: v1\nkind: Deployment\n",
     "web.yaml doc 1: apiVersion: must be 'apps/v1' for kind Deployment: 'v1'"},
    {"MetadataMissing", "apiVersion: v1\nkind: Pod\n", "web.yaml doc 1: metadata: missing"},
    {"MetadataNotMap", "apiVersion: v1\nkind: Pod\nmetadata: web\n",
     "web.yaml doc 1: metadata: must be a map"},
    {"NameMissing", "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {}\n",
     "web.yaml doc 1: metadata.name: missing"},
    {"NameNotString", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web]\n",
     "web.yaml doc 1: metadata.name: must be a string"},
    {"NameNotDnsLabel", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Foo_Bar\n",
     "web.yaml doc 1: metadata.name: not a valid DNS label: 'Foo_Bar'"},
    {"NameEndsWithDash", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-\n",
     "web.yaml doc 1: metadata.name: not a valid DNS label: 'web-'"},
    {"NameLongerThan63",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + std::string(64, 'a') + "\n",
     "web.yaml doc 1: metadata.name: not a valid DNS label (longer than 63 characters): '" +
         std::string(64, 'a') + "'"},
    {"NamespaceNotDnsLabel",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: My.Ns\n",
     "web.yaml doc 1: metadata.namespace: not a valid DNS label: 'My.Ns'"},
    {"LabelKeyInvalid",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    \"a b\": x\n",
     "web.yaml doc 1: metadata.labels: not a valid label key: 'a b'"},
    {"LabelValueInvalid",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: \"-x\"\n",
     "web.yaml doc 1: metadata.labels.app: not a valid label value: '-x'"},
    // Pod spec and containers.
    {"PodSpecMissing", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n",
     "web.yaml doc 1: spec: missing"},
    {"ContainersMissing", pod_spec("  restartPolicy: Always\n"),
     "web.yaml doc 1: spec.containers: missing"},
    {"ContainersNotList", pod_spec("  containers: app\n"),
     "web.yaml doc 1: spec.containers: must be a list"},
    {"ContainersEmpty", pod_spec("  containers: []\n"),
     "web.yaml doc 1: spec.containers: must not be empty"},
    {"ContainerNotMap", pod_spec("  containers:\n    - app\n"),
     "web.yaml doc 1: spec.containers[0]: must be a map"},
    {"ContainerNameMissing", pod_spec("  containers:\n    - image: img\n"),
     "web.yaml doc 1: spec.containers[0].name: missing"},
    {"ContainerNameNotDnsLabel", pod_spec("  containers:\n    - name: App\n      image: img\n"),
     "web.yaml doc 1: spec.containers[0].name: not a valid DNS label: 'App'"},
    {"ContainerNameDuplicate",
     pod_spec("  containers:\n    - {name: app, image: img}\n    - {name: app, image: img}\n"),
     "web.yaml doc 1: spec.containers[1].name: duplicate container name 'app'"},
    {"InitContainerNameClashesWithContainer",
     pod_spec("  containers: [{name: app, image: i}]\n  initContainers: [{name: app, image: "
              "i}]\n"),
     "web.yaml doc 1: spec.initContainers[0].name: duplicate container name 'app'"},
    {"InitContainerImageMissing",
     pod_spec("  containers: [{name: app, image: i}]\n  initContainers: [{name: init}]\n"),
     "web.yaml doc 1: spec.initContainers[0].image: missing"},
    {"ContainerImageMissing", pod_spec("  containers:\n    - name: app\n"),
     "web.yaml doc 1: spec.containers[0].image: missing"},
    {"ContainerImageNull", pod_spec("  containers:\n    - name: app\n      image:\n"),
     "web.yaml doc 1: spec.containers[0].image: missing"},
    {"ContainerImageEmpty", pod_spec("  containers:\n    - name: app\n      image: \"\"\n"),
     "web.yaml doc 1: spec.containers[0].image: must not be empty"},
    {"ImagePullPolicyUnknown", pod_container("      imagePullPolicy: Sometimes\n"),
     "web.yaml doc 1: spec.containers[0].imagePullPolicy: must be one of Always, IfNotPresent, "
     "Never: 'Sometimes'"},
    {"CommandNotList", pod_container("      command: sleep 1\n"),
     "web.yaml doc 1: spec.containers[0].command: must be a list of strings"},
    {"ArgsItemNotString", pod_container("      args: [a, [b]]\n"),
     "web.yaml doc 1: spec.containers[0].args[1]: must be a string"},
    {"EnvNotList", pod_container("      env: {A: b}\n"),
     "web.yaml doc 1: spec.containers[0].env: must be a list"},
    {"EnvNameMissing", pod_container("      env:\n        - value: x\n"),
     "web.yaml doc 1: spec.containers[0].env[0].name: missing"},
    {"EnvNameWithEquals", pod_container("      env:\n        - name: A=B\n"),
     "web.yaml doc 1: spec.containers[0].env[0].name: not a valid environment variable name: "
     "'A=B'"},
    {"EnvValueNotString", pod_container("      env:\n        - name: A\n          value: {x: 1}\n"),
     "web.yaml doc 1: spec.containers[0].env[0].value: must be a string"},
    {"PortsNotList", pod_container("      ports: 80\n"),
     "web.yaml doc 1: spec.containers[0].ports: must be a list"},
    {"ContainerPortMissing", pod_container("      ports:\n        - hostPort: 80\n"),
     "web.yaml doc 1: spec.containers[0].ports[0].containerPort: missing"},
    {"ContainerPortZero", pod_container("      ports:\n        - containerPort: 0\n"),
     "web.yaml doc 1: spec.containers[0].ports[0].containerPort: must be between 1 and 65535: "
     "'0'"},
    {"ContainerPortTooLarge", pod_container("      ports:\n        - containerPort: 65536\n"),
     "web.yaml doc 1: spec.containers[0].ports[0].containerPort: must be between 1 and 65535: "
     "'65536'"},
    {"ContainerPortNotInteger", pod_container("      ports:\n        - containerPort: http\n"),
     "web.yaml doc 1: spec.containers[0].ports[0].containerPort: must be an integer: 'http'"},
    {"ContainerPortQuoted", pod_container("      ports:\n        - containerPort: \"80\"\n"),
     "web.yaml doc 1: spec.containers[0].ports[0].containerPort: must be an integer, not a "
     "quoted string: '80'"},
    {"HostPortNegative",
     pod_container("      ports:\n        - containerPort: 80\n          hostPort: -1\n"),
     "web.yaml doc 1: spec.containers[0].ports[0].hostPort: must be between 0 and 65535: '-1'"},
    {"ProtocolUnknown",
     pod_container("      ports:\n        - containerPort: 80\n          protocol: tcp\n"),
     "web.yaml doc 1: spec.containers[0].ports[0].protocol: must be one of TCP, UDP, SCTP: "
     "'tcp'"},
    {"ContainerPortDuplicateInPod",
     pod_spec("  containers:\n    - name: a\n      image: img\n      ports: [{containerPort: "
              "80}]\n    - name: b\n      image: img\n      ports: [{containerPort: 80}]\n"),
     "web.yaml doc 1: spec.containers[1].ports[0].containerPort: duplicate port 80/TCP in pod"},
    {"HostPortDuplicateInPod",
     pod_container("      ports:\n        - {containerPort: 80, hostPort: 8080}\n        - "
                   "{containerPort: 81, hostPort: 8080}\n"),
     "web.yaml doc 1: spec.containers[0].ports[1].hostPort: duplicate host port 8080/TCP in "
     "pod"},
    {"ResourcesNotMap", pod_container("      resources: 1Gi\n"),
     "web.yaml doc 1: spec.containers[0].resources: must be a map"},
    {"MemoryLimitNotQuantity",
     pod_container("      resources:\n        limits:\n          memory: 12XB\n"),
     "web.yaml doc 1: spec.containers[0].resources.limits.memory: not a Kubernetes quantity: "
     "'12XB'"},
    {"CpuRequestNegative",
     pod_container("      resources:\n        requests:\n          cpu: -1\n"),
     "web.yaml doc 1: spec.containers[0].resources.requests.cpu: must not be negative: '-1'"},
    {"MemoryRequestAboveLimit",
     pod_container("      resources:\n        limits: {memory: 64Mi}\n        requests: {memory: "
                   "1Gi}\n"),
     "web.yaml doc 1: spec.containers[0].resources.requests.memory: must not exceed the limit "
     "(1Gi > 64Mi)"},
    {"RestartPolicyUnknown",
     pod_spec("  restartPolicy: Sometimes\n  containers: [{name: a, image: i}]\n"),
     "web.yaml doc 1: spec.restartPolicy: must be one of Always, OnFailure, Never: 'Sometimes'"},
    // Deployment / StatefulSet.
    {"DeploymentImageMissing",
     deployment_spec("  template:\n    spec:\n      containers:\n        - name: app\n"),
     "web.yaml doc 1: spec.template.spec.containers[0].image: missing"},
    {"DeploymentTemplateMissing", deployment_spec("  replicas: 1\n"),
     "web.yaml doc 1: spec.template: missing"},
    {"DeploymentTemplateSpecMissing", deployment_spec("  template:\n    metadata: {}\n"),
     "web.yaml doc 1: spec.template.spec: missing"},
    {"ReplicasNegative", deployment_spec("  replicas: -1\n"),
     "web.yaml doc 1: spec.replicas: must be a non-negative integer: '-1'"},
    {"ReplicasNotInteger", deployment_spec("  replicas: three\n"),
     "web.yaml doc 1: spec.replicas: must be an integer: 'three'"},
    {"ReplicasFractional", deployment_spec("  replicas: 1.5\n"),
     "web.yaml doc 1: spec.replicas: must be an integer: '1.5'"},
    {"ReplicasTooMany", deployment_spec("  replicas: 10001\n"),
     "web.yaml doc 1: spec.replicas: must be at most 10000: '10001'"},
    {"SelectorDoesNotMatchTemplateLabels",
     deployment_spec("  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n     "
                     " labels: {app: api}\n    spec:\n      containers: [{name: a, image: i}]\n"),
     "web.yaml doc 1: spec.selector.matchLabels.app: does not match "
     "spec.template.metadata.labels"},
    {"StatefulSetWrongApiVersion", "apiVersion: apps/v1beta1\nkind: StatefulSet\n",
     "web.yaml doc 1: apiVersion: must be 'apps/v1' for kind StatefulSet: 'apps/v1beta1'"},
    // ConfigMap / Secret.
    {"ConfigMapDataNotMap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: [a]\n",
     "web.yaml doc 1: data: must be a map"},
    {"ConfigMapValueNotString",
     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: {b: c}\n",
     "web.yaml doc 1: data.a: must be a string"},
    {"ConfigMapKeyInvalid",
     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a/b: x\n",
     "web.yaml doc 1: data: not a valid key: 'a/b'"},
    {"SecretDataNotBase64",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: not base64!\n",
     "web.yaml doc 1: data.password: not valid base64"},
    {"SecretDataBadPadding", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: YWJ\n",
     "web.yaml doc 1: data.k: not valid base64"},
    // Across documents.
    {"ErrorInThirdDocumentNamesIt",
     samples::kConfigMap + "---\n---\n" + pod_spec("  containers: [{name: a}]\n"),
     "web.yaml doc 3: spec.containers[0].image: missing"},
    {"WorkloadNameDuplicatedAcrossKinds",
     samples::kPod + "---\n" +
         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n "
         " name: web\nspec:\n  template:\n    spec:\n     "
         " containers: [{name: a, image: i}]\n",
     "web.yaml doc 2: metadata.name: duplicate workload name 'web' (doc 1)"},
    {"ConfigMapNameDuplicated", samples::kConfigMap + "---\n" + samples::kConfigMap,
     "web.yaml doc 2: metadata.name: duplicate ConfigMap name 'settings' (doc 1)"},
};

INSTANTIATE_TEST_SUITE_P(Manifests, RejectsMalformed, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Malformed>& info) {
                           return info.param.name;
                         });

TEST(Malformed, CaseCountMeetsTheIssue) {
  EXPECT_GE(std::size(kCases), 25u);
}

TEST(Malformed, SourceDefaultsToManifest) {
  auto m = parse("kind: Pod\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "manifest doc 1: apiVersion: missing");
}

TEST(Malformed, LongValuesAreCutInMessages) {
  std::string image_name = "X" + std::string(100, 'y');
  auto m = parse(pod_spec("  containers:\n    - name: " + image_name + "\n      image: i\n"), "w");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message,
            "w doc 1: spec.containers[0].name: not a valid DNS label (longer "
            "than 63 characters): '" +
                image_name.substr(0, 64) + "...'");
}

}  // namespace
}  // namespace beemesh::manifest

namespace beemesh::manifest {
namespace {

// yaml-cpp 0.7's LoadAll never returns on these (found by fuzz_manifest); parse must.
TEST(ManifestParse, LoneCommaIsRejectedNotHung) {
  auto r = parse(",", "fuzz.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_manifest");
}

TEST(ManifestParse, DirectiveAfterContentIsRejectedNotHung) {
  auto r = parse("a:\nb\n%x\n ,", "fuzz.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_manifest");
}

}  // namespace
}  // namespace beemesh::manifest
