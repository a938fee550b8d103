// net_bench — what TLS 1.3 costs the transport, measured side by side with plain TCP in one
// run on 127.0.0.1 (server and client in this process, one event-loop thread each):
//   connect   a new connection: a fresh Client's first request (TCP connect, with TLS the
//             handshake and both membership checks, one round trip), --connects times
//   latency   one request at a time on a pooled connection (64-byte payload), --requests times
//   pipelined 64 requests in flight on one pooled connection, 64 B and 64 KiB payloads
//   refused   (TLS only) a stranger with a self-issued node certificate, from connect until
//             the server has closed the connection after the handshake
// The TLS side is what the daemon runs: mutual TLS 1.3 with Ed25519 node certificates
// carrying membership credentials, checked by app::member_node_verifier (the credential
// chain check is cached by Membership after the first connection of a peer, as in a node).
//
// Each figure is the median over --rounds rounds; in each round both sides run, plain TCP
// first in even rounds and TLS first in odd ones (so neither always gets the warmer CPU).
//
// Usage: net_bench [--rounds N] [--connects N] [--requests N] [--pipelined N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "app/rpc_tls.h"
#include "common/clock.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "crypto/tls_identity.h"
#include "net/client.h"
#include "net/endpoint.h"
#include "net/event_loop.h"
#include "net/server.h"

namespace beemesh {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  int rounds = 5;  // plain TCP and TLS alternate, the order flipping each round
  int connects = 500;
  int requests = 20'000;
  int pipelined = 50'000;
};

[[noreturn]] void fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "net_bench: %s: %s\n", what.c_str(), e.to_string().c_str());
  std::exit(1);
}

double micros(SteadyClock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

struct Stats {
  double p50 = 0, p99 = 0, mean = 0;
};

Stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

// A member node's TLS options in a test mesh.
struct Mesh {
  crypto::Identity admin = crypto::Identity::generate();
  crypto::Membership membership{admin.public_key(), "bench", system_clock()};

  crypto::Identity member(const std::string& name) {
    auto id = crypto::Identity::generate();
    int64_t now = system_clock().now_ms();
    crypto::CertificateBody body{.kind = crypto::CertKind::kNode,
                                 .subject = id.public_key(),
                                 .name = name,
                                 .mesh_id = "bench",
                                 .issued_ms = now - 1000,
                                 .expires_ms = now + 3'600'000};
    id.set_credential(crypto::make_credential(crypto::issue_certificate(admin, body)));
    return id;
  }
};

struct Result {
  Stats connect;
  Stats latency;
  double small_rps = 0;
  double large_mbps = 0;
  Stats refused;  // TLS only: a stranger's connection, until the server closes it
};

// The median of each figure over the rounds.
Result median(const std::vector<Result>& rounds) {
  auto mid = [&](auto field) {
    std::vector<double> v;
    for (const auto& r : rounds) v.push_back(field(r));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  Result m;
  m.connect.p50 = mid([](const Result& r) { return r.connect.p50; });
  m.connect.p99 = mid([](const Result& r) { return r.connect.p99; });
  m.connect.mean = mid([](const Result& r) { return r.connect.mean; });
  m.latency.p50 = mid([](const Result& r) { return r.latency.p50; });
  m.latency.p99 = mid([](const Result& r) { return r.latency.p99; });
  m.latency.mean = mid([](const Result& r) { return r.latency.mean; });
  m.small_rps = mid([](const Result& r) { return r.small_rps; });
  m.large_mbps = mid([](const Result& r) { return r.large_mbps; });
  m.refused.p50 = mid([](const Result& r) { return r.refused.p50; });
  m.refused.p99 = mid([](const Result& r) { return r.refused.p99; });
  return m;
}

Result run(const Options& o, const std::optional<net::TlsOptions>& server_tls,
           const std::optional<net::TlsOptions>& client_tls, const std::string& pin,
           const std::optional<net::TlsOptions>& stranger_tls = std::nullopt) {
  net::EventLoop server_loop(1);
  net::EventLoop client_loop(1);
  net::Server server(server_loop, {.max_connections_per_address = 100'000, .tls = server_tls});
  if (auto r =
          server.handle("echo",
                        [](const net::PeerInfo&,
                           Bytes b) -> asio::awaitable<beemesh::Result<Bytes>> { co_return b; });
      !r.ok()) {
    fail("handler", r.error());
  }
  if (auto r = server.listen(); !r.ok()) fail("listen", r.error());
  std::string endpoint =
      pin.empty() ? server.endpoint() : net::pinned_endpoint(pin, server.endpoint());
  Result out;

  // New connections: a fresh client each time (nothing pooled).
  std::vector<double> connects;
  for (int i = 0; i < o.connects; ++i) {
    net::Client client(client_loop, {.tls = client_tls});
    auto start = SteadyClock::now();
    auto r = client.request_sync(endpoint, "echo", Bytes(64, 1), 10s);
    connects.push_back(micros(SteadyClock::now() - start));
    if (!r.ok()) fail("connect", r.error());
  }
  out.connect = summarize(std::move(connects));

  // A stranger (self-issued credential) until the server has refused it.
  if (stranger_tls) {
    std::vector<double> refusals;
    for (int i = 0; i < o.connects; ++i) {
      net::Client stranger(client_loop, {.tls = stranger_tls});
      auto start = SteadyClock::now();
      auto r = stranger.request_sync(server.endpoint(), "echo", Bytes(64, 1), 10s);
      refusals.push_back(micros(SteadyClock::now() - start));
      if (r.ok()) fail("stranger", make_error("accepted", "a stranger's request was answered"));
    }
    out.refused = summarize(std::move(refusals));
  }

  // One pooled connection.
  net::Client client(client_loop, {.tls = client_tls});
  if (auto r = client.request_sync(endpoint, "echo", Bytes(64, 1), 10s); !r.ok())
    fail("warm", r.error());
  std::vector<double> latencies;
  for (int i = 0; i < o.requests; ++i) {
    auto start = SteadyClock::now();
    auto r = client.request_sync(endpoint, "echo", Bytes(64, 1), 10s);
    latencies.push_back(micros(SteadyClock::now() - start));
    if (!r.ok()) fail("request", r.error());
  }
  out.latency = summarize(std::move(latencies));

  auto pipelined = [&](int count, size_t size) {
    constexpr int kWindow = 64;
    std::vector<std::future<beemesh::Result<Bytes>>> window;
    auto start = SteadyClock::now();
    for (int sent = 0; sent < count;) {
      window.clear();
      for (int k = 0; k < kWindow && sent < count; ++k, ++sent) {
        window.push_back(client.request_future(endpoint, "echo", Bytes(size, 2), 30s));
      }
      for (auto& f : window) {
        auto r = f.get();
        if (!r.ok()) fail("pipelined", r.error());
      }
    }
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
  };
  out.small_rps = o.pipelined / pipelined(o.pipelined, 64);
  int large = std::max(1, o.pipelined / 20);
  out.large_mbps = large * 65536.0 * 2 / (1024.0 * 1024.0) / pipelined(large, 65536);
  client.shutdown();
  server.stop();
  return out;
}

int main_impl(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--rounds") {
      o.rounds = std::max(1, value);
    } else if (flag == "--connects") {
      o.connects = value;
    } else if (flag == "--requests") {
      o.requests = value;
    } else if (flag == "--pipelined") {
      o.pipelined = value;
    } else {
      std::fprintf(stderr,
                   "usage: net_bench [--rounds N] [--connects N] [--requests N] [--pipelined N]\n");
      return 2;
    }
  }
  Mesh mesh;
  auto server_id = mesh.member("server");
  auto client_id = mesh.member("client");
  auto server_tls = app::make_rpc_tls(server_id, mesh.membership);
  auto client_tls = app::make_rpc_tls(client_id, mesh.membership);
  if (!server_tls.ok()) fail("server tls", server_tls.error());
  if (!client_tls.ok()) fail("client tls", client_tls.error());
  // A stranger: a node certificate it issued itself, accepting any server.
  auto stranger = crypto::Identity::generate();
  {
    int64_t now = system_clock().now_ms();
    crypto::CertificateBody body{.kind = crypto::CertKind::kNode,
                                 .subject = stranger.public_key(),
                                 .name = "stranger",
                                 .mesh_id = "bench",
                                 .issued_ms = now - 1000,
                                 .expires_ms = now + 3'600'000};
    stranger.set_credential(crypto::make_credential(crypto::issue_certificate(stranger, body)));
  }
  auto stranger_cert = crypto::make_tls_certificate(stranger, stranger.credential());
  if (!stranger_cert.ok()) fail("stranger certificate", stranger_cert.error());
  auto stranger_ctx =
      net::make_tls_context(stranger_cert->certificate.get(), stranger_cert->private_key.get());
  if (!stranger_ctx.ok()) fail("stranger context", stranger_ctx.error());
  std::optional<net::TlsOptions> stranger_tls = net::TlsOptions{
      .context = *stranger_ctx,
      .extension_oid = std::string(crypto::kTlsCredentialOid),
      .verify = [](const net::PeerCertificate&, std::string_view) { return ok_result(); }};

  std::printf(
      "net_bench: %d rounds of %d new connections, %d sequential requests, %d pipelined (64 in "
      "flight)\n",
      o.rounds, o.connects, o.requests, o.pipelined);
  std::vector<Result> tcp_rounds, tls_rounds;
  for (int r = 0; r < o.rounds; ++r) {
    if (r % 2 == 0) tcp_rounds.push_back(run(o, std::nullopt, std::nullopt, ""));
    tls_rounds.push_back(run(o, *server_tls, *client_tls, server_id.node_id(), *stranger_tls));
    if (r % 2 == 1) tcp_rounds.push_back(run(o, std::nullopt, std::nullopt, ""));
  }
  auto tcp = median(tcp_rounds);
  auto tls = median(tls_rounds);

  auto row = [](const char* what, double t, double s, const char* unit) {
    std::printf("%-44s %12.1f %12.1f %8.2fx  %s\n", what, t, s, s / t, unit);
  };
  std::printf("%-44s %12s %12s %9s\n", "", "plain TCP", "TLS 1.3", "TLS/TCP");
  row("new connection + first request, p50", tcp.connect.p50, tls.connect.p50, "us");
  row("new connection + first request, p99", tcp.connect.p99, tls.connect.p99, "us");
  row("new connection + first request, mean", tcp.connect.mean, tls.connect.mean, "us");
  row("pooled request round trip (64 B), p50", tcp.latency.p50, tls.latency.p50, "us");
  row("pooled request round trip (64 B), p99", tcp.latency.p99, tls.latency.p99, "us");
  row("pooled request round trip (64 B), mean", tcp.latency.mean, tls.latency.mean, "us");
  row("pipelined 64 B requests", tcp.small_rps, tls.small_rps, "requests/s");
  row("pipelined 64 KiB requests (both ways)", tcp.large_mbps, tls.large_mbps, "MiB/s");
  std::printf(
      "stranger refused by the server (self-issued credential), TLS: p50 %.1f us, p99 %.1f us\n",
      tls.refused.p50, tls.refused.p99);
  std::printf("handshake cost (connect p50 - pooled p50): plain TCP %.1f us, TLS %.1f us\n",
              tcp.connect.p50 - tcp.latency.p50, tls.connect.p50 - tls.latency.p50);
  return 0;
}

}  // namespace
}  // namespace beemesh

int main(int argc, char** argv) {
  return beemesh::main_impl(argc, argv);
}
