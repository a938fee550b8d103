// bench/support/thread_stats.h — CPU and runqueue wait of the benchmark's own threads, by
// thread name, over a window (header-only; read from /proc/self/task/*/schedstat).
//
// An in-process mesh runs thousands of threads (7 per node at 1,000 nodes); which kind of
// thread took the cores, and how long each waited for one, says whether a latency measures
// the protocol or the co-location. Names are grouped without their trailing digits
// ("worker3" and "worker12" count as "worker").
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace beemesh::bench {

// One thread's counters at one instant (/proc/self/task/TID/schedstat: ns on a core, ns
// waiting on a runqueue, slices run).
struct ThreadSample {
  std::string name;
  uint64_t run_ns = 0;
  uint64_t wait_ns = 0;
  uint64_t slices = 0;
};

// Calls visit(tid, name, task_dir) for every thread of the process (name as /proc gives it:
// at most 15 characters). Threads that end while being read are left out.
template <typename Visit>
void for_each_thread(Visit visit) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    if (!std::getline(comm, name)) continue;
    visit(std::stol(entry.path().filename().string()), name, entry.path());
  }
}

// Every thread of the process now, by thread id.
inline std::map<long, ThreadSample> thread_samples() {
  std::map<long, ThreadSample> out;
  for_each_thread([&](long tid, const std::string& name, const std::filesystem::path& dir) {
    ThreadSample s{name};
    std::ifstream sched(dir / "schedstat");
    if (!(sched >> s.run_ns >> s.wait_ns >> s.slices)) return;
    while (!s.name.empty() && s.name.back() >= '0' && s.name.back() <= '9') s.name.pop_back();
    out.emplace(tid, std::move(s));
  });
  return out;
}

struct ThreadGroupUse {
  std::string name;
  size_t threads = 0;
  double cpu_ms_per_s = 0;       // CPU of the group's threads, ms per second of the window
  double wait_us_per_slice = 0;  // their wait on a runqueue per slice run
};

// What the threads alive at both samples used between them, by name, most CPU first.
inline std::vector<ThreadGroupUse> thread_use(const std::map<long, ThreadSample>& before,
                                              const std::map<long, ThreadSample>& after,
                                              double seconds) {
  struct Sum {
    size_t threads = 0;
    uint64_t run = 0, wait = 0, slices = 0;
  };
  std::map<std::string, Sum> sums;
  for (const auto& [tid, b] : after) {
    auto a = before.find(tid);
    if (a == before.end() || a->second.name != b.name) continue;
    auto& s = sums[b.name];
    ++s.threads;
    s.run += b.run_ns - a->second.run_ns;
    s.wait += b.wait_ns - a->second.wait_ns;
    s.slices += b.slices - a->second.slices;
  }
  std::vector<ThreadGroupUse> out;
  for (const auto& [name, s] : sums) {
    out.push_back({name, s.threads, double(s.run) / 1e6 / seconds,
                   s.slices ? double(s.wait) / 1e3 / double(s.slices) : 0.0});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& x, const auto& y) { return x.cpu_ms_per_s > y.cpu_ms_per_s; });
  return out;
}

// One line, the groups that used at least 1 ms/s: "  threads (CPU ms/s, runqueue wait per
// slice): net-loop x2 293.6 (343 us), dht-epoll x2 147.2 (169 us), ..." (x2: two threads).
inline void print_thread_use(const std::vector<ThreadGroupUse>& use) {
  std::printf("  threads (CPU ms/s, runqueue wait per slice):");
  const char* sep = " ";
  for (const auto& g : use) {
    if (g.cpu_ms_per_s < 1.0) continue;
    std::printf("%s%s x%zu %.1f (%.0f us)", sep, g.name.c_str(), g.threads, g.cpu_ms_per_s,
                g.wait_us_per_slice);
    sep = ", ";
  }
  std::printf("%s\n", *sep == ' ' ? " none used 1 ms/s" : "");
}

}  // namespace beemesh::bench
