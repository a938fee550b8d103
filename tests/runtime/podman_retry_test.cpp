// When a Podman deploy attempt is tried again (podman::retry_if_replaced_port_busy).
#include <gtest/gtest.h>

#include "runtime/engines/podman/podman_common.h"

namespace beemesh::runtime::podman {
namespace {

Result<WorkloadInfo> port_busy() {
  return make_error("deploy_failed",
                    "podman kube play exited 125: cannot listen on the TCP port: listen tcp4 "
                    "127.0.0.1:39273: bind: address already in use");
}

TEST(RetryIfReplacedPortBusy, ARedeployWhosePortIsStillBusyIsTriedAgain) {
  bool port_race = false;
  retry_if_replaced_port_busy(port_busy(), /*redeploy=*/true, port_race);
  EXPECT_TRUE(port_race);
}

TEST(RetryIfReplacedPortBusy, AFirstDeployWhosePortIsBusyIsNotTriedAgain) {
  bool port_race = false;
  retry_if_replaced_port_busy(port_busy(), /*redeploy=*/false, port_race);
  EXPECT_FALSE(port_race) << "the port belongs to someone else";
}

TEST(RetryIfReplacedPortBusy, ARedeployThatFailedOtherwiseOrSucceededIsNotTriedAgain) {
  bool port_race = false;
  retry_if_replaced_port_busy(make_error("deploy_failed", "image not found"), true, port_race);
  EXPECT_FALSE(port_race);
  retry_if_replaced_port_busy(WorkloadInfo{}, true, port_race);
  EXPECT_FALSE(port_race);
}

}  // namespace
}  // namespace beemesh::runtime::podman
