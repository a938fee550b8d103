// `beemesh machine` with a mis-configured address exits non-zero, and its error names the
// setting. The address checks run before the node needs a mesh membership, so a fresh
// data directory is enough.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/addresses.h"
#include "common/process.h"
#include "machine_run.h"

namespace beemesh {
namespace {

class MachineAddresses : public MachineRunTest {
 protected:
  MachineAddresses() : MachineRunTest("beemesh-addr") {}
};

TEST_F(MachineAddresses, AdvertiseAddressNotOnThisMachineRefusesToStart) {
  auto r = run_with("rpc_listen: 0.0.0.0:0\nrpc_advertise: 198.51.100.7\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cannot start: bad_address: rpc_advertise: 198.51.100.7 is not an "
                       "address of this machine"),
            std::string::npos)
      << r.out;
}

TEST_F(MachineAddresses, WildcardAdvertiseRefusesToStart) {
  auto r = run_with("rpc_advertise: 0.0.0.0\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("rpc_advertise: 0.0.0.0 is a wildcard"), std::string::npos) << r.out;
}

TEST_F(MachineAddresses, LoopbackNodeWithRemoteBootstrapRefusesToStart) {
  auto r = run_with("bootstrap: ['198.51.100.7:4222']\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("rpc_listen: 127.0.0.1:7401 is a loopback address, but bootstrap names "
                       "another machine (198.51.100.7:4222)"),
            std::string::npos)
      << r.out;
}

TEST_F(MachineAddresses, PublishHostIpNotOnThisMachineRefusesToStart) {
  auto r = run_with("publish_host_ip: 198.51.100.7\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("publish_host_ip: 198.51.100.7 is not an address of this machine"),
            std::string::npos)
      << r.out;
}

TEST_F(MachineAddresses, WildcardListenAdvertisesTheDefaultRouteAddress) {
  app::NodeConfig wildcard;
  wildcard.rpc_listen = {"0.0.0.0", 0};
  auto expected = app::plan_addresses(wildcard, app::read_host_network());
  if (!expected)
    GTEST_FAIL() << "this machine needs a default route for this test: "
                 << expected.error().message;
  auto mesh = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {binary_, "mesh", "--dir", (dir_ / "admin").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, {.timeout = std::chrono::seconds(20)});
  };
  ASSERT_TRUE(mesh({"init", "--mesh-id", "addr-test"})->success());
  auto token = mesh({"admit", "--ttl", "600"});
  ASSERT_TRUE(token && token->success());
  std::string join = token->out.substr(0, token->out.find_last_not_of("\n") + 1);
  join = join.substr(join.find_last_of('\n') + 1);
  // Up for four seconds, then SIGTERM (timeout(1) exits 124 when it had to stop it).
  auto r =
      run_process({"timeout", "-s", "TERM", "4", binary_, "machine", "--data-dir",
                   (dir_ / "data").string(), "--join", join, "--engine", "podman", "--rpc-listen",
                   "0.0.0.0:0", "--api-listen", "127.0.0.1:0", "--dht-listen", "0.0.0.0:0"},
                  {.timeout = std::chrono::seconds(20), .merge_stderr = true});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->exit_code, 124) << r->out;
  EXPECT_NE(r->out.find("up: rpc " + expected->rpc_advertise.host + ":"), std::string::npos)
      << r->out;
  EXPECT_NE(r->out.find("(listening on 0.0.0.0:"), std::string::npos) << r->out;
}

}  // namespace
}  // namespace beemesh
