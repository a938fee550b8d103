#include "app/addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/fd.h"

namespace beemesh::app {

namespace {

constexpr unsigned kRouteUp = 0x0001;      // RTF_UP
constexpr unsigned kRouteReject = 0x0200;  // RTF_REJECT

unsigned hex_value(const std::string& text) {
  try {
    return static_cast<unsigned>(std::stoul(text, nullptr, 16));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The 4 or 16 bytes of an IP literal; empty for anything else.
std::string address_bytes(std::string_view host) {
  std::string h(host);
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, h.c_str(), buf.data()) == 1)
    return std::string(buf.begin(), buf.begin() + 4);
  if (inet_pton(AF_INET6, h.c_str(), buf.data()) == 1) return std::string(buf.begin(), buf.end());
  return {};
}

bool same_address(std::string_view a, std::string_view b) {
  auto x = address_bytes(a);
  return !x.empty() && x == address_bytes(b);
}

bool is_link_local6(std::string_view host) {
  auto b = address_bytes(host);
  return b.size() == 16 && static_cast<unsigned char>(b[0]) == 0xfe &&
         (static_cast<unsigned char>(b[1]) & 0xc0) == 0x80;
}

bool is_local(std::string_view host, const HostNetwork& net) {
  if (is_loopback_address(host)) return true;
  for (const auto& a : net.addresses) {
    if (same_address(a.address, host)) return true;
  }
  return false;
}

std::string list_addresses(const HostNetwork& net) {
  std::string out;
  for (const auto& a : net.addresses) {
    if (is_loopback_address(a.address) || is_link_local6(a.address)) continue;
    out += (out.empty() ? "" : ", ") + a.address;
  }
  return out.empty() ? "none but loopback" : out;
}

// Whether a socket bound to `listen` accepts connections addressed to `host`.
bool accepts(std::string_view listen, std::string_view host) {
  if (listen == "0.0.0.0") return ip_family(host) == IpFamily::v4;
  if (listen == "::") return true;  // dual stack (net.ipv6.bindv6only = 0, the default)
  if (!ip_family(listen)) return listen != "localhost" || is_loopback_address(host);
  return same_address(listen, host);
}

// The address of the interface that holds the default route of `family`.
std::optional<std::string> default_route_address(IpFamily family, const HostNetwork& net) {
  const auto& route = family == IpFamily::v4 ? net.route4 : net.route6;
  if (!route) return std::nullopt;
  for (const auto& a : net.addresses) {
    if (a.interface != route->interface || a.family != family) continue;
    if (family == IpFamily::v6 && is_link_local6(a.address)) continue;
    return a.address;
  }
  return std::nullopt;
}

struct Setting {
  std::string_view listen_key;
  const HostPort& listen;
  std::string_view advertise_key;
  const HostPort& advertise;
  bool literal_only;
};

Result<HostPort> choose_advertise(const Setting& s, bool check, const HostNetwork& net,
                                  std::vector<std::string>& warnings) {
  const std::string adv_key(s.advertise_key);
  if (!s.advertise.host.empty()) {
    const auto& host = s.advertise.host;
    if (is_wildcard_host(host)) {
      return make_error("bad_address", adv_key + ": " + host +
                                           " is a wildcard; give an address other nodes "
                                           "can connect to");
    }
    if (!ip_family(host)) {
      if (s.literal_only) {
        return make_error("bad_address", adv_key + ": '" + host +
                                             "' is not an IP address (names are not " +
                                             "resolved for node-to-node endpoints)");
      }
      warnings.push_back(adv_key + ": " + host + " is a name; it is not checked");
      return s.advertise;
    }
    auto complain = [&](std::string message) -> Result<void> {
      if (check) return make_error("bad_address", adv_key + ": " + message);
      warnings.push_back(adv_key + ": " + message + " (check_advertise: false)");
      return {};
    };
    if (!is_local(host, net)) {
      BEEMESH_TRY(complain(host + " is not an address of this machine (its addresses: " +
                           list_addresses(net) + ")"));
    } else if (!accepts(s.listen.host, host)) {
      BEEMESH_TRY(complain(host + " is not an address " + std::string(s.listen_key) + " (" +
                           s.listen.to_string() + ") accepts connections on"));
    }
    return s.advertise;
  }
  if (!is_wildcard_host(s.listen.host)) return HostPort{s.listen.host, 0};
  auto found = default_route_address(IpFamily::v4, net);
  if (!found && s.listen.host == "::") found = default_route_address(IpFamily::v6, net);
  if (!found) {
    return make_error("bad_address",
                      std::string(s.listen_key) + ": " + s.listen.to_string() +
                          " is a wildcard and this machine has no default route to take an " +
                          "address from; set " + adv_key);
  }
  return HostPort{*found, 0};
}

// A bootstrap peer on another machine (a name counts as one, unless it is localhost).
std::optional<std::string> remote_bootstrap(const NodeConfig& c) {
  for (const auto& b : c.bootstrap) {
    if (!is_loopback_address(b.host)) return b.to_string();
  }
  return std::nullopt;
}

Result<void> check_bind(std::string_view key, const HostPort& at, const HostNetwork& net) {
  if (is_wildcard_host(at.host) || !ip_family(at.host) || is_local(at.host, net)) return {};
  return make_error("bad_address", std::string(key) + ": " + at.host +
                                       " is not an address of this machine (its addresses: " +
                                       list_addresses(net) + ")");
}

}  // namespace

std::optional<DefaultRoute> parse_default_route4(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  std::getline(in, line);  // header
  std::optional<DefaultRoute> best;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    unsigned f = hex_value(flags);
    if (dest != "00000000" || mask != "00000000" || (f & kRouteUp) == 0 ||
        (f & kRouteReject) != 0 || iface == "lo") {
      continue;
    }
    int m = std::atoi(metric.c_str());
    if (!best || m < best->metric) best = DefaultRoute{iface, m};
  }
  return best;
}

std::optional<DefaultRoute> parse_default_route6(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  std::optional<DefaultRoute> best;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string dest, plen, src, src_plen, next_hop, metric, refcnt, use, flags, iface;
    if (!(fields >> dest >> plen >> src >> src_plen >> next_hop >> metric >> refcnt >> use >>
          flags >> iface)) {
      continue;
    }
    unsigned f = hex_value(flags);
    if (dest != std::string(32, '0') || plen != "00" || (f & kRouteUp) == 0 ||
        (f & kRouteReject) != 0 || iface == "lo") {
      continue;
    }
    int m = static_cast<int>(hex_value(metric));
    if (!best || m < best->metric) best = DefaultRoute{iface, m};
  }
  return best;
}

HostNetwork read_host_network() {
  HostNetwork net;
  net.route4 = parse_default_route4(read_text("/proc/net/route"));
  net.route6 = parse_default_route6(read_text("/proc/net/ipv6_route"));
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return net;
  for (auto* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      net.addresses.push_back({a->ifa_name, text, IpFamily::v4});
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      net.addresses.push_back({a->ifa_name, text, IpFamily::v6});
    }
  }
  freeifaddrs(list);
  return net;
}

std::optional<IpFamily> ip_family(std::string_view host) {
  auto bytes = address_bytes(host);
  if (bytes.size() == 4) return IpFamily::v4;
  if (bytes.size() == 16) return IpFamily::v6;
  return std::nullopt;
}

bool is_wildcard_host(std::string_view host) {
  auto bytes = address_bytes(host);
  return !bytes.empty() && bytes.find_first_not_of('\0') == std::string::npos;
}

bool is_loopback_address(std::string_view host) {
  if (host == "localhost") return true;
  auto bytes = address_bytes(host);
  if (bytes.size() == 4) return bytes[0] == 127;
  return bytes.size() == 16 && bytes == std::string(15, '\0') + '\1';
}

std::string format_url(std::string_view scheme, std::string_view host, uint16_t port) {
  return std::string(scheme) + "://" + HostPort{std::string(host), port}.to_string();
}

Result<AddressPlan> plan_addresses(const NodeConfig& c, const HostNetwork& net) {
  AddressPlan plan;
  auto rpc = choose_advertise({"rpc_listen", c.rpc_listen, "rpc_advertise", c.rpc_advertise, true},
                              c.check_advertise, net, plan.warnings);
  if (!rpc) return rpc.error();
  plan.rpc_advertise = *rpc;
  auto api =
      choose_advertise({"api_listen", c.api_listen, "api_advertise", c.api_advertise.at, false},
                       c.check_advertise, net, plan.warnings);
  if (!api) return api.error();
  plan.api_advertise = *api;
  plan.api_scheme = c.api_advertise.scheme;

  if (!c.dht_listen.host.empty()) {
    if (ip_family(c.dht_listen.host) != IpFamily::v4 && c.dht_listen.host != "localhost") {
      return make_error("bad_address", "dht_listen: " + c.dht_listen.host +
                                           " is not an IPv4 address (IPv6: dht_listen6)");
    }
    BEEMESH_TRY(check_bind("dht_listen", c.dht_listen, net));
    plan.dht4 = c.dht_listen;
  }
  if (c.dht_listen6) {
    if (c.dht_listen6->host.empty()) {
      plan.warnings.push_back(
          "dht_listen6: off; OpenDHT 2.4 needs an IPv6 socket for its listens (beemesh "
          "still polls the DHT, so updates arrive later)");
    } else {
      if (ip_family(c.dht_listen6->host) != IpFamily::v6) {
        return make_error("bad_address",
                          "dht_listen6: " + c.dht_listen6->host + " is not an IPv6 address");
      }
      BEEMESH_TRY(check_bind("dht_listen6", *c.dht_listen6, net));
      plan.dht6 = c.dht_listen6;
    }
  } else {
    bool has_ipv6 = false;
    for (const auto& a : net.addresses) has_ipv6 = has_ipv6 || a.family == IpFamily::v6;
    bool wildcard = !plan.dht4 || c.dht_listen.host == "0.0.0.0";
    if (has_ipv6) {
      plan.dht6 = HostPort{wildcard ? "::" : "::1", plan.dht4 ? plan.dht4->port : uint16_t{4222}};
    } else if (!plan.dht4) {
      return make_error("bad_address", "dht_listen: off, and this machine has no IPv6");
    } else {
      plan.warnings.push_back("dht_listen6: this machine has no IPv6; the DHT runs on IPv4 only");
    }
  }

  if (auto remote = remote_bootstrap(c)) {
    if (is_loopback_address(plan.rpc_advertise.host)) {
      bool set = !c.rpc_advertise.host.empty();
      return make_error(
          "bad_address",
          std::string(set ? "rpc_advertise: " : "rpc_listen: ") +
              (set ? c.rpc_advertise.host : c.rpc_listen.to_string()) +
              " is a loopback address, but bootstrap names another machine (" + *remote +
              "), which could never reach this node; listen on 0.0.0.0 or an address of "
              "this machine");
    }
    bool dht_reachable = (plan.dht4 && !is_loopback_address(plan.dht4->host)) ||
                         (plan.dht6 && !is_loopback_address(plan.dht6->host));
    if (!dht_reachable) {
      return make_error("bad_address",
                        "dht_listen: " + (plan.dht4 ? plan.dht4->to_string() : std::string("off")) +
                            " is a loopback address, but bootstrap names another machine (" +
                            *remote + "); listen on 0.0.0.0 or an address of this machine");
    }
  }

  if (c.publish_host_ip.empty()) {
    plan.publish_host_ip = plan.rpc_advertise.host;
  } else {
    if (!ip_family(c.publish_host_ip)) {
      return make_error("bad_address",
                        "publish_host_ip: '" + c.publish_host_ip + "' is not an IP address");
    }
    BEEMESH_TRY(check_bind("publish_host_ip", HostPort{c.publish_host_ip, 0}, net));
    plan.publish_host_ip = c.publish_host_ip;
  }
  return plan;
}

Result<void> probe_tcp(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  auto where = HostPort{host, port}.to_string();
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto family = ip_family(host);
  if (family == IpFamily::v4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &in->sin_addr);
    len = sizeof(sockaddr_in);
  } else if (family == IpFamily::v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    return make_error("invalid_endpoint", where + ": not an IP address");
  }
  Fd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return make_error("io_error", std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
    return make_error("unreachable", "cannot connect to " + where + ": " + std::strerror(errno));
  }
  pollfd p{fd.get(), POLLOUT, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready == 0) {
    return make_error("unreachable", "no answer from " + where + " within " +
                                         std::to_string(timeout.count()) + " ms");
  }
  int err = 0;
  socklen_t err_len = sizeof(err);
  if (ready < 0)
    err = errno;
  else if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0)
    err = errno;
  if (err != 0)
    return make_error("unreachable", "cannot connect to " + where + ": " + std::strerror(err));
  return {};
}

}  // namespace beemesh::app
