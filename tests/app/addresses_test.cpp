#include "app/addresses.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace beemesh::app {
namespace {

constexpr const char* kRoute4 =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
    "cni0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";

constexpr const char* kRoute6 =
    "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

// A server: eth0 holds the default routes (192.0.2.2, fd00::2), a container bridge besides.
HostNetwork server() {
  HostNetwork net;
  net.addresses = {{"lo", "127.0.0.1", IpFamily::v4},   {"lo", "::1", IpFamily::v6},
                   {"eth0", "192.0.2.2", IpFamily::v4}, {"eth0", "fe80::1", IpFamily::v6},
                   {"eth0", "fd00::2", IpFamily::v6},   {"cni0", "10.88.0.1", IpFamily::v4}};
  net.route4 = parse_default_route4(kRoute4);
  net.route6 = parse_default_route6(kRoute6);
  return net;
}

NodeConfig config() {
  NodeConfig c;
  c.rpc_listen = {"0.0.0.0", 7401};
  c.dht_listen = {"0.0.0.0", 4222};
  return c;
}

TEST(DefaultRoute, Ipv4PicksTheLowestMetric) {
  auto r = parse_default_route4(kRoute4);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->interface, "eth0");
}

TEST(DefaultRoute, Ipv6SkipsRejectRoutesOnLoopback) {
  auto r = parse_default_route6(kRoute6);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->interface, "eth0");
}

TEST(DefaultRoute, NoneWithoutADefaultEntry) {
  EXPECT_FALSE(
      parse_default_route4("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                           "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"));
  EXPECT_FALSE(parse_default_route6(""));
}

TEST(AddressPlan, WildcardListenAdvertisesTheDefaultRouteAddress) {
  auto plan = plan_addresses(config(), server());
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_EQ(plan->rpc_advertise.host, "192.0.2.2");
  EXPECT_EQ(plan->rpc_advertise.port, 0);  // the bound port
}

TEST(AddressPlan, Ipv6WildcardPrefersIpv4ThenIpv6) {
  auto c = config();
  c.rpc_listen = {"::", 7401};
  auto net = server();
  EXPECT_EQ(plan_addresses(c, net)->rpc_advertise.host, "192.0.2.2");
  net.route4.reset();
  EXPECT_EQ(plan_addresses(c, net)->rpc_advertise.host, "fd00::2");  // not link-local
}

TEST(AddressPlan, SpecificListenAdvertisesItself) {
  auto c = config();
  c.rpc_listen = {"10.88.0.1", 7401};
  EXPECT_EQ(plan_addresses(c, server())->rpc_advertise.host, "10.88.0.1");
}

TEST(AddressPlan, WildcardWithoutDefaultRouteNamesBothSettings) {
  auto net = server();
  net.route4.reset();
  auto plan = plan_addresses(config(), net);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message,
            "rpc_listen: 0.0.0.0:7401 is a wildcard and this machine has no default route to "
            "take an address from; set rpc_advertise");
}

TEST(AddressPlan, AdvertiseNotOnThisMachineIsRefused) {
  auto c = config();
  c.rpc_advertise = {"198.51.100.7", 0};
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message,
            "rpc_advertise: 198.51.100.7 is not an address of this machine (its addresses: "
            "192.0.2.2, fd00::2, 10.88.0.1)");
}

TEST(AddressPlan, AdvertiseNotOnThisMachineIsAWarningWithoutChecks) {
  auto c = config();
  c.rpc_advertise = {"198.51.100.7", 7401};
  c.check_advertise = false;
  auto plan = plan_addresses(c, server());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->rpc_advertise.host, "198.51.100.7");
  ASSERT_EQ(plan->warnings.size(), 1u);
  EXPECT_TRUE(plan->warnings[0].starts_with("rpc_advertise: 198.51.100.7 is not an address"));
}

TEST(AddressPlan, AdvertiseWildcardIsRefused) {
  auto c = config();
  c.rpc_advertise = {"0.0.0.0", 0};
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.error().message.starts_with("rpc_advertise: 0.0.0.0 is a wildcard"));
}

TEST(AddressPlan, AdvertiseTheListenDoesNotAcceptIsRefused) {
  auto c = config();
  c.rpc_listen = {"127.0.0.1", 7401};
  c.rpc_advertise = {"192.0.2.2", 0};
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message,
            "rpc_advertise: 192.0.2.2 is not an address rpc_listen (127.0.0.1:7401) accepts "
            "connections on");
}

TEST(AddressPlan, RpcAdvertiseNameIsRefused) {
  auto c = config();
  c.rpc_advertise = {"n1.example.org", 0};
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.error().message.starts_with("rpc_advertise: 'n1.example.org' is not an IP"));
}

TEST(AddressPlan, ApiAdvertiseNameIsKeptForTls) {
  auto c = config();
  c.api_advertise = {"https", {"n1.example.org", 443}};
  auto plan = plan_addresses(c, server());
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_EQ(plan->api_scheme, "https");
  EXPECT_EQ(plan->api_advertise.to_string(), "n1.example.org:443");
}

TEST(AddressPlan, LoopbackRpcWithRemoteBootstrapIsRefused) {
  NodeConfig c;  // loopback defaults
  c.bootstrap = {{"192.0.2.3", 4222}};
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.error().message.starts_with(
      "rpc_listen: 127.0.0.1:7401 is a loopback address, but bootstrap names another machine "
      "(192.0.2.3:4222)"));
}

TEST(AddressPlan, LoopbackDhtWithRemoteBootstrapIsRefused) {
  auto c = config();
  c.dht_listen = {"127.0.0.1", 4222};
  c.bootstrap = {{"192.0.2.3", 4222}};
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.error().message.starts_with("dht_listen: 127.0.0.1:4222 is a loopback"));
}

TEST(AddressPlan, LoopbackMeshIsFine) {
  NodeConfig c;
  c.bootstrap = {{"127.0.0.1", 4223}};
  auto plan = plan_addresses(c, server());
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_EQ(plan->rpc_advertise.host, "127.0.0.1");
  EXPECT_EQ(plan->publish_host_ip, "127.0.0.1");
  EXPECT_TRUE(plan->warnings.empty());
}

TEST(AddressPlan, DhtIpv6FollowsIpv4) {
  auto plan = plan_addresses(config(), server());
  ASSERT_TRUE(plan->dht6);
  EXPECT_EQ(plan->dht6->to_string(), "[::]:4222");
  NodeConfig loopback;
  EXPECT_EQ(plan_addresses(loopback, server())->dht6->to_string(), "[::1]:4222");
}

TEST(AddressPlan, DhtIpv4OffKeepsIpv6) {
  auto c = config();
  c.dht_listen = {};
  c.dht_listen6 = HostPort{"fd00::2", 4222};
  auto plan = plan_addresses(c, server());
  ASSERT_TRUE(plan.ok()) << plan.error().to_string();
  EXPECT_FALSE(plan->dht4);
  EXPECT_EQ(plan->dht6->host, "fd00::2");
}

TEST(AddressPlan, DhtIpv6NotOnThisMachineIsRefused) {
  auto c = config();
  c.dht_listen6 = HostPort{"2001:db8::9", 4222};
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.error().message.starts_with("dht_listen6: 2001:db8::9 is not an address"));
}

TEST(AddressPlan, PublishHostIpDefaultsToTheRpcAdvertiseAddress) {
  auto plan = plan_addresses(config(), server());
  EXPECT_EQ(plan->publish_host_ip, "192.0.2.2");
}

TEST(AddressPlan, PublishHostIpNotOnThisMachineIsRefused) {
  auto c = config();
  c.publish_host_ip = "198.51.100.7";
  auto plan = plan_addresses(c, server());
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.error().message.starts_with("publish_host_ip: 198.51.100.7 is not an address"));
}

TEST(AddressPlan, PublishOnEveryInterfaceIsAllowed) {
  auto c = config();
  c.publish_host_ip = "0.0.0.0";
  EXPECT_EQ(plan_addresses(c, server())->publish_host_ip, "0.0.0.0");
}

TEST(HostNetwork, ThisMachineHasLoopback) {
  auto net = read_host_network();
  bool loopback = false;
  for (const auto& a : net.addresses) loopback = loopback || a.address == "127.0.0.1";
  EXPECT_TRUE(loopback);
}

TEST(ProbeTcp, ConnectsToAListeningSocket) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto r = probe_tcp("127.0.0.1", ntohs(addr.sin_port), std::chrono::milliseconds(500));
  ::close(fd);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
}

TEST(ProbeTcp, ClosedPortIsUnreachable) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = ntohs(addr.sin_port);
  ::close(fd);  // bound, never listened: nobody accepts on it now
  auto r = probe_tcp("127.0.0.1", port, std::chrono::milliseconds(500));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "unreachable");
}

}  // namespace
}  // namespace beemesh::app
