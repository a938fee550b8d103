// provider_bench — provider announcements and discovery on a 50-node loopback OpenDHT mesh in
// one process: announce latency, cold discovery p50/p99 from 20 different nodes, cached
// discovery, memory per node, threads and the highest descriptor of the process (all nodes
// share one dht-epoll receive thread, so 1,000 nodes fit). Results: docs/notes/bench-provider.md
// and docs/BENCHMARKS.md.
//
//   provider_bench [--nodes 50] [--discoverers 20] [--manifests 10] [--providers 3]
//                  [--cached-iterations 200000]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "crypto/identity.h"
#include "crypto/records.h"
#include "dht/loopback_mesh.h"
#include "provider/provider_manager.h"
#include "support/proc_stats.h"

using namespace beemesh;
using namespace std::chrono_literals;
using bench::proc_status;
using Steady = std::chrono::steady_clock;

namespace {

long rss_kib() {
  return proc_status("VmRSS:");
}

// The highest open descriptor number (OpenDHT's select() socket aborted at >= 1024).
long max_fd() {
  long top = -1;
  for (int fd = 0; fd < 1 << 16; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) top = fd;
  }
  return top;
}

struct Summary {
  double p50 = 0, p99 = 0, max = 0, mean = 0;
  size_t n = 0;
};

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  s.n = v.size();
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  s.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

void print(const char* what, const Summary& s, const char* unit) {
  std::printf("%-28s n=%-7zu p50=%9.3f %s  p99=%9.3f %s  max=%9.3f %s  mean=%9.3f %s\n", what, s.n,
              s.p50, unit, s.p99, unit, s.max, unit, s.mean, unit);
}

double ms_since(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  size_t nodes = 50, discoverers = 20, manifests = 10, providers_per_manifest = 3;
  size_t cached_iterations = 200'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const size_t value = std::stoul(argv[i + 1]);
    if (flag == "--nodes")
      nodes = value;
    else if (flag == "--discoverers")
      discoverers = value;
    else if (flag == "--manifests")
      manifests = value;
    else if (flag == "--providers")
      providers_per_manifest = value;
    else if (flag == "--cached-iterations")
      cached_iterations = value;
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (discoverers + providers_per_manifest > nodes) {
    std::cerr << "need nodes >= discoverers + providers\n";
    return 2;
  }

  // Warm libraries (OpenDHT, gnutls, libsodium) with one throw-away node and signature, so
  // the RSS delta counts nodes rather than one-time library initialisation.
  {
    auto warm = dht::OpenDht::start(dht::loopback_config(0x0bee0001));
    auto id = crypto::Identity::generate();
    (void)id.sign(as_bytes("warm-up"));
  }
  const long rss_before = rss_kib();

  // 1. Mesh + one provider manager per node.
  const auto t_start = Steady::now();
  auto mesh_r = dht::LoopbackMesh::start(nodes, 0x0bee0002);
  if (!mesh_r.ok()) {
    std::cerr << mesh_r.error().to_string() << "\n";
    return 1;
  }
  auto& mesh = **mesh_r;
  std::vector<crypto::Identity> ids;
  ids.reserve(nodes);  // managers keep references: no reallocation
  std::vector<std::unique_ptr<provider::ProviderManager>> pms;
  provider::ProviderConfig config;  // defaults: cache 5 min, timeout 30 s, max 50
  for (size_t i = 0; i < nodes; ++i) {
    ids.push_back(crypto::Identity::generate());
    pms.push_back(
        std::make_unique<provider::ProviderManager>(mesh.node(i), ids[i], system_clock(), config));
  }
  const double started_ms = ms_since(t_start);
  const long threads_before = proc_status("Threads:");  // before the settle wait
  const bool connected =
      mesh.wait_connected(8, 30s + std::chrono::milliseconds(50 * static_cast<long>(nodes)));
  std::printf(
      "mesh: %zu nodes started in %.0f ms, every node knows >= 8 others after %.0f ms: %s\n", nodes,
      started_ms, ms_since(t_start), connected ? "yes" : "NO");
  std::printf("threads: %ld in the process (%.2f per node), highest descriptor %ld\n",
              threads_before, static_cast<double>(threads_before) / static_cast<double>(nodes),
              max_fd());
  // Let routing tables settle (the issue measured 5-16 s to fill on 20 nodes).
  std::this_thread::sleep_for(5s);

  // 2. Announce latency: announce() -> first put acknowledged, per manifest and provider.
  //    Providers of manifest m are nodes (nodes - 1 - m*providers - k) from the top, so the
  //    discoverers 0..discoverers-1 are never providers.
  std::vector<double> announce_ms;
  std::vector<std::vector<std::string>> provider_ids(manifests);
  for (size_t m = 0; m < manifests; ++m) {
    const std::string manifest = "bench-manifest-" + std::to_string(m);
    for (size_t k = 0; k < providers_per_manifest; ++k) {
      const size_t p = nodes - 1 - ((m * providers_per_manifest + k) % (nodes - discoverers));
      provider_ids[m].push_back(ids[p].node_id());
      std::promise<double> done;
      const auto t = Steady::now();
      pms[p]->announce(manifest, {ids[p].node_id(), "127.0.0.1:7401", "mock", {}}, 3600s,
                       [&done, t](Result<void> r) { done.set_value(r.ok() ? ms_since(t) : -1.0); });
      auto fut = done.get_future();
      if (fut.wait_for(60s) != std::future_status::ready) {
        std::cerr << "announce did not finish\n";
        return 1;
      }
      const double ms = fut.get();
      if (ms < 0) {
        std::cerr << "announce failed\n";
      } else {
        announce_ms.push_back(ms);
      }
    }
  }

  // Wait until every manifest's records are all visible with a plain DHT get from a node that
  // is not a discoverer, so cold discovery measures lookups rather than propagation.
  for (size_t m = 0; m < manifests; ++m) {
    const auto key = dht::provider_key("bench-manifest-" + std::to_string(m));
    const auto until = Steady::now() + 30s;
    while (Steady::now() < until) {
      auto got = mesh.node(nodes - 1).get_blocking(key, 5s);
      std::set<std::string> seen;
      if (got.ok()) {
        for (const auto& v : *got) {
          auto r = crypto::open_provider_record(v.data);
          if (r.ok()) seen.insert(r->node_id);
        }
      }
      if (seen.size() >= providers_per_manifest) break;
      std::this_thread::sleep_for(100ms);
    }
  }

  // 3. Cold discovery: each of the first `discoverers` nodes discovers each manifest once.
  std::vector<double> cold_ms;
  size_t incomplete = 0;
  for (size_t m = 0; m < manifests; ++m) {
    const std::string manifest = "bench-manifest-" + std::to_string(m);
    for (size_t d = 0; d < discoverers; ++d) {
      const auto t = Steady::now();
      auto found = pms[d]->discover(manifest);
      cold_ms.push_back(ms_since(t));
      if (found.size() != providers_per_manifest) ++incomplete;
    }
  }

  // 4. Cached discovery: the same call again, served from the cache.
  std::vector<double> cached_us;
  cached_us.reserve(cached_iterations);
  size_t sink = 0;
  for (size_t i = 0; i < cached_iterations; ++i) {
    const auto t = Steady::now();
    auto found = pms[i % discoverers]->discover("bench-manifest-" + std::to_string(i % manifests));
    cached_us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t).count());
    sink += found.size();
  }
  uint64_t hits = 0, misses = 0;
  for (size_t d = 0; d < discoverers; ++d) {
    auto s = pms[d]->stats();
    hits += s.cache_hits;
    misses += s.cache_misses;
  }

  const long rss_after = rss_kib();
  std::printf("\nresults (%zu nodes, %zu discoverers, %zu manifests x %zu providers)\n", nodes,
              discoverers, manifests, providers_per_manifest);
  print("announce (first put acked)", summarize(announce_ms), "ms");
  print("cold discovery", summarize(cold_ms), "ms");
  print("cached discovery", summarize(cached_us), "us");
  std::printf("cold discoveries with != %zu providers: %zu of %zu\n", providers_per_manifest,
              incomplete, cold_ms.size());
  std::printf("cache hits %llu, misses %llu (sink %zu)\n", static_cast<unsigned long long>(hits),
              static_cast<unsigned long long>(misses), sink);
  std::printf(
      "RSS before mesh %ld KiB, after %ld KiB: %.1f KiB per node (DHT node + provider "
      "manager, threads included)\n",
      rss_before, rss_after,
      static_cast<double>(rss_after - rss_before) / static_cast<double>(nodes));
  pms.clear();
  return incomplete == 0 ? 0 : 3;
}
