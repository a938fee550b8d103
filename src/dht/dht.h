// dht/dht.h — a small DHT interface: put (plain or permanent, cancellable), get, listen, stats,
// shutdown.
//
// Promise:
//  * Keys are 160-bit hashes of namespaced strings (Key::of("beemesh/provider/" + id)).
//  * Every value has a ValueKind. The storing node decides how long it keeps a value from the
//    kind's registered expiry (every backend node registers all kinds before it stores
//    anything); a value's own lifetime, if it has one, must be enforced by the reader.
//  * put() reports once through its callback; values larger than kMaxValueSize are rejected
//    at once with `value_too_large`, never sent.
//  * get() reports all values found once, or an Error; get_blocking() waits at most `timeout`
//    and then returns `timeout` (late results are dropped safely).
//  * get_ids() reports the ids of the values found, as get() would find them, once (each id
//    once, in no order), or an Error. The OpenDHT backend asks the storing nodes for the
//    ids only (a query selecting the value id), so each answers in its one reply datagram
//    instead of one datagram per value; the default implementation is a get().
//  * get_value() reports the value of `key` with id `value_id` ([] when no storing node
//    has it), or an Error. OpenDHT: a get whose query the storing nodes apply, so each
//    answers with that value only; the default implementation is a get() filtered here.
//  * listen() returns a token at once (never 0); its callback gets new values (expired ==
//    false) and values that expired or were removed (expired == true) until cancel_listen().
//  * Callbacks run on a backend thread: they must not block and must not call shutdown().
//  * After shutdown() no callback runs any more; every call after it fails with `dht_stopped`
//    (put/get callbacks) or does nothing (listen returns a token that never fires).
//  * Nothing throws.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace beemesh::dht {

inline constexpr size_t kMaxValueSize = 64 * 1024;  // OpenDHT's per-value limit

struct Key {
  std::array<uint8_t, 20> bytes{};

  // SHA-1 of the name, the same as OpenDHT's InfoHash::get(name).
  static Key of(std::string_view name);
  std::string to_hex() const;
  auto operator<=>(const Key&) const = default;
};

// Namespaced keys used by beemesh.
inline Key provider_key(std::string_view manifest_id) {
  return Key::of(std::string("beemesh/provider/").append(manifest_id));
}
inline Key peer_key(std::string_view node_id) {
  return Key::of(std::string("beemesh/peer/").append(node_id));
}
inline Key liveness_key(std::string_view node_id) {
  return Key::of(std::string("beemesh/alive/").append(node_id));
}

// What a value holds; decides its storage expiry on the storing node.
enum class ValueKind : uint16_t {
  raw = 0,                   // OpenDHT's generic user data (10 min expiry)
  provider_record = 0xBE01,  // signed ProviderRecord, expiry = DhtConfig::provider_record_expiry
  peer_record = 0xBE02,      // signed PeerRecord, expiry = DhtConfig::peer_record_expiry
  // A signed ProviderRecord read within minutes of its put (the node directory's joins):
  // expiry = DhtConfig::brief_record_expiry, so its key holds only recent records.
  brief_provider_record = 0xBE03,
  heartbeat = 0xBE10,  // signed Heartbeat, expiry = DhtConfig::heartbeat_expiry
};

struct Value {
  uint64_t id = 0;  // 0: the backend picks a random id on put
  ValueKind kind = ValueKind::raw;
  Bytes data;
};

struct DhtStats {
  size_t good_nodes = 0;     // IPv4 + IPv6 routing tables
  size_t dubious_nodes = 0;  // known but not recently confirmed
  size_t stored_values = 0;  // values this node stores for the network
  size_t stored_bytes = 0;
  size_t searches = 0;
  uint16_t bound_port = 0;
  size_t runner_restarts = 0;            // OpenDht: runner restarts after a rejoin or failing puts
  size_t restarts_for_failing_puts = 0;  // OpenDht: of those, for failing puts
  // OpenDht: times a restart was wanted but waited for the pacer's gap (dht/restart_pacer.h;
  // counted once per wait).
  size_t restarts_held_back = 0;
  // OpenDht: rejoins not followed by a restart because the node's loop was behind during the
  // isolation (dht/epoll_socket.h EpollLoop::last_behind): the isolation was its own.
  size_t restarts_skipped_behind = 0;
  // OpenDht: the rejoin watchdog's checks (every DhtConfig::rejoin_check only while there is
  // something to watch).
  size_t watchdog_checks = 0;
  // OpenDht: the watchdog's re-bootstraps of an isolated node (connectivity changed, the nodes
  // it knew and its bootstrap peers pinged), and the checks at which it did not re-bootstrap
  // because its loop was behind (paced: dht/opendht_dht.h DhtConfig::rejoin_check).
  size_t rebootstraps = 0;
  size_t rebootstraps_deferred = 0;
  // OpenDht: nodes pinged because an announcement of this node skipped them as expired although
  // nearer its key than a node holding the value, and keys put again after such pings
  // (dht/announce_check.h).
  size_t announce_pings = 0;
  size_t announce_reputs = 0;
  // OpenDht: values the restarts carried over to the new runner (summed over restarts).
  size_t values_kept_on_restart = 0;
  // OpenDht: gets, puts and queries the restarts failed (`dht_restarted`: taken by the old
  // runner and not answered; `dht_restart_failed`: made while a new runner did not start).
  size_t ops_failed_by_restart = 0;
  // OpenDht: datagrams refused before OpenDHT parsed them (dht/datagram_guard.h), counted by
  // the receive loop (shared by every node of a LoopbackMesh: the whole mesh's count).
  uint64_t datagrams_refused = 0;
};

using PutCallback = std::function<void(Result<void>)>;
using GetCallback = std::function<void(Result<std::vector<Value>>)>;
using GetIdsCallback = std::function<void(Result<std::vector<uint64_t>>)>;
using ListenCallback = std::function<void(const std::vector<Value>& values, bool expired)>;
using ListenToken = uint64_t;

class Dht {
 public:
  virtual ~Dht() = default;

  // Stores `value` once; the storing nodes keep it for its kind's expiry.
  virtual void put(const Key& key, Value value, PutCallback done = {}) = 0;

  // Stores `value` and keeps refreshing it until cancel_permanent(key, id) or shutdown.
  // Returns the value id (picked at random if value.id == 0), or 0 if rejected at once
  // (then `done` got the error).
  virtual uint64_t put_permanent(const Key& key, Value value, PutCallback done = {}) = 0;
  virtual void cancel_permanent(const Key& key, uint64_t value_id) = 0;
  // Stops sending a plain put() of `value_id` that is still in flight: OpenDHT keeps a plain
  // put in its search, re-sending it, until every storing node acknowledged it, however old
  // it is. Its callback may then never run; copies already stored stay until they expire.
  // The default is cancel_permanent(): in the OpenDHT backend both are OpenDHT's cancelPut.
  virtual void cancel_put(const Key& key, uint64_t value_id) { cancel_permanent(key, value_id); }

  virtual void get(const Key& key, GetCallback done) = 0;
  virtual void get_ids(const Key& key, GetIdsCallback done);
  virtual void get_value(const Key& key, uint64_t value_id, GetCallback done);

  virtual ListenToken listen(const Key& key, ListenCallback on_values) = 0;
  virtual void cancel_listen(const Key& key, ListenToken token) = 0;

  // Good (confirmed) nodes in the routing tables.
  virtual size_t node_count() const = 0;
  virtual DhtStats stats() const = 0;

  // Leaves the network and joins the backend threads. Idempotent.
  virtual void shutdown() = 0;

  // get() that waits at most `timeout`; `timeout` error when it runs out.
  Result<std::vector<Value>> get_blocking(const Key& key, std::chrono::milliseconds timeout);
  // get_ids() that waits at most `timeout`; `timeout` error when it runs out.
  Result<std::vector<uint64_t>> get_ids_blocking(const Key& key, std::chrono::milliseconds timeout);
  // put() that waits at most `timeout`.
  Result<void> put_blocking(const Key& key, Value value, std::chrono::milliseconds timeout);
};

}  // namespace beemesh::dht
