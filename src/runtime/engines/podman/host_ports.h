// runtime/engines/podman/host_ports.h — finding free host ports to publish on.
//
// Promise: pick_free_port() returns a port that could be bound on `host_ip` for the given
// protocol at the moment of the call (the kernel chooses it by binding port 0), skipping
// those in `avoid`. Someone else may take it before Podman binds it: callers retry.
#pragma once

#include <set>
#include <string>

#include "common/result.h"

namespace beemesh::runtime::podman {

// `protocol` is TCP or UDP (SCTP is probed as TCP); `host_ip` empty = all IPv4 addresses.
Result<int> pick_free_port(const std::string& host_ip, const std::string& protocol,
                           const std::set<int>& avoid);

}  // namespace beemesh::runtime::podman
