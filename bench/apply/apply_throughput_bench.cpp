// apply_throughput_bench: applies per second on a 3-node loopback mesh with the Mock engine,
// in one process (three app::Daemon, each with its own identity, RPC server, OpenDHT node,
// SQLite state and data directory). See docs/notes/bench-e2e.md for results.
//
// The mesh is admitted the product's way (docs/notes/trust.md), as tests/apply/mesh_fixture
// makes it: an admin directory (mesh_admin::init = `beemesh mesh init`), one join token
// (`beemesh mesh admit --ttl 1h`) every node starts with, a user U with a deployer
// credential (`beemesh mesh user --role deployer`) who owns every manifest and signs every
// REST call (cli::request_signer, as the CLI does), and, for node mode, an entry node E
// admitted by key (`beemesh mesh admit --node-key`) that the benchmark acts as.
//
//   apply_throughput_bench [--applies N] [--mode node|api|both|ops] [--api-threads T]
//                          [--max-deploys D] [--window W] [--linger S]
//
// node mode: the node side of an apply, the full path the target names: N distinct
//   manifests are prepared as an entry node would (encrypted, key shares stored on the three
//   nodes; not timed), then N signed ApplyRequests go straight to the nodes' RPC ports
//   (round robin, at most W in flight). Timed until every node has answered all of them:
//   verify envelope + owner grant -> fetch k = 3 key shares from the holders -> rebuild the
//   key -> decrypt -> parse/validate -> manifest id check -> deploy (Mock engine, SQLite
//   state) -> announce the provider record in the DHT -> signed ApplyResponse.
//   --linger S keeps the mesh up S seconds after the last answer and adds the CPU spent
//   meanwhile (work an apply leaves behind: DHT re-puts, listens, follow-up reads).
// api mode: the whole user path through POST /apply (T client threads spread over the three
//   nodes): placement (capacity requests to every node), encryption, share distribution,
//   the DHT record, then the node side as above.
// ops mode: single-thread cost of each expensive step, times how often one apply does it
//   (counted from src/apply: the target verifies the request and the owner grant, signs
//   and verifies 3 key-share round trips; each holder verifies request and grant, opens its
//   share, re-seals it and signs; ...), to show where the time goes.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/client.h"
#include "app/config.h"
#include "app/daemon.h"
#include "app/mesh_admin.h"
#include "app/rpc_tls.h"
#include "cli/credential.h"
#include "cli/owner_auth.h"
#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "e2e/direct_rpc.h"
#include "manifest/manifest.h"
#include "net/protocols.h"
#include "runtime/mock/mock_engine.h"
#include "workload/state_store.h"

namespace {

using namespace beemesh;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  int applies = 3000;
  std::string mode = "both";
  int api_threads = 8;
  int max_deploys = 10;
  int window = 512;
  int linger_s = 0;
};

std::string pod_yaml(const std::string& name) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\nspec:\n  containers:\n    - name: app\n      image: localhost/busybox:latest\n"
         "      command: [\"sleep\", \"3600\"]\n      resources:\n        limits:\n"
         "          memory: 16Mi\n          cpu: 10m\n";
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * double(v.size())))];
}

struct MeshNode {
  std::shared_ptr<runtime::MockEngine> mock;
  std::unique_ptr<app::Daemon> daemon;
};

[[noreturn]] void fail(const std::string& what, const Error& error) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), error.to_string().c_str());
  std::exit(1);
}

// The mesh's admin, its join token, the user U (deployer, owner of every manifest) and the
// entry node E the node mode acts as.
struct Membership {
  fs::path admin_dir;
  std::string join_token;
  crypto::Identity owner = crypto::Identity::generate();
  std::string owner_credential_hex;
  crypto::Identity entry = crypto::Identity::generate();
  app::mesh_admin::MeshInfo mesh;  // admin key and mesh id: what DirectRpc checks nodes against
};

Membership admit(const fs::path& root) {
  Membership m;
  m.admin_dir = root / "admin";
  if (auto mesh = app::mesh_admin::init(m.admin_dir, "apply-bench", system_clock()); !mesh) {
    fail("mesh init", mesh.error());
  }
  auto token = app::mesh_admin::create_join_token(m.admin_dir, 1h, system_clock());
  if (!token) fail("join token", token.error());
  m.join_token = std::move(*token);
  auto user = app::mesh_admin::issue_user(m.admin_dir, "bench-owner", crypto::Role::kDeployer,
                                          m.owner.public_key(), {}, 24h, system_clock());
  if (!user) fail("user credential", user.error());
  auto user_bytes = from_hex(*user);
  if (!user_bytes) fail("user credential", user_bytes.error());
  m.owner.set_credential(std::move(*user_bytes));
  m.owner_credential_hex = std::move(*user);
  auto entry_token = app::mesh_admin::admit_node(m.admin_dir, m.entry.public_key(), "bench-entry",
                                                 24h, system_clock());
  if (!entry_token) fail("entry node admission", entry_token.error());
  auto joined = app::mesh_admin::join(*entry_token, m.entry, "bench-entry", system_clock());
  if (!joined) fail("entry node join", joined.error());
  m.entry.set_credential(joined->credential);
  m.mesh = joined->mesh;
  return m;
}

// An API client for `node` whose every call is signed by U (what the CLI sends).
std::unique_ptr<api::ApiClient> api_as_owner(const app::Daemon& node, const Membership& m) {
  auto client = std::make_unique<api::ApiClient>(node.api_url());
  client->set_signer(cli::request_signer(m.owner, m.owner_credential_hex,
                                         to_hex(node.identity().public_key()), system_clock()));
  return client;
}

std::vector<MeshNode> start_mesh(const fs::path& root, const Options& o, const Membership& m) {
  std::vector<MeshNode> nodes;
  std::random_device rd;
  uint32_t network = 0x200000u + (rd() % 0x7fffff);
  for (int i = 0; i < 3; ++i) {
    app::NodeConfig c;
    c.data_dir = root / ("n" + std::to_string(i + 1));
    c.node_name = "n" + std::to_string(i + 1);
    c.rpc_listen = {"127.0.0.1", 0};
    c.api_listen = {"127.0.0.1", 0};
    c.dht_listen = {"127.0.0.1", 0};
    c.network_id = network;
    if (i > 0) {
      auto boot = app::parse_host_port(nodes[0].daemon->dht_endpoint());
      if (boot) c.bootstrap.push_back(*boot);
    }
    // Memory: the machine's (the default; a node may not offer more than its machine has,
    // and 1,000 Mock pods of 16 MiB per node fit). CPU may be offered beyond the cores: 1,000
    // cores, within what placement believes (app::kMaxCapacityCpuMillis).
    c.capacity_cpu_millis = int64_t{1'000'000};
    c.workload.preferred_runtime = "mock";
    c.workload.max_concurrent_deployments = o.max_deploys;
    c.join_token = m.join_token;
    MeshNode n;
    n.mock = std::make_shared<runtime::MockEngine>();
    app::DaemonOptions opts;
    opts.extra_engines = {n.mock};
    opts.register_default_engines = false;
    auto d = app::Daemon::start(c, opts);
    if (!d) {
      std::fprintf(stderr, "node %d did not start: %s\n", i + 1, d.error().to_string().c_str());
      std::exit(1);
    }
    n.daemon = std::move(*d);
    nodes.push_back(std::move(n));
  }
  // Every node sees the others (the API path places through the directory).
  auto deadline = Clock::now() + 60s;
  for (auto& n : nodes) {
    auto client = api_as_owner(*n.daemon, m);
    while (true) {
      auto listed = client->nodes();
      if (listed && listed->size() == nodes.size()) break;
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "mesh did not connect within 60 s\n");
        std::exit(1);
      }
      std::this_thread::sleep_for(100ms);
    }
  }
  return nodes;
}

size_t deployed(const std::vector<MeshNode>& nodes) {
  size_t total = 0;
  for (const auto& n : nodes) total += n.mock->workload_count();
  return total;
}

// CLOCK_MONOTONIC seconds: the timed window is printed in it so that a profile taken with
// `perf record -k CLOCK_MONOTONIC` can be cut to it (`perf report --time START,END`).
double monotonic_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void run_node_mode(std::vector<MeshNode>& nodes, const Options& o, const Membership& m) {
  std::vector<e2e::TargetNode> targets;
  for (auto& n : nodes) {
    e2e::TargetNode t;
    t.public_key = n.daemon->identity().public_key();
    t.node_id = n.daemon->node_id();
    t.rpc_endpoint = n.daemon->rpc_endpoint();
    targets.push_back(t);
  }
  e2e::DirectRpc rpc(m.entry, m.mesh.admin, m.mesh.mesh_id);
  std::printf("node mode: preparing %d manifests (encrypt, store 3 key shares each)...\n",
              o.applies);
  auto prep_start = Clock::now();
  std::vector<protocol::ApplyRequest> requests;
  for (int i = 0; i < o.applies; ++i) {
    const auto& target = targets[static_cast<size_t>(i) % targets.size()];
    // U owns the manifest and grants it to E; E encrypts it and stores the shares.
    auto prepared =
        e2e::prepare_apply(rpc, m.owner, m.entry, pod_yaml("node-bench-" + std::to_string(i)),
                           target, targets, system_clock());
    if (!prepared) {
      std::fprintf(stderr, "prepare %d: %s\n", i, prepared.error().to_string().c_str());
      std::exit(1);
    }
    requests.push_back(std::move(prepared->request));
  }
  std::printf("  prepared in %.1f s\n", seconds_since(prep_start));

  std::vector<Bytes> wires;
  for (const auto& r : requests) wires.push_back(crypto::sign_message(m.entry, r, system_clock()));
  size_t before = deployed(nodes);

  net::EventLoop loop(1);
  // TLS as node E, like every node-to-node link.
  crypto::Membership membership(m.mesh.admin, m.mesh.mesh_id, system_clock());
  auto tls = app::make_rpc_tls(m.entry, membership);
  if (!tls) fail("entry node TLS", tls.error());
  net::Client client(
      loop, net::ClientOptions{
                .max_in_flight_per_peer = 256, .max_queued_per_peer = 100'000, .tls = *tls});
  std::vector<std::future<Result<Bytes>>> pending(wires.size());
  std::vector<Result<Bytes>> replies;
  replies.reserve(wires.size());
  double cpu0 = cpu_seconds();
  const double window_start = monotonic_seconds();
  auto t0 = Clock::now();
  size_t next = 0;
  size_t done = 0;
  while (done < wires.size()) {
    while (next < wires.size() && next - done < static_cast<size_t>(o.window)) {
      pending[next] = client.request_future(targets[next % targets.size()].rpc_endpoint,
                                            std::string(net::protocols::kApply), wires[next], 60s);
      ++next;
    }
    replies.push_back(pending[done].get());
    ++done;
  }
  double elapsed = seconds_since(t0);
  double cpu = cpu_seconds() - cpu0;
  const double window_end = monotonic_seconds();

  crypto::EnvelopeVerifier verifier(system_clock());
  std::map<std::string, int> codes;
  for (auto& r : replies) {
    if (!r) {
      ++codes["transport:" + r.error().code];
      continue;
    }
    auto opened = crypto::open_message<protocol::ApplyResponse>(verifier, *r);
    ++codes[opened ? (opened->message.ok ? "ok" : opened->message.code) : "bad_response"];
  }
  size_t after = deployed(nodes);
  std::printf("node mode: %d ApplyRequests in %.3f s = %.0f applies/s (window %d)\n", o.applies,
              elapsed, o.applies / elapsed, o.window);
  std::printf("  process CPU %.2f s = %.2f ms CPU per apply (all 3 nodes + sender)\n", cpu,
              cpu * 1000 / o.applies);
  std::printf("  answers:");
  for (const auto& [code, n] : codes) std::printf(" %s=%d", code.c_str(), n);
  std::printf("\n  Mock engine workloads deployed: %zu\n", after - before);
  std::printf("  timed window (CLOCK_MONOTONIC): %.6f,%.6f\n", window_start, window_end);
  std::fflush(stdout);
  if (o.linger_s > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(o.linger_s));
    const double lingered = cpu_seconds() - cpu0 - cpu;
    std::printf("  linger %d s: process CPU %.2f s; window + linger = %.2f ms CPU per apply\n",
                o.linger_s, lingered, (cpu + lingered) * 1000 / o.applies);
    std::fflush(stdout);
  }
  client.shutdown();
  loop.stop();
}

void run_api_mode(std::vector<MeshNode>& nodes, const Options& o, const Membership& m) {
  const std::string owner_hex = to_hex(m.owner.public_key());
  size_t before = deployed(nodes);
  std::atomic<int> next{0};
  std::atomic<int> ok{0};
  std::mutex mutex;
  std::map<std::string, int> errors;
  std::vector<double> latencies;
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.api_threads; ++t) {
    threads.emplace_back([&, t] {
      const app::Daemon& entry = *nodes[static_cast<size_t>(t) % nodes.size()].daemon;
      const std::string entry_hex = to_hex(entry.identity().public_key());
      auto client = api_as_owner(entry, m);
      std::vector<double> mine;
      for (int i = next++; i < o.applies; i = next++) {
        auto yaml = pod_yaml("api-bench-" + std::to_string(i));
        auto parsed = manifest::parse(yaml);
        auto mid = manifest::manifest_id(owner_hex, *parsed);
        // What `beemesh apply` sends: U's grant for the entry node, bound to the manifest
        // and its replica count (no env or limits added).
        auto auth = cli::apply_auth(m.owner, *mid, entry_hex, system_clock(),
                                    crypto::apply_content_hash(yaml, {}, 0, 0, 1));
        api::ApplyOptions options;
        options.replicas = 1;
        auto started = Clock::now();
        auto outcome =
            auth ? client->apply(yaml, options, *auth) : Result<api::ApplyOutcome>(auth.error());
        mine.push_back(seconds_since(started));
        if (outcome && outcome->replicas_placed == 1) {
          ++ok;
        } else {
          std::lock_guard lock(mutex);
          ++errors[outcome ? "partial" : outcome.error().code];
        }
      }
      std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = seconds_since(t0);
  double cpu = cpu_seconds() - cpu0;
  std::printf("api mode: %d POST /apply in %.3f s = %.0f applies/s (%d client threads)\n",
              o.applies, elapsed, o.applies / elapsed, o.api_threads);
  std::printf("  latency p50 %.1f ms, p99 %.1f ms; process CPU %.2f s = %.2f ms per apply\n",
              percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000, cpu,
              cpu * 1000 / o.applies);
  std::printf("  ok=%d", ok.load());
  for (const auto& [code, n] : errors) std::printf(" %s=%d", code.c_str(), n);
  std::printf("\n  Mock engine workloads deployed: %zu\n", deployed(nodes) - before);
}

// What one apply costs in its expensive operations, measured one at a time (single thread).
template <typename Fn>
double micros_per_op(int n, Fn fn) {
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) fn(i);
  return seconds_since(t0) * 1e6 / n;
}

void run_ops_mode(const fs::path& root) {
  auto a = crypto::Identity::generate();
  auto b = crypto::Identity::generate();
  Bytes message(300, 0x42);
  auto sig = a.sign(message);
  auto xb = crypto::x25519_of(b.public_key());
  auto sealed = crypto::seal_to(*xb, Bytes(34, 7));
  auto yaml = pod_yaml("ops-bench");
  auto store = workload::StateStore::open(root / "ops-state.db");
  volatile bool sink = false;
  struct Row {
    const char* what;
    double us;
    int per_apply;
  };
  std::vector<Row> rows = {
      {"Ed25519 sign", micros_per_op(2000, [&](int) { sink = a.sign(message)[0] != 0; }), 8},
      {"Ed25519 verify",
       micros_per_op(2000,
                     [&](int) { sink = crypto::verify_signature(a.public_key(), message, sig); }),
       11},
      {"Ed25519 pk -> X25519 (x25519_of)",
       micros_per_op(2000, [&](int) { sink = bool(crypto::x25519_of(b.public_key())); }), 3},
      {"sealed box seal (seal_to)",
       micros_per_op(2000, [&](int) { sink = crypto::seal_to(*xb, Bytes(34, 7)).empty(); }), 3},
      {"sealed box open (open_sealed)",
       micros_per_op(2000, [&](int) { sink = bool(b.open_sealed(sealed)); }), 6},
      {"manifest::parse (pod YAML)",
       micros_per_op(2000, [&](int) { sink = bool(manifest::parse(yaml)); }), 4},
      {"SQLite put_workload",
       micros_per_op(500,
                     [&](int i) {
                       workload::WorkloadRecord r;
                       r.id = "w" + std::to_string(i);
                       r.manifest_id = "m" + std::to_string(i);
                       sink = bool((*store)->put_workload(r));
                     }),
       2},
  };
  (void)sink;
  double total = 0;
  std::printf("ops mode: single-thread cost of the expensive steps of one apply\n");
  std::printf("  %-34s %9s %10s %12s\n", "operation", "us/op", "per apply", "us/apply");
  for (const auto& r : rows) {
    std::printf("  %-34s %9.1f %10d %12.1f\n", r.what, r.us, r.per_apply, r.us * r.per_apply);
    total += r.us * r.per_apply;
  }
  std::printf("  %-34s %9s %10s %12.1f  => at most %.0f applies/s per core\n", "sum", "", "", total,
              1e6 / total);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--applies") {
      o.applies = std::stoi(value());
    } else if (a == "--mode") {
      o.mode = value();
    } else if (a == "--api-threads") {
      o.api_threads = std::stoi(value());
    } else if (a == "--max-deploys") {
      o.max_deploys = std::stoi(value());
    } else if (a == "--window") {
      o.window = std::stoi(value());
    } else if (a == "--linger") {
      o.linger_s = std::stoi(value());
    } else {
      std::fprintf(stderr,
                   "usage: %s [--applies N] [--mode node|api|both|ops] [--api-threads T] "
                   "[--max-deploys D] [--window W] [--linger S]\n",
                   argv[0]);
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  char pattern[] = "/tmp/beemesh-apply-bench-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  fs::path root = pattern;
  if (o.mode == "ops") {
    run_ops_mode(root);
    std::error_code ec;
    fs::remove_all(root, ec);
    return 0;
  }
  {
    const auto membership = admit(root);
    auto nodes = start_mesh(root, o, membership);
    std::printf("3-node admitted mesh up (Mock engine, max_concurrent_deployments %d)\n",
                o.max_deploys);
    if (o.mode == "node" || o.mode == "both") run_node_mode(nodes, o, membership);
    if (o.mode == "api" || o.mode == "both") run_api_mode(nodes, o, membership);
    for (auto& n : nodes) n.daemon->stop();
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  return 0;
}
