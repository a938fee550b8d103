// e2e_bench: end-to-end numbers with real `beemesh machine` processes and real Podman
// (docs/notes/bench-e2e.md). Needs root, CONTAINERS_CONF, localhost/busybox:latest and
// BEEMESH_BINARY (or --binary).
//
//   e2e_bench podman-apply [--runs N] [--nodes M] [--binary PATH]
//     apply -> running on Podman through an M-node mesh (POST /apply of a one-replica web
//     Deployment until the API answers with the workload Running, and until its published
//     port serves the page) against a bare `podman kube play` of the same pod (rewritten
//     with a fixed hostPort) until it returns, and until the page is served. Both are
//     measured in the same run, alternating, each with a fresh name; medians over N runs.
//     The report ends with one line `ratio X.XX`: median apply -> Running over median bare
//     kube play (goal: <= 1.00).
//   e2e_bench idle [--nodes M] [--settle S] [--window S] [--web] [--binary PATH]
//     VmRSS of each daemon after S seconds of settling (with its anonymous/file-backed split
//     and Pss), and the CPU it used (utime+stime from /proc/PID/stat, children such as the
//     podman calls of the health monitor separately, and children still running such as the
//     podman engine's own `podman system service`, with their RSS) over the next window
//     seconds with no requests. --web first runs one replica of the web workload on every node.
//
// Every mesh is an admitted mesh (e2e::Mesh: `beemesh mesh init`, a join token, the deployer
// user). The benchmark is that deployer: it owns the manifests, signs every REST call
// (cli::request_signer, as the CLI does) and binds its apply grants to the content
// (cli::apply_auth, as `beemesh apply` does).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/client.h"
#include "cli/credential.h"
#include "cli/owner_auth.h"
#include "crypto/grants.h"
#include "e2e/mesh.h"
#include "manifest/manifest.h"

namespace {

using namespace beemesh;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// examples/web.yaml's container, as a Deployment (beemesh) or a bare Pod with a hostPort.
const char* kWebContainer = R"(      containers:
        - name: web
          image: localhost/busybox:latest
          command: ["sh", "-c"]
          args:
            - |
              mkdir -p /www
              echo "hello from beemesh" > /www/index.html
              exec httpd -f -v -p 8080 -h /www
          ports:
            - containerPort: 8080
          resources:
            limits:
              memory: 64Mi
              cpu: 250m
)";

std::string deployment_yaml(const std::string& name) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name +
         "\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: " + name +
         "\n  template:\n    metadata:\n      labels:\n        app: " + name + "\n    spec:\n" +
         kWebContainer;
}

std::string bare_pod_yaml(const std::string& name, uint16_t host_port) {
  // kWebContainer at pod-spec depth (two levels less than in a Deployment template), with
  // the port published on a fixed 127.0.0.1 host port, as beemesh publishes it.
  std::string out;
  std::istringstream in(kWebContainer);
  for (std::string line; std::getline(in, line);) {
    out += line.substr(std::min<size_t>(4, line.size())) + "\n";
    if (line.find("containerPort: 8080") != std::string::npos) {
      out += "          hostPort: " + std::to_string(host_port) + "\n          hostIP: 127.0.0.1\n";
    }
  }
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\n  labels:\n    app: bench\nspec:\n  restartPolicy: Always\n" + out;
}

bool serves(uint16_t port) {
  auto page = e2e::http_get(port, "/", 1s);
  return page && page->find("hello from beemesh") != std::string::npos;
}

// Polls the page every 2 ms; false after 20 s.
bool wait_serving(uint16_t port) {
  auto deadline = SteadyClock::now() + 20s;
  while (SteadyClock::now() < deadline) {
    if (serves(port)) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

// The mesh's deployer user: its key with its credential, and API clients signing as it.
struct Deployer {
  crypto::Identity identity;
  std::string credential_hex;

  static Result<Deployer> of(e2e::Mesh& mesh) {
    auto identity = mesh.identity_of(mesh.deployer());
    if (!identity) return identity.error();
    return Deployer{std::move(*identity), mesh.deployer().credential_hex};
  }
  std::string public_key_hex() const { return to_hex(identity.public_key()); }
  // A client of `node` whose every call carries this user's credential and auth token.
  std::unique_ptr<api::ApiClient> client(e2e::MeshNode& node) const {
    auto c = std::make_unique<api::ApiClient>(node.api_url());
    c->set_signer(
        cli::request_signer(identity, credential_hex, node.public_key_hex, system_clock()));
    return c;
  }
  // What `beemesh apply` sends through `node`: an apply grant naming it, bound to the
  // manifest and its replica count.
  Result<api::OwnerAuth> apply_auth(const e2e::MeshNode& node, const std::string& yaml,
                                    const std::string& manifest_id, int replicas) const {
    return cli::apply_auth(identity, manifest_id, node.public_key_hex, system_clock(),
                           crypto::apply_content_hash(yaml, {}, 0, 0, replicas));
  }
};

struct Args {
  std::string command;
  int runs = 10;
  int nodes = 3;
  int settle_s = 15;
  int window_s = 60;
  std::string binary;
  bool with_web = false;
};

int podman_apply(const Args& a) {
  if (auto ready = e2e::check_podman_ready(); !ready) {
    std::fprintf(stderr, "%s\n", ready.error().to_string().c_str());
    return 1;
  }
  e2e::MeshOptions mo;
  mo.nodes = a.nodes;
  mo.binary = a.binary;
  mo.health_check_interval_seconds = 10;
  mo.log_level = "warn";
  auto mesh = e2e::Mesh::start(mo);
  if (!mesh) {
    std::fprintf(stderr, "%s\n", mesh.error().to_string().c_str());
    return 1;
  }
  auto& m = **mesh;
  std::printf("%d-node mesh up; %d runs, alternating beemesh apply / bare kube play\n", a.nodes,
              a.runs);
  auto deployer = Deployer::of(m);
  if (!deployer) {
    std::fprintf(stderr, "deployer: %s\n", deployer.error().to_string().c_str());
    return 1;
  }
  auto api = deployer->client(m.node(0));
  auto& client = *api;
  const std::string owner_hex = deployer->public_key_hex();
  std::vector<double> apply_ms, apply_serve_ms, play_ms, play_serve_ms;
  std::printf("%4s %14s %16s %14s %16s\n", "run", "apply->Running", "apply->serving", "kube play",
              "play->serving");
  for (int run = 0; run < a.runs; ++run) {
    // --- beemesh: POST /apply through node 0 ---
    std::string name = "bench-web-" + std::to_string(run);
    auto yaml = deployment_yaml(name);
    auto parsed = manifest::parse(yaml);
    auto mid = manifest::manifest_id(owner_hex, *parsed);
    m.track_manifest(*mid);
    auto auth = deployer->apply_auth(m.node(0), yaml, *mid, 1);
    if (!auth) {
      std::fprintf(stderr, "apply grant: %s\n", auth.error().to_string().c_str());
      return 1;
    }
    api::ApplyOptions options;
    options.replicas = 1;
    auto t0 = SteadyClock::now();
    auto outcome = client.apply(yaml, options, *auth);
    double t_apply = ms_since(t0);
    if (!outcome || outcome->replicas_placed != 1) {
      std::fprintf(stderr, "apply failed: %s\n",
                   outcome ? "not placed" : outcome.error().to_string().c_str());
      return 1;
    }
    auto view = client.workload(outcome->placements.front().workload_id);
    if (!view || view->info.ports.empty()) {
      std::fprintf(stderr, "workload has no published port\n");
      return 1;
    }
    auto port = static_cast<uint16_t>(view->info.ports.front().host_port);
    if (!wait_serving(port)) {
      std::fprintf(stderr, "beemesh workload never served on %u\n", port);
      return 1;
    }
    double t_apply_serve = ms_since(t0);
    (void)client.delete_manifest(*mid, cli::delete_auth(deployer->identity, *mid, system_clock()));

    // --- bare podman kube play of the same pod ---
    auto free = e2e::free_tcp_port();
    std::string file = m.work_dir() / ("bare-" + std::to_string(run) + ".yaml");
    std::ofstream(file) << bare_pod_yaml("bare-web-" + std::to_string(run), *free);
    auto t1 = SteadyClock::now();
    auto played = e2e::podman({"kube", "play", "--replace", "--quiet", file});
    double t_play = ms_since(t1);
    if (!played || !played->success()) {
      std::fprintf(stderr, "kube play failed: %s\n",
                   played ? played->err.c_str() : played.error().to_string().c_str());
      return 1;
    }
    if (!wait_serving(*free)) {
      std::fprintf(stderr, "bare pod never served on %u\n", *free);
      return 1;
    }
    double t_play_serve = ms_since(t1);
    (void)e2e::podman({"kube", "play", "--down", file});

    apply_ms.push_back(t_apply);
    apply_serve_ms.push_back(t_apply_serve);
    play_ms.push_back(t_play);
    play_serve_ms.push_back(t_play_serve);
    std::printf("%4d %11.0f ms %13.0f ms %11.0f ms %13.0f ms\n", run + 1, t_apply, t_apply_serve,
                t_play, t_play_serve);
  }
  double a_run = median(apply_ms), a_srv = median(apply_serve_ms);
  double p_run = median(play_ms), p_srv = median(play_serve_ms);
  std::printf("median %9.0f ms %13.0f ms %11.0f ms %13.0f ms\n", a_run, a_srv, p_run, p_srv);
  std::printf(
      "overhead of beemesh: until Running %+.0f ms (%+.1f %%), until serving %+.0f ms "
      "(%+.1f %%) [target <= 10 %%]\n",
      a_run - p_run, 100 * (a_run - p_run) / p_run, a_srv - p_srv, 100 * (a_srv - p_srv) / p_srv);
  // The last line: median apply -> Running over median bare kube play (goal <= 1.00).
  std::printf("ratio %.2f\n", p_run > 0 ? a_run / p_run : 0.0);
  return 0;
}

struct ProcSample {
  long rss_kb = 0;
  long rss_anon_kb = 0;  // heap, stacks: this daemon's own memory
  long rss_file_kb = 0;  // mapped files: mostly shared library code, shared between processes
  long pss_kb = 0;       // proportional share (shared pages divided among their users)
  int threads = 0;
  long long ticks = 0;        // utime + stime
  long long child_ticks = 0;  // cutime + cstime (podman and other children it waited for)
  // Children still running (the podman engine's own `podman system service`): their
  // utime + stime and VmRSS, which cutime/cstime do not count until they exit.
  long long live_child_ticks = 0;
  long live_child_rss_kb = 0;
};

// utime + stime (fields 14, 15) and ppid (field 4) of /proc/PID/stat; false when it is gone.
bool stat_of(const std::string& pid, long long& ticks, long& ppid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return false;
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;) f.push_back(x);
  if (f.size() < 13) return false;
  ppid = std::stol(f[1]);
  ticks = std::stoll(f[11]) + std::stoll(f[12]);
  return true;
}

long rss_kb_of(const std::string& pid) {
  std::ifstream status("/proc/" + pid + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

ProcSample sample(pid_t pid) {
  ProcSample s;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stol(line.substr(6));
    if (line.rfind("RssAnon:", 0) == 0) s.rss_anon_kb = std::stol(line.substr(8));
    if (line.rfind("RssFile:", 0) == 0) s.rss_file_kb = std::stol(line.substr(8));
    if (line.rfind("Threads:", 0) == 0) s.threads = std::stoi(line.substr(8));
  }
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  for (std::string line; std::getline(rollup, line);) {
    if (line.rfind("Pss:", 0) == 0) s.pss_kb = std::stol(line.substr(4));
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the ")" of the command name: state is field 3; utime 14, stime 15,
  // cutime 16, cstime 17.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;) f.push_back(x);
  if (f.size() > 14) {
    s.ticks = std::stoll(f[11]) + std::stoll(f[12]);
    s.child_ticks = std::stoll(f[13]) + std::stoll(f[14]);
  }
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    long long ticks = 0;
    long ppid = 0;
    if (!stat_of(name, ticks, ppid) || ppid != pid) continue;
    s.live_child_ticks += ticks;
    s.live_child_rss_kb += rss_kb_of(name);
  }
  return s;
}

int idle(const Args& a) {
  e2e::MeshOptions mo;
  mo.nodes = a.nodes;
  mo.binary = a.binary;
  mo.health_check_interval_seconds = 10;  // the default
  mo.log_level = "info";
  auto mesh = e2e::Mesh::start(mo);
  if (!mesh) {
    std::fprintf(stderr, "%s\n", mesh.error().to_string().c_str());
    return 1;
  }
  auto& m = **mesh;
  if (a.with_web) {
    // One web replica per node: the health monitor then lists Podman every 10 s.
    auto deployer = Deployer::of(m);
    if (!deployer) {
      std::fprintf(stderr, "deployer: %s\n", deployer.error().to_string().c_str());
      return 1;
    }
    auto yaml = deployment_yaml("idle-web");
    auto mid = manifest::manifest_id(deployer->public_key_hex(), *manifest::parse(yaml));
    m.track_manifest(*mid);
    auto auth = deployer->apply_auth(m.node(0), yaml, *mid, a.nodes);
    api::ApplyOptions options;
    options.replicas = a.nodes;
    auto client = deployer->client(m.node(0));
    auto outcome =
        auth ? client->apply(yaml, options, *auth) : Result<api::ApplyOutcome>(auth.error());
    if (!outcome || outcome->replicas_placed != a.nodes) {
      std::fprintf(stderr, "apply of the web workload failed: %s\n",
                   outcome ? "not every replica placed" : outcome.error().to_string().c_str());
      return 1;
    }
  }
  std::printf("%d-node mesh up (podman engine, %s); settling %d s\n", a.nodes,
              a.with_web ? "one web replica per node" : "no workloads", a.settle_s);
  std::this_thread::sleep_for(std::chrono::seconds(a.settle_s));
  std::vector<ProcSample> start;
  for (int i = 0; i < m.size(); ++i) start.push_back(sample(m.node(i).process->pid()));
  auto t0 = SteadyClock::now();
  std::this_thread::sleep_for(std::chrono::seconds(a.window_s));
  double seconds = ms_since(t0) / 1000;
  double hz = double(sysconf(_SC_CLK_TCK));
  std::printf("%-5s %9s %9s %9s %9s %9s %8s %18s %18s %18s %12s\n", "node", "VmRSS", "RssAnon",
              "RssFile", "Pss", "RSS end", "threads", "CPU (own)", "CPU (children)",
              "CPU (live child)", "child RSS");
  for (int i = 0; i < m.size(); ++i) {
    auto end = sample(m.node(i).process->pid());
    double own = double(end.ticks - start[size_t(i)].ticks) / hz;
    double kids = double(end.child_ticks - start[size_t(i)].child_ticks) / hz;
    double live = double(end.live_child_ticks - start[size_t(i)].live_child_ticks) / hz;
    const auto& s0 = start[size_t(i)];
    std::printf(
        "%-5s %6.1f MB %6.1f MB %6.1f MB %6.1f MB %6.1f MB %8d %7.3f %% (%.2f s) %7.3f %% (%.2f "
        "s) %7.3f %% (%.2f s) %9.1f MB\n",
        m.node(i).name.c_str(), s0.rss_kb / 1024.0, s0.rss_anon_kb / 1024.0,
        s0.rss_file_kb / 1024.0, s0.pss_kb / 1024.0, end.rss_kb / 1024.0, s0.threads,
        100 * own / seconds, own, 100 * kids / seconds, kids, 100 * live / seconds, live,
        end.live_child_rss_kb / 1024.0);
  }
  std::printf("window %.1f s; targets: RSS <= 15 MB, CPU <= 0.1 %% of a core\n", seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s podman-apply [--runs N] [--nodes M] [--binary PATH]\n"
                 "       %s idle [--nodes M] [--settle S] [--window S] [--web] [--binary PATH]\n",
                 argv[0], argv[0]);
    return 2;
  }
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--web") {
      a.with_web = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", k.c_str());
      return 2;
    }
    std::string v = argv[++i];
    if (k == "--runs") {
      a.runs = std::stoi(v);
    } else if (k == "--nodes") {
      a.nodes = std::stoi(v);
    } else if (k == "--settle") {
      a.settle_s = std::stoi(v);
    } else if (k == "--window") {
      a.window_s = std::stoi(v);
    } else if (k == "--binary") {
      a.binary = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.command == "podman-apply") return podman_apply(a);
  if (a.command == "idle") return idle(a);
  std::fprintf(stderr, "unknown command %s (podman-apply | idle)\n", a.command.c_str());
  return 2;
}
