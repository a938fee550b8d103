// liveness_bench — background traffic per node of an in-process mesh of N OpenDHT nodes on
// loopback, in three phases measured one after the other on the same mesh:
//   dht        the OpenDHT nodes alone (routing-table upkeep)
//   +refresh   every node announces itself in the node directory and one manifest it shares
//              with 2 others (3 replicas), with the daemon's refresh settings
//   +liveness  every node also runs a LivenessMonitor (heartbeat every 2 s) and watches the 2
//              nodes it shares its manifest with, plus 2 nodes whose state it looks up
// Traffic is read from the kernel's loopback counters (/proc/net/dev "lo": packets and bytes
// sent, IP and UDP headers included), so run it alone in a network namespace of its own:
//
//   unshare -n sh -c 'ip link set lo up && liveness_bench --nodes 10,50,200'
//
// Prints one line per (size, phase): messages/s and bytes/s per node, and the increments.
//   liveness_bench [--nodes 10,50,200] [--warmup 40] [--window 20] [--listen 1|0]
// (--listen 0: watched keys are only polled, no DHT listen)
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "crypto/identity.h"
#include "dht/loopback_mesh.h"
#include "provider/liveness_monitor.h"
#include "provider/provider_manager.h"

using namespace beemesh;
using namespace std::chrono_literals;

namespace {

struct Counters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// Packets and bytes sent on "lo" (each loopback packet is sent once and received once).
Counters loopback_sent() {
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

bool own_network_namespace() {
  std::ifstream in("/proc/net/dev");
  std::string line;
  int interfaces = 0;
  while (std::getline(in, line)) {
    if (line.find(':') != std::string::npos) ++interfaces;
  }
  return interfaces == 1;
}

crypto::Identity identity_of(size_t i) {
  crypto::Seed seed{};
  seed[0] = 0xB1;
  seed[1] = static_cast<uint8_t>(i >> 8);
  seed[2] = static_cast<uint8_t>(i & 0xff);
  return crypto::Identity::from_seed(seed);
}

struct Rate {
  double messages = 0;
  double bytes = 0;
};

Rate measure(size_t nodes, std::chrono::seconds window) {
  const auto a = loopback_sent();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(window);
  const auto b = loopback_sent();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {static_cast<double>(b.packets - a.packets) / s / static_cast<double>(nodes),
          static_cast<double>(b.bytes - a.bytes) / s / static_cast<double>(nodes)};
}

void report(size_t n, const char* phase, Rate r, Rate before) {
  std::printf("%5zu  %-10s  %9.1f msg/s  %10.0f B/s   (+%.1f msg/s, +%.0f B/s)\n", n, phase,
              r.messages, r.bytes, r.messages - before.messages, r.bytes - before.bytes);
  std::fflush(stdout);
}

int run(size_t n, std::chrono::seconds warmup, std::chrono::seconds window, bool listen) {
  auto mesh = dht::LoopbackMesh::start(n, 0x6c760000u + static_cast<uint32_t>(n));
  if (!mesh.ok()) {
    std::cerr << "mesh: " << mesh.error().to_string() << "\n";
    return 1;
  }
  (*mesh)->wait_connected(std::min<size_t>(n - 1, 8), 60s);
  std::this_thread::sleep_for(warmup / 2);
  const Rate dht = measure(n, window);
  report(n, "dht", dht, {});

  std::vector<crypto::Identity> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(identity_of(i));
  std::vector<std::unique_ptr<provider::ProviderManager>> providers;
  for (size_t i = 0; i < n; ++i) {
    provider::ProviderConfig pc;  // the daemon's settings
    providers.push_back(
        std::make_unique<provider::ProviderManager>((*mesh)->node(i), ids[i], system_clock(), pc));
    providers[i]->announce("beemesh:nodes", {ids[i].node_id(), "127.0.0.1:7401", "mock", {}},
                           3600s);
    providers[i]->announce("m" + std::to_string(i / 3),
                           {ids[i].node_id(), "127.0.0.1:7401", "mock", {}}, 3600s);
  }
  std::this_thread::sleep_for(warmup);  // past the early re-puts (3 s, 10 s, 30 s)
  const Rate refresh = measure(n, window);
  report(n, "+refresh", refresh, dht);

  std::vector<std::unique_ptr<provider::LivenessMonitor>> monitors;
  provider::LivenessConfig lc;  // the daemon's settings
  lc.listen = listen;
  for (size_t i = 0; i < n; ++i) {
    monitors.push_back(
        std::make_unique<provider::LivenessMonitor>((*mesh)->node(i), ids[i], system_clock(), lc));
    monitors[i]->start();
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t group = i / 3 * 3;
    for (size_t j = group; j < std::min(group + 3, n); ++j) {
      if (j != i) monitors[i]->watch(ids[j].node_id());
    }
    // Two nodes looked up as a `get providers` would (watched for the default interest).
    monitors[i]->watch(ids[(i + n / 2) % n].node_id(), 2min);
    monitors[i]->watch(ids[(i + n / 3 + 1) % n].node_id(), 2min);
  }
  std::this_thread::sleep_for(warmup / 4);
  // Watches set up before a node's first heartbeat landed see it dead, then alive: count
  // only what happens during the measured window.
  auto totals = [&] {
    std::array<uint64_t, 4> t{};
    for (auto& m : monitors) {
      auto s = m->stats();
      t[0] += s.deaths;
      t[1] += s.revivals;
      t[2] += s.heartbeat_put_failures;
      t[3] += s.records_rejected;
    }
    return t;
  };
  const auto before = totals();
  const Rate live = measure(n, window);
  report(n, "+liveness", live, refresh);
  const auto after = totals();
  size_t dead_now = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t group = i / 3 * 3;
    for (size_t j = group; j < std::min(group + 3, n); ++j) {
      if (j != i && monitors[i]->state(ids[j].node_id()) == provider::NodeState::dead) ++dead_now;
    }
  }
  std::printf(
      "%5zu  during the window: live nodes judged dead %llu, revived %llu, heartbeat put "
      "failures %llu, rejected %llu; co-providers dead at the end: %zu (before the window: "
      "%llu deaths at start-up)\n",
      n, static_cast<unsigned long long>(after[0] - before[0]),
      static_cast<unsigned long long>(after[1] - before[1]),
      static_cast<unsigned long long>(after[2] - before[2]),
      static_cast<unsigned long long>(after[3] - before[3]), dead_now,
      static_cast<unsigned long long>(before[0]));
  monitors.clear();
  providers.clear();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes{10, 50, 200};
  std::chrono::seconds warmup{40}, window{20};
  bool listen = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--nodes") {
      sizes.clear();
      std::stringstream ss(value);
      std::string part;
      while (std::getline(ss, part, ',')) sizes.push_back(std::stoul(part));
    } else if (flag == "--warmup") {
      warmup = std::chrono::seconds(std::stoi(value));
    } else if (flag == "--listen") {
      listen = value != "0";
    } else if (flag == "--window") {
      window = std::chrono::seconds(std::stoi(value));
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (!own_network_namespace()) {
    std::cerr << "warning: other interfaces in this network namespace; loopback counters "
                 "include traffic that is not the bench's (run under unshare -n)\n";
  }
  std::printf(
      "nodes  phase       per node: messages/s, bytes/s sent   (increment over the "
      "previous phase)\n");
  for (size_t n : sizes) {
    if (n < 3) continue;
    if (int rc = run(n, warmup, window, listen); rc != 0) return rc;
  }
  return 0;
}
