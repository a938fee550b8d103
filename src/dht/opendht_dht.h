// dht/opendht_dht.h — the OpenDHT (dht::DhtRunner) backend of dht::Dht.
//
// Promise:
//  * start() binds UDP on `bind_address` (IPv4) and `bind_address6` (IPv6; OpenDHT
//    2.4.12's listen is broken without an IPv6 socket), each unless empty, registers the
//    provider, peer record and heartbeat value types with their expiries, then bootstraps to every
//    entry of `bootstrap` ("host:port"). It fails with `dht_start_failed` if a socket
//    cannot be bound; unreachable bootstrap peers are not an error.
//  * Nodes with different `network_id`s never talk to each other.
//  * Its UDP sockets are EpollSockets (dht/epoll_socket.h): any descriptor number works. They are
//    served by `loop` when given (one thread for many nodes of a process), else by a loop of
//    this node's own. The runner has no thread of its own: the loop's thread runs it (as an
//    EpollLoop driver) and every callback of this node (get, put, listen) runs there, one at a
//    time with those of every other node of the loop: a callback must not block.
//  * bound_port() is the IPv4 port actually bound (useful with port 0).
//  * A watchdog (DhtConfig::rejoin_check) re-bootstraps a node whose routing table emptied (paced
//    while its loop is behind: stats() rebootstraps, rebootstraps_deferred),
//    and restarts the runner in place after it rejoins or while all its puts fail
//    (DhtConfig::restart_*, paced by dht/restart_pacer.h; stats(): restarts_held_back): same ports
//    and node id, every active listen and permanent put made again, and the values this node stores
//    for the network (others' and its own puts' copies) stored again in the new runner, each with
//    the expiry it had left (stats(): values_kept_on_restart). A get, put or query made while the
//    runner restarts waits and goes to the new runner; one the old runner had taken and not
//    answered fails with `dht_restarted` (`dht_restart_failed` when the new runner did not start):
//    each is reported once, never on the caller's thread (dht/runner_ops.h; stats():
//    ops_failed_by_restart). A value stored in the instant between taking the values out and
//    stopping the old runner is lost (its owner's next put brings it). restart() does the same
//    at once; restarts never overlap.
//  * Announcements that skipped the nearest nodes: while the node is connected and its loop keeps
//    up, the watchdog reads, every DhtConfig::announce_check (5 min) per key, this node's OpenDHT
//    search of each key it puts permanently; the nodes marked expired there that sit nearer the
//    key than a node holding one of its values (dht/announce_check.h, at most 16) are pinged,
//    and at the watchdog's next such check (30 s later while all is well, or announce_check when
//    shorter) the key's permanent values are put again: a reply clears OpenDHT's expired mark,
//    and the put's search step then asks those nodes and announces to the nearest. Without it a
//    node that marked them expired once (requests that timed out under load) keeps its records
//    where other nodes' gets do not look (tests/dht/announce_repair_test.cpp). stats():
//    announce_pings, announce_reputs. Nothing is sent for a search that skipped none.
//  * The destructor calls shutdown(): leaves the network, stops the loop running this node; no
//    callback runs after that.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/result.h"
#include "dht/dht.h"

namespace beemesh::dht {

// dht/epoll_socket.h; not included here, so that OpenDHT's own `::dht` namespace stays out of
// files that say `using namespace beemesh` and then `dht::`.
class EpollLoop;

struct DhtConfig {
  std::string bind_address = "0.0.0.0";  // empty: IPv6 only
  std::string bind_address6 = "::";      // empty: IPv4 only (listen will not work, see above)
  uint16_t port = 0;                     // 0: ephemeral; read bound_port()
  uint16_t port6 = 0;                    // 0: ephemeral
  std::vector<std::string> bootstrap;    // "127.0.0.1:4222", "[::1]:4222", "host:port"
  uint32_t network_id = 0x62656500;      // "bee\0"; meshes with different ids never mix
  // Per source IP request limit; loopback meshes share one IP, so tests raise it (-1: none).
  int64_t max_peer_req_per_sec = 0;  // 0: OpenDHT default (1,024/s)
  int64_t max_req_per_sec = 0;       // 0: OpenDHT default (8,192/s)
  std::chrono::seconds provider_record_expiry{3600};
  std::chrono::seconds peer_record_expiry{3600};
  // ValueKind::brief_provider_record: a record kept alive by its owner's permanent put
  // (refreshed by OpenDHT before this expiry) and gone this long after the owner stops.
  // 15 min: longer than a storing node keeps a listener that stopped refreshing (OpenDHT
  // 2.4 has no listen cancel on the wire; Node::NODE_EXPIRE_TIME, 10 min), so the node
  // directory's joins expire after their watchers have left (apply/directory.h).
  std::chrono::seconds brief_record_expiry{900};
  // Heartbeats are put every few seconds, each with a new value id: keep few of them.
  std::chrono::seconds heartbeat_expiry{12};
  // ValueKind::raw (desired-state records): OpenDHT's 10 min. Benchmarks that shorten the
  // refresh interval shorten this in proportion (bench/liveness).
  std::chrono::seconds raw_expiry{600};
  bool log_to_stderr = false;  // OpenDHT's own logs (noisy)
  // Rejoin: checked every `rejoin_check`; when the routing table has no good node (a cut
  // link expired them all, and OpenDHT does not recontact expired nodes by itself), the
  // node is told its connectivity changed and bootstraps again (at most once per check).
  // It has rejoined once good nodes are seen at two checks at least 1 s apart with none
  // missing in between (its re-bootstrap from the nodes it knew makes them good for a
  // moment even when they are gone). A node that never had a good node (the first of a
  // mesh, or its bootstrap peers not up yet) bootstraps again at each check, but its first
  // good nodes are no rejoin. A node alone whose loop ran a step 1 s late within the last 30 s
  // (dht/epoll_socket.h EpollLoop::last_behind: its own loop, not the network, is the likely
  // cause) re-bootstraps at gaps doubling from `rejoin_check` (jittered, paced by a
  // dht/restart_pacer.h) up to 30 s, and at every check again once the loop keeps up: each
  // re-bootstrap pings every node it knew, which feeds a loop that is behind. The checks run
  // while there is something to watch (not connected yet, isolated or rejoining, puts failing,
  // a restart waiting); while all is well the watchdog sleeps, woken at once when the node loses
  // its last good node or a put fails, and every 30 s to copy the routing table it would rejoin
  // through. 0: no watchdog.
  std::chrono::milliseconds rejoin_check{2'000};
  // OpenDHT 2.4 keeps a search whose nodes all expired (a cut link) without nodes for up to
  // 10 min even once the routing table is good again: its puts and gets on that key fail at
  // once. The watchdog then restarts the runner in place (same ports and node id; listens
  // and permanent puts made again): right after a rejoin (an isolation that began at least
  // `restart_min_gap` after the last restart), and when every put has failed for
  // `restart_after_failing_puts` while nodes are known. Paced (dht/restart_pacer.h): at least
  // `restart_min_gap` apart, the gap doubling (jittered) for each restart that follows another
  // within 2 × `restart_max_gap`, up to `restart_max_gap` — OpenDHT's stale search ends by
  // itself within 10 min, and restarts of many overloaded nodes at once feed the overload.
  std::chrono::milliseconds restart_after_failing_puts{10'000};
  std::chrono::milliseconds restart_min_gap{30'000};
  std::chrono::milliseconds restart_max_gap{600'000};
  // Announcements that skipped the nearest nodes (see the promise): each key put permanently
  // is checked this often; the watchdog, while all is well, wakes at least this often (and at
  // most once a second for it).
  std::chrono::milliseconds announce_check{300'000};
};

// A config for loopback meshes (tests, benchmarks): 127.0.0.1 + ::1, ephemeral ports,
// no per-IP rate limit.
DhtConfig loopback_config(uint32_t network_id, std::vector<std::string> bootstrap = {});

class OpenDht final : public Dht {
 public:
  static Result<std::unique_ptr<OpenDht>> start(const DhtConfig& config,
                                                std::shared_ptr<EpollLoop> loop = {});
  ~OpenDht() override;
  OpenDht(const OpenDht&) = delete;
  OpenDht& operator=(const OpenDht&) = delete;

  void put(const Key& key, Value value, PutCallback done = {}) override;
  uint64_t put_permanent(const Key& key, Value value, PutCallback done = {}) override;
  void cancel_permanent(const Key& key, uint64_t value_id) override;
  void get(const Key& key, GetCallback done) override;
  void get_ids(const Key& key, GetIdsCallback done) override;
  void get_value(const Key& key, uint64_t value_id, GetCallback done) override;
  ListenToken listen(const Key& key, ListenCallback on_values) override;
  void cancel_listen(const Key& key, ListenToken token) override;
  size_t node_count() const override;
  DhtStats stats() const override;
  void shutdown() override;

  uint16_t bound_port() const { return bound_port_; }
  uint16_t bound_port6() const { return bound_port6_; }
  // "127.0.0.1:port" ("[v6]:port" when IPv4 is off) — the bound socket; with a
  // wildcard bind, other nodes bootstrap to an address of this machine instead.
  std::string endpoint() const;
  // Diagnostics (benchmarks): OpenDHT's own text of this node's search for `key` (its nodes,
  // their distance order and state) and of what this node stores under `key` ("" when the
  // runner is down). OpenDHT's own format, not a contract of this class (dht/announce_check.h
  // reads the search's, tests the storage's, each against OpenDHT 2.4.12).
  std::string search_log(const Key& key) const;
  std::string storage_log(const Key& key) const;
  // This node's OpenDHT node id, 40 hex digits ("" when the runner is down).
  std::string node_id() const;
  // Adds bootstrap peers after start ("host:port").
  void bootstrap(const std::vector<std::string>& peers);
  // Restarts the runner in place now, as the watchdog does (see the promise); false if the
  // new runner did not start (the watchdog then tries again at each check; without one,
  // operations made meanwhile wait for the next restart()). Not from a callback of this node.
  bool restart();

 private:
  struct Impl;
  explicit OpenDht(std::unique_ptr<Impl> impl);
  // Opens the sockets on the loop, runs the runner, registers the value types.
  static Result<void> run_runner(Impl& impl);
  void watch_connectivity();  // the rejoin watchdog's thread
  // The watchdog's announcement check (see the promise), on its thread.
  struct AnnounceWatch;
  void check_announcements(AnnounceWatch& watch, int64_t now_ms);
  // A new runner in place of the old one (same ports, same node id); every active listen and
  // permanent put is made again. False if the new one did not start. One at a time.
  bool restart_runner(const char* reason);
  uint64_t put_value(const Key& key, Value value, PutCallback done, bool permanent);
  // A get; with `only_id`, one whose query the storing nodes apply (that value only).
  void get_where(const Key& key, std::optional<uint64_t> only_id, GetCallback done);

  std::unique_ptr<Impl> impl_;
  uint16_t bound_port_ = 0;
  uint16_t bound_port6_ = 0;
};

}  // namespace beemesh::dht
