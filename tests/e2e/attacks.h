// tests/e2e/attacks.h — the attacker's tools of issue 11 (docs/LIMITS.md), shared by the
// hostile suite (tests/hostile) and its benchmark (bench/hostile), and the ways both look at
// a node's memory while it is attacked.
//
// Usage:
//   e2e::RssSampler rss(mesh->node(0).process->pid());
//   auto stranger = e2e::self_certified_stranger(mesh->mesh_id());
//   int fd = e2e::connect_to(mesh->node(0).rpc_port);
//   e2e::send_all(fd, e2e::stranger_capacity_frame(stranger, "flood-1", 1));
//   int64_t peak_kib = rss.stop();
//
// Promise:
//  * alias_bomb() is the same "billion laughs" YAML every call: nine levels of nine aliases,
//    about 500 bytes, 9^9 scalars when expanded, under a Pod named "bomb".
//    alias_bomb_manifest_id() is the manifest id a plain pod named "bomb" of that owner has
//    (ids depend on owner, namespace, kind and name only): the id an owner grant for the bomb
//    must name, since the bomb itself cannot be parsed here.
//  * rss_kib() is VmRSS of /proc/PID/status in KiB, -1 when it cannot be read. An RssSampler
//    samples it every 20 ms from its own thread from construction until stop() (once more as
//    it stops); stop() and max_kib() give the largest value seen. stop() is idempotent and
//    the destructor calls it.
//  * AttackerTls is what an attacker presents in a TLS 1.3 handshake with a node: a certificate
//    of `as` carrying its credential (crypto/tls_identity.h), as a node presents one; it
//    accepts any certificate from the node. Making one ignores SIGPIPE in the process. A
//    member's credential makes the handshake succeed; a stranger's is refused by the node
//    right after it.
//    Link::open() connects to 127.0.0.1:port within `timeout` — plain TCP without `tls`,
//    else TLS 1.3 with it (the handshake within `timeout` too) — or returns null. Its
//    send_all() writes all of `data` within `timeout` while reading and counting whatever
//    the node sends meanwhile (received()); false when the node closed the connection, the
//    connection failed or the timeout passed. closed_by_node() reads until the node closes
//    (true) or `timeout` passes (false). One thread at a time.
//  * send_client_hello() connects to 127.0.0.1:port within `timeout`, sends the first flight of
//    a TLS 1.3 handshake with `tls` (the ClientHello) and nothing more; it returns the
//    non-blocking socket (the caller closes it) or -1. closed_by_peer() reads and discards
//    what is there without waiting: true once the peer has closed the connection (or it
//    failed).
//  * connect_to() returns a blocking TCP socket connected to 127.0.0.1:port within
//    `timeout`, or -1. send_all() writes all of `data` (no SIGPIPE), false when the peer
//    closed or the socket failed (a send timeout counts as failure).
//  * CountingListener listens on a free 127.0.0.1 port (port() == 0 when that failed),
//    accepts and closes every connection from its own thread, counting them, until it is
//    destroyed.
//  * self_certified_stranger() is a fresh identity holding a node certificate for `mesh_id`
//    that it issued itself, valid for an hour from now: a non-member that looks like one.
//  * half_frame_header() is the first bytes of an RPC frame to the apply protocol: a length
//    prefix claiming `claimed_body` bytes, the fixed header (request id 1, kind request) and
//    the protocol id; the body never follows.
//  * stranger_capacity_frame() is a whole RPC request frame (id `frame_id`) to the capacity
//    protocol carrying a CapacityRequest {request_id, manifest id of 64 'f', 100 mCPU,
//    32 MiB} in an envelope signed now by `stranger`.
//  * send_flood() sends frame(j) for j = first, first + step, ... while more(j) holds, over
//    one connection to 127.0.0.1:port at a time (a Link: TLS with `tls`, else plain TCP); it
//    reads and discards the node's replies as it sends, so the node never blocks on a full
//    socket. A failed connect is tried
//    again after 10 ms, a failed send closes the connection and the same j goes over a new
//    one; both count as a reconnect. j advances only once frame(j) was sent whole. A
//    positive `send_timeout` bounds each send (SO_SNDTIMEO), so that a caller's stop
//    condition is seen even while the node reads nothing. Returns with the connection closed.
//  * list_fake_share_holders() replaces the request's share holders by `count` fresh
//    identities (share indexes 1..255, repeating) that all claim the endpoint
//    127.0.0.1:port.
//  * raise_open_file_limit() raises the soft RLIMIT_NOFILE to `at_least` (capped by the hard
//    limit) when it is lower; children started later inherit it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "protocol/messages.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace beemesh::e2e {

// ---- YAML --------------------------------------------------------------------------------

std::string alias_bomb();
Result<std::string> alias_bomb_manifest_id(const std::string& owner_public_key_hex);

// ---- memory ------------------------------------------------------------------------------

int64_t rss_kib(pid_t pid);

// The largest RSS of `pid` seen every 20 ms until stop().
class RssSampler {
 public:
  explicit RssSampler(pid_t pid);
  ~RssSampler();
  RssSampler(const RssSampler&) = delete;
  RssSampler& operator=(const RssSampler&) = delete;
  int64_t stop();
  int64_t max_kib() const { return max_kib_; }

 private:
  void run();
  pid_t pid_;
  std::atomic<bool> done_{false};
  std::atomic<int64_t> max_kib_{0};
  std::thread thread_;
};

// ---- sockets -----------------------------------------------------------------------------

class AttackerTls {
 public:
  explicit AttackerTls(const crypto::Identity& as);
  AttackerTls(const AttackerTls&) = delete;
  AttackerTls& operator=(const AttackerTls&) = delete;
  bool ok() const { return ctx_ != nullptr; }
  SSL_CTX* context() const { return ctx_.get(); }

 private:
  struct Free {
    void operator()(SSL_CTX* ctx) const;
  };
  std::unique_ptr<SSL_CTX, Free> ctx_;
};

class Link {
  struct Key {};  // only open() makes Links

 public:
  Link(Key, int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  static std::unique_ptr<Link> open(uint16_t port, const AttackerTls* tls,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  bool send_all(ByteView data, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool closed_by_node(std::chrono::milliseconds timeout);
  long received() const { return received_; }

 private:
  struct Free {
    void operator()(SSL* ssl) const;
  };
  void drain();  // reads what is there without waiting
  int fd_ = -1;
  std::unique_ptr<SSL, Free> ssl_;  // null for plain TCP
  bool closed_ = false;
  long received_ = 0;
};

int connect_to(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(2));
bool send_all(int fd, ByteView data);
int send_client_hello(uint16_t port, const AttackerTls& tls,
                      std::chrono::milliseconds timeout = std::chrono::seconds(2));
bool closed_by_peer(int fd);

// A TCP listener on 127.0.0.1 counting the connections it accepts.
class CountingListener {
 public:
  CountingListener();
  ~CountingListener();
  CountingListener(const CountingListener&) = delete;
  CountingListener& operator=(const CountingListener&) = delete;
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> done_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

void raise_open_file_limit(uint64_t at_least);

// ---- strangers and raw frames ------------------------------------------------------------

crypto::Identity self_certified_stranger(const std::string& mesh_id);

Bytes half_frame_header(uint32_t claimed_body);

Bytes stranger_capacity_frame(const crypto::Identity& stranger, const std::string& request_id,
                              uint64_t frame_id);

// What flood senders did, added up over every sender.
struct FloodCounters {
  std::atomic<long> sent{0};         // frames sent whole
  std::atomic<long> reconnects{0};   // failed connects and connections lost while sending
  std::atomic<long> reply_bytes{0};  // what the node answered
};

void send_flood(uint16_t port, size_t first, size_t step, const std::function<bool(size_t)>& more,
                const std::function<Bytes(size_t)>& frame, FloodCounters& counters,
                std::chrono::milliseconds send_timeout = std::chrono::milliseconds(0),
                const AttackerTls* tls = nullptr);

// ---- requests ----------------------------------------------------------------------------

void list_fake_share_holders(protocol::ApplyRequest& request, int count, uint16_t port);

}  // namespace beemesh::e2e
