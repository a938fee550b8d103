// check_pod_security(): one test per Pod Security Standards control, each checking the
// error code and the exact field path in a Pod and in a Deployment's pod template.
#include "manifest/pod_security.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace beemesh::manifest {
namespace {

using Level = PodSecurityLevel;

constexpr const char* kApp = "containers:\n- name: app\n  image: img\n";

// `text` with every line indented by `by` spaces.
std::string indent(const std::string& text, int by) {
  std::istringstream lines(text);
  std::string line;
  std::string out;
  while (std::getline(lines, line)) out += std::string(static_cast<size_t>(by), ' ') + line + "\n";
  return out;
}

// A Pod whose spec is `spec` and whose metadata carries `annotations` (YAML map lines).
std::string pod(const std::string& spec, const std::string& annotations = "") {
  std::string yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n";
  if (!annotations.empty()) yaml += "  annotations:\n" + indent(annotations, 4);
  return yaml + "spec:\n" + indent(spec, 2);
}

std::string deployment(const std::string& spec, const std::string& annotations = "") {
  std::string yaml =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n"
      "    metadata:\n      labels: {app: d}\n";
  if (!annotations.empty()) yaml += "      annotations:\n" + indent(annotations, 8);
  return yaml + "    spec:\n" + indent(spec, 6);
}

Result<void> check(const std::string& yaml, Level level = Level::kBaseline) {
  auto parsed = parse(yaml, "test.yaml");
  if (!parsed) return parsed.error();
  return check_pod_security(*parsed, level);
}

std::string refusal(const std::string& path, const std::string& reason,
                    const std::string& level = "baseline") {
  return "doc 1: " + path + ": " + reason + " (pod security \"" + level + "\")";
}

// `spec` is refused in a Pod at "spec.<field>" and in a Deployment at
// "spec.template.spec.<field>", with `reason`.
void expect_refused(const std::string& spec, const std::string& field, const std::string& reason,
                    Level level = Level::kBaseline) {
  std::string name(pod_security_level_name(level));
  auto in_pod = check(pod(spec), level);
  ASSERT_FALSE(in_pod.ok()) << "Pod accepted";
  EXPECT_EQ(in_pod.error().code, "forbidden_pod_security");
  EXPECT_EQ(in_pod.error().message, refusal("spec." + field, reason, name));
  auto in_deployment = check(deployment(spec), level);
  ASSERT_FALSE(in_deployment.ok()) << "Deployment accepted";
  EXPECT_EQ(in_deployment.error().code, "forbidden_pod_security");
  EXPECT_EQ(in_deployment.error().message, refusal("spec.template.spec." + field, reason, name));
}

// `annotations` are refused at metadata.annotations[<key>] (Pod) and
// spec.template.metadata.annotations[<key>] (Deployment).
void expect_annotation_refused(const std::string& annotations, const std::string& key,
                               const std::string& reason) {
  auto in_pod = check(pod(kApp, annotations));
  ASSERT_FALSE(in_pod.ok()) << "Pod accepted";
  EXPECT_EQ(in_pod.error().code, "forbidden_pod_security");
  EXPECT_EQ(in_pod.error().message, refusal("metadata.annotations[" + key + "]", reason));
  auto in_deployment = check(deployment(kApp, annotations));
  ASSERT_FALSE(in_deployment.ok()) << "Deployment accepted";
  EXPECT_EQ(in_deployment.error().message,
            refusal("spec.template.metadata.annotations[" + key + "]", reason));
}

void expect_accepted(const std::string& spec, Level level = Level::kBaseline) {
  auto in_pod = check(pod(spec), level);
  EXPECT_TRUE(in_pod.ok()) << in_pod.error().to_string();
  auto in_deployment = check(deployment(spec), level);
  EXPECT_TRUE(in_deployment.ok()) << in_deployment.error().to_string();
}

std::string with_context(const std::string& context) {
  return std::string(kApp) + "  securityContext:\n" + indent(context, 4);
}

const std::string kHostPorts =
    "host ports are not allowed; the node publishes container ports on host ports of its own "
    "choosing";

// ---- levels ----------------------------------------------------------------------------

TEST(PodSecurityLevel, NamesParseBack) {
  for (auto level : {Level::kPrivileged, Level::kBaseline, Level::kRestricted}) {
    EXPECT_EQ(parse_pod_security_level(pod_security_level_name(level)), level);
  }
}

TEST(PodSecurityLevel, UnknownNameDoesNotParse) {
  EXPECT_FALSE(parse_pod_security_level("Baseline").has_value());
  EXPECT_FALSE(parse_pod_security_level("").has_value());
}

// ---- baseline controls -------------------------------------------------------------------

TEST(PodSecurityBaseline, PrivilegedContainerIsRefused) {
  expect_refused(with_context("privileged: true"), "containers[0].securityContext.privileged",
                 "privileged containers are not allowed");
}

TEST(PodSecurityBaseline, PrivilegedFalseIsAccepted) {
  expect_accepted(with_context("privileged: false"));
}

TEST(PodSecurityBaseline, HostNetworkIsRefused) {
  expect_refused("hostNetwork: true\n" + std::string(kApp), "hostNetwork",
                 "sharing the host's namespaces is not allowed");
}

TEST(PodSecurityBaseline, HostPidIsRefused) {
  expect_refused("hostPID: true\n" + std::string(kApp), "hostPID",
                 "sharing the host's namespaces is not allowed");
}

TEST(PodSecurityBaseline, HostIpcIsRefused) {
  expect_refused("hostIPC: true\n" + std::string(kApp), "hostIPC",
                 "sharing the host's namespaces is not allowed");
}

TEST(PodSecurityBaseline, HostPathVolumeIsRefused) {
  expect_refused(std::string(kApp) + "volumes:\n- name: root\n  hostPath: {path: /}\n",
                 "volumes[0].hostPath", "hostPath volumes are not allowed");
}

TEST(PodSecurityBaseline, CapabilityBeyondTheBaselineListIsRefused) {
  expect_refused(with_context("capabilities: {add: [NET_BIND_SERVICE, SYS_ADMIN]}"),
                 "containers[0].securityContext.capabilities.add[1]",
                 "adding capability 'SYS_ADMIN' is not allowed");
}

TEST(PodSecurityBaseline, CapabilityIsComparedWithoutCapPrefixOrCase) {
  expect_refused(with_context("capabilities: {add: [cap_sys_admin]}"),
                 "containers[0].securityContext.capabilities.add[0]",
                 "adding capability 'cap_sys_admin' is not allowed");
}

TEST(PodSecurityBaseline, BaselineCapabilitiesAreAccepted) {
  expect_accepted(with_context(
      "capabilities:\n  add: [AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD,\n"
      "        NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT]\n"
      "  drop: [NET_RAW]"));
}

TEST(PodSecurityBaseline, HostPortIsRefused) {
  expect_refused(std::string(kApp) + "  ports:\n  - {containerPort: 80, hostPort: 8080}\n",
                 "containers[0].ports[0].hostPort", kHostPorts);
}

TEST(PodSecurityBaseline, HostPortZeroIsAccepted) {
  expect_accepted(std::string(kApp) + "  ports:\n  - {containerPort: 80, hostPort: 0}\n");
}

TEST(PodSecurityBaseline, UnsafeSysctlIsRefused) {
  expect_refused(std::string(kApp) +
                     "securityContext:\n  sysctls:\n  - {name: net.ipv4.tcp_syncookies, value: "
                     "'1'}\n  - {name: kernel.msgmax, value: '65536'}\n",
                 "securityContext.sysctls[1].name",
                 "sysctl 'kernel.msgmax' is not allowed (not in the safe set)");
}

TEST(PodSecurityBaseline, SafeSysctlsAreAccepted) {
  expect_accepted(std::string(kApp) +
                  "securityContext:\n  sysctls:\n  - {name: kernel.shm_rmid_forced, value: '0'}\n"
                  "  - {name: net.ipv4.ip_local_port_range, value: '1024 65000'}\n"
                  "  - {name: net/ipv4/tcp_keepalive_time, value: '60'}\n");
}

TEST(PodSecurityBaseline, ContainerSeccompUnconfinedIsRefused) {
  expect_refused(with_context("seccompProfile: {type: Unconfined}"),
                 "containers[0].securityContext.seccompProfile.type",
                 "seccomp profile 'Unconfined' is not allowed; use RuntimeDefault or Localhost");
}

TEST(PodSecurityBaseline, PodSeccompUnconfinedIsRefused) {
  expect_refused(std::string(kApp) + "securityContext: {seccompProfile: {type: Unconfined}}\n",
                 "securityContext.seccompProfile.type",
                 "seccomp profile 'Unconfined' is not allowed; use RuntimeDefault or Localhost");
}

TEST(PodSecurityBaseline, SeccompRuntimeDefaultAndLocalhostAreAccepted) {
  expect_accepted(std::string(kApp) +
                  "  securityContext: {seccompProfile: {type: Localhost, localhostProfile: p}}\n"
                  "securityContext: {seccompProfile: {type: RuntimeDefault}}\n");
}

TEST(PodSecurityBaseline, SeccompUnconfinedAnnotationIsRefused) {
  expect_annotation_refused(
      "seccomp.security.alpha.kubernetes.io/pod: unconfined\n",
      "seccomp.security.alpha.kubernetes.io/pod",
      "seccomp profile 'unconfined' is not allowed; use runtime/default or localhost/<profile>");
}

TEST(PodSecurityBaseline, ProcMountUnmaskedIsRefused) {
  expect_refused(with_context("procMount: Unmasked"), "containers[0].securityContext.procMount",
                 "procMount 'Unmasked' is not allowed; use Default");
}

TEST(PodSecurityBaseline, ProcMountDefaultIsAccepted) {
  expect_accepted(with_context("procMount: Default"));
}

TEST(PodSecurityBaseline, AppArmorUnconfinedAnnotationIsRefused) {
  expect_annotation_refused(
      "container.apparmor.security.beta.kubernetes.io/app: unconfined\n",
      "container.apparmor.security.beta.kubernetes.io/app",
      "AppArmor profile 'unconfined' is not allowed; use runtime/default or localhost/<profile>");
}

TEST(PodSecurityBaseline, AppArmorRuntimeDefaultAndLocalhostAnnotationsAreAccepted) {
  std::string annotations =
      "container.apparmor.security.beta.kubernetes.io/app: runtime/default\n"
      "container.apparmor.security.beta.kubernetes.io/other: localhost/my-profile\n";
  auto result = check(pod(kApp, annotations));
  EXPECT_TRUE(result.ok()) << result.error().to_string();
}

TEST(PodSecurityBaseline, AppArmorUnconfinedProfileFieldIsRefused) {
  expect_refused(with_context("appArmorProfile: {type: Unconfined}"),
                 "containers[0].securityContext.appArmorProfile.type",
                 "AppArmor profile 'Unconfined' is not allowed; use RuntimeDefault or Localhost");
}

TEST(PodSecurityBaseline, SelinuxTypeOutsideTheContainerTypesIsRefused) {
  expect_refused(with_context("seLinuxOptions: {type: spc_t}"),
                 "containers[0].securityContext.seLinuxOptions.type",
                 "SELinux type 'spc_t' is not allowed; use container_t, container_init_t or "
                 "container_kvm_t");
}

TEST(PodSecurityBaseline, SelinuxUserIsRefused) {
  expect_refused(std::string(kApp) + "securityContext: {seLinuxOptions: {user: system_u}}\n",
                 "securityContext.seLinuxOptions.user", "setting the SELinux user is not allowed");
}

TEST(PodSecurityBaseline, SelinuxRoleIsRefused) {
  expect_refused(with_context("seLinuxOptions: {role: sysadm_r}"),
                 "containers[0].securityContext.seLinuxOptions.role",
                 "setting the SELinux role is not allowed");
}

TEST(PodSecurityBaseline, SelinuxContainerTypeAndLevelAreAccepted) {
  expect_accepted(with_context("seLinuxOptions: {type: container_init_t, level: 's0:c1,c2'}"));
}

TEST(PodSecurityBaseline, WindowsHostProcessIsRefused) {
  expect_refused(with_context("windowsOptions: {hostProcess: true}"),
                 "containers[0].securityContext.windowsOptions.hostProcess",
                 "host process containers are not allowed");
}

TEST(PodSecurityBaseline, PodmanAnnotationIsRefused) {
  expect_annotation_refused("io.podman.annotations.privileged: \"true\"\n",
                            "io.podman.annotations.privileged",
                            "Podman and CRI-O annotations are not allowed");
}

TEST(PodSecurityBaseline, ContainersAnnotationIsRefused) {
  expect_annotation_refused("io.containers.trace-syscall: x\n", "io.containers.trace-syscall",
                            "Podman and CRI-O annotations are not allowed");
}

TEST(PodSecurityBaseline, CriOUsernsAnnotationIsRefused) {
  expect_annotation_refused("io.kubernetes.cri-o.userns-mode: host\n",
                            "io.kubernetes.cri-o.userns-mode",
                            "Podman and CRI-O annotations are not allowed");
}

TEST(PodSecurityBaseline, OrdinaryAnnotationsAreAccepted) {
  auto result = check(pod(kApp, "note: hello\nexample.com/owner: team-a\n"));
  EXPECT_TRUE(result.ok()) << result.error().to_string();
}

// ---- where controls apply ----------------------------------------------------------------

TEST(PodSecurityBaseline, InitContainersAreChecked) {
  expect_refused(std::string(kApp) +
                     "initContainers:\n- name: init\n  image: img\n  securityContext: "
                     "{privileged: true}\n",
                 "initContainers[0].securityContext.privileged",
                 "privileged containers are not allowed");
}

TEST(PodSecurityBaseline, EphemeralContainersAreChecked) {
  expect_refused(std::string(kApp) +
                     "ephemeralContainers:\n- name: debug\n  image: img\n  securityContext: "
                     "{privileged: true}\n",
                 "ephemeralContainers[0].securityContext.privileged",
                 "privileged containers are not allowed");
}

TEST(PodSecurityBaseline, StatefulSetTemplateIsChecked) {
  auto result = check(
      "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  template:\n"
      "    spec:\n      hostPID: true\n      containers: [{name: app, image: img}]\n");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            refusal("spec.template.spec.hostPID", "sharing the host's namespaces is not allowed"));
}

TEST(PodSecurityBaseline, RefusalNamesTheDocument) {
  auto result = check("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {}\n---\n" +
                      pod("hostNetwork: true\n" + std::string(kApp)));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            "doc 2: spec.hostNetwork: sharing the host's namespaces is "
            "not allowed (pod security \"baseline\")");
}

// ---- failing closed ----------------------------------------------------------------------

TEST(PodSecurityBaseline, KeyInAnotherCaseIsSeenAsPodmanWouldSeeIt) {
  expect_refused("HostNetwork: true\n" + std::string(kApp), "HostNetwork",
                 "sharing the host's namespaces is not allowed");
}

TEST(PodSecurityBaseline, KeyWithKelvinSignIsSeenAsPodmanWouldSeeIt) {
  // U+212A (Kelvin sign) matches 'k' in Go's encoding/json, which Podman decodes with.
  expect_refused("hostNetwor\u212A: true\n" + std::string(kApp), "hostNetwor\u212A",
                 "sharing the host's namespaces is not allowed");
}

TEST(PodSecurityBaseline, SecondSpellingOfAKeyCannotHideItsValue) {
  expect_refused(with_context("privileged: false\nPRIVILEGED: true"),
                 "containers[0].securityContext.PRIVILEGED",
                 "privileged containers are not allowed");
}

TEST(PodSecurityBaseline, BooleanOtherThanPlainFalseCountsAsSet) {
  expect_refused(with_context("privileged: yes"), "containers[0].securityContext.privileged",
                 "privileged containers are not allowed");
}

TEST(PodSecurityBaseline, SecurityContextThatIsNotAMapIsRefused) {
  expect_refused(std::string(kApp) + "  securityContext: [privileged]\n",
                 "containers[0].securityContext", "must be a map");
}

TEST(PodSecurityBaseline, TheReportedAttackIsRefused) {
  auto result =
      check(pod("containers:\n- name: app\n  image: img\n  securityContext: {privileged: true}\n"
                "  volumeMounts: [{name: root, mountPath: /host}]\nvolumes:\n"
                "- name: root\n  hostPath: {path: /}\n"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "forbidden_pod_security");
}

TEST(PodSecurityBaseline, AcceptsTheExamples) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(BEEMESH_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto result = check(text.str());
    EXPECT_TRUE(result.ok()) << entry.path() << ": " << result.error().to_string();
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// ---- privileged --------------------------------------------------------------------------

TEST(PodSecurityPrivileged, AcceptsEverything) {
  expect_accepted(
      "hostNetwork: true\nhostPID: true\nhostIPC: true\n"
      "containers:\n- name: app\n  image: img\n  ports: [{containerPort: 80, hostPort: 80}]\n"
      "  securityContext: {privileged: true, capabilities: {add: [ALL]}, procMount: Unmasked}\n"
      "volumes:\n- name: root\n  hostPath: {path: /}\n",
      Level::kPrivileged);
}

// ---- restricted --------------------------------------------------------------------------

// A container securityContext meeting the restricted profile; a field set to "" is left out.
struct Restricted {
  std::string allow_privilege_escalation = "false";
  std::string run_as_non_root = "true";
  std::string capabilities = "{drop: [ALL]}";
  std::string seccomp = "{type: RuntimeDefault}";
  std::string extra;

  std::string spec() const {
    std::string context;
    auto put = [&](const char* key, const std::string& value) {
      if (!value.empty()) context += std::string(key) + ": " + value + "\n";
    };
    put("allowPrivilegeEscalation", allow_privilege_escalation);
    put("runAsNonRoot", run_as_non_root);
    put("capabilities", capabilities);
    put("seccompProfile", seccomp);
    return with_context(context + extra);
  }
};

TEST(PodSecurityRestricted, AcceptsACompliantPod) {
  Restricted r;
  r.capabilities = "{drop: [ALL], add: [NET_BIND_SERVICE]}";
  expect_accepted(r.spec() + "volumes: [{name: scratch, emptyDir: {}}]\n", Level::kRestricted);
}

TEST(PodSecurityRestricted, BaselineControlsStillApply) {
  expect_refused("hostNetwork: true\n" + Restricted{}.spec(), "hostNetwork",
                 "sharing the host's namespaces is not allowed", Level::kRestricted);
}

TEST(PodSecurityRestricted, MissingAllowPrivilegeEscalationIsRefused) {
  Restricted r;
  r.allow_privilege_escalation = "";
  expect_refused(r.spec(), "containers[0].securityContext.allowPrivilegeEscalation",
                 "must be false", Level::kRestricted);
}

TEST(PodSecurityRestricted, AllowPrivilegeEscalationTrueIsRefused) {
  Restricted r;
  r.allow_privilege_escalation = "true";
  expect_refused(r.spec(), "containers[0].securityContext.allowPrivilegeEscalation",
                 "must be false", Level::kRestricted);
}

TEST(PodSecurityRestricted, MissingRunAsNonRootIsRefused) {
  Restricted r;
  r.run_as_non_root = "";
  expect_refused(r.spec(), "containers[0].securityContext.runAsNonRoot", "must be true",
                 Level::kRestricted);
}

TEST(PodSecurityRestricted, PodLevelRunAsNonRootCoversContainers) {
  Restricted r;
  r.run_as_non_root = "";
  expect_accepted(r.spec() + "securityContext: {runAsNonRoot: true}\n", Level::kRestricted);
}

TEST(PodSecurityRestricted, ContainerRunAsNonRootFalseIsRefusedEvenWhenThePodSaysTrue) {
  Restricted r;
  r.run_as_non_root = "false";
  expect_refused(r.spec() + "securityContext: {runAsNonRoot: true}\n",
                 "containers[0].securityContext.runAsNonRoot", "must be true", Level::kRestricted);
}

TEST(PodSecurityRestricted, RunAsUserZeroIsRefused) {
  Restricted r;
  r.extra = "runAsUser: 0\n";
  expect_refused(r.spec(), "containers[0].securityContext.runAsUser",
                 "running as root (UID 0) is not allowed", Level::kRestricted);
}

TEST(PodSecurityRestricted, CapabilitiesNotDroppingAllAreRefused) {
  Restricted r;
  r.capabilities = "{drop: [NET_RAW]}";
  expect_refused(r.spec(), "containers[0].securityContext.capabilities.drop", "must include ALL",
                 Level::kRestricted);
}

TEST(PodSecurityRestricted, AddingABaselineCapabilityOtherThanNetBindServiceIsRefused) {
  Restricted r;
  r.capabilities = "{drop: [ALL], add: [CHOWN]}";
  expect_refused(r.spec(), "containers[0].securityContext.capabilities.add[0]",
                 "adding capability 'CHOWN' is not allowed", Level::kRestricted);
}

TEST(PodSecurityRestricted, MissingSeccompProfileIsRefused) {
  Restricted r;
  r.seccomp = "";
  expect_refused(r.spec(), "containers[0].securityContext.seccompProfile.type",
                 "must be RuntimeDefault or Localhost", Level::kRestricted);
}

TEST(PodSecurityRestricted, PodLevelSeccompProfileCoversContainers) {
  Restricted r;
  r.seccomp = "";
  expect_accepted(
      r.spec() + "securityContext: {seccompProfile: {type: Localhost, localhostProfile: p}}\n",
      Level::kRestricted);
}

TEST(PodSecurityRestricted, VolumeTypeOutsideTheRestrictedListIsRefused) {
  expect_refused(Restricted{}.spec() + "volumes:\n- name: repo\n  gitRepo: {repository: x}\n",
                 "volumes[0].gitRepo", "volume type 'gitRepo' is not allowed", Level::kRestricted);
}

// The check reads the parsed tree in place (no clone): it must leave it as parsed, also
// where a non-const yaml-cpp lookup of an absent key or index would have inserted one.
TEST(PodSecurityReadsInPlace, TheParsedTreeIsLeftAsParsed) {
  auto parsed = parse(deployment(std::string(kApp) +
                                 "  ports: [{containerPort: 80}]\n"
                                 "  securityContext: {capabilities: {add: [CHOWN]}}\n"
                                 "volumes:\n- name: v\n  emptyDir: {}\n"),
                      "test.yaml");
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_TRUE(parsed->documents[0].tree);
  const std::string before = YAML::Dump(*parsed->documents[0].tree);
  for (auto level : {Level::kBaseline, Level::kRestricted}) {
    (void)check_pod_security(*parsed, level);
    EXPECT_EQ(YAML::Dump(*parsed->documents[0].tree), before);
  }
}

}  // namespace
}  // namespace beemesh::manifest
