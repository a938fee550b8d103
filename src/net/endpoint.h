// net/endpoint.h — "host:port" addresses of peers.
//
// Promise: parse_endpoint accepts "host:port" and "[ipv6]:port" with a port in 1..65535
// (0 only when allow_zero_port, for listening) and rejects anything else with code
// "invalid_endpoint" naming the text; format_endpoint is its inverse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace beemesh::net {

struct Endpoint {
  std::string host;  // a name or an address literal, without brackets
  uint16_t port = 0;
  std::string peer_id{};  // from "<peer id>@host:port", else empty
};

Result<Endpoint> parse_endpoint(std::string_view text, bool allow_zero_port = false);
std::string format_endpoint(std::string_view host, uint16_t port);
std::string pinned_endpoint(std::string_view peer_id, std::string_view endpoint);

}  // namespace beemesh::net
