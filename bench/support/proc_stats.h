// bench/support/proc_stats.h — what the in-process benchmarks read from /proc about their own
// process and the loopback interface (header-only; shared by bench/liveness, bench/provider
// and bench/scale).
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace beemesh::bench {

// A numeric field of /proc/self/status ("VmRSS:", "Threads:"), -1 when absent.
inline long proc_status(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  }
  return -1;
}

struct LoopbackCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// Packets and bytes sent on "lo" (/proc/net/dev; each loopback packet is sent once and
// received once, so "sent" counts every packet of the namespace once).
inline LoopbackCounters loopback_sent() {
  std::ifstream in("/proc/net/dev");
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[16] = {};
    for (auto& x : v) fields >> x;
    return {v[9], v[8]};  // tx packets, tx bytes
  }
  return {};
}

// True when /proc/net/dev lists one interface only (lo): the process runs in a network
// namespace of its own, so the loopback counters count only its own traffic.
inline bool own_network_namespace() {
  std::ifstream in("/proc/net/dev");
  std::string line;
  int interfaces = 0;
  while (std::getline(in, line)) {
    if (line.find(':') != std::string::npos) ++interfaces;
  }
  return interfaces == 1;
}

}  // namespace beemesh::bench
