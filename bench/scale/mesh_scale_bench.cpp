// mesh_scale_bench — an in-process mesh of N beemesh nodes built from the real node stack
// (bench/scale/bench_node.h: OpenDHT, provider manager, node directory, apply handlers,
// publisher on entry nodes, Mock engine, SQLite on tmpfs, TLS RPC), at one size per run:
//   settle     time from the first node's start until every node's directory lists
//              min(N, --settle-entries) nodes (default 50: the directory's cap on main)
//   memory     RSS increase per node once settled (after a warm-up node), threads, descriptors
//   rest       messages and bytes sent per node per second over --window s, idle, after
//              --warmup s (UDP datagrams = DHT and TCP segments = RPC counted apart too)
//   directory pass  what one pass of every node over its 64 directory shards sends per node
//              (all at once); paced reads: the cost of one shard read made alone (16 nodes x
//              64 shards, one after the other); rest at steady state = the rest window minus
//              its shard reads (early re-reads) at the paced cost, plus 64 paced reads per
//              node per steady re-read period (apply::kShardRefresh; a short window sees
//              none of the steady re-reads)
//   one at a time  --sequential applies (default 50), each sent when the previous answered:
//              apply latency p50/p99 with nothing else in flight, and where it goes (the
//              publisher's progress steps)
//   load       the same while --rate applies/s (3 replicas each, a Pod of 16Mi/10m) are sent
//              open-loop through the Publisher of --entries entry nodes (round robin); apply
//              latency p50/p99 (co_spawn -> outcome), replicas placed, distinct nodes placed on
//   discovery  cold discovery p50/p99: per manifest, --discoverers nodes that never saw it (not an
//              entry, not a placement of it), for each of 10 applied manifests; the traffic
//              per node while those reads run (the mesh just after the load)
// With rest, load and discovery, the CPU and runqueue wait per slice of the process's
// threads by name (bench/support/thread_stats.h): whether the background or the apply path
// took the cores.
// Traffic is read from the kernel's loopback counters (/proc/net/dev "lo", IP/UDP/TCP headers
// included: DHT datagrams and TLS RPC alike), so run it alone in a network namespace:
//
//   unshare -n sh -c 'ip link set lo up && mesh_scale_bench --nodes 100'
//
//   mesh_scale_bench [--nodes 100] [--entries 10] [--rate 10] [--window 20] [--warmup 30]
//                    [--sequential 50]
//                    [--discoverers 20] [--per-address-cap 0]
//                    [--settle-entries 50] [--settle-timeout 600] [--loop-threads 2]
//                    [--hold 0]  (s after the settle of progress lines: does it stay settled?)
//                    [--restart-storm 0]  (restarts of random nodes' DHT runners, spread over
//                    the hold, while the mesh works: the restart path under load, e.g. in an
//                    ASan build)
//                    [--steady-timeout 0]  (after the hold, wait until every directory's
//                    shards are on their steady re-read period, at most this many s, so
//                    that the rest window holds no early re-read of the start; the first
//                    steady re-reads after a start can still fall into it; 0 = no wait)
//                    [--pass 1]  (0: no all-at-once directory pass: long at 1,000 nodes)
//                    [--wave-size 0] [--wave-interval 10]  (staggered start: --wave-size nodes,
//                    DHT node and bench node, every --wave-interval s; 0 = all at once)
//                    [--paced-samplers 16]  (nodes reading their 64 shards one at a time)
//                    [--max-start-cpu 0]  (cores: a wave waits while the process used more
//                    since the previous one; 0 = never waits)
//                    [--max-start-hold 120]  (s: the longest one wave waits for that, then
//                    starts anyway: a background above it alone would hold every wave)
//                    [--malloc-arenas 65536]  (glibc's M_ARENA_MAX, set before any thread:
//                    a heap per thread, as each machine of a real mesh has its own; 0 =
//                    glibc's default, 8 per core, which ~8 threads per node contend for)
//                    [--receive-nice -20]  (the nice value of the threads that receive and
//                    run the DHT nodes: with hundreds of runnable threads a fair share is too
//                    little for them, and the kernel drops datagrams; 0 = as the rest)
//                    [--rpc-nice 0]  (the nice value of the RPC loop's threads (`net-loop`),
//                    which carry every node's node-to-node requests: at -20 they share the
//                    cores with the DHT loops instead of waiting behind them)
//                    [--settled-nice N]  (once settled, every thread of the process at nice
//                    N, as a daemon's threads share one value; unset: as started)
//                    [--settled-background-nice M]  (then the threads of the mesh's upkeep,
//                    DHT loops and watchdogs and directory refresh, at nice M: on 2 shared
//                    cores an apply otherwise waits behind the other N-1 nodes' background,
//                    which on a machine of its own it never meets; unset: as above)
//                    [--dht-loops 2]  (those threads: node i runs on loop i mod N; one per
//                    core, so the DHT work of the whole mesh is not bound to one core)
// Exit status 0 when the mesh settled and every apply placed 3 replicas; 3 otherwise (figures
// are printed either way). See docs/notes/bench-scale.md.
#include <fcntl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/config.h"
#include "app/mesh_admin.h"
#include "apply/directory.h"
#include "bench_node.h"
#include "cli/owner_auth.h"
#include "crypto/grants.h"
#include "dht/loopback_mesh.h"
#include "dht/opendht_arrival_fix.h"
#include "dht/opendht_search_fix.h"
#include "manifest/manifest.h"
#include "support/proc_stats.h"
#include "support/thread_stats.h"

using namespace beemesh;
using namespace std::chrono_literals;
using bench::loopback_sent;
using bench::own_network_namespace;
using bench::proc_status;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

struct Options {
  size_t nodes = 100;
  size_t entries = 10;
  double rate = 10;
  std::chrono::seconds window{20};
  std::chrono::seconds warmup{30};  // after settling, before the rest window
  size_t discoverers = 20;
  size_t settle_entries = 50;
  std::chrono::seconds settle_timeout{600};
  std::chrono::seconds hold{0};  // after the settle: progress lines for that long (stays settled?)
  std::chrono::seconds steady_timeout{0};  // then until every shard is on its steady period
  size_t restart_storm = 0;                // runner restarts of random nodes spread over the hold
  size_t loop_threads = 2;
  size_t per_address_cap = 0;  // 0: the server's max_connections (all nodes are 127.0.0.1)
  bool pass = true;            // every node reads its 64 shards at once after the rest window
  // Staggered start, as a fleet joins: --wave-size nodes every --wave-interval s (0: all at
  // once, the first start of the bench).
  size_t wave_size = 0;
  std::chrono::seconds wave_interval{10};
  size_t paced_samplers = 16;  // nodes that each read the 64 shards one at a time (paced cost)
  size_t sequential = 50;      // applies one at a time before the load window
  // A wave also waits, in 2 s steps, until the process used at most this many cores since
  // the previous wave (or over the last step): a start at the rate the machine can carry,
  // as an operator rolls out a fleet while watching it. 0: waves on the clock only.
  double max_start_cpu = 0;
  // The longest one wave waits for max_start_cpu: once the mesh's own background exceeds it,
  // the CPU gate alone would hold the start forever.
  std::chrono::seconds max_start_hold{120};
  int malloc_arenas = 65536;
  int receive_nice = -20;
  int rpc_nice = 0;
  // Once settled, every thread of the process at this nice value (unset: kept as started).
  std::optional<int> settled_nice;
  // Then the threads of the mesh's own upkeep (kBackgroundThreads) at this value: the
  // apply path ahead of the other nodes' background, as on a machine of its own.
  std::optional<int> settled_background_nice;
  size_t dht_loops = 2;  // EpollLoops (threads) that run the DHT nodes, node i on loop i mod N
};

// The threads that carry the mesh's upkeep rather than an apply: every node's DHT (the loops
// that receive and run them, the watchdog) and its directory's refresh.
constexpr const char* kBackgroundThreads[] = {"dht-epoll", "dht-watchdog", "dir-refresh"};

// Sets the nice value of this process's threads named `name` (named by their creator before
// it returns, so all are there), of all its threads when `name` is empty; fails the run if
// one cannot be set.
void renice_threads(const std::string& name, int nice) {
  size_t done = 0;
  bench::for_each_thread([&](long tid, const std::string& thread_name, const fs::path&) {
    if (!name.empty() && thread_name != name) return;
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice) != 0) {
      std::cerr << "setpriority(" << name << " " << tid << ", " << nice << ") failed\n";
      std::exit(2);
    }
    ++done;
  });
  std::cout << "threads " << (name.empty() ? "(all)" : name) << ": " << done << " at nice " << nice
            << "\n";
}

long open_fds() {
  long count = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++count;
  }
  return count;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The calling thread's own CPU time (the settle poll's cost, whatever the load).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

struct Counters {
  uint64_t packets = 0, bytes = 0;
};

// One field of a /proc/net/snmp protocol line ("Udp:", "OutDatagrams"): per network namespace,
// so UDP datagrams (the DHT) and TCP segments (TLS RPC) can be told apart.
uint64_t snmp(const std::string& proto, const std::string& field) {
  std::ifstream in("/proc/net/snmp");
  std::string header, values;
  while (std::getline(in, header) && std::getline(in, values)) {
    if (header.rfind(proto, 0) != 0) continue;
    std::istringstream h(header.substr(proto.size())), v(values.substr(proto.size()));
    std::string name, value;
    while (h >> name && v >> value) {
      if (name == field) return std::stoull(value);
    }
  }
  return 0;
}

// Traffic and CPU over a phase, per node and second.
struct Meter {
  bench::LoopbackCounters c0 = loopback_sent();
  uint64_t udp0 = snmp("Udp:", "OutDatagrams"), tcp0 = snmp("Tcp:", "OutSegs");
  double cpu0 = cpu_seconds();
  std::map<long, bench::ThreadSample> threads0 = bench::thread_samples();
  Steady::time_point t0 = Steady::now();
  // Prints and returns the per-node rates sent: {messages/s, bytes/s}.
  std::pair<double, double> print(const char* phase, size_t nodes) const {
    const auto c1 = loopback_sent();
    const double s = std::chrono::duration<double>(Steady::now() - t0).count();
    const double n = static_cast<double>(nodes);
    const double udp = double(snmp("Udp:", "OutDatagrams") - udp0) / s / n;
    const double tcp = double(snmp("Tcp:", "OutSegs") - tcp0) / s / n;
    std::printf(
        "%-8s %6.1f s: %8.2f msg/s %10.0f B/s per node sent (UDP %.2f, TCP %.2f segments/s); "
        "process CPU %.2f cores\n",
        phase, s, double(c1.packets - c0.packets) / s / n, double(c1.bytes - c0.bytes) / s / n, udp,
        tcp, (cpu_seconds() - cpu0) / s);
    bench::print_thread_use(bench::thread_use(threads0, bench::thread_samples(), s));
    std::fflush(stdout);
    return {double(c1.packets - c0.packets) / s / n, double(c1.bytes - c0.bytes) / s / n};
  }
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ms_since(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

std::string pod_yaml(const std::string& name) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\nspec:\n  containers:\n    - name: app\n      image: localhost/busybox:latest\n"
         "      command: [\"sleep\", \"3600\"]\n      resources:\n        limits:\n"
         "          memory: 16Mi\n          cpu: 10m\n";
}

[[noreturn]] void fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), e.to_string().c_str());
  std::exit(1);
}

struct ApplyResult {
  std::string manifest_id;
  double ms = 0;
  bool ok = false;  // an outcome (no Error)
  int placed = 0;
  std::vector<std::string> nodes;     // placements that succeeded
  std::vector<std::string> refusals;  // codes of the placements that did not
  std::string error;
  // The publisher's progress steps ("placing", "encrypting", …) with the ms since the apply
  // was sent: where an apply's time goes.
  std::vector<std::pair<std::string, double>> steps;
};

// p50 / p99 of the time from each progress step to the next (the last to the answer).
void print_apply_steps(const std::vector<ApplyResult>& results) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> spent;
  for (const auto& r : results) {
    double at = 0;
    std::string step = "checks";
    auto add = [&](const std::string& name, double until) {
      if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
      spent[name].push_back(until - at);
    };
    for (const auto& [name, ms] : r.steps) {
      add(step, ms);
      step = name;
      at = ms;
    }
    add(step, r.ms);
  }
  std::printf("  apply steps (ms from the step to the next, p50 / p99):");
  for (const auto& name : order) {
    std::printf(" %s %.1f / %.1f;", name.c_str(), percentile(spent[name], 0.5),
                percentile(spent[name], 0.99));
  }
  std::printf("\n");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--nodes")
      o.nodes = std::stoul(v);
    else if (flag == "--entries")
      o.entries = std::stoul(v);
    else if (flag == "--sequential")
      o.sequential = std::stoul(v);
    else if (flag == "--rate")
      o.rate = std::stod(v);
    else if (flag == "--window")
      o.window = std::chrono::seconds(std::stol(v));
    else if (flag == "--warmup")
      o.warmup = std::chrono::seconds(std::stol(v));
    else if (flag == "--discoverers")
      o.discoverers = std::stoul(v);
    else if (flag == "--settle-entries")
      o.settle_entries = std::stoul(v);
    else if (flag == "--settle-timeout")
      o.settle_timeout = std::chrono::seconds(std::stol(v));
    else if (flag == "--hold")
      o.hold = std::chrono::seconds(std::stol(v));
    else if (flag == "--restart-storm")
      o.restart_storm = std::stoul(v);
    else if (flag == "--steady-timeout")
      o.steady_timeout = std::chrono::seconds(std::stol(v));
    else if (flag == "--per-address-cap")
      o.per_address_cap = std::stoul(v);
    else if (flag == "--pass")
      o.pass = v != "0";
    else if (flag == "--loop-threads")
      o.loop_threads = std::stoul(v);
    else if (flag == "--wave-size")
      o.wave_size = std::stoul(v);
    else if (flag == "--paced-samplers")
      o.paced_samplers = std::max<size_t>(1, std::stoul(v));
    else if (flag == "--max-start-cpu")
      o.max_start_cpu = std::stod(v);
    else if (flag == "--max-start-hold")
      o.max_start_hold = std::chrono::seconds(std::stol(v));
    else if (flag == "--malloc-arenas")
      o.malloc_arenas = std::stoi(v);
    else if (flag == "--receive-nice")
      o.receive_nice = std::stoi(v);
    else if (flag == "--rpc-nice")
      o.rpc_nice = std::stoi(v);
    else if (flag == "--settled-nice")
      o.settled_nice = std::stoi(v);
    else if (flag == "--settled-background-nice")
      o.settled_background_nice = std::stoi(v);
    else if (flag == "--dht-loops")
      o.dht_loops = std::max<size_t>(1, std::stoul(v));
    else if (flag == "--wave-interval")
      o.wave_interval = std::chrono::seconds(std::stol(v));
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (o.nodes < 4 || o.entries < 1 || o.entries > o.nodes) {
    std::fprintf(stderr, "need --nodes >= 4 and 1 <= --entries <= --nodes\n");
    std::exit(2);
  }
  return o;
}

// OpenDHT's search text without the announced values' data (kilobytes of hex each).
std::string without_value_data(std::string log) {
  for (size_t at = log.find(" data:"); at != std::string::npos; at = log.find(" data:", at)) {
    const size_t end = log.find(']', at);
    if (end == std::string::npos) break;
    log.erase(at, end - at);
  }
  return log;
}

// Where the shard record of the node missing from most directories is stored: OpenDHT's own
// view of its search for its shard key, the same from one directory that lacks it, and every
// node that stores values under that key with its storage line (OpenDHT's text, by port: the
// search logs name nodes by address). Tells a record put where readers' gets do not end
// (docs/BENCHMARKS.md, session 28: n974) from one the readers' memories skip.
void dump_shard_placement(std::vector<std::unique_ptr<bench::BenchNode>>& nodes, size_t missing,
                          const std::vector<std::pair<size_t, size_t>>& pairs) {
  const auto& id = nodes[missing]->node_id();
  const auto shard = apply::directory_shard_id(*apply::directory_shard(id));
  const auto key = dht::provider_key(shard);
  std::printf("    where n%zu's record in %s is stored (port of n%zu: %u):\n", missing,
              shard.c_str(), missing, unsigned(nodes[missing]->dht().bound_port()));
  std::printf("    -- n%zu's search:\n%s", missing,
              without_value_data(nodes[missing]->dht().search_log(key)).c_str());
  for (const auto& [reader, lacked] : pairs) {
    if (lacked != missing) continue;
    std::printf("    -- the search of n%zu (lacks it), port %u:\n%s", reader,
                unsigned(nodes[reader]->dht().bound_port()),
                without_value_data(nodes[reader]->dht().search_log(key)).c_str());
    break;
  }
  size_t storing = 0;
  for (size_t k = 0; k < nodes.size(); ++k) {
    const std::string log = nodes[k]->dht().storage_log(key);
    if (log.empty() || log.find("empty") != std::string::npos) continue;
    if (++storing > 40) continue;
    std::printf("    -- n%zu (port %u) stores:\n%s", k, unsigned(nodes[k]->dht().bound_port()),
                log.substr(0, 4000).c_str());
  }
  std::printf("    %zu nodes store values under the key\n", storing);
}

// Why a mesh did not settle: which nodes are missing from which directories, and for a few
// of those pairs whether a read of the shard now (from the reader, and from the missing node
// itself) lists the missing node: yes means the reader's schedule (or an earlier partial
// read) left it out, no means its record is not reachable.
void report_missing(std::vector<std::unique_ptr<bench::BenchNode>>& nodes, size_t want) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) index[nodes[i]->node_id()] = i;
  std::map<size_t, size_t> missing_from;         // missing node -> directories lacking it
  std::vector<std::pair<size_t, size_t>> pairs;  // (reader, missing)
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<std::string> seen;
    for (const auto& e : nodes[i]->directory().nodes()) seen.insert(e.node_id);
    if (seen.size() >= want) continue;
    for (size_t j = 0; j < nodes.size(); ++j) {
      if (seen.count(nodes[j]->node_id())) continue;
      ++missing_from[j];
      pairs.emplace_back(i, j);
    }
  }
  std::printf("  not settled: %zu (directory, missing node) pairs, %zu distinct nodes missing\n",
              pairs.size(), missing_from.size());
  // The directories that list fewest, and their DHT: a node with no DHT peers lists only
  // what its joins listen brought.
  std::vector<std::pair<size_t, size_t>> fewest;  // (listed, node)
  for (size_t i = 0; i < nodes.size(); ++i) {
    fewest.emplace_back(nodes[i]->directory().nodes().size(), i);
  }
  std::sort(fewest.begin(), fewest.end());
  for (size_t k = 0; k < fewest.size() && k < 5 && fewest[k].first < want; ++k) {
    const auto i = fewest[k].second;
    const auto st = nodes[i]->providers().stats();
    const auto dst = nodes[i]->directory().stats();
    std::printf(
        "    n%zu lists %zu: DHT nodes %llu, shard reads %llu, DHT reads failed %llu, puts ok "
        "%llu, failed %llu\n",
        i, fewest[k].first, static_cast<unsigned long long>(st.dht_nodes),
        static_cast<unsigned long long>(dst.shard_reads),
        static_cast<unsigned long long>(st.dht_failures),
        static_cast<unsigned long long>(st.puts_ok),
        static_cast<unsigned long long>(st.puts_failed));
  }
  std::vector<std::pair<size_t, size_t>> by_count(missing_from.begin(), missing_from.end());
  std::sort(by_count.begin(), by_count.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  by_count.resize(std::min<size_t>(by_count.size(), 10));
  for (const auto& [j, count] : by_count) {
    const auto st = nodes[j]->providers().stats();
    std::printf(
        "    node n%zu (shard %zu) missing from %zu directories; its puts ok %llu, failed %llu, "
        "DHT nodes %llu\n",
        j, apply::directory_shard(nodes[j]->node_id()).value_or(99), count,
        static_cast<unsigned long long>(st.puts_ok),
        static_cast<unsigned long long>(st.puts_failed),
        static_cast<unsigned long long>(st.dht_nodes));
  }
  auto lists = [](bench::BenchNode& reader, const std::string& id) -> std::string {
    const auto shard = apply::directory_shard_id(*apply::directory_shard(id));
    auto read = reader.providers().discover_once(shard);
    if (!read.ok()) return "read failed (" + read.error().code + ")";
    for (const auto& p : *read) {
      if (p.metadata.node_id == id) return "yes (" + std::to_string(read->size()) + " listed)";
    }
    return "no (" + std::to_string(read->size()) + " listed)";
  };
  if (!by_count.empty()) dump_shard_placement(nodes, by_count.front().first, pairs);
  for (size_t k = 0; k < pairs.size() && k < 5; ++k) {
    const auto [i, j] = pairs[k];
    const auto& id = nodes[j]->node_id();
    const std::string from_reader = lists(*nodes[i], id);
    const std::string from_itself = lists(*nodes[j], id);
    const auto dst = nodes[i]->directory().stats();
    std::printf(
        "    n%zu lacks n%zu: a read now from n%zu lists it: %s; from n%zu: %s; n%zu made %llu "
        "shard reads\n",
        i, j, i, from_reader.c_str(), j, from_itself.c_str(), i,
        static_cast<unsigned long long>(dst.shard_reads));
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  // Before any thread: with glibc's default (8 arenas per core) thousands of threads share
  // 16 heap locks, and a preempted holder makes a convoy of the others (docs/BENCHMARKS.md).
  if (o.malloc_arenas > 0) mallopt(M_ARENA_MAX, o.malloc_arenas);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // every line out at once (a crash loses none)
  spdlog::set_level(spdlog::level::err);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  if (!own_network_namespace()) {
    std::fprintf(stderr,
                 "warning: not alone in a network namespace: traffic figures include other "
                 "traffic on lo (run under unshare -n)\n");
  }
  char pattern[] = "/dev/shm/beemesh-scale-bench-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  const fs::path root = pattern;
  int status = 0;
  {
    // The mesh and its deployer user U, the product's way (`beemesh mesh init`, `mesh user`).
    const fs::path admin = root / "admin";
    if (auto m = app::mesh_admin::init(admin, "scale-bench", system_clock()); !m) {
      fail("mesh init", m.error());
    }
    auto owner = crypto::Identity::generate();
    auto user = app::mesh_admin::issue_user(admin, "bench-owner", crypto::Role::kDeployer,
                                            owner.public_key(), {}, 24h, system_clock());
    if (!user) fail("user", user.error());
    owner.set_credential(*from_hex(*user));
    const std::string owner_hex = to_hex(owner.public_key());

    // Warm libraries with one throw-away node, so RSS per node counts nodes.
    {
      auto warm = dht::OpenDht::start(dht::loopback_config(0x0bee0101));
      (void)owner.sign(as_bytes("warm-up"));
    }
    const long rss_before = proc_status("VmRSS:");
    const long threads_before = proc_status("Threads:");

    std::random_device rd;
    const uint32_t network = 0x300000u + (rd() % 0x7fffff);
    const auto t_start = Steady::now();
    const app::WorkloadSettings workload_defaults;  // the daemon's provider TTL
    const auto record_expiry = std::chrono::seconds(workload_defaults.provider_ttl_seconds);
    auto tweak = [record_expiry](dht::DhtConfig& c) { c.provider_record_expiry = record_expiry; };
    const size_t wave = o.wave_size == 0 ? o.nodes : std::min(o.wave_size, o.nodes);
    auto mesh_r = dht::LoopbackMesh::start(wave, network, tweak, o.receive_nice, o.dht_loops);
    if (!mesh_r.ok()) fail("mesh", mesh_r.error());
    auto& mesh = **mesh_r;
    const double dht_ms = ms_since(t_start);
    net::EventLoop loop(o.loop_threads);
    if (o.rpc_nice != 0) renice_threads("net-loop", o.rpc_nice);
    std::vector<std::unique_ptr<bench::BenchNode>> nodes;
    std::vector<size_t> entry_index;
    const size_t stride = o.nodes / o.entries;
    // The start's cost: process CPU and loopback traffic from the first node's start until
    // the settle (the storm of first passes, joins, gap passes and early re-reads).
    const double cpu_start = cpu_seconds();
    const auto sent_start = loopback_sent();
    double cpu_last = cpu_start;
    auto t_last = t_start;
    auto progress = [&](const char* what, size_t want) {
      size_t listed_all = 0, fewest = nodes.empty() ? 0 : o.nodes;
      uint64_t reads = 0, dropped = 0, kept_missing = 0;
      for (auto& n : nodes) {
        const size_t seen = n->directory().nodes().size();
        fewest = std::min(fewest, seen);
        if (seen >= std::min(want, nodes.size())) ++listed_all;
        const auto dst = n->directory().stats();
        reads += dst.shard_reads;
        dropped += dst.entries_dropped;
        kept_missing += dst.entries_kept_missing;
      }
      const double cpu = cpu_seconds();
      const double dt = std::chrono::duration<double>(Steady::now() - t_last).count();
      const auto sent = loopback_sent();
      double load[3] = {0, 0, 0};
      (void)getloadavg(load, 3);
      std::printf(
          "  %s: %zu started, %zu list all started (fewest %zu) after %.0f s; shard reads %.1f "
          "per node (entries dropped %llu, kept although a read lacked them %llu, in all); process "
          "CPU %.2f cores (last %.0f s); sent %.0f "
          "msg per node so far; load %.1f\n",
          what, nodes.size(), listed_all, fewest, ms_since(t_start) / 1000,
          nodes.empty() ? 0.0 : double(reads) / double(nodes.size()),
          static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(kept_missing),
          dt > 0 ? (cpu - cpu_last) / dt : 0.0, dt,
          double(sent.packets - sent_start.packets) / double(std::max<size_t>(1, nodes.size())),
          load[0]);
      // Census of the DHT layer: what the storing nodes hold, searches open, runner restarts
      // (the watchdog), and the provider managers' failed reads and puts.
      size_t stored = 0, stored_bytes = 0, searches = 0, restarts = 0, good = 0, ops_failed = 0,
             for_puts = 0, held_back = 0, checks = 0, skipped_behind = 0, rebootstraps = 0,
             deferred = 0, announce_pings = 0, announce_reputs = 0;
      uint64_t ticks = 0;
      uint64_t read_failures = 0, puts_failed = 0, rejected = 0, id_reads = 0, fetched = 0,
               unclean = 0;
      for (size_t i = 0; i < nodes.size(); ++i) {
        const auto st = mesh.node(i).stats();
        stored += st.stored_values;
        stored_bytes += st.stored_bytes;
        searches += st.searches;
        restarts += st.runner_restarts;
        ops_failed += st.ops_failed_by_restart;
        for_puts += st.restarts_for_failing_puts;
        held_back += st.restarts_held_back;
        checks += st.watchdog_checks;
        skipped_behind += st.restarts_skipped_behind;
        rebootstraps += st.rebootstraps;
        deferred += st.rebootstraps_deferred;
        announce_pings += st.announce_pings;
        announce_reputs += st.announce_reputs;
        ticks += nodes[i]->directory().stats().ticks;
        good += st.good_nodes;
        const auto ps = nodes[i]->providers().stats();
        read_failures += ps.dht_failures;
        puts_failed += ps.puts_failed;
        rejected += ps.records_rejected;
        id_reads += ps.id_reads;
        fetched += ps.values_fetched;
        unclean += ps.unclean_id_reads;
      }
      const double k = double(std::max<size_t>(1, nodes.size()));
      std::printf(
          "    DHT per node: %.1f values stored (%.0f KB), %.1f searches, %.1f good nodes; runner "
          "restarts %zu (%zu for failing puts; operations they failed %zu; held back by the pacer "
          "%zu; skipped, the loop behind %zu; watchdog checks %.1f per node; re-bootstraps "
          "%.1f per node, %.1f deferred, the loop behind); DHT loop lateness max %.0f ms; "
          "directory ticks %.1f per node; search inserts removed at once %llu; offers refused by "
          "done searches %.0f per node; reads failed "
          "%llu, puts failed %llu, records rejected %llu (all nodes); reads by value ids %.1f, "
          "values fetched by id %.1f, id reads read again %.1f per node; "
          "announcements that skipped nearer nodes: %zu pings, %zu keys put again (all nodes); "
          "datagrams handled at their arrival, 100 ms or more before their turn: %llu (arrival "
          "notes replaced by another packet's live note: %llu; datagrams handled without a note, "
          "at their turn: %llu)\n",
          double(stored) / k, double(stored_bytes) / k / 1000, double(searches) / k,
          double(good) / k, restarts, for_puts, ops_failed, held_back, skipped_behind,
          double(checks) / k, double(rebootstraps) / k, double(deferred) / k,
          double(mesh.take_max_lateness().count()) / 1000, double(ticks) / k,
          static_cast<unsigned long long>(dht::opendht_removed_at_once()),
          double(dht::opendht_done_refusals()) / k, static_cast<unsigned long long>(read_failures),
          static_cast<unsigned long long>(puts_failed), static_cast<unsigned long long>(rejected),
          double(id_reads) / k, double(fetched) / k, double(unclean) / k, announce_pings,
          announce_reputs, static_cast<unsigned long long>(dht::opendht_packets_handled_early()),
          static_cast<unsigned long long>(dht::opendht_arrival_notes_lost()),
          static_cast<unsigned long long>(dht::opendht_packets_handled_unnoted()));
      std::fflush(stdout);
      cpu_last = cpu_seconds();  // the census above counts in the next interval
      t_last = Steady::now();
    };
    // Waves: the clock (--wave-interval) and, with --max-start-cpu, the process's CPU.
    auto wave_due = t_start + o.wave_interval;
    auto wave_at = t_start;
    double wave_cpu = cpu_start;
    auto secs_since = [](Steady::time_point t) {
      return std::chrono::duration<double>(Steady::now() - t).count();
    };
    long waited_s = 0;     // waves held back by --max-start-cpu
    size_t waves_cut = 0;  // waves started when --max-start-hold ran out
    for (size_t i = 0; i < o.nodes; ++i) {
      if (i > 0 && i % wave == 0) {
        progress("waves", o.nodes);
        std::this_thread::sleep_until(std::max(Steady::now(), wave_due));
        wave_due = Steady::now() + o.wave_interval;
        for (long held = 0;
             o.max_start_cpu > 0 &&
             (cpu_seconds() - wave_cpu) / std::max(1e-3, secs_since(wave_at)) > o.max_start_cpu;
             held += 2) {
          if (held >= o.max_start_hold.count()) {
            ++waves_cut;
            break;
          }
          wave_cpu = cpu_seconds();
          wave_at = Steady::now();
          std::this_thread::sleep_for(std::chrono::seconds(2));
          waited_s += 2;
        }
        wave_cpu = cpu_seconds();
        wave_at = Steady::now();
        for (size_t k = i; k < std::min(o.nodes, i + wave); ++k) {
          auto added = mesh.add_node(tweak);
          if (!added.ok()) fail("DHT node", added.error());
        }
      }
      bench::BenchNodeSpec spec;
      spec.name = "n" + std::to_string(i);
      spec.data_dir = root / spec.name;
      spec.admin_dir = admin;
      spec.max_connections_per_address = o.per_address_cap;
      spec.entry = i % stride == 0 && entry_index.size() < o.entries;
      spec.trims_heap = i == 0;
      if (spec.entry) entry_index.push_back(i);
      auto node = bench::BenchNode::start(spec, mesh.node(i), loop);
      if (!node) fail("node " + spec.name, node.error());
      nodes.push_back(std::move(*node));
    }
    const double nodes_ms = ms_since(t_start);
    std::printf(
        "%zu nodes: first wave's DHT nodes up in %.0f ms, all bench nodes up in %.0f ms "
        "(waves of %zu every %lld s; held back %ld s by --max-start-cpu %.2f; %zu waves started "
        "when --max-start-hold %lld s ran out)\n",
        o.nodes, dht_ms, nodes_ms, wave, static_cast<long long>(o.wave_interval.count()), waited_s,
        o.max_start_cpu, waves_cut, static_cast<long long>(o.max_start_hold.count()));
    std::fflush(stdout);

    // 1. Settle: every directory lists min(N, settle_entries) nodes.
    const size_t want = std::min(o.nodes, o.settle_entries);
    size_t settled = 0, min_seen = 0;
    auto last_print = Steady::now();
    while (true) {
      // Each poll copies every directory (N x N entries): at 1,000 nodes a poll costs ~0.1 s
      // of CPU, so the bench waits 20 times the poll's own CPU time (>= 250 ms) between polls
      // to stay under 5 % of a core, and at most 10 s. Not its wall time: on saturated cores
      // a poll at 1,000 nodes took a minute, and the wait that followed outlasted the run.
      const double poll_cpu_started = thread_cpu_seconds();
      settled = 0;
      min_seen = o.nodes;
      for (auto& n : nodes) {
        const size_t seen = n->directory().nodes().size();
        min_seen = std::min(min_seen, seen);
        if (seen >= want) ++settled;
      }
      if (settled == o.nodes || Steady::now() - t_start > o.settle_timeout) break;
      if (Steady::now() - last_print > 10s) {
        progress("settling", want);
        last_print = Steady::now();
      }
      const auto poll_cpu = std::chrono::duration_cast<Steady::duration>(
          std::chrono::duration<double>(thread_cpu_seconds() - poll_cpu_started));
      std::this_thread::sleep_for(std::clamp<Steady::duration>(20 * poll_cpu, 250ms, 10s));
    }
    const double settle_ms = ms_since(t_start);
    std::printf(
        "settle: %zu of %zu nodes list >= %zu nodes after %.1f s (%.1f s after the last node's "
        "start; fewest listed: %zu)\n",
        settled, o.nodes, want, settle_ms / 1000, (settle_ms - nodes_ms) / 1000, min_seen);
    {
      const auto sent = loopback_sent();
      uint64_t reads = 0;
      for (auto& n : nodes) reads += n->directory().stats().shard_reads;
      std::printf(
          "  start to settle: process CPU %.1f s (%.2f cores); sent per node %.0f msg, %.0f KB; "
          "shard reads per node %.1f\n",
          cpu_seconds() - cpu_start, (cpu_seconds() - cpu_start) / (settle_ms / 1000),
          double(sent.packets - sent_start.packets) / double(o.nodes),
          double(sent.bytes - sent_start.bytes) / double(o.nodes) / 1000,
          double(reads) / double(o.nodes));
    }
    progress("settled", want);
    if (settled != o.nodes) {
      status = 3;
      report_missing(nodes, want);
    }
    if (o.hold.count() > 0) {
      // Does the mesh stay settled? A later read can leave entries out (partial answers).
      size_t least = o.nodes;
      const auto hold_until = Steady::now() + o.hold;
      std::atomic<size_t> restarted{0};
      std::jthread storm([&](std::stop_token stop) {
        if (o.restart_storm == 0) return;
        std::mt19937 pick(std::random_device{}());
        const auto every = std::chrono::duration_cast<std::chrono::milliseconds>(o.hold) /
                           static_cast<int64_t>(o.restart_storm);
        for (size_t k = 0; k < o.restart_storm && !stop.stop_requested(); ++k) {
          if (mesh.node(pick() % mesh.size()).restart()) ++restarted;
          std::this_thread::sleep_for(every);
        }
      });
      while (Steady::now() < hold_until) {
        std::this_thread::sleep_for(10s);
        size_t listing = 0;
        for (auto& n : nodes) listing += n->directory().nodes().size() >= want ? 1 : 0;
        least = std::min(least, listing);
        progress("holding", want);
      }
      std::printf(
          "hold: over %lld s after the settle, at least %zu of %zu directories listed >= %zu "
          "at every check (every 10 s)\n",
          static_cast<long long>(o.hold.count()), least, o.nodes, want);
      storm.request_stop();
      storm.join();
      if (o.restart_storm > 0) {
        std::printf("restart storm: %zu of %zu runner restarts done during the hold\n",
                    restarted.load(), o.restart_storm);
      }
    }
    if (o.steady_timeout.count() > 0) {
      // The early re-reads of the start (60-480 s after each node's first pass, longer while
      // they keep finding members) are not rest: wait until no shard is before its steady
      // period.
      const auto waited_from = Steady::now();
      const auto until = waited_from + o.steady_timeout;
      size_t before = 0;
      for (;;) {
        before = 0;
        for (auto& n : nodes) before += n->directory().stats().shards_before_steady;
        if (before == 0 || Steady::now() >= until) break;
        std::this_thread::sleep_for(10s);
        progress("steadying", want);
      }
      std::printf("steady: %zu shards (of %zu) before their steady period after %.0f s more\n",
                  before, o.nodes * apply::kDirectoryShards, ms_since(waited_from) / 1000);
    }
    const long rss_after = proc_status("VmRSS:");
    const long threads = proc_status("Threads:");
    std::printf(
        "memory: RSS %ld -> %ld KiB = %.0f KiB per node; threads %ld (%.2f per node); open "
        "descriptors %ld\n",
        rss_before, rss_after, double(rss_after - rss_before) / double(o.nodes), threads,
        double(threads - threads_before) / double(o.nodes), open_fds());
    if (o.settled_nice) renice_threads("", *o.settled_nice);
    if (o.settled_background_nice) {
      for (const char* name : kBackgroundThreads) renice_threads(name, *o.settled_background_nice);
    }
    std::fflush(stdout);

    // 2. At rest, after --warmup (the tail of the start's announcements). Discovery cache
    //    misses (each one a DHT get) are counted over the window too.
    std::this_thread::sleep_for(o.warmup);
    auto discovery_counts = [&nodes] {
      std::pair<uint64_t, uint64_t> hm{0, 0};
      for (auto& n : nodes) {
        const auto st = n->providers().stats();
        hm.first += st.cache_hits;
        hm.second += st.cache_misses;
      }
      return hm;
    };
    auto shard_reads = [&nodes] {
      uint64_t n = 0;
      for (auto& node : nodes) n += node->directory().stats().shard_reads;
      return n;
    };
    {
      const auto before = discovery_counts();
      const auto reads_before = shard_reads();
      Meter m;
      std::this_thread::sleep_for(o.window);
      const auto rest = m.print("rest", o.nodes);
      const auto after = discovery_counts();
      const double per = double(o.window.count()) * double(o.nodes);
      const double window_reads = double(shard_reads() - reads_before) / per;
      std::printf(
          "  discovery per node per second at rest: %.3f cache hits, %.3f misses (DHT gets); "
          "directory shard reads %.3f\n",
          double(after.first - before.first) / per, double(after.second - before.second) / per,
          window_reads);

      // 2b. The directory's shard re-reads (apply/directory.h): each node reads its 64 shards
      //     once per steady period (kShardRefresh, whatever the size of the mesh), spread at
      //     random, after early re-reads in its first
      //     minutes (60, 120, 240, 480 s), so a window this soon after the settle holds early
      //     re-reads and none of the steady ones. The steady state is the rest window without
      //     its shard reads (their count x the paced cost per read) plus 64 paced reads per
      //     node per steady period.
      // Paced reads first: one shard read at a time (as at rest), by up to 16 nodes spread
      // over the mesh, each over its 64 shards; their cost per read (mesh-wide datagrams and
      // bytes per read, minus the rest rate over the time) is what a re-read costs at rest.
      // The concurrent pass below costs more per read (up to N x 64 reads in flight).
      // Each sampler reads its shards twice: first as a node's first pass (a get each, through
      // a fresh ReadMemory), then again through the memories of that pass, as a directory
      // re-reads at rest (value ids first, records only for ids not read before). The second
      // figure is the cost of a re-read at rest.
      const size_t samplers = std::min<size_t>(o.paced_samplers, o.nodes);
      const double n = double(o.nodes);
      std::vector<provider::ReadMemory> memories(samplers * apply::kDirectoryShards);
      struct Paced {
        size_t reads = 0, failed = 0;
        double seconds = 0, msgs = 0, bytes = 0;
      };
      auto paced_pass = [&](const char* what) {
        Paced p;
        const auto s0 = loopback_sent();
        const auto t0 = Steady::now();
        for (size_t k = 0; k < samplers; ++k) {
          auto& node = *nodes[k * (o.nodes / samplers)];
          for (size_t sh = 0; sh < apply::kDirectoryShards; ++sh) {
            ++p.reads;
            auto& memory = memories[k * apply::kDirectoryShards + sh];
            if (!node.providers().discover_once(apply::directory_shard_id(sh), memory).ok()) {
              ++p.failed;
            }
          }
        }
        const auto s1 = loopback_sent();
        p.seconds = std::chrono::duration<double>(Steady::now() - t0).count();
        p.msgs = (double(s1.packets - s0.packets) - rest.first * n * p.seconds) / double(p.reads);
        p.bytes = (double(s1.bytes - s0.bytes) - rest.second * n * p.seconds) / double(p.reads);
        std::printf(
            "paced shard reads, %s: %zu (%zu failed) in %.1f s: %.1f msg, %.0f B per read "
            "(mesh-wide)\n",
            what, p.reads, p.failed, p.seconds, p.msgs, p.bytes);
        return p;
      };
      (void)paced_pass("first (a get each)");
      const Paced reread = paced_pass("again (value ids first, as at rest)");
      const double read_msgs = reread.msgs;
      const double read_bytes = reread.bytes;

      const auto c0 = loopback_sent();
      const auto p0 = Steady::now();
      if (o.pass) {
        std::atomic<size_t> next{0};
        std::vector<std::jthread> pool;
        for (int t = 0; t < 8; ++t) {
          pool.emplace_back([&] {
            for (size_t i = next++; i < nodes.size(); i = next++) nodes[i]->directory().refresh();
          });
        }
      }
      const auto c1 = loopback_sent();
      const double pass_s = std::chrono::duration<double>(Steady::now() - p0).count();
      const double pass_msgs = double(c1.packets - c0.packets) / n - rest.first * pass_s;
      const double pass_bytes = double(c1.bytes - c0.bytes) / n - rest.second * pass_s;
      const double reads = double(apply::kDirectoryShards);
      double inverse = 0, entries = 0, shortest = 1e18, longest = 0;
      for (auto& node : nodes) {
        const auto st = node->directory().stats();
        const double period = std::chrono::duration<double>(apply::kShardRefresh).count();
        inverse += 1.0 / period;
        entries += st.entries_per_shard;
        shortest = std::min(shortest, period);
        longest = std::max(longest, period);
      }
      inverse /= n;
      entries /= n;
      // Per node: reads per second x (mesh-wide) cost per read.
      const double base_msgs = std::max(0.0, rest.first - window_reads * read_msgs);
      const double base_bytes = std::max(0.0, rest.second - window_reads * read_bytes);
      const double reread_msgs = reads * read_msgs * inverse;
      const double reread_bytes = reads * read_bytes * inverse;
      std::printf(
          "directory pass (%zu shard reads per node, all nodes at once) %.1f s: %.0f msg, %.0f B "
          "per node (%.1f msg, %.0f B per read)\n"
          "  steady re-read period: 1 / mean(1 / period) %.0f s (shortest %.0f s, longest %.0f s); "
          "entries per shard (estimate) %.2f\n"
          "  steady re-reads: 64 paced reads per period: %.2f msg/s, %.0f B/s per node\n"
          "rest at steady state: %.2f msg/s, %.0f B/s per node (the window without its %.3f shard "
          "reads/s at the paced re-read cost: %.2f msg/s, %.0f B/s; plus the steady re-reads)\n",
          apply::kDirectoryShards, pass_s, pass_msgs, pass_bytes, pass_msgs / reads,
          pass_bytes / reads, 1.0 / inverse, shortest, longest, entries, reread_msgs, reread_bytes,
          base_msgs + reread_msgs, base_bytes + reread_bytes, window_reads, base_msgs, base_bytes);
      std::fflush(stdout);
    }

    // 3. Applies (3 replicas each) through the entry nodes, round robin: first
    // --sequential ones one at a time (an apply's latency with nothing else in flight), then
    // --rate applies/s for --window s, open loop (the traffic and latency under load).
    std::mutex mutex;
    std::condition_variable done_cv;
    std::atomic<size_t> outstanding{0};
    auto send_apply = [&](size_t i, const std::string& name, std::vector<ApplyResult>& results) {
      auto& entry = *nodes[entry_index[i % entry_index.size()]];
      const std::string yaml = pod_yaml(name);
      auto parsed = manifest::parse(yaml);
      if (!parsed) fail("manifest", parsed.error());
      auto mid = manifest::manifest_id(owner_hex, *parsed);
      if (!mid) fail("manifest id", mid.error());
      auto auth = cli::apply_auth(owner, *mid, to_hex(entry.identity().public_key()),
                                  system_clock(), crypto::apply_content_hash(yaml, {}, 0, 0, 3));
      if (!auth) fail("grant", auth.error());
      apply::PublishRequest req{
          yaml, "request", 3, "", auth->owner_public_key_hex, auth->token_hex, owner.credential(),
          {},   ""};
      ++outstanding;
      const auto started = Steady::now();
      asio::co_spawn(
          loop.executor(),
          [&mutex, &done_cv, &outstanding, &results, pub = entry.publisher(), req = std::move(req),
           started, id = *mid]() mutable -> asio::awaitable<void> {
            ApplyResult r;
            r.manifest_id = id;
            try {
              auto out = co_await pub->apply(std::move(req), [&r, started](std::string_view s) {
                r.steps.emplace_back(std::string(s.substr(0, s.find(' '))), ms_since(started));
              });
              r.ok = out.ok();
              if (out) {
                r.placed = out->replicas_placed;
                for (const auto& p : out->placements) {
                  if (p.ok) {
                    r.nodes.push_back(p.node_id);
                  } else {
                    r.refusals.push_back(p.code);
                  }
                }
              } else {
                r.error = out.error().code;
              }
            } catch (const std::exception& e) {
              r.error = std::string("exception: ") + e.what();
            }
            r.ms = ms_since(started);
            std::lock_guard lock(mutex);
            results.push_back(std::move(r));
            --outstanding;
            done_cv.notify_all();
          },
          asio::detached);
    };
    auto wait_answers = [&] {
      std::unique_lock lock(mutex);
      done_cv.wait_for(lock, 180s, [&] { return outstanding.load() == 0; });
    };
    // New node-to-node connections (each a TLS handshake on the RPC loops) per apply.
    auto accepted = [&nodes] {
      uint64_t n = 0;
      for (auto& node : nodes) n += node->connections_accepted();
      return n;
    };
    const uint64_t accepted_before_sequential = accepted();
    std::vector<ApplyResult> sequential;
    for (size_t i = 0; i < o.sequential; ++i) {
      send_apply(i, "one-" + std::to_string(i), sequential);
      wait_answers();
    }
    if (!sequential.empty()) {
      std::vector<double> ms;
      size_t placed3 = 0;
      for (const auto& r : sequential) {
        ms.push_back(r.ms);
        if (r.placed == 3) ++placed3;
      }
      std::printf(
          "apply one at a time (3 replicas): %zu sent, %zu placed 3; p50 %.1f ms, p99 %.1f ms, "
          "max %.1f ms; %.1f connections accepted per apply\n",
          sequential.size(), placed3, percentile(ms, 0.5), percentile(ms, 0.99),
          percentile(ms, 1.0),
          double(accepted() - accepted_before_sequential) / double(sequential.size()));
      print_apply_steps(sequential);
      std::fflush(stdout);
      if (placed3 != sequential.size()) status = 3;
    }
    std::vector<ApplyResult> results;
    const size_t total = static_cast<size_t>(o.rate * static_cast<double>(o.window.count()));
    const uint64_t accepted_before_load = accepted();
    {
      Meter m;
      const auto t0 = Steady::now();
      for (size_t i = 0; i < total; ++i) {
        std::this_thread::sleep_until(
            t0 + std::chrono::microseconds(static_cast<int64_t>(double(i) * 1e6 / o.rate)));
        send_apply(i, "scale-" + std::to_string(i), results);
      }
      // The window ends with the last send; answers still in flight are waited for below.
      std::this_thread::sleep_until(t0 + o.window);
      m.print("load", o.nodes);
    }
    wait_answers();
    std::vector<double> ms;
    std::map<std::string, int> errors, refusals;
    std::set<std::string> placed_on;
    std::map<std::string, std::set<std::string>> placed_by_manifest;
    std::map<int, int> placed_hist;
    std::vector<std::string> applied;  // manifests with 3 replicas, in order
    {
      std::lock_guard lock(mutex);
      for (const auto& r : results) {
        ms.push_back(r.ms);
        if (!r.ok) ++errors[r.error];
        for (const auto& c : r.refusals) ++refusals[c];
        ++placed_hist[r.placed];
        placed_on.insert(r.nodes.begin(), r.nodes.end());
        if (r.placed == 3) {
          applied.push_back(r.manifest_id);
          placed_by_manifest[r.manifest_id].insert(r.nodes.begin(), r.nodes.end());
        }
      }
    }
    std::printf(
        "apply (3 replicas): %zu sent at %.1f/s, %zu answered; p50 %.1f ms, p99 %.1f ms, "
        "max %.1f ms\n",
        total, o.rate, ms.size(), percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0));
    std::printf("  replicas placed per apply:");
    for (const auto& [k, v] : placed_hist) std::printf(" %d:%d", k, v);
    std::printf("; errors:");
    for (const auto& [k, v] : errors) std::printf(" %s=%d", k.c_str(), v);
    std::printf("; placements refused:");
    for (const auto& [k, v] : refusals) std::printf(" %s=%d", k.c_str(), v);
    std::printf("\n  distinct nodes placed on: %zu of %zu; %.1f connections accepted per apply\n",
                placed_on.size(), o.nodes,
                double(accepted() - accepted_before_load) / double(std::max<size_t>(total, 1)));
    print_apply_steps(results);
    if (applied.size() != total || outstanding.load() != 0) status = 3;

    // 4. Cold discovery of each of 10 manifests from --discoverers nodes that never saw it
    // (neither an entry node nor one it was placed on; each node asks for a manifest once).
    std::set<size_t> entries_set(entry_index.begin(), entry_index.end());
    std::mt19937 rng(rd());
    std::vector<double> cold;
    size_t incomplete = 0;
    Meter discovering;  // traffic and threads while it runs (the mesh after the load)
    const size_t manifests = std::min<size_t>(applied.size(), 10);
    for (size_t m = 0; m < manifests; ++m) {
      const auto& running = placed_by_manifest[applied[m]];
      std::vector<size_t> candidates;
      for (size_t i = 0; i < o.nodes; ++i) {
        if (!entries_set.count(i) && !running.count(nodes[i]->node_id())) candidates.push_back(i);
      }
      std::shuffle(candidates.begin(), candidates.end(), rng);
      candidates.resize(std::min(candidates.size(), o.discoverers));
      for (size_t d : candidates) {
        const auto t = Steady::now();
        auto found = nodes[d]->providers().discover(applied[m]);
        cold.push_back(ms_since(t));
        if (found.size() != 3) ++incomplete;
      }
    }
    std::printf(
        "cold discovery: n=%zu p50 %.2f ms, p99 %.2f ms, max %.2f ms; with != 3 providers: "
        "%zu\n",
        cold.size(), percentile(cold, 0.5), percentile(cold, 0.99), percentile(cold, 1.0),
        incomplete);
    std::fflush(stdout);
    if (!cold.empty()) discovering.print("discovery", o.nodes);  // else a window of ~0 s

    for (auto& n : nodes) n->stop_io();
    loop.stop();
    // A node's directory refresher may be inside a DHT discovery (up to the discovery
    // timeout) when it is stopped, so nodes are destroyed 64 at a time: one after the other,
    // 1,000 saturated nodes took over 10 minutes to shut down.
    {
      std::atomic<size_t> next{0};
      std::vector<std::jthread> stoppers;
      for (int t = 0; t < 64; ++t) {
        stoppers.emplace_back([&] {
          for (size_t i = next++; i < nodes.size(); i = next++) nodes[i].reset();
        });
      }
    }
    nodes.clear();
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  return status;
}
