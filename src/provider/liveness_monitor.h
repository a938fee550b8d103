// provider/liveness_monitor.h — Liveness over the DHT: this node's heartbeat, and the
// heartbeats of the nodes it watches.
//
// Usage:
//   provider::LivenessMonitor liveness(dht, identity, system_clock(), {.membership = &m});
//   liveness.start();
//   liveness.watch(co_provider_id);            // followed until unwatch()
//   liveness.on_change([](auto& id, auto s) { ... });
//   if (liveness.state(id) == provider::NodeState::dead) ...
//
// Promise (in addition to provider/liveness.h):
//  * Publishing: every `period` a freshly signed Heartbeat {node id, key, timestamp,
//    validity, sequence = max(previous + 1, now ms), credential} is put under
//    dht::liveness_key(node id) as ValueKind::heartbeat with a new value id: one DHT put per
//    period whatever the mesh size. A put with no answer within `put_timeout` counts failed
//    and is cancelled in the DHT (dht::Dht::cancel_put), and so is every older heartbeat put
//    still in flight once a newer one is acknowledged: OpenDHT would otherwise go on
//    re-sending each heartbeat until all its storing nodes acknowledged it (a load spiral in
//    a busy mesh, docs/notes/liveness.md). stop() cancels the puts still in flight. While
//    publishing, an empty permanent value of kind raw sits under its own key (readers skip
//    it): it keeps OpenDHT's search of the key open between heartbeats (docs/notes/liveness.md).
//  * Watching: a watched node's key is listened to (config.listen) and, whenever no new
//    heartbeat was seen for `poll_after`, read with a get (one in flight per node, at most
//    `get_timeout`). Verdicts follow provider/liveness_table.h with `dead_after`. At most
//    `max_watched` nodes are watched; this node is never watched and is always alive.
//  * Every value read is checked, in this order, and dropped (counted in
//    stats().records_rejected) unless: kind heartbeat, at most kMaxHeartbeatSize bytes,
//    signature and signer (crypto/heartbeat.h), the node asked for, validity_ms in
//    1 s..60 s, dated at most `max_clock_skew` ahead, and — with `membership` — a credential
//    that makes the signer a member node. Of the values of one read at most
//    `max_values_per_read` are looked at.
//  * Cut off: a node is declared dead only while this node reaches the DHT — one of its own
//    heartbeat puts acknowledged (counted from when it was made), or a newer heartbeat of
//    any node received — within `dead_after`, and once more than dead_after / 2 after the
//    other node's last sign of life; otherwise a verdict that would be dead reads `unknown`:
//    a node that cannot reach the DHT does not accuse the others.
//  * Checking: check() starts one get per unknown node (counted in stats().reads), all at
//    once; a node with a check read already in flight, started less than `get_timeout` ago,
//    is not read again — check() waits for that read. Unwatched nodes learnt through
//    check() are forgotten `dead_after` after their last read.
//  * Threads: one worker (puts, polls, expiries, callbacks), one for follow() if used, plus
//    DHT callbacks; all methods
//    are thread-safe. `dht`, `identity`, `clock` and `membership` must outlive the monitor;
//    stop() (the destructor) joins the worker and cancels every listen. Record time and
//    verdict time come from `clock`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "dht/dht.h"
#include "provider/liveness.h"

namespace beemesh::provider {

struct LivenessConfig {
  std::chrono::milliseconds period{2000};       // heartbeat put interval
  std::chrono::milliseconds validity{10000};    // validity_ms written into heartbeats
  std::chrono::milliseconds dead_after{7000};   // no new heartbeat seen this long: dead
  std::chrono::milliseconds poll_after{3000};   // quiet this long: read the key
  std::chrono::milliseconds get_timeout{3000};  // one read of a key
  std::chrono::milliseconds put_timeout{4000};
  std::chrono::milliseconds tick{250};  // worker granularity
  size_t max_watched = 64;
  size_t max_values_per_read = 32;
  std::chrono::seconds max_clock_skew{30};
  const crypto::Membership* membership = nullptr;
  bool publish = true;  // false: watch only
  bool listen = true;   // follow watched keys by DHT listen besides polling
};

struct LivenessStats {
  uint64_t heartbeats_put = 0;  // acknowledged puts
  uint64_t heartbeat_put_failures = 0;
  uint64_t reads = 0;            // gets of watched or checked keys
  uint64_t heartbeats_seen = 0;  // valid heartbeats newer than the last one seen
  uint64_t records_rejected = 0;
  uint64_t deaths = 0;    // watched nodes that turned dead
  uint64_t revivals = 0;  // watched nodes that turned alive again
  uint64_t watched = 0;
  bool cut_off = false;
};

class LivenessMonitor final : public Liveness {
 public:
  LivenessMonitor(dht::Dht& dht, const crypto::Identity& identity, const Clock& clock,
                  LivenessConfig config = {});
  ~LivenessMonitor() override;
  LivenessMonitor(const LivenessMonitor&) = delete;
  LivenessMonitor& operator=(const LivenessMonitor&) = delete;

  void start();  // starts the worker (first heartbeat at once); idempotent
  void stop();   // idempotent

  NodeState state(const std::string& node_id) const override;
  bool watch(const std::string& node_id,
             std::chrono::milliseconds interest = std::chrono::milliseconds(0)) override;
  void unwatch(const std::string& node_id) override;
  void check(const std::vector<std::string>& node_ids, std::chrono::milliseconds timeout) override;
  uint64_t on_change(ChangeCallback callback) override;
  void remove_callback(uint64_t token) override;

  // Every `every`, calls `source` on a thread of its own (it may block, e.g. a discovery)
  // and keeps the node ids it returns watched until the next call (within max_watched):
  // how a node watches the co-providers of the manifests it runs. Only the first call
  // counts; stop() requests a stop on the token it passes to `source` and joins that
  // thread, so `source` must stay callable until then and should return soon after a stop
  // is requested (check the token between blocking calls: stop waits for it).
  using FollowSource = std::function<std::vector<std::string>(std::stop_token stop)>;
  void follow(FollowSource source, std::chrono::milliseconds every);

  LivenessStats stats() const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  std::thread worker_;
  std::jthread follower_;
};

}  // namespace beemesh::provider
