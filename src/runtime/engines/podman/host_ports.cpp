#include "runtime/engines/podman/host_ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace beemesh::runtime::podman {
namespace {

// Binds a fresh socket to host_ip:0 and returns the port the kernel gave it.
Result<int> bind_ephemeral(int family, const std::string& host_ip, int type) {
  int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error("io_error", std::string("socket: ") + std::strerror(errno));
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (family == AF_INET6) {
    auto* addr = reinterpret_cast<sockaddr_in6*>(&storage);
    addr->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, host_ip.c_str(), &addr->sin6_addr);
    length = sizeof(sockaddr_in6);
  } else {
    auto* addr = reinterpret_cast<sockaddr_in*>(&storage);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!host_ip.empty()) ::inet_pton(AF_INET, host_ip.c_str(), &addr->sin_addr);
    length = sizeof(sockaddr_in);
  }
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    port = family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port)
                              : ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  }
  int err = errno;
  ::close(fd);
  if (port <= 0) {
    return make_error("no_free_port",
                      "cannot bind a port on '" + host_ip + "': " + std::strerror(err));
  }
  return port;
}

}  // namespace

Result<int> pick_free_port(const std::string& host_ip, const std::string& protocol,
                           const std::set<int>& avoid) {
  int family = AF_INET;
  if (host_ip.find(':') != std::string::npos) {
    family = AF_INET6;
  } else if (!host_ip.empty()) {
    in_addr probe{};
    if (::inet_pton(AF_INET, host_ip.c_str(), &probe) != 1) {
      return make_error("invalid_config",
                        "publish host address '" + host_ip + "' is not an IP address");
    }
  }
  const int type = protocol == "UDP" ? SOCK_DGRAM : SOCK_STREAM;
  for (int attempt = 0; attempt < 32; ++attempt) {
    auto port = bind_ephemeral(family, host_ip, type);
    if (!port) return port.error();
    if (avoid.count(*port) == 0) return port;
  }
  return make_error("no_free_port", "no free port on '" + host_ip + "' outside the " +
                                        std::to_string(avoid.size()) + " already reserved");
}

}  // namespace beemesh::runtime::podman
