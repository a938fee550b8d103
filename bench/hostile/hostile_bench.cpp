// hostile_bench: how much slower is a legitimate apply through a node while that node is under
// attack (issue 11)? One admitted 3-node mesh of real `beemesh machine` processes with real
// Podman (tests/e2e/mesh.h; the daemon registers no Mock engine, so a small idle pod is
// deployed); the deployer applies a fresh one-replica pod through node 0's REST API, placed
// on node 0, N times per phase, one at a time, each with its own name, timing POST /apply
// until the answer, which comes once the replica is deployed. The phase's pods are
// deleted after its attack stops (eight clients at once), outside the timed loop: removing a
// Podman 4.3 pod often takes 3.4 s however fast its container exits. Phases, in one run:
//
//   idle            nothing else happening
//   alias-bomb      one sender POSTing a ~500-byte nested-alias manifest to node 0's /apply
//                   in a loop, as a second, admitted deployer ("mallory") with valid headers
//   Since issue 12 every RPC link is mutual TLS 1.3 between members, so a stranger's bytes
//   never reach the frame parser: the connection phases attack the handshake as strangers
//   and the frame limits as a member over an established link. Each keeps --half-connections
//   connections (1,024) to node 0's RPC port, reopening every one the node closes (at most
//   --half-reopen-rate per second):
//   half-handshakes      a stranger's TLS ClientHello and then silence: the node answers it
//                        and holds the connection, pending, until its 10 s handshake deadline
//                        or until the pending caps (64; 32 per address) evict it
//   stranger-handshakes  whole TLS 1.3 handshakes with a self-certified stranger's
//                        certificate, refused by the membership check right after
//   member-half-frames   as an admitted member node, over TLS: a frame header claiming 4 MiB
//                        and nothing more (over the 1.5 MiB limit of unverified connections)
//   member-slow-frames   the same claiming 1 MiB, plus the first 64 KiB of the body, under
//                        that limit, so the node buffers and holds them until their frame
//                        deadline (10 s) or the unverified-buffer cap (32 MiB) / pending caps
//   plain-frames         (not in the default run) the pre-TLS attack: plain TCP and a 4 MiB
//                        frame header, refused at the handshake
//   stranger-flood  --flood-threads TLS connections of a member node sending signed capacity
//                   requests from 64 self-certified stranger keys as fast as the node takes
//                   them (strangers themselves are refused at the TLS handshake; envelopes
//                   signed ahead in a pool re-signed every 10 s, so the attacker's signing
//                   does not eat the machine's 2 cores)
//   holders-500     one sender looping apply requests listing 500 share holders at a
//                   non-member endpoint, signed by an admitted node identity
//   idle-again      idle once more, to show how much the machine drifted during the run
//
// p99 is the nearest-rank percentile (with n <= 100 that is the slowest run). p99/idle
// compares with the p99 of every idle phase's runs pooled (idle and idle-again), since on a
// shared machine one idle block alone can land on a busy minute; "<=2x" says whether the
// phase met the goal (and had no failed apply). Failed applies are counted and left out of
// the percentiles. The attack senders run on the same machine as the mesh: "bench CPU" is what this
// process used meanwhile (% of one core; the machine has `nproc` of them). Per phase it also
// reports node 0's largest and final RSS, its own CPU and how much its log grew. Needs root,
// CONTAINERS_CONF, localhost/busybox:latest (scripts/setup-podman.sh) and BEEMESH_BINARY (or
// --binary).
//
//   hostile_bench [--runs N] [--warmup W] [--phases idle,alias-bomb,...] [--place node0|any]
//                 [--half-connections C] [--half-reopen-rate R] [--flood-threads T]
//                 [--flood-rate R] [--log-level L] [--binary PATH]
// (--flood-rate: stranger-flood frames a second in all; 0, the default: as fast as node 0
// reads them, which on a small machine also measures the attacker's own CPU.)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/client.h"
#include "cli/credential.h"
#include "cli/owner_auth.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "crypto/identity.h"
#include "e2e/attacks.h"
#include "e2e/direct_rpc.h"
#include "e2e/mesh.h"
#include "e2e/rest.h"
#include "e2e/suite.h"
#include "manifest/manifest.h"
#include "protocol/messages.h"

namespace {

using namespace beemesh;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

// Nearest rank: the smallest value with at least p % of the samples at or below it.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// ---- what is applied ------------------------------------------------------------------------

// The hostile suite's small pod (tests/hostile/hostile_test.cpp), except that it exits on
// SIGTERM (`exec sleep` as PID 1 ignores it, and its delete waits out the engine's 2 s stop
// grace) and asks for less: a phase's pods all stay on node 0 (4 CPUs, 4 GiB offered by the
// harness) until the phase ends, so up to 80 per phase fit.
std::string idle_pod(const std::string& name) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\nspec:\n  containers:\n    - name: idle\n      image: localhost/busybox:latest\n"
         "      command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 3600 & wait\"]\n"
         "      resources:\n        limits:\n          memory: 16Mi\n          cpu: 50m\n";
}

// ---- attacks --------------------------------------------------------------------------------

// One attack running in background threads between start() and stop(); summary() says how
// much of it the node took.
class Attack {
 public:
  virtual ~Attack() = default;
  virtual Result<void> start() = 0;
  virtual void stop() = 0;
  virtual std::string summary() const = 0;
};

// Counts of reply codes with the first message of each, thread-safe.
class CodeCounts {
 public:
  void add(const std::string& code, const std::string& message = {}) {
    std::lock_guard lock(mu_);
    auto& [n, first] = counts_[code];
    if (n++ == 0) first = message.substr(0, 160);
  }
  std::string str() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [code, entry] : counts_) {
      out += (out.empty() ? "" : "; ") + code + " x" + std::to_string(entry.first);
      if (!entry.second.empty()) out += " (\"" + entry.second + "\")";
    }
    return out.empty() ? "none" : out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> counts_;
};

class AliasBombFlood final : public Attack {
 public:
  AliasBombFlood(e2e::Mesh& mesh, e2e::MeshUser attacker)
      : mesh_(mesh), user_(std::move(attacker)) {}
  ~AliasBombFlood() override { stop(); }

  Result<void> start() override {
    auto identity = mesh_.identity_of(user_);
    if (!identity) return identity.error();
    // The owner grant names the id the bomb would have as a plain pod named "bomb".
    auto mid = e2e::alias_bomb_manifest_id(user_.public_key_hex);
    if (!mid) return mid.error();
    thread_ = std::thread([this, owner = std::move(*identity), mid = *mid] {
      std::string bomb = e2e::alias_bomb();
      const auto& node = mesh_.node(0);
      while (!done_) {
        auto headers = e2e::user_auth_headers(owner, "POST", "/apply", node.public_key_hex);
        auto grant = e2e::add_apply_grant(headers, owner, mid, node.public_key_hex, bomb);
        if (!grant) {
          codes_.add("client:" + grant.error().code, grant.error().message);
          std::this_thread::sleep_for(100ms);
          continue;
        }
        auto reply =
            e2e::rest_call(node.api_port, "POST", "/apply", headers, bomb, "application/yaml", 30s);
        ++sent_;
        if (!reply) {
          codes_.add("no answer");
          std::this_thread::sleep_for(10ms);
        } else {
          codes_.add(std::to_string(reply->status) + " " + reply->error_code, reply->error_message);
        }
      }
    });
    return {};
  }
  void stop() override {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string summary() const override {
    return std::to_string(sent_.load()) + " bombs POSTed; replies: " + codes_.str();
  }

 private:
  e2e::Mesh& mesh_;
  e2e::MeshUser user_;
  std::atomic<bool> done_{false};
  std::atomic<long> sent_{0};
  CodeCounts codes_;
  std::thread thread_;
};

// Many connections to node 0's RPC port at once, each doing one thing and then waiting for the
// node to close it; every connection the node closes is opened again (at most
// reopen_per_second a second). What each connection does:
//   plain_header        plain TCP, then a frame header (refused at the TLS handshake)
//   half_handshake      a stranger's TLS ClientHello, then silence: the node answers it and
//                       waits for the rest until its handshake deadline or pending cap
//   stranger_handshake  a whole TLS 1.3 handshake with a self-certified stranger's
//                       certificate (refused by the node's membership check right after)
//   member_header       a whole TLS handshake as an admitted member node, then a frame
//                       header (and `body_prefix` bytes of its body) inside TLS; no more
enum class SwarmMode { plain_header, half_handshake, stranger_handshake, member_header };

class ConnectionSwarm final : public Attack {
 public:
  struct Options {
    SwarmMode mode = SwarmMode::member_header;
    int connections = 1024;
    int reopen_per_second = 1024;
    uint32_t claimed_body = 4 * 1024 * 1024;
    size_t body_prefix = 0;
  };
  ConnectionSwarm(e2e::Mesh& mesh, Options o) : mesh_(mesh), port_(mesh.node(0).rpc_port), o_(o) {}
  ~ConnectionSwarm() override { stop(); }

  Result<void> start() override {
    // Length prefix claiming claimed_body bytes, then the fixed header and protocol id of an
    // apply, then body_prefix bytes of body; the rest never follows.
    header_ = e2e::half_frame_header(o_.claimed_body);
    header_.resize(header_.size() + o_.body_prefix, 0x5a);
    if (o_.mode == SwarmMode::member_header) {
      auto member = mesh_.admitted_node_identity("swarm-member");
      if (!member) return member.error();
      tls_ = std::make_unique<e2e::AttackerTls>(*member);
    } else if (o_.mode != SwarmMode::plain_header) {
      tls_ = std::make_unique<e2e::AttackerTls>(e2e::self_certified_stranger(mesh_.mesh_id()));
    }
    if (tls_ && !tls_->ok()) return make_error("tls_setup", "no TLS context for the swarm");
    thread_ = std::thread([this] { run(); });
    // Give it a moment to open the first round.
    auto deadline = SteadyClock::now() + 3s;
    while (SteadyClock::now() < deadline && opened_ < o_.connections)
      std::this_thread::sleep_for(20ms);
    return {};
  }
  void stop() override {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string summary() const override {
    static const char* what[] = {"plain TCP + frame header", "TLS ClientHello only",
                                 "stranger's full TLS handshake", "member TLS + frame header"};
    std::string claim = o_.mode == SwarmMode::plain_header || o_.mode == SwarmMode::member_header
                            ? " (" + std::to_string(o_.claimed_body / 1024) + " KiB claimed, " +
                                  std::to_string(o_.body_prefix / 1024) + " KiB sent)"
                            : "";
    return std::string(what[static_cast<int>(o_.mode)]) + claim + ": " +
           std::to_string(opened_.load()) + " connections reached that point, " +
           std::to_string(handshakes_.load()) + " TLS handshakes completed, " +
           std::to_string(closed_by_node_.load()) + " closed by the node (" +
           std::to_string(closed_in_handshake_.load()) + " during the handshake), " +
           std::to_string(failed_.load()) + " connects failed; open at the end " +
           std::to_string(open_at_end_.load()) + " (min " + std::to_string(min_open_.load()) +
           " after the first round); time from open to close by the node p50 " +
           std::to_string(static_cast<int>(percentile(held_ms_snapshot(), 50))) + " ms, max " +
           std::to_string(static_cast<int>(percentile(held_ms_snapshot(), 100))) + " ms";
  }

 private:
  enum class State { empty, connecting, handshaking, sending, open };
  struct Slot {
    int fd = -1;
    SSL* ssl = nullptr;
    State state = State::empty;
    size_t sent = 0;
    SteadyClock::time_point since, opened;
  };

  std::vector<double> held_ms_snapshot() const {
    std::lock_guard lock(mu_);
    return held_ms_;
  }

  void close_slot(Slot& s) {
    if (s.ssl != nullptr) SSL_free(s.ssl);
    s.ssl = nullptr;
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
    s.state = State::empty;
  }
  void closed_by_node(Slot& s) {
    ++closed_by_node_;
    if (s.state == State::handshaking) ++closed_in_handshake_;
    if (s.state == State::open) {
      std::lock_guard lock(mu_);
      if (held_ms_.size() < 200'000)
        held_ms_.push_back(
            std::chrono::duration<double, std::milli>(SteadyClock::now() - s.opened).count());
    }
    close_slot(s);
  }
  void reached_open(Slot& s) {
    s.state = State::open;
    s.opened = SteadyClock::now();
    ++opened_;
  }

  // Drives one slot's TLS handshake; returns the poll events it waits for (0: moved on).
  short step_handshake(Slot& s) {
    int r = SSL_connect(s.ssl);
    if (r == 1) {
      ++handshakes_;
      if (o_.mode == SwarmMode::member_header) {
        s.state = State::sending;
        return step_send(s);
      }
      reached_open(s);  // a stranger: wait for the node to refuse it
      return POLLIN;
    }
    int e = SSL_get_error(s.ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      if (o_.mode == SwarmMode::half_handshake) {
        reached_open(s);  // the ClientHello is out: say nothing more
        return POLLIN;
      }
      return POLLIN;
    }
    if (e == SSL_ERROR_WANT_WRITE) return POLLOUT;
    closed_by_node(s);
    return 0;
  }
  short step_send(Slot& s) {
    while (s.sent < header_.size()) {
      size_t n = 0;
      int r = s.ssl != nullptr
                  ? SSL_write_ex(s.ssl, header_.data() + s.sent, header_.size() - s.sent, &n)
                  : 0;
      if (s.ssl == nullptr) {
        ssize_t k = ::send(s.fd, header_.data() + s.sent, header_.size() - s.sent, MSG_NOSIGNAL);
        if (k > 0) {
          s.sent += static_cast<size_t>(k);
          continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return POLLOUT;
        closed_by_node(s);
        return 0;
      }
      if (r == 1) {
        s.sent += n;
        continue;
      }
      int e = SSL_get_error(s.ssl, r);
      if (e == SSL_ERROR_WANT_WRITE) return POLLOUT;
      if (e == SSL_ERROR_WANT_READ) return POLLIN;
      closed_by_node(s);
      return 0;
    }
    reached_open(s);
    return POLLIN;
  }
  // Reads and discards what the node sends; false once it closed the connection.
  bool drain(Slot& s) {
    char buf[16384];
    for (;;) {
      if (s.ssl != nullptr && o_.mode != SwarmMode::half_handshake) {
        size_t n = 0;
        if (SSL_read_ex(s.ssl, buf, sizeof(buf), &n) == 1) continue;
        int e = SSL_get_error(s.ssl, 0);
        return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
      }
      ssize_t n = ::recv(s.fd, buf, sizeof(buf), 0);
      if (n > 0) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
  }

  // One event loop over every slot.
  void run() {
    std::vector<Slot> slots(static_cast<size_t>(o_.connections));
    std::vector<short> wants(slots.size(), 0);
    double budget = o_.connections;  // the first round at once
    auto last = SteadyClock::now();
    bool first_round_done = false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<pollfd> pfds;
    std::vector<size_t> index;
    while (!done_) {
      auto now = SteadyClock::now();
      budget = std::min<double>(
          o_.connections,
          budget + o_.reopen_per_second * std::chrono::duration<double>(now - last).count());
      last = now;
      for (auto& s : slots) {
        if (s.state != State::empty || budget < 1) continue;
        budget -= 1;
        s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s.fd < 0) {
          ++failed_;
          continue;
        }
        int rc = ::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        if (rc != 0 && errno != EINPROGRESS) {
          ++failed_;
          close_slot(s);
          continue;
        }
        s.state = State::connecting;
        s.since = now;
        s.sent = 0;
      }
      pfds.clear();
      index.clear();
      for (size_t i = 0; i < slots.size(); ++i) {
        auto& s = slots[i];
        if (s.state == State::empty) continue;
        if (s.state == State::connecting) {
          if (now - s.since > 2s) {
            ++failed_;
            close_slot(s);
            continue;
          }
          wants[i] = POLLOUT;
        }
        pfds.push_back({s.fd, wants[i], 0});
        index.push_back(i);
      }
      ::poll(pfds.data(), pfds.size(), 20);
      for (size_t k = 0; k < pfds.size(); ++k) {
        size_t i = index[k];
        auto& s = slots[i];
        if (pfds[k].revents == 0) continue;
        switch (s.state) {
          case State::connecting: {
            int err = 0;
            socklen_t len = sizeof(err);
            if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
              ++failed_;
              close_slot(s);
              break;
            }
            if (tls_) {
              s.ssl = SSL_new(tls_->context());
              if (s.ssl == nullptr) {
                ++failed_;
                close_slot(s);
                break;
              }
              SSL_set_fd(s.ssl, s.fd);
              s.state = State::handshaking;
              wants[i] = step_handshake(s);
            } else {
              s.state = State::sending;
              wants[i] = step_send(s);
            }
            break;
          }
          case State::handshaking:
            wants[i] = step_handshake(s);
            break;
          case State::sending:
            wants[i] = step_send(s);
            break;
          case State::open:
            if (!drain(s)) closed_by_node(s);
            break;
          case State::empty:
            break;
        }
      }
      long open = std::count_if(slots.begin(), slots.end(),
                                [](const Slot& s) { return s.state == State::open; });
      if (!first_round_done && opened_ + failed_ + closed_by_node_ >= o_.connections)
        first_round_done = true;
      if (first_round_done) min_open_ = std::min<long>(min_open_, open);
      open_at_end_ = open;
    }
    for (auto& s : slots) close_slot(s);
  }

  e2e::Mesh& mesh_;
  uint16_t port_;
  Options o_;
  Bytes header_;
  std::unique_ptr<e2e::AttackerTls> tls_;
  std::atomic<bool> done_{false};
  std::atomic<long> opened_{0}, handshakes_{0}, closed_by_node_{0}, closed_in_handshake_{0},
      failed_{0}, open_at_end_{0};
  std::atomic<long> min_open_{1L << 30};
  mutable std::mutex mu_;
  std::vector<double> held_ms_;
  std::thread thread_;
};

class StrangerFlood final : public Attack {
 public:
  // The frames travel over a member node's TLS links (strangers cannot finish a handshake):
  // what is measured is the envelope's membership check under load.
  StrangerFlood(e2e::Mesh& mesh, int threads, long rate)
      : port_(mesh.node(0).rpc_port),
        mesh_id_(mesh.mesh_id()),
        threads_(threads),
        rate_(rate),
        mesh_(mesh) {}
  ~StrangerFlood() override { stop(); }

  Result<void> start() override {
    auto carrier = mesh_.admitted_node_identity("flood-carrier");
    if (!carrier) return carrier.error();
    tls_ = std::make_unique<e2e::AttackerTls>(*carrier);
    if (!tls_->ok()) return make_error("tls_setup", "no TLS context for the flood carrier");
    for (int k = 0; k < kKeys; ++k) strangers_.push_back(e2e::self_certified_stranger(mesh_id_));
    resign();
    refresher_ = std::thread([this] {
      auto next = SteadyClock::now() + 10s;
      while (!done_) {
        std::this_thread::sleep_for(50ms);
        if (SteadyClock::now() >= next) {
          resign();
          next = SteadyClock::now() + 10s;
        }
      }
    });
    for (int w = 0; w < threads_; ++w) senders_.emplace_back([this, w] { send_loop(w); });
    return {};
  }
  void stop() override {
    done_ = true;
    for (auto& t : senders_) {
      if (t.joinable()) t.join();
    }
    if (refresher_.joinable()) refresher_.join();
  }
  std::string summary() const override {
    return std::to_string(counters_.sent.load()) + " signed capacity requests sent from " +
           std::to_string(kKeys) + " stranger keys over " + std::to_string(threads_) +
           " connections, " + std::to_string(counters_.reply_bytes.load() / 1024) +
           " KiB of replies, " + std::to_string(counters_.reconnects.load()) + " reconnects";
  }

 private:
  static constexpr int kKeys = 64;
  static constexpr int kPool = 2048;

  // Signs kPool fresh frames (timestamps now) and swaps them in.
  void resign() {
    auto pool = std::make_shared<std::vector<Bytes>>();
    pool->reserve(kPool);
    for (int j = 0; j < kPool; ++j) {
      pool->push_back(e2e::stranger_capacity_frame(
          strangers_[static_cast<size_t>(j % kKeys)],
          "flood-" + std::to_string(generation_) + "-" + std::to_string(j),
          static_cast<uint64_t>(j) + 1));
    }
    ++generation_;
    std::lock_guard lock(mu_);
    pool_ = std::move(pool);
  }

  // Frames from the current pool (looked up again every 256 frames), so that stop() is
  // never stuck behind a full socket for more than 200 ms.
  void send_loop(int w) {
    std::shared_ptr<const std::vector<Bytes>> pool;
    // --flood-rate: each sender paces itself to rate / threads frames a second.
    const auto period = rate_ > 0 ? std::chrono::nanoseconds(1'000'000'000LL * threads_ / rate_)
                                  : std::chrono::nanoseconds(0);
    auto next = SteadyClock::now();
    e2e::send_flood(
        port_, static_cast<size_t>(w), 1, [this](size_t) { return !done_; },
        [&](size_t j) {
          if (period.count() > 0) {
            next += period;
            std::this_thread::sleep_until(next);
          }
          if (j % 256 == 0 || !pool) {
            std::lock_guard lock(mu_);
            pool = pool_;
          }
          return (*pool)[j % pool->size()];
        },
        counters_, 200ms, tls_.get());
  }

  uint16_t port_;
  std::string mesh_id_;
  int threads_;
  long rate_;  // frames a second in all, 0: as fast as the node takes them
  e2e::Mesh& mesh_;
  std::unique_ptr<e2e::AttackerTls> tls_;
  std::vector<crypto::Identity> strangers_;
  int generation_ = 0;
  std::mutex mu_;
  std::shared_ptr<const std::vector<Bytes>> pool_;
  std::atomic<bool> done_{false};
  e2e::FloodCounters counters_;
  std::thread refresher_;
  std::vector<std::thread> senders_;
};

class FiveHundredHolders final : public Attack {
 public:
  FiveHundredHolders(e2e::Mesh& mesh, e2e::MeshUser attacker)
      : mesh_(mesh), user_(std::move(attacker)), rpc_(mesh) {}
  ~FiveHundredHolders() override { stop(); }

  Result<void> start() override {
    if (listener_.port() == 0) return make_error("listen_failed", "no counting listener");
    auto targets = e2e::target_nodes(mesh_);
    if (!targets) return targets.error();
    const auto& nodes = *targets;
    auto owner = mesh_.identity_of(user_);
    if (!owner) return owner.error();
    auto entry = mesh_.admitted_node_identity("holder-lister");
    if (!entry) return entry.error();
    auto prepared =
        e2e::prepare_apply(rpc_, *owner, *entry, idle_pod("five-hundred"), nodes[0], nodes,
                           system_clock(), e2e::PrepareOptions::without_storing_shares());
    if (!prepared) return prepared.error();
    mesh_.track_manifest(prepared->manifest_id);
    e2e::list_fake_share_holders(prepared->request, 500, listener_.port());
    thread_ = std::thread(
        [this, entry = std::move(*entry), request = prepared->request, target = nodes[0]] {
          while (!done_) {
            auto answer = rpc_.apply(target, crypto::sign_message(entry, request, system_clock()));
            ++sent_;
            if (!answer) {
              codes_.add("transport:" + answer.error().code, answer.error().message);
              std::this_thread::sleep_for(10ms);
            } else {
              codes_.add(answer->ok ? "ok" : answer->code, answer->message);
            }
          }
        });
    return {};
  }
  void stop() override {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string summary() const override {
    return std::to_string(sent_.load()) + " 500-holder apply requests; answers: " + codes_.str() +
           "; connections to the listed endpoint: " + std::to_string(listener_.accepted());
  }

 private:
  e2e::Mesh& mesh_;
  e2e::MeshUser user_;
  e2e::CountingListener listener_;
  e2e::DirectRpc rpc_;
  std::atomic<bool> done_{false};
  std::atomic<long> sent_{0};
  CodeCounts codes_;
  std::thread thread_;
};

// ---- node 0, as the operator sees it --------------------------------------------------------

// utime + stime of `pid` in clock ticks.
long long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string x; rest >> x;) f.push_back(x);
  return f.size() > 12 ? std::stoll(f[11]) + std::stoll(f[12]) : 0;
}

// CPU seconds this process has used (all threads).
double own_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// ---- the legitimate apply -------------------------------------------------------------------

struct Args {
  int runs = 30;
  int warmup = 2;
  std::vector<std::string> phases{"idle",
                                  "alias-bomb",
                                  "half-handshakes",
                                  "stranger-handshakes",
                                  "member-half-frames",
                                  "member-slow-frames",
                                  "stranger-flood",
                                  "holders-500",
                                  "idle-again"};
  std::string place = "node0";
  int half_connections = 1024;
  int half_reopen_rate = 1024;
  int flood_threads = 4;
  long flood_rate = 0;
  std::string log_level = "info";
  std::string binary;
};

struct PhaseResult {
  std::string phase;
  std::vector<double> apply_ms;
  int failed = 0;
  int delete_failed = 0;
  std::string first_failure;
  std::string attack;
  int64_t rss_max_kib = 0;
  int64_t rss_end_kib = 0;
  double cpu_percent = 0;        // node 0's own CPU over the phase, % of one core
  double bench_cpu_percent = 0;  // this process's (the attack's and the deployer's), likewise
  uintmax_t log_bytes = 0;
  double seconds = 0;
  double load = 0;
};

class Deployer {
 public:
  Deployer(e2e::Mesh& mesh, crypto::Identity identity, const std::string& place)
      : mesh_(mesh), identity_(std::move(identity)), client_(mesh.node(0).api_url(), options()) {
    client_.set_signer(signer());
    if (place == "node0") node_ = mesh.node(0).node_id;
  }

  // Applies a fresh pod named `name` through node 0 (deleted by delete_applied()); the apply's
  // latency in ms, or an Error saying what failed.
  Result<double> apply(const std::string& name) {
    std::string yaml = idle_pod(name);
    auto parsed = manifest::parse(yaml, name);
    if (!parsed) return parsed.error();
    auto mid = cli::manifest_id_for(identity_, *parsed);
    if (!mid) return mid.error();
    mesh_.track_manifest(*mid);
    applied_.push_back(*mid);
    auto content = crypto::apply_content_hash(yaml, {}, 0, 0, 1);
    auto auth =
        cli::apply_auth(identity_, *mid, mesh_.node(0).public_key_hex, system_clock(), content);
    if (!auth) return auth.error();
    api::ApplyOptions options;
    options.replicas = 1;
    options.node = node_;
    options.source = name + ".yaml";
    auto t0 = SteadyClock::now();
    auto outcome = client_.apply(yaml, options, *auth);
    double ms = ms_since(t0);
    if (!outcome) return outcome.error();
    if (outcome->replicas_placed != 1) {
      std::string why;
      for (const auto& p : outcome->placements) why += " " + p.code + ": " + p.message + ";";
      return make_error("not_placed", "0 of 1 replicas placed:" + why);
    }
    return ms;
  }

  // Deletes every manifest apply() was given since the last call, through node 0, from
  // `threads` clients at once (a Podman pod removal often takes 3.4 s, so the deletes are kept
  // out of the timed loop); the number that failed.
  int delete_applied(int threads) {
    std::vector<std::string> ids;
    ids.swap(applied_);
    std::atomic<size_t> next{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        api::ApiClient client(mesh_.node(0).api_url(), options());
        client.set_signer(signer());
        for (size_t i; (i = next++) < ids.size();) {
          auto removed =
              client.delete_manifest(ids[i], cli::delete_auth(identity_, ids[i], system_clock()));
          if (!removed) ++failed;
        }
      });
    }
    for (auto& w : workers) w.join();
    return failed;
  }

 private:
  static api::ClientOptions options() {
    api::ClientOptions o;
    o.read_timeout = 60s;
    return o;
  }
  api::RequestSigner signer() const {
    return cli::request_signer(identity_, mesh_.deployer().credential_hex,
                               mesh_.node(0).public_key_hex, system_clock());
  }
  e2e::Mesh& mesh_;
  crypto::Identity identity_;
  api::ApiClient client_;
  std::string node_;
  std::vector<std::string> applied_;
};

constexpr const char* kPhases =
    "idle, alias-bomb, half-handshakes, stranger-handshakes, member-half-frames, "
    "member-slow-frames, plain-frames, stranger-flood, holders-500, idle-again";

Result<std::unique_ptr<Attack>> make_attack(const std::string& phase, e2e::Mesh& mesh,
                                            const e2e::MeshUser& mallory, const Args& a) {
  if (phase == "idle" || phase == "idle-again") return std::unique_ptr<Attack>{};
  if (phase == "alias-bomb") return std::unique_ptr<Attack>(new AliasBombFlood(mesh, mallory));
  auto swarm = [&](SwarmMode mode, uint32_t claimed, size_t prefix) {
    ConnectionSwarm::Options o;
    o.mode = mode;
    o.connections = a.half_connections;
    o.reopen_per_second = a.half_reopen_rate;
    o.claimed_body = claimed;
    o.body_prefix = prefix;
    return std::unique_ptr<Attack>(new ConnectionSwarm(mesh, o));
  };
  if (phase == "plain-frames") return swarm(SwarmMode::plain_header, 4 << 20, 0);
  if (phase == "half-handshakes") return swarm(SwarmMode::half_handshake, 0, 0);
  if (phase == "stranger-handshakes") return swarm(SwarmMode::stranger_handshake, 0, 0);
  if (phase == "member-half-frames") return swarm(SwarmMode::member_header, 4 << 20, 0);
  // Under the transport's limit for connections no handler has verified (1.5 MiB), with the
  // first 64 KiB of the body, so the node has to buffer and hold each connection until its
  // frame deadline, or evict it.
  if (phase == "member-slow-frames") return swarm(SwarmMode::member_header, 1 << 20, 64 << 10);
  if (phase == "stranger-flood") {
    return std::unique_ptr<Attack>(new StrangerFlood(mesh, a.flood_threads, a.flood_rate));
  }
  if (phase == "holders-500") return std::unique_ptr<Attack>(new FiveHundredHolders(mesh, mallory));
  return make_error("unknown_phase", "unknown phase " + phase + " (" + kPhases + ")");
}

int run(const Args& a) {
  if (auto ready = e2e::check_podman_ready(); !ready) {
    std::fprintf(stderr, "%s\n", ready.error().to_string().c_str());
    return 1;
  }
  // Room for the attack connections; the daemons inherit it.
  e2e::raise_open_file_limit(8192);
  e2e::MeshOptions mo;
  mo.nodes = 3;
  mo.binary = a.binary;
  mo.health_check_interval_seconds = 10;  // the daemon's default
  mo.log_level = a.log_level;
  auto t_start = SteadyClock::now();
  auto started = e2e::Mesh::start(mo);
  if (!started) {
    std::fprintf(stderr, "%s\n", started.error().to_string().c_str());
    return 1;
  }
  auto& mesh = **started;
  auto mallory = mesh.add_user("mallory", "deployer");
  if (!mallory) {
    std::fprintf(stderr, "add_user: %s\n", mallory.error().to_string().c_str());
    return 1;
  }
  auto identity = mesh.identity_of(mesh.deployer());
  if (!identity) {
    std::fprintf(stderr, "%s\n", identity.error().to_string().c_str());
    return 1;
  }
  Deployer deployer(mesh, std::move(*identity), a.place);
  pid_t pid0 = mesh.node(0).process->pid();
  std::printf(
      "3-node mesh up in %.1f s; node 0 = %s (pid %d); %d runs per phase (+%d warm-up), "
      "replica placed on %s\n",
      ms_since(t_start) / 1000, mesh.node(0).name.c_str(), static_cast<int>(pid0), a.runs, a.warmup,
      a.place == "node0" ? "node 0" : "the scheduler's choice");
  std::fflush(stdout);
  for (int w = 0; w < a.warmup; ++w) {
    auto ms = deployer.apply("hb-warmup-" + std::to_string(w));
    std::printf("warm-up %d: %s\n", w + 1,
                ms ? (std::to_string(static_cast<int>(*ms)) + " ms").c_str()
                   : ms.error().to_string().c_str());
  }
  deployer.delete_applied(8);

  std::vector<PhaseResult> results;
  double hz = double(sysconf(_SC_CLK_TCK));
  for (size_t p = 0; p < a.phases.size(); ++p) {
    const auto& phase = a.phases[p];
    auto attack = make_attack(phase, mesh, *mallory, a);
    if (!attack) {
      std::fprintf(stderr, "%s\n", attack.error().to_string().c_str());
      return 2;
    }
    PhaseResult r;
    r.phase = phase;
    std::error_code ec;
    auto log_before = std::filesystem::file_size(mesh.node(0).log_file, ec);
    e2e::RssSampler rss(pid0);
    auto t_phase = SteadyClock::now();
    long long ticks0 = cpu_ticks(pid0);
    double own0 = own_cpu_seconds();
    if (*attack) {
      if (auto ok = (*attack)->start(); !ok) {
        std::fprintf(stderr, "%s: %s\n", phase.c_str(), ok.error().to_string().c_str());
        return 1;
      }
      std::this_thread::sleep_for(1s);  // the attack in full swing before the first apply
    }
    for (int i = 0; i < a.runs; ++i) {
      auto ms = deployer.apply("hb-" + std::to_string(p) + "-" + std::to_string(i));
      if (ms) {
        r.apply_ms.push_back(*ms);
      } else {
        ++r.failed;
        if (r.first_failure.empty()) r.first_failure = ms.error().to_string();
      }
    }
    r.load = load_average();
    if (*attack) {
      (*attack)->stop();
      r.attack = (*attack)->summary();
    }
    r.seconds = ms_since(t_phase) / 1000;
    r.cpu_percent = 100 * double(cpu_ticks(pid0) - ticks0) / hz / r.seconds;
    r.bench_cpu_percent = 100 * (own_cpu_seconds() - own0) / r.seconds;
    r.rss_max_kib = rss.stop();
    r.rss_end_kib = e2e::rss_kib(pid0);
    auto log_after = std::filesystem::file_size(mesh.node(0).log_file, ec);
    r.log_bytes = log_after > log_before ? log_after - log_before : 0;
    auto t_delete = SteadyClock::now();
    r.delete_failed = deployer.delete_applied(8);
    double delete_s = ms_since(t_delete) / 1000;
    std::printf(
        "%-19s done in %5.1f s: apply p50 %.0f ms, p99 %.0f ms, %d failed (load %.2f); "
        "then %zu deletes in %.1f s, %d failed\n",
        phase.c_str(), r.seconds, percentile(r.apply_ms, 50), percentile(r.apply_ms, 99), r.failed,
        r.load, r.apply_ms.size() + static_cast<size_t>(r.failed), delete_s, r.delete_failed);
    if (!r.attack.empty()) std::printf("  attack: %s\n", r.attack.c_str());
    if (!r.first_failure.empty()) std::printf("  first failure: %s\n", r.first_failure.c_str());
    std::fflush(stdout);
    results.push_back(std::move(r));
    attack->reset();
    if (!mesh.node(0).process->running()) {
      std::fprintf(stderr, "node 0 died during %s\n%s\n", phase.c_str(),
                   mesh.log_tail(0, 40).c_str());
      return 1;
    }
    std::this_thread::sleep_for(1s);  // let node 0 settle before the next phase
  }

  // The baseline pools every idle phase (idle and idle-again): on a shared machine one
  // idle block alone can land on a busy minute.
  std::vector<double> idle_ms;
  for (const auto& r : results) {
    if (r.phase.rfind("idle", 0) == 0)
      idle_ms.insert(idle_ms.end(), r.apply_ms.begin(), r.apply_ms.end());
  }
  double idle_p99 = percentile(idle_ms, 99);
  std::printf("\n%-19s %4s %5s %9s %9s %9s %5s %11s %11s %8s %9s %9s %6s\n", "phase", "n", "fail",
              "p50 ms", "p99 ms", "p99/idle", "<=2x", "n0 RSS max", "n0 RSS end", "n0 CPU",
              "n0 log", "bench CPU", "load");
  for (const auto& r : results) {
    double p99 = percentile(r.apply_ms, 99);
    bool idle = r.phase.rfind("idle", 0) == 0;
    std::string ratio = "-", verdict = "-";
    if (idle_p99 > 0 && !r.apply_ms.empty()) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2fx", p99 / idle_p99);
      ratio = buf;
      if (!idle) verdict = p99 <= 2 * idle_p99 && r.failed == 0 ? "yes" : "NO";
    }
    std::printf(
        "%-19s %4zu %5d %9.0f %9.0f %9s %5s %8.1f MB %8.1f MB %6.1f %% %6.0f KB %7.1f %% %6.2f\n",
        r.phase.c_str(), r.apply_ms.size(), r.failed, percentile(r.apply_ms, 50), p99,
        ratio.c_str(), verdict.c_str(), r.rss_max_kib / 1024.0, r.rss_end_kib / 1024.0,
        r.cpu_percent, r.log_bytes / 1024.0, r.bench_cpu_percent, r.load);
  }
  if (!idle_ms.empty()) {
    std::printf("%-19s %4zu %5s %9.0f %9.0f   (the baseline of p99/idle)\n", "idle (pooled)",
                idle_ms.size(), "", percentile(idle_ms, 50), idle_p99);
  }
  std::printf("goal: p99 under attack <= 2x idle p99; total %.0f s; load average now %.2f\n",
              ms_since(t_start) / 1000, load_average());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "-h" || k == "--help") {
      std::printf(
          "usage: %s [--runs N] [--warmup W] [--phases P,P,... of: %s] [--place node0|any] "
          "[--half-connections C] "
          "[--half-reopen-rate R] [--flood-threads T] [--flood-rate R] [--log-level L] [--binary "
          "PATH]\n",
          argv[0], kPhases);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", k.c_str());
      return 2;
    }
    std::string v = argv[++i];
    if (k == "--runs") {
      a.runs = std::stoi(v);
    } else if (k == "--warmup") {
      a.warmup = std::stoi(v);
    } else if (k == "--phases") {
      a.phases.clear();
      std::istringstream in(v);
      for (std::string p; std::getline(in, p, ',');) {
        if (!p.empty()) a.phases.push_back(p);
      }
    } else if (k == "--place") {
      if (v != "node0" && v != "any") {
        std::fprintf(stderr, "--place is node0 or any\n");
        return 2;
      }
      a.place = v;
    } else if (k == "--half-connections") {
      a.half_connections = std::stoi(v);
    } else if (k == "--half-reopen-rate") {
      a.half_reopen_rate = std::stoi(v);
    } else if (k == "--flood-threads") {
      a.flood_threads = std::stoi(v);
    } else if (k == "--flood-rate") {
      a.flood_rate = std::stol(v);
    } else if (k == "--log-level") {
      a.log_level = v;
    } else if (k == "--binary") {
      a.binary = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  return run(a);
}
