// liveness_bench — background traffic per node of an in-process mesh of N OpenDHT nodes on
// loopback, in three phases measured one after the other on the same mesh:
//   dht        the OpenDHT nodes alone (routing-table upkeep)
//   +refresh   every node announces itself in the node directory and one manifest it shares
//              with 2 others (3 replicas), with the daemon's refresh settings
//   +liveness  every node also runs a LivenessMonitor (heartbeat every 2 s) and watches the 2
//              nodes it shares its manifest with, plus 2 nodes whose state it looks up
//   +desired   every node also runs a DesiredStateStore (apply/desired_state.h) and refreshes
//              the desired-state record of every manifest it runs (its group of 3) or holds a
//              key share of (5 holders per manifest: the 5 nodes after its group), as a daemon
//              does: one get and one put per tracked manifest per interval. The daemon's
//              interval is 4 min ± 20 % with records kept 10 min by the DHT; here it is
//              --desired-interval (24 s) and the DHT keeps raw values for 2.5 intervals, so
//              each key holds as many values as in a daemon mesh (each put adds one). The
//              increment is printed as measured and scaled to the daemon's 4 min.
//              Records are real: a user credential, a signed intent and a signed applied
//              manifest of a 2 KiB manifest with 5 share holders (~3.8 KB).
// Traffic is read from the kernel's loopback counters (/proc/net/dev "lo": packets and bytes
// sent, IP and UDP headers included), so run it alone in a network namespace of its own:
//
//   unshare -n sh -c 'ip link set lo up && liveness_bench --nodes 10,50,200'
//
// Prints one line per (size, phase): messages/s and bytes/s per node, and the increments.
//   liveness_bench [--nodes 10,50,200] [--warmup 40] [--window 20] [--listen 1|0]
//                  [--desired-interval 24] [--desired 1|0]
// (--listen 0: watched keys are only polled, no DHT listen; --desired 0: no +desired phase.
// The +desired phase warms up for 3.5 intervals and measures over 3.)
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apply/desired_state.h"
#include "common/clock.h"
#include "crypto/identity.h"
#include "crypto/intent.h"
#include "crypto/manifest_crypto.h"
#include "crypto/membership.h"
#include "crypto/records.h"
#include "dht/loopback_mesh.h"
#include "provider/liveness_monitor.h"
#include "provider/provider_manager.h"
#include "support/proc_stats.h"

using namespace beemesh;
using namespace std::chrono_literals;
using bench::loopback_sent;
using bench::own_network_namespace;

namespace {

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

struct Options {
  std::chrono::seconds warmup{40}, window{20};
  bool listen = true;
  bool desired = true;
  std::chrono::seconds desired_interval{24};
};

// The daemon's refresh interval of desired-state records, and how long OpenDHT keeps them.
constexpr std::chrono::seconds kDaemonDesiredInterval{240};
constexpr std::chrono::seconds kDaemonRawExpiry{600};

// Who refreshes manifest g (nodes 3g..3g+2 run it): its replicas, then its 5 share holders,
// the 5 nodes after the group (mod n).
std::vector<size_t> refreshers_of(size_t g, size_t n) {
  std::vector<size_t> out;
  for (size_t j = 3 * g; j < std::min(3 * g + 3, n); ++j) out.push_back(j);
  for (size_t k = 0; k < 5 && out.size() < n; ++k) {
    size_t h = (std::min(3 * g + 3, n) + k) % n;
    if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  }
  return out;
}

// A daemon-sized desired-state value for manifest g: owner-signed intent, the owner's user
// credential, and the publisher-signed applied manifest of a 2 KiB manifest with 5 holders.
Bytes desired_value(size_t g, const std::vector<size_t>& refreshers,
                    const std::vector<crypto::Identity>& ids, const crypto::Identity& admin,
                    const crypto::Identity& owner, const std::string& mesh_id) {
  const std::string mid = "m" + std::to_string(g);
  const int64_t now = system_clock().now_ms();
  crypto::CertificateBody cert{.kind = crypto::CertKind::kUser,
                               .subject = owner.public_key(),
                               .name = "bench-owner",
                               .role = crypto::Role::kDeployer,
                               .namespaces = {"default"},
                               .mesh_id = mesh_id,
                               .issued_ms = now,
                               .expires_ms = now + 24 * 3'600'000LL};
  Bytes credential = crypto::make_credential(crypto::issue_certificate(admin, cert));
  const std::string yaml(2048, 'x');
  protocol::DesiredIntent intent{.manifest_id = mid,
                                 .owner_public_key = owner.public_key(),
                                 .namespaces = {"default"},
                                 .name = "Pod/web-" + std::to_string(g),
                                 .content_version = crypto::content_version(yaml),
                                 .sequence = static_cast<uint64_t>(now),
                                 .replicas = 3,
                                 .issued_ms = now};
  std::vector<protocol::ShareHolder> holders;
  for (size_t k = std::min<size_t>(3, refreshers.size()); k < refreshers.size(); ++k) {
    const auto& h = ids[refreshers[k]];
    holders.push_back({h.node_id(), h.public_key(), "127.0.0.1:7401", 0});
  }
  const auto& publisher = ids[refreshers.front()];
  auto enc = crypto::encrypt_manifest(mid, publisher.public_key(), as_bytes(yaml), holders,
                                      {static_cast<unsigned>(holders.size()), 3}, now);
  if (!enc) {
    std::cerr << "encrypt_manifest: " << enc.error().to_string() << "\n";
    std::exit(1);
  }
  return crypto::make_desired_state_value(crypto::sign_intent(owner, intent), credential,
                                          crypto::sign_applied_manifest(publisher, enc->applied));
}

int run(size_t n, const Options& o) {
  const auto warmup = o.warmup;
  const auto window = o.window;
  const bool listen = o.listen;
  // Raw values (desired-state records) kept 2.5 intervals, as in a daemon mesh (10 min / 4 min).
  const auto raw_expiry =
      o.desired_interval * kDaemonRawExpiry.count() / kDaemonDesiredInterval.count();
  auto mesh = dht::LoopbackMesh::start(n, 0x6c760000u + static_cast<uint32_t>(n),
                                       [&](dht::DhtConfig& c) { c.raw_expiry = raw_expiry; });
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

  if (o.desired) {
    const auto admin = crypto::Identity::generate();
    const auto owner = crypto::Identity::generate();
    const std::string mesh_id = "bench";
    crypto::Membership membership(admin.public_key(), mesh_id, system_clock());
    apply::DesiredStateSettings ds;  // the daemon's, but for the interval
    ds.refresh_interval = o.desired_interval;
    std::vector<std::unique_ptr<apply::DesiredStateStore>> stores;
    for (size_t i = 0; i < n; ++i) {
      stores.push_back(std::make_unique<apply::DesiredStateStore>(ds, &(*mesh)->node(i),
                                                                  &membership, system_clock()));
    }
    const size_t groups = (n + 2) / 3;
    size_t value_bytes = 0;
    for (size_t g = 0; g < groups; ++g) {
      auto refreshers = refreshers_of(g, n);
      Bytes value = desired_value(g, refreshers, ids, admin, owner, mesh_id);
      value_bytes = std::max(value_bytes, value.size());
      for (size_t i : refreshers) {
        if (auto kept = stores[i]->offer(value); !kept) {
          std::cerr << "offer: " << kept.error().to_string() << "\n";
          return 1;
        }
        stores[i]->track("m" + std::to_string(g), owner.public_key());
      }
      // The entry node's first put, as the apply does.
      (void)stores[refreshers.front()]->publish("m" + std::to_string(g), owner.public_key());
    }
    size_t tracked = 0;
    for (auto& st : stores) {
      tracked += st->stats().tracked;
      st->start();
    }
    // Until each key holds its steady number of values (they expire after 2.5 intervals).
    std::this_thread::sleep_for(std::max(warmup, o.desired_interval * 7 / 2));
    auto ops = [&] {
      uint64_t gets = 0, puts = 0, rejected = 0;
      for (auto& st : stores) {
        auto x = st->stats();
        gets += x.gets;
        puts += x.puts;
        rejected += x.rejected;
      }
      return std::array<uint64_t, 3>{gets, puts, rejected};
    };
    const auto ops0 = ops();
    const auto t0 = std::chrono::steady_clock::now();
    const Rate desired = measure(n, std::max(window, o.desired_interval * 3));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto ops1 = ops();
    report(n, "+desired", desired, live);
    const double scale = std::chrono::duration<double>(o.desired_interval).count() /
                         std::chrono::duration<double>(kDaemonDesiredInterval).count();
    const Rate inc{desired.messages - live.messages, desired.bytes - live.bytes};
    std::printf(
        "%5zu  desired state: %zu manifests, %.2f tracked per node, value %zu B; per node %.3f "
        "gets/s %.3f puts/s at %llds (rejected %llu); scaled to the daemon's %llds: +%.2f "
        "msg/s, +%.0f B/s per node; liveness + provider refresh + desired at daemon settings: "
        "%.1f msg/s, %.0f B/s per node\n",
        n, groups, double(tracked) / double(n), value_bytes,
        double(ops1[0] - ops0[0]) / s / double(n), double(ops1[1] - ops0[1]) / s / double(n),
        static_cast<long long>(o.desired_interval.count()),
        static_cast<unsigned long long>(ops1[2] - ops0[2]),
        static_cast<long long>(kDaemonDesiredInterval.count()), inc.messages * scale,
        inc.bytes * scale, live.messages + inc.messages * scale, live.bytes + inc.bytes * scale);
    std::fflush(stdout);
    stores.clear();
  }
  monitors.clear();
  providers.clear();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes{10, 50, 200};
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--nodes") {
      sizes.clear();
      std::stringstream ss(value);
      std::string part;
      while (std::getline(ss, part, ',')) sizes.push_back(std::stoul(part));
    } else if (flag == "--warmup") {
      o.warmup = std::chrono::seconds(std::stoi(value));
    } else if (flag == "--listen") {
      o.listen = value != "0";
    } else if (flag == "--window") {
      o.window = std::chrono::seconds(std::stoi(value));
    } else if (flag == "--desired") {
      o.desired = value != "0";
    } else if (flag == "--desired-interval") {
      o.desired_interval = std::chrono::seconds(std::stoi(value));
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
    if (int rc = run(n, o); rc != 0) return rc;
  }
  return 0;
}
