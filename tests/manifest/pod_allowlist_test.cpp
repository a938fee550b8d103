// rewrite_for_deployment() builds each Pod from an allow-list: unknown fields never reach
// the YAML a runtime is given, and what cannot be dropped safely is refused.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "manifest/manifest.h"

namespace beemesh::manifest {
namespace {

RewriteOptions ids() {
  RewriteOptions o;
  o.manifest_id = "0123456789abcdef0123456789abcdef";
  o.workload_id = "3f2a91c0deadbeef";
  return o;
}

Result<std::string> rewritten(const std::string& yaml) {
  auto parsed = parse(yaml, "test.yaml");
  if (!parsed) return parsed.error();
  return rewrite_for_deployment(*parsed, ids());
}

// The emitted Pod (the last document) of a rewrite that must succeed.
YAML::Node pod_of(const std::string& yaml, std::string* text = nullptr) {
  auto out = rewritten(yaml);
  EXPECT_TRUE(out.ok()) << out.error().to_string();
  if (!out.ok()) return YAML::Node();
  if (text != nullptr) *text = *out;
  return YAML::LoadAll(*out).back();
}

std::string pod(const std::string& spec, const std::string& metadata = "") {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n" + metadata + "spec:\n" + spec;
}

void expect_refused(const std::string& yaml, const std::string& message) {
  auto out = rewritten(yaml);
  ASSERT_FALSE(out.ok()) << *out;
  EXPECT_EQ(out.error().code, "forbidden_pod_security");
  EXPECT_EQ(out.error().message, message);
}

TEST(PodAllowlist, UnknownContainerFieldsNeverReachTheRuntime) {
  std::string text;
  YAML::Node p = pod_of(pod("  containers:\n  - name: app\n    image: img\n"
                            "    stdin: true\n    lifecycle: {postStart: {exec: {command: [x]}}}\n"
                            "    livenessProbe: {exec: {command: [true]}}\n"
                            "    volumeDevices: [{name: d, devicePath: /dev/sda}]\n"),
                        &text);
  YAML::Node c = p["spec"]["containers"][0];
  EXPECT_EQ(c["name"].Scalar(), "app");
  for (const char* key : {"stdin", "lifecycle", "livenessProbe", "volumeDevices"}) {
    EXPECT_FALSE(c[key].IsDefined()) << key;
    EXPECT_EQ(text.find(key), std::string::npos) << key << " in\n" << text;
  }
}

TEST(PodAllowlist, UnknownPodFieldsNeverReachTheRuntime) {
  std::string text;
  pod_of(pod("  containers: [{name: app, image: img}]\n  nodeSelector: {a: b}\n"
             "  hostAliases: [{ip: 1.2.3.4, hostnames: [x]}]\n  shareProcessNamespace: true\n"
             "  hostUsers: false\n  ephemeralContainers: [{name: e, image: img}]\n"),
         &text);
  for (const char* key : {"nodeSelector", "hostAliases", "shareProcessNamespace", "hostUsers",
                          "ephemeralContainers"}) {
    EXPECT_EQ(text.find(key), std::string::npos) << key << " in\n" << text;
  }
}

TEST(PodAllowlist, KeysInAnotherCaseAreDropped) {
  std::string text;
  YAML::Node p = pod_of(pod("  HostNetwork: true\n  containers:\n  - name: app\n    image: img\n"
                            "    securityContext: {Privileged: true}\n"),
                        &text);
  EXPECT_EQ(text.find("HostNetwork"), std::string::npos) << text;
  EXPECT_EQ(text.find("Privileged"), std::string::npos) << text;
}

TEST(PodAllowlist, UnknownSecurityContextFieldsAreDropped) {
  std::string text;
  pod_of(pod("  containers:\n  - name: app\n    image: img\n    securityContext:\n"
             "      windowsOptions: {hostProcess: true}\n      readOnlyRootFilesystem: true\n"),
         &text);
  EXPECT_EQ(text.find("windowsOptions"), std::string::npos) << text;
  EXPECT_NE(text.find("readOnlyRootFilesystem: true"), std::string::npos) << text;
}

TEST(PodAllowlist, ListedFieldsPassUnchanged) {
  YAML::Node p = pod_of(
      "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {user: u}\n---\n" +
      pod("  hostname: h\n  terminationGracePeriodSeconds: 5\n  containers:\n  - name: app\n"
          "    image: img\n    workingDir: /work\n    envFrom: [{secretRef: {name: creds}}]\n"
          "    env: [{name: U, valueFrom: {secretKeyRef: {name: creds, key: user}}}]\n"
          "    volumeMounts:\n    - {name: scratch, mountPath: /scratch, subPath: a/b}\n"
          "    - {name: cfg, mountPath: /cfg, readOnly: true}\n"
          "    - {name: sec, mountPath: /sec}\n"
          "    securityContext: {capabilities: {drop: [ALL]}, runAsUser: 1000}\n"
          "  volumes:\n  - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 1Mi}}\n"
          "  - {name: cfg, configMap: {name: settings, items: [{key: a, path: a.txt}]}}\n"
          "  - {name: sec, secret: {secretName: creds}}\n"));
  YAML::Node spec = p["spec"];
  EXPECT_EQ(spec["hostname"].Scalar(), "h");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"].as<int>(), 5);
  EXPECT_EQ(spec["volumes"].size(), 3u);
  EXPECT_EQ(spec["volumes"][0]["emptyDir"]["medium"].Scalar(), "Memory");
  EXPECT_EQ(spec["volumes"][1]["configMap"]["items"][0]["path"].Scalar(), "a.txt");
  // Secrets carry the workload's tag (see Rewrite.SecretsGetNamesOfTheirWorkload).
  EXPECT_EQ(spec["volumes"][2]["secret"]["secretName"].Scalar(), "creds-3f2a91c0deadbeef");
  YAML::Node c = spec["containers"][0];
  EXPECT_EQ(c["workingDir"].Scalar(), "/work");
  EXPECT_EQ(c["envFrom"][0]["secretRef"]["name"].Scalar(), "creds-3f2a91c0deadbeef");
  EXPECT_EQ(c["env"][0]["valueFrom"]["secretKeyRef"]["key"].Scalar(), "user");
  EXPECT_EQ(c["volumeMounts"].size(), 3u);
  EXPECT_EQ(c["volumeMounts"][0]["subPath"].Scalar(), "a/b");
  EXPECT_EQ(c["securityContext"]["capabilities"]["drop"][0].Scalar(), "ALL");
  EXPECT_EQ(c["securityContext"]["runAsUser"].as<int>(), 1000);
}

TEST(PodAllowlist, HostPathVolumeIsRefused) {
  expect_refused(pod("  containers: [{name: app, image: img}]\n"
                     "  volumes: [{name: root, hostPath: {path: /}}]\n"),
                 "test.yaml doc 1: spec.volumes[0].hostPath: volume type 'hostPath' is not "
                 "supported; use emptyDir, configMap or secret");
}

TEST(PodAllowlist, PersistentVolumeClaimInADeploymentIsRefusedAtItsTemplatePath) {
  expect_refused(
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
      "    spec:\n      containers: [{name: app, image: img}]\n"
      "      volumes: [{name: data, persistentVolumeClaim: {claimName: other}}]\n",
      "test.yaml doc 1: spec.template.spec.volumes[0].persistentVolumeClaim: volume type "
      "'persistentVolumeClaim' is not supported; use emptyDir, configMap or secret");
}

TEST(PodAllowlist, VolumeNamedLikeTheNodesVolumesIsRefused) {
  expect_refused(pod("  containers: [{name: app, image: img}]\n"
                     "  volumes: [{name: beemesh-volume-0, emptyDir: {}}]\n"),
                 "test.yaml doc 1: spec.volumes[0].name: volume names starting with "
                 "\"beemesh-\" are reserved for the node's volumes");
}

TEST(PodAllowlist, MountOfAnUndeclaredVolumeIsRefused) {
  expect_refused(pod("  containers:\n  - name: app\n    image: img\n"
                     "    volumeMounts: [{name: beemesh-volume-0, mountPath: /data}]\n"),
                 "test.yaml doc 1: spec.containers[0].volumeMounts[0].name: volume "
                 "'beemesh-volume-0' is not declared in the pod's volumes");
}

TEST(PodAllowlist, BidirectionalMountPropagationIsRefused) {
  expect_refused(pod("  containers:\n  - name: app\n    image: img\n    volumeMounts:\n"
                     "    - {name: v, mountPath: /v, mountPropagation: Bidirectional}\n"
                     "  volumes: [{name: v, emptyDir: {}}]\n"),
                 "test.yaml doc 1: spec.containers[0].volumeMounts[0].mountPropagation: mount "
                 "propagation 'Bidirectional' is not allowed");
}

TEST(PodAllowlist, SubPathLeavingTheVolumeIsRefused) {
  expect_refused(pod("  initContainers:\n  - name: init\n    image: img\n    volumeMounts:\n"
                     "    - {name: v, mountPath: /v, subPath: a/../../etc}\n"
                     "  containers: [{name: app, image: img}]\n"
                     "  volumes: [{name: v, emptyDir: {}}]\n"),
                 "test.yaml doc 1: spec.initContainers[0].volumeMounts[0].subPath: must be a "
                 "relative path inside the volume: 'a/../../etc'");
}

TEST(PodAllowlist, SecretOfAnotherManifestIsRefused) {
  expect_refused(pod("  containers:\n  - name: app\n    image: img\n"
                     "    env: [{name: P, valueFrom: {secretKeyRef: {name: victim, key: p}}}]\n"),
                 "test.yaml doc 1: spec.containers[0].env[0].valueFrom.secretKeyRef.name: Secret "
                 "'victim' is not defined in this manifest; a pod may use only the Secrets of "
                 "its own manifest");
}

TEST(PodAllowlist, SecretVolumeOfAnotherManifestIsRefused) {
  expect_refused(pod("  containers: [{name: app, image: img}]\n"
                     "  volumes: [{name: s, secret: {secretName: victim}}]\n"),
                 "test.yaml doc 1: spec.volumes[0].secret.secretName: Secret 'victim' is not "
                 "defined in this manifest; a pod may use only the Secrets of its own manifest");
}

TEST(PodAllowlist, RuntimeAnnotationsAreDroppedAndOthersKept) {
  std::string text;
  YAML::Node p = pod_of(pod("  containers: [{name: app, image: img}]\n",
                            "  annotations:\n    note: kept\n"
                            "    io.podman.annotations.privileged: \"true\"\n"
                            "    io.containers.trace-syscall: x\n"
                            "    seccomp.security.alpha.kubernetes.io/pod: unconfined\n"
                            "    container.apparmor.security.beta.kubernetes.io/app: unconfined\n"
                            "    run.oci.keep_original_groups: \"1\"\n"),
                        &text);
  EXPECT_EQ(p["metadata"]["annotations"]["note"].Scalar(), "kept");
  EXPECT_EQ(p["metadata"]["annotations"].size(), 1u) << text;
  EXPECT_EQ(text.find("unconfined"), std::string::npos) << text;
}

TEST(PodAllowlist, ListedFieldOfTheWrongShapeIsInvalid) {
  auto out =
      rewritten(pod("  containers:\n  - name: app\n    image: img\n"
                    "    workingDir: [a]\n"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "invalid_manifest");
  EXPECT_EQ(out.error().message,
            "test.yaml doc 1: spec.containers[0].workingDir: must be a string, number or boolean");
}

}  // namespace
}  // namespace beemesh::manifest
