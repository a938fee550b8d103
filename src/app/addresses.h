// app/addresses.h — which addresses a node binds and which it tells other nodes about.
//
// Promise:
//  * read_host_network() reads this machine's interface addresses (getifaddrs) and its
//    default routes (/proc/net/route, /proc/net/ipv6_route); it never blocks on the
//    network. The parsers take the files' text, so tests inject route tables.
//  * plan_addresses(config, network) turns the listen/advertise settings into what the
//    daemon binds and announces, or an Error whose message starts with the setting at
//    fault ("rpc_advertise: 198.51.100.7 is not an address of this machine"):
//      - an advertise address that is set is used as written (an IP literal for
//        rpc_advertise; api_advertise may be a name, for TLS certificates); a wildcard
//        is refused; an IP literal must be assigned to an interface of this machine and
//        be one the listen address accepts connections on (check_advertise: false
//        turns these two into warnings, for 1:1 NAT);
//      - an advertise address that is not set is the listen host when that is a
//        specific address, and the address of the interface holding the default route
//        (IPv4 first, then IPv6 for "::") when it is a wildcard; no default route with a
//        wildcard listen is an error naming both settings;
//      - a loopback RPC/DHT address while bootstrap names another machine is refused:
//        the other machines could never reach this node;
//      - dht_listen6 not set: "::" on dht_listen's port when dht_listen is 0.0.0.0,
//        else "::1" (OpenDHT 2.4 needs an IPv6 socket for its listen; ::1 is not
//        reachable from elsewhere); a specific dht address must be on this machine;
//      - publish_host_ip not set: the RPC advertise host (so published ports are reachable
//        where the node is); set, it must be on this machine or a wildcard.
//    Advisory findings (a name that is not checked, IPv6 off) come back as warnings.
//  * probe_tcp() connects to host:port with a timeout and closes again: the start-up
//    check that the advertised RPC endpoint really accepts connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "common/result.h"

namespace beemesh::app {

enum class IpFamily { v4, v6 };

struct LocalAddress {
  std::string interface;
  std::string address;  // canonical literal, e.g. "192.0.2.2", "fd00::2"
  IpFamily family = IpFamily::v4;
};

struct DefaultRoute {
  std::string interface;
  int metric = 0;
};

struct HostNetwork {
  std::vector<LocalAddress> addresses;
  std::optional<DefaultRoute> route4;
  std::optional<DefaultRoute> route6;
};

// The default route with the lowest metric (up, not a reject route, not via lo).
std::optional<DefaultRoute> parse_default_route4(std::string_view proc_net_route);
std::optional<DefaultRoute> parse_default_route6(std::string_view proc_net_ipv6_route);
HostNetwork read_host_network();

std::optional<IpFamily> ip_family(std::string_view host);  // nullopt: not an IP literal
bool is_wildcard_host(std::string_view host);              // "0.0.0.0", "::"
bool is_loopback_address(std::string_view host);           // 127/8, ::1, "localhost"
// "http://<host>:<port>" with brackets around IPv6 literals.
std::string format_url(std::string_view scheme, std::string_view host, uint16_t port);

struct AddressPlan {
  HostPort rpc_advertise;        // port 0: the port the RPC server bound
  std::string api_scheme;        // "" = what the API server serves (http or https)
  HostPort api_advertise;        // port 0: the port the API server bound
  std::optional<HostPort> dht4;  // nullopt: no IPv4 socket
  std::optional<HostPort> dht6;  // nullopt: no IPv6 socket
  std::string publish_host_ip;
  std::vector<std::string> warnings;  // each starts with the setting it is about
};

Result<AddressPlan> plan_addresses(const NodeConfig& config, const HostNetwork& network);

// Opens a TCP connection to host:port (an IP literal) within `timeout`, then closes it.
Result<void> probe_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

}  // namespace beemesh::app
