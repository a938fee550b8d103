#include "dht/opendht_dht.h"

#include "dht/announce_check.h"
#include "dht/epoll_socket.h"
#include "dht/opendht_arrival_fix.h"
#include "dht/opendht_query_fix.h"
#include "dht/opendht_search_fix.h"
#include "dht/restart_pacer.h"
#include "dht/runner_ops.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <opendht/dhtrunner.h>
#include <opendht/log.h>
#include <opendht/utils.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <utility>

namespace beemesh::dht {

namespace {

// After an isolation, good nodes must still be there this long before it counts as a rejoin
// (the watchdog's own re-bootstrap makes the old, dead nodes good for a moment).
constexpr int64_t kRejoinConfirm = 1000;  // ms
// How often the watchdog copies the routing table it would rejoin through: exportNodes() holds
// the runner's lock, which the loop thread running every node of its loop then waits for.
constexpr int64_t kExportKnownEvery = 30'000;  // ms
// An isolation that began within this long of the node's loop running a step kLoopBehind late
// (or while it was) came from the loop, not from the network: no restart for it.
constexpr std::chrono::seconds kBehindWindow{30};
// An isolated node whose loop is behind re-bootstraps at gaps doubling from rejoin_check up to
// this: each re-bootstrap pings every node it knew, and in a process of many nodes whose loop
// is behind, hundreds of isolated nodes doing so every check keep the loop behind (docs/
// BENCHMARKS.md, the 1,000-node collapse at ~910 nodes of session 22).
constexpr std::chrono::seconds kBehindRebootstrapMaxGap{30};
// How many nodes an announcement of this node skipped as expired (dht/announce_check.h) the
// watchdog pings at most per key and check (the check's period: DhtConfig::announce_check).
constexpr size_t kMaxAnnouncePings = 16;

::dht::InfoHash to_hash(const Key& key) {
  ::dht::InfoHash h;
  std::copy(key.bytes.begin(), key.bytes.end(), h.begin());
  return h;
}

Value from_opendht(const ::dht::Value& v) {
  return Value{v.id, static_cast<ValueKind>(v.type), Bytes(v.data.begin(), v.data.end())};
}

std::vector<Value> from_opendht(const std::vector<std::shared_ptr<::dht::Value>>& values) {
  std::vector<Value> out;
  out.reserve(values.size());
  for (const auto& v : values) {
    if (v) out.push_back(from_opendht(*v));
  }
  return out;
}

// "host:port" or "[v6]:port" -> {host, port}.
Result<std::pair<std::string, std::string>> split_host_port(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return make_error("invalid_address", "bootstrap peer '" + s + "': expected [v6]:port");
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) {
      return make_error("invalid_address", "bootstrap peer '" + s + "': expected host:port");
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (host.empty() || port.empty()) {
    return make_error("invalid_address", "bootstrap peer '" + s + "': empty host or port");
  }
  return std::make_pair(host, port);
}

// A numeric "a.b.c.d:port" or "[v6]:port" (as OpenDHT prints a node's address); nullopt
// otherwise. No name lookup.
std::optional<::dht::SockAddr> numeric_address(const std::string& s) {
  auto hp = split_host_port(s);
  if (!hp.ok()) return std::nullopt;
  char* end = nullptr;
  const unsigned long port = std::strtoul(hp->second.c_str(), &end, 10);
  if (hp->second.empty() || *end != '\0' || port == 0 || port > 65535) return std::nullopt;
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, hp->first.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port));
    return ::dht::SockAddr(reinterpret_cast<const sockaddr*>(&v4), sizeof(v4));
  }
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET6, hp->first.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port));
    return ::dht::SockAddr(reinterpret_cast<const sockaddr*>(&v6), sizeof(v6));
  }
  return std::nullopt;
}

Result<::dht::SockAddr> bind_addr(const std::string& host, uint16_t port, sa_family_t family) {
  try {
    for (auto& a : ::dht::SockAddr::resolve(host, std::to_string(port))) {
      if (a.getFamily() == family) return a;
    }
  } catch (const std::exception& e) {
    return make_error("dht_start_failed", "bind address '" + host + "': " + e.what());
  }
  return make_error("dht_start_failed", "bind address '" + host +
                                            "': not an address of the "
                                            "expected family");
}

std::string describe_failure(std::string_view op, const Key& key) {
  return std::string(op) + key.to_hex() + ": no DHT node acknowledged";
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct OpenDht::Impl {
  DhtConfig config;
  ::dht::DhtRunner runner;
  ::dht::DhtRunner::Config runner_config;  // bind addresses set to the bound ports after start
  std::shared_ptr<EpollLoop> loop;
  // The runner has no thread (threaded = false): `loop` runs it as this driver (0: not running).
  // Every call that queues an operation in the runner pokes it.
  std::atomic<uint64_t> driver{0};
  // Whether the runner had a good node in either family at its last step (its status
  // callback, on the loop thread): the watchdog's check, without the runner's lock.
  std::atomic<bool> connected{false};
  std::atomic<bool> stopped{false};
  // DhtRunner::getNodesStats() dereferences its Dht, which join() destroys: node_count() and
  // stats() read the runner only while `runner_up` (under a shared lock); a restart and
  // shutdown() clear it (exclusive lock) before join().
  mutable std::shared_mutex runner_mutex;
  bool runner_up = false;  // guarded by runner_mutex
  // Puts: when one last succeeded, and since when all have failed (0: none failed since).
  std::atomic<int64_t> last_put_ok_ms{0};
  std::atomic<int64_t> puts_failing_since_ms{0};
  // Gets, puts and queries handed to the runner and not reported yet: a restart holds those
  // made while it runs and fails those the old runner took along (dht/runner_ops.h).
  RunnerOps ops;
  std::atomic<size_t> restarts{0};
  std::atomic<size_t> restarts_for_failing_puts{0};  // DhtStats::restarts_for_failing_puts
  std::atomic<size_t> ops_failed_by_restart{0};      // DhtStats::ops_failed_by_restart
  std::atomic<size_t> restarts_held_back{0};         // DhtStats::restarts_held_back
  std::atomic<size_t> restarts_skipped_behind{0};    // DhtStats::restarts_skipped_behind
  std::atomic<size_t> watchdog_checks{0};            // DhtStats::watchdog_checks
  std::atomic<size_t> rebootstraps{0};               // DhtStats::rebootstraps
  std::atomic<size_t> rebootstraps_deferred{0};      // DhtStats::rebootstraps_deferred
  std::atomic<size_t> announce_pings{0};             // DhtStats::announce_pings
  std::atomic<size_t> announce_reputs{0};            // DhtStats::announce_reputs
  // Serializes restarts (the watchdog's and restart()'s); a restart whose new runner did not
  // start leaves `runner_down` set, and the watchdog tries again at every check.
  std::mutex restart_mutex;
  std::atomic<bool> runner_down{false};
  std::atomic<size_t> values_kept{0};  // DhtStats::values_kept_on_restart
  std::mutex mutex;  // guards everything below; held across a restart's run and re-listens
  std::mt19937_64 rng{std::random_device{}()};
  ListenToken next_token = 1;
  using ValuesCallback =
      std::function<bool(const std::vector<std::shared_ptr<::dht::Value>>&, bool)>;
  struct Listening {
    ::dht::InfoHash hash;
    std::shared_future<size_t> token;
    ValuesCallback callback;  // kept to listen again after a runner restart
  };
  std::map<ListenToken, Listening> listens;
  // Permanent puts, to put again after a runner restart: (key, value id) -> value.
  std::map<std::pair<::dht::InfoHash, uint64_t>, std::shared_ptr<::dht::Value>> permanent;
  // The rejoin watchdog (DhtConfig::rejoin_check). It sleeps while all is well and is woken
  // when the node loses its last good node or a put fails after none did.
  std::mutex watchdog_mutex;
  std::condition_variable watchdog_wake;
  bool watch_now = false;  // guarded by watchdog_mutex: a wake not taken yet
  std::thread watchdog;

  void wake_watchdog() {
    std::lock_guard lock(watchdog_mutex);
    watch_now = true;
    watchdog_wake.notify_one();
  }

  void poke() { loop->poke(driver.load()); }
  // Before the runner's join(): when this returns, the loop no longer runs it.
  void stop_driving() {
    if (const uint64_t d = driver.exchange(0)) loop->undrive(d);
  }

  uint64_t random_id() {
    std::lock_guard lock(mutex);
    uint64_t id = 0;
    while (id == 0) id = rng();
    return id;
  }
};

DhtConfig loopback_config(uint32_t network_id, std::vector<std::string> bootstrap) {
  DhtConfig c;
  c.bind_address = "127.0.0.1";
  c.bind_address6 = "::1";
  c.network_id = network_id;
  c.bootstrap = std::move(bootstrap);
  c.max_peer_req_per_sec = -1;
  c.max_req_per_sec = -1;
  return c;
}

// Used by start() and by a restart (same addresses, ports and node id).
Result<void> OpenDht::run_runner(Impl& impl) {
  const DhtConfig& config = impl.config;
  ::dht::DhtRunner& runner = impl.runner;
  const uint64_t driver = impl.loop->drive([&runner] { return runner.loop(); });
  auto sock =
      EpollSocket::open(impl.loop, impl.runner_config.bind4, impl.runner_config.bind6, driver);
  if (!sock.ok()) {
    impl.loop->undrive(driver);
    return make_error("dht_start_failed", "OpenDHT on " + config.bind_address + ":" +
                                              std::to_string(config.port) + ": " +
                                              sock.error().message);
  }
  ::dht::DhtRunner::Context ctx;
  ctx.sock = std::move(sock).value();
  impl.connected = false;  // a new runner starts disconnected and says when that changes
  ctx.statusChangedCallback = [&impl](::dht::NodeStatus v4, ::dht::NodeStatus v6) {
    const bool now = v4 == ::dht::NodeStatus::Connected || v6 == ::dht::NodeStatus::Connected;
    if (impl.connected.exchange(now) && !now) impl.wake_watchdog();
  };
  if (config.log_to_stderr) ctx.logger = ::dht::log::getStdLogger();
  try {
    impl.runner.run(impl.runner_config, std::move(ctx));
    // Types go in before the first bootstrap, so nothing is stored under the default expiry.
    impl.runner.registerType(::dht::ValueType(static_cast<uint16_t>(ValueKind::provider_record),
                                              "beemesh.provider", config.provider_record_expiry));
    impl.runner.registerType(
        ::dht::ValueType(static_cast<uint16_t>(ValueKind::brief_provider_record),
                         "beemesh.provider.brief", config.brief_record_expiry));
    impl.runner.registerType(::dht::ValueType(static_cast<uint16_t>(ValueKind::peer_record),
                                              "beemesh.peer", config.peer_record_expiry));
    impl.runner.registerType(::dht::ValueType(static_cast<uint16_t>(ValueKind::heartbeat),
                                              "beemesh.heartbeat", config.heartbeat_expiry));
    if (config.raw_expiry != std::chrono::seconds(600)) {
      impl.runner.registerType(::dht::ValueType(static_cast<uint16_t>(ValueKind::raw),
                                                "beemesh.raw", config.raw_expiry));
    }
  } catch (const std::exception& e) {
    impl.loop->undrive(driver);
    return make_error("dht_start_failed", "OpenDHT on " + config.bind_address + ":" +
                                              std::to_string(config.port) + ": " + e.what());
  }
  impl.driver = driver;
  impl.poke();
  return ok_result();
}

Result<std::unique_ptr<OpenDht>> OpenDht::start(const DhtConfig& config,
                                                std::shared_ptr<EpollLoop> loop) {
  static const bool query_filter_fixed = opendht_query_filter_fixed();
  if (!query_filter_fixed) {
    spdlog::error(
        "component=dht OpenDHT's id queries keep only their first answer in this process: "
        "libopendht binds its own FieldValueIndex::containedIn (dht/opendht_query_fix.h)");
  }
  static const bool search_insert_fixed = opendht_search_insert_fixed();
  if (!search_insert_fixed) {
    spdlog::error(
        "component=dht OpenDHT's Search::insertNode can write into a node it just removed in "
        "this process: libopendht binds its own definition (dht/opendht_search_fix.h)");
  }
  static const bool arrival_order_fixed = opendht_arrival_order_fixed();
  if (!arrival_order_fixed) {
    spdlog::error(
        "component=dht OpenDHT handles a late batch of datagrams after the timeouts due while it "
        "waited in this process: libopendht binds its own Dht::periodic "
        "(dht/opendht_arrival_fix.h)");
  }
  static const bool done_searches_refused = opendht_done_searches_refused_at_once();
  if (search_insert_fixed && !done_searches_refused) {
    spdlog::warn(
        "component=dht libopendht {} is not 2.4.12: done searches are offered every node heard "
        "from, as OpenDHT does (dht/opendht_search_fix.h)",
        ::dht::version());
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;

  ::dht::DhtRunner::Config& rc = impl->runner_config;
  rc.threaded = false;  // run by the epoll loop's thread (EpollLoop::drive)
  auto& node = rc.dht_config.node_config;
  node.network = config.network_id;
  node.max_peer_req_per_sec = static_cast<ssize_t>(config.max_peer_req_per_sec);
  node.max_req_per_sec = static_cast<ssize_t>(config.max_req_per_sec);

  if (config.bind_address.empty() && config.bind_address6.empty()) {
    return make_error("dht_start_failed", "neither an IPv4 nor an IPv6 bind address");
  }
  if (!config.bind_address.empty()) {
    auto b4 = bind_addr(config.bind_address, config.port, AF_INET);
    if (!b4.ok()) return b4.error();
    rc.bind4 = *b4;
  }
  if (!config.bind_address6.empty()) {
    auto b6 = bind_addr(config.bind_address6, config.port6, AF_INET6);
    if (!b6.ok()) return b6.error();
    rc.bind6 = *b6;
  }

  if (!loop) {
    auto own = EpollLoop::start();
    if (!own.ok()) return own.error();
    loop = std::move(own).value();
  }
  impl->loop = std::move(loop);
  if (auto ran = run_runner(*impl); !ran.ok()) return ran.error();
  impl->runner_up = true;
  const auto port4 = config.bind_address.empty() ? 0 : impl->runner.getBound(AF_INET).getPort();
  const auto port6 = config.bind_address6.empty() ? 0 : impl->runner.getBound(AF_INET6).getPort();
  if ((!config.bind_address.empty() && port4 == 0) ||
      (!config.bind_address6.empty() && port6 == 0)) {
    impl->stop_driving();
    impl->runner.join();
    const bool v4 = !config.bind_address.empty() && port4 == 0;
    return make_error("dht_start_failed",
                      "OpenDHT could not bind " +
                          (v4 ? config.bind_address + ":" + std::to_string(config.port)
                              : "[" + config.bind_address6 + "]:" + std::to_string(config.port6)));
  }
  // A restart binds the same ports and keeps the node id.
  if (port4 != 0) rc.bind4.setPort(port4);
  if (port6 != 0) rc.bind6.setPort(port6);
  std::unique_ptr<OpenDht> dht(new OpenDht(std::move(impl)));
  dht->bound_port_ = port4;
  dht->bound_port6_ = port6;
  dht->bootstrap(config.bootstrap);
  if (config.rejoin_check.count() > 0) {
    dht->impl_->watchdog = std::thread([d = dht.get()] { d->watch_connectivity(); });
    ::pthread_setname_np(dht->impl_->watchdog.native_handle(), "dht-watchdog");
  }
  return dht;
}

// The watchdog's state for check_announcements(): when each key is next read, and the keys
// whose skipped nodes were pinged at the last check (put again at this one).
struct OpenDht::AnnounceWatch {
  std::map<::dht::InfoHash, int64_t> due_ms;
  std::vector<::dht::InfoHash> reput;
};

void OpenDht::check_announcements(AnnounceWatch& watch, int64_t now_ms) {
  Impl& impl = *impl_;
  std::map<::dht::InfoHash, std::vector<std::shared_ptr<::dht::Value>>> puts;
  {
    std::lock_guard lock(impl.mutex);
    for (const auto& [key, value] : impl.permanent) puts[key.first].push_back(value);
  }
  const int64_t every = impl.config.announce_check.count();
  const std::vector<::dht::InfoHash> reput = std::move(watch.reput);
  watch.reput.clear();
  std::erase_if(watch.due_ms, [&](const auto& due) { return !puts.contains(due.first); });
  bool sent = false;
  std::shared_lock lock(impl.runner_mutex);
  if (impl.stopped || !impl.runner_up) return;
  try {
    // The pinged nodes that answered are no longer expired: a put's search step asks them
    // and announces to the nearest (same value ids: the same values, refreshed).
    for (const auto& key : reput) {
      auto it = puts.find(key);
      if (it == puts.end()) continue;  // cancelled meanwhile
      for (const auto& value : it->second) {
        impl.runner.put(key, value, ::dht::DoneCallback{}, ::dht::time_point::max(),
                        /*permanent=*/true);
      }
      ++impl.announce_reputs;
      sent = true;
    }
    for (const auto& [key, values] : puts) {
      auto due = watch.due_ms.try_emplace(key, now_ms + every).first;
      if (now_ms < due->second) continue;
      due->second = now_ms + every;
      size_t pinged = 0;
      const auto skipped = skipped_nearer_nodes(impl.runner.getSearchLog(key), kMaxAnnouncePings);
      for (const auto& address : skipped) {
        auto addr = numeric_address(address);
        if (!addr) continue;
        impl.runner.bootstrap(*addr);  // a ping; no bootstrap list entry
        ++pinged;
      }
      if (pinged == 0) continue;
      impl.announce_pings += pinged;
      watch.reput.push_back(key);
      sent = true;
      spdlog::debug("component=dht event=announce_skipped_nearer key={} pinged={}", key.toString(),
                    pinged);
    }
  } catch (const std::exception& e) {
    spdlog::warn("component=dht announce check: {}", e.what());
  }
  if (sent) impl.poke();
}

void OpenDht::watch_connectivity() {
  Impl& impl = *impl_;
  AnnounceWatch announce_watch;
  // Everything below is this thread's own; Impl's shared state is atomics or under its locks.
  // A node that never had a good node (the first of a mesh, or one whose bootstrap peers are
  // not up yet) is starting, not isolated: its first good nodes are no rejoin.
  bool connected_once = false;
  bool isolated = false;  // logged once per isolation
  int64_t isolated_since_ms = 0;
  int64_t answering_since_ms = 0;  // isolated, but good nodes at every check since then
  RestartPacer pacer(impl.config.restart_min_gap, impl.config.restart_max_gap,
                     std::random_device{}());
  bool pacer_held = false;  // a restart is wanted and waits for the pacer (counted once)
  // Paces an isolated node's re-bootstraps while its loop is behind (reset when it is not).
  RestartPacer rebootstrap_pacer(impl.config.rejoin_check, kBehindRebootstrapMaxGap,
                                 std::random_device{}());
  // The nodes known while connected: a node with no bootstrap peer of its own (the first
  // of a mesh) rejoins through them.
  std::vector<::dht::NodeExport> known;
  int64_t exported_ms = 0;
  // Checked every rejoin_check while something is to be watched; while all is well only to
  // copy the routing table (kExportKnownEvery), or at once when woken (wake_watchdog).
  // The node's loop ran a step kLoopBehind late within kBehindWindow: requests then time out
  // while their replies wait unread, and nodes expire although the network is fine.
  bool behind_in_isolation = false;
  auto loop_behind = [&] {
    const auto last = impl.loop->last_behind();
    return last != EpollLoop::Clock::time_point{} &&
           EpollLoop::Clock::now() - last <= kBehindWindow;
  };
  auto watching = [&] {
    return !connected_once || isolated || pacer_held || impl.runner_down || !impl.connected ||
           impl.puts_failing_since_ms != 0;
  };
  std::unique_lock lock(impl.watchdog_mutex);
  while (!impl.stopped) {
    // While all is well: at least as often as the announcement check is due (not below 1 s).
    const auto wait =
        watching()
            ? impl.config.rejoin_check
            : std::min(std::chrono::milliseconds(kExportKnownEvery),
                       std::max(impl.config.announce_check, std::chrono::milliseconds(1'000)));
    impl.watchdog_wake.wait_for(lock, wait, [&] { return impl.stopped.load() || impl.watch_now; });
    if (impl.stopped) break;
    impl.watch_now = false;
    lock.unlock();
    ++impl.watchdog_checks;
    const int64_t now = steady_ms();
    if (impl.runner_down) {
      restart_runner("restart_failed");
      pacer.restarted(now);
      lock.lock();
      continue;
    }
    // Connected: a good node in either family (node_count() > 0) at the runner's last step,
    // which runs at every datagram, timer and request timeout of the node.
    const bool alone = !impl.connected;
    const char* restart = nullptr;
    if (alone) {
      if (!isolated && connected_once) {
        spdlog::info("component=dht event=rejoin reason=\"no good node\"");
        isolated_since_ms = now;
        isolated = true;
        behind_in_isolation = false;
      }
      if (isolated) behind_in_isolation = behind_in_isolation || loop_behind();
      answering_since_ms = 0;
    } else if (!isolated) {
      connected_once = true;
    } else {
      // Re-bootstrapping from `known` puts the old nodes back in the routing table, good
      // until their requests time out again: nodes seen at one check after an isolation are
      // no rejoin yet. They must still be there at a check kRejoinConfirm later.
      if (answering_since_ms == 0) answering_since_ms = now;
      behind_in_isolation = behind_in_isolation || loop_behind();
      if (now - answering_since_ms >= kRejoinConfirm) {
        isolated = false;
        if (behind_in_isolation) {
          // Its own loop was late, not the network cut: the searches a cut leaves stuck are
          // cured by a restart, but a loop that is behind for every node it runs (a process
          // of many nodes, an overloaded machine) would restart them all at once and fall
          // further behind. If searches stay stuck, failing puts restart it later.
          spdlog::info("component=dht event=rejoined nodes={} restart=skipped reason=loop_behind",
                       node_count());
          ++impl.restarts_skipped_behind;
        } else {
          spdlog::info("component=dht event=rejoined nodes={}", node_count());
          // Not for the short isolation a restart itself causes while its bootstrap answers.
          if (pacer.last_ms() == 0 ||
              isolated_since_ms - pacer.last_ms() >= impl.config.restart_min_gap.count()) {
            restart = "rejoined";
          }
        }
      }
    }
    const int64_t failing_since = impl.puts_failing_since_ms;
    // Puts time out while the loop is behind too: not while it was behind lately.
    if (!alone && !isolated && !restart && failing_since != 0 &&
        now - failing_since >= impl.config.restart_after_failing_puts.count() && !loop_behind()) {
      restart = "puts_failing";
    }
    if (!restart) pacer_held = false;
    // A rejoin's restart held back is not made later: if a search stays stuck, its failing
    // puts ask again.
    if (restart && !pacer.allows(now)) {
      if (!pacer_held) {
        ++impl.restarts_held_back;
        spdlog::info("component=dht event=restart_held reason={} streak={} gap_ms={}", restart,
                     pacer.streak(), pacer.gap_ms());
      }
      pacer_held = true;
      restart = nullptr;
    }
    // Alone: re-bootstrap, at every check while the loop keeps up, paced while it is behind.
    bool rebootstrap = false;
    if (alone) {
      if (!loop_behind()) {
        rebootstrap_pacer.reset();
        rebootstrap = true;
      } else if (rebootstrap_pacer.allows(now)) {
        rebootstrap_pacer.restarted(now);
        rebootstrap = true;
      } else {
        ++impl.rebootstraps_deferred;
      }
    }
    if (rebootstrap) ++impl.rebootstraps;
    try {
      if (rebootstrap) {
        impl.runner.connectivityChanged();
        if (!known.empty()) impl.runner.bootstrap(known);
        impl.poke();
      } else if (!alone && (known.empty() || now - exported_ms >= kExportKnownEvery)) {
        known = impl.runner.exportNodes();
        exported_ms = now;
      }
    } catch (const std::exception& e) {
      spdlog::warn("component=dht rejoin: {}", e.what());
    }
    if (rebootstrap) bootstrap(impl.config.bootstrap);
    // Connected and keeping up: pings now would be answered (and not time out again).
    if (!alone && !isolated && !restart && !loop_behind()) {
      check_announcements(announce_watch, now);
    }
    if (restart) {
      if (restart_runner(restart) && !known.empty()) {
        try {
          impl.runner.bootstrap(known);
          impl.poke();
        } catch (const std::exception& e) {
          spdlog::warn("component=dht rejoin: {}", e.what());
        }
      }
      pacer.restarted(now);
      pacer_held = false;
    }
    lock.lock();
  }
}

bool OpenDht::restart() {
  return restart_runner("requested");
}

bool OpenDht::restart_runner(const char* reason) {
  Impl& impl = *impl_;
  std::lock_guard restarting(impl.restart_mutex);
  if (impl.stopped) return true;
  const int64_t started = steady_ms();
  // From here until the new runner runs, gets, puts and queries wait in `ops`: the old runner
  // would drop them, or report them at once on the caller's thread once joined.
  impl.ops.down();
  {
    std::unique_lock lock(impl.runner_mutex);
    impl.runner_up = false;
  }
  // The values this node stores for the network (for others, and its own puts' local copies)
  // go with the old runner's Dht: taken out just before join() and stored again in the new
  // one, so that a restart costs the keys' readers nothing (without this, a restarted storing
  // node answered without them until their owners' next put). OpenDHT 2.4.12: exportValues()
  // and importValues() run on the calling thread (here the watchdog's) under the runner's
  // dht_mtx, which its own thread holds while it handles packets and timers: no race with it.
  // A value stored between the export and join() is lost (its owner's next put brings it).
  std::vector<::dht::ValuesExport> stored;
  try {
    if (auto id = impl.runner.getNodeId()) impl.runner_config.dht_config.node_config.node_id = id;
    stored = impl.runner.exportValues();
    // Not under impl.mutex: the loop thread may be in a callback of this runner that takes it.
    impl.stop_driving();
    impl.runner.join();
  } catch (const std::exception& e) {
    spdlog::warn("component=dht restart join: {}", e.what());
  }
  // What the old runner took and had not answered went with it, without a callback.
  const size_t failed = impl.ops.fail_sent(make_error(
      "dht_restarted",
      std::string("the node's DHT runner restarted (") + reason + ") before an answer came"));
  impl.ops_failed_by_restart += failed;
  size_t listens = 0;
  size_t permanent = 0;
  size_t kept = 0;
  {
    // Held from run() to the last listen: a listen() meanwhile would be made twice.
    std::lock_guard lock(impl.mutex);
    if (impl.stopped) return true;  // shutdown() waits for this thread, then joins the runner
    auto ran = run_runner(impl);
    if (!ran.ok()) {
      spdlog::error("component=dht event=runner_restart_failed reason={} error=\"{}\"", reason,
                    ran.error().to_string());
      impl.runner_down = true;
      impl.ops_failed_by_restart += impl.ops.fail_held(
          make_error("dht_restart_failed",
                     "the node's DHT runner did not start again: " + ran.error().message));
      return false;
    }
    impl.runner_down = false;
    {
      std::unique_lock up(impl.runner_mutex);
      impl.runner_up = true;
    }
    // After run_runner registered the value types, and before the listens are made again:
    //  * Expiry: Dht::importValues stores each value with its exported creation time (capped
    //    at now) and storageStore gives it `created + its type's expiry`. Both runners use
    //    std::chrono::steady_clock in this process and register the same types, so a value
    //    keeps its remaining lifetime exactly; one that expired meanwhile is not stored.
    //    Imported before registerType, it would get OpenDHT's 10-min default instead.
    //  * A new value notifies the key's local listeners synchronously, on this thread, which
    //    holds impl.mutex; the new runner has none yet (listen() below only queues them).
    //  * Each imported key's storage maintenance (Dht::dataPersistence) runs at the new
    //    runner's first step, then every 10 min: when this node is not among the (up to 8)
    //    closest nodes it knows to the key, it announces the values to them, and drops its
    //    copy if that holds in both address families. At that first step the routing tables
    //    are empty (or hold a node or two): it keeps them.
    try {
      impl.runner.importValues(stored);
      // The new runner's store right after the import: the values kept (a datagram handled
      // in between could add one; nothing else is stored yet).
      kept = impl.runner.getStoreSize().second;
      impl.values_kept += kept;
    } catch (const std::exception& e) {
      spdlog::warn("component=dht restart import: {}", e.what());
    }
    try {
      for (auto& [token, l] : impl.listens) {
        l.token = impl.runner.listen(l.hash, l.callback).share();
        ++listens;
      }
      for (const auto& [key, value] : impl.permanent) {
        impl.runner.put(key.first, value, ::dht::DoneCallback{}, ::dht::time_point::max(),
                        /*permanent=*/true);
        ++permanent;
      }
    } catch (const std::exception& e) {
      spdlog::warn("component=dht restart listen/put: {}", e.what());
    }
    // The operations made meanwhile, to the new runner (a permanent put among them is put a
    // second time, with its callback, after the re-put above: the same value id, one value).
    try {
      impl.ops.up();
    } catch (const std::exception& e) {
      spdlog::warn("component=dht restart held operations: {}", e.what());
    }
    impl.poke();
  }
  impl.puts_failing_since_ms = 0;
  ++impl.restarts;
  if (std::string_view(reason) == "puts_failing") ++impl.restarts_for_failing_puts;
  bootstrap(impl.config.bootstrap);
  spdlog::warn(
      "component=dht event=runner_restarted reason={} listens={} permanent_puts={} "
      "values_kept={} ops_failed={} took_ms={}",
      reason, listens, permanent, kept, failed, steady_ms() - started);
  return true;
}

OpenDht::OpenDht(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OpenDht::~OpenDht() {
  shutdown();
}

std::string OpenDht::endpoint() const {
  if (impl_->config.bind_address.empty()) {
    return "[" + impl_->config.bind_address6 + "]:" + std::to_string(bound_port6_);
  }
  return impl_->config.bind_address + ":" + std::to_string(bound_port_);
}

std::string OpenDht::search_log(const Key& key) const {
  std::shared_lock lock(impl_->runner_mutex);
  if (!impl_->runner_up) return {};
  return impl_->runner.getSearchLog(to_hash(key));
}

std::string OpenDht::node_id() const {
  std::shared_lock lock(impl_->runner_mutex);
  if (!impl_->runner_up) return {};
  return impl_->runner.getNodeId().toString();
}

std::string OpenDht::storage_log(const Key& key) const {
  std::shared_lock lock(impl_->runner_mutex);
  if (!impl_->runner_up) return {};
  return impl_->runner.getStorageLog(to_hash(key));
}

void OpenDht::bootstrap(const std::vector<std::string>& peers) {
  if (impl_->stopped) return;
  for (const auto& peer : peers) {
    auto hp = split_host_port(peer);
    if (!hp.ok()) {
      spdlog::warn("component=dht bootstrap skipped: {}", hp.error().to_string());
      continue;
    }
    try {
      impl_->runner.bootstrap(hp->first, hp->second);
      impl_->poke();
    } catch (const std::exception& e) {
      spdlog::warn("component=dht bootstrap peer={} failed: {}", peer, e.what());
    }
  }
}

// put()/put_permanent() share this: size check, stopped check, the OpenDHT call. The callback
// is shared so that it can still be told if OpenDHT throws after taking its copy.
uint64_t OpenDht::put_value(const Key& key, Value value, PutCallback done, bool permanent) {
  Impl& impl = *impl_;
  const char* what = permanent ? "dht permanent put " : "dht put ";
  if (value.data.size() > kMaxValueSize) {
    if (done) {
      done(make_error("value_too_large", what + key.to_hex() + ": " +
                                             std::to_string(value.data.size()) + " bytes, limit " +
                                             std::to_string(kMaxValueSize)));
    }
    return 0;
  }
  if (impl.stopped) {
    if (done) done(make_error("dht_stopped", what + key.to_hex() + ": node shut down"));
    return 0;
  }
  if (value.id == 0) value.id = impl.random_id();
  const uint64_t id = value.id;
  auto v =
      std::make_shared<::dht::Value>(static_cast<uint16_t>(value.kind), std::move(value.data), id);
  auto shared_done = std::make_shared<PutCallback>(std::move(done));
  if (permanent) {
    std::lock_guard lock(impl.mutex);
    impl.permanent[{to_hash(key), id}] = v;
  }
  const uint64_t op = impl.ops.begin([shared_done, key, what](const Error& e) {
    if (*shared_done) (*shared_done)(make_error(e.code, what + key.to_hex() + ": " + e.message));
  });
  try {
    impl.ops.submit(op, [&impl, op, shared_done, key, what, v, permanent] {
      impl.runner.put(
          to_hash(key), v,
          [&impl, op, shared_done, key, what](bool ok,
                                              const std::vector<std::shared_ptr<::dht::Node>>&) {
            // The loop thread, running this runner; it stops running it before Impl goes.
            if (ok) {
              impl.last_put_ok_ms = steady_ms();
              impl.puts_failing_since_ms = 0;
            } else {
              int64_t none = 0;
              if (impl.puts_failing_since_ms.compare_exchange_strong(none, steady_ms())) {
                impl.wake_watchdog();
              }
            }
            if (!impl.ops.finish(op) || !*shared_done) return;
            if (ok) {
              (*shared_done)(ok_result());
            } else {
              (*shared_done)(make_error("dht_put_failed", describe_failure(what, key)));
            }
          },
          ::dht::time_point::max(), permanent);
    });
    impl.poke();
  } catch (const std::exception& e) {
    if (impl.ops.finish(op) && *shared_done)
      (*shared_done)(make_error("dht_put_failed", what + key.to_hex() + ": " + e.what()));
    return 0;
  }
  return id;
}

void OpenDht::put(const Key& key, Value value, PutCallback done) {
  put_value(key, std::move(value), std::move(done), /*permanent=*/false);
}

uint64_t OpenDht::put_permanent(const Key& key, Value value, PutCallback done) {
  return put_value(key, std::move(value), std::move(done), /*permanent=*/true);
}

void OpenDht::cancel_permanent(const Key& key, uint64_t value_id) {
  if (impl_->stopped || value_id == 0) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->permanent.erase({to_hash(key), value_id});
  }
  try {
    impl_->runner.cancelPut(to_hash(key), value_id);
    impl_->poke();
  } catch (const std::exception& e) {
    spdlog::warn("component=dht cancel put key={} failed: {}", key.to_hex(), e.what());
  }
}

void OpenDht::get(const Key& key, GetCallback done) {
  get_where(key, std::nullopt, std::move(done));
}

void OpenDht::get_value(const Key& key, uint64_t value_id, GetCallback done) {
  // The storing nodes apply the query: each answers with this one value, if it has it.
  get_where(key, value_id, std::move(done));
}

void OpenDht::get_where(const Key& key, std::optional<uint64_t> only_id, GetCallback done) {
  if (impl_->stopped) {
    done(make_error("dht_stopped", "dht get " + key.to_hex() + ": node shut down"));
    return;
  }
  // Values arrive in batches on the loop thread; `done` fires once after the last.
  Impl& impl = *impl_;
  auto found = std::make_shared<std::vector<Value>>();
  auto shared_done = std::make_shared<GetCallback>(std::move(done));
  const uint64_t op = impl.ops.begin([shared_done, key](const Error& e) {
    (*shared_done)(make_error(e.code, "dht get " + key.to_hex() + ": " + e.message));
  });
  try {
    impl.ops.submit(op, [&impl, op, found, shared_done, key, only_id] {
      impl.runner.get(
          to_hash(key),
          [found](const std::vector<std::shared_ptr<::dht::Value>>& values) {
            for (const auto& v : values) {
              if (v) found->push_back(from_opendht(*v));
            }
            return true;
          },
          [&impl, op, found, shared_done, key](bool ok,
                                               const std::vector<std::shared_ptr<::dht::Node>>&) {
            if (!impl.ops.finish(op)) return;
            if (ok || !found->empty()) {
              (*shared_done)(std::move(*found));
            } else {
              (*shared_done)(make_error("dht_get_failed",
                                        "dht get " + key.to_hex() + ": no DHT node answered"));
            }
          },
          {}, only_id ? ::dht::Where().id(*only_id) : ::dht::Where());
    });
    impl.poke();
  } catch (const std::exception& e) {
    if (impl.ops.finish(op)) {
      (*shared_done)(make_error("dht_get_failed", "dht get " + key.to_hex() + ": " + e.what()));
    }
  }
}

void OpenDht::get_ids(const Key& key, GetIdsCallback done) {
  if (impl_->stopped) {
    done(make_error("dht_stopped", "dht get_ids " + key.to_hex() + ": node shut down"));
    return;
  }
  // A query selecting the value id: each storing node answers with the ids only, inline in
  // its reply (a get's answer carries every value, one datagram each once they exceed
  // 600 bytes together: docs/notes/dht.md).
  Impl& impl = *impl_;
  auto found = std::make_shared<std::set<uint64_t>>();
  auto shared_done = std::make_shared<GetIdsCallback>(std::move(done));
  const uint64_t op = impl.ops.begin([shared_done, key](const Error& e) {
    (*shared_done)(make_error(e.code, "dht get_ids " + key.to_hex() + ": " + e.message));
  });
  try {
    impl.ops.submit(op, [&impl, op, found, shared_done, key] {
      impl.runner.query(
          to_hash(key),
          [found](const std::vector<std::shared_ptr<::dht::FieldValueIndex>>& fields) {
            for (const auto& f : fields) {
              if (!f) continue;
              auto id = f->index.find(::dht::Value::Field::Id);
              if (id != f->index.end()) found->insert(id->second.getInt());
            }
            return true;
          },
          [&impl, op, found, shared_done, key](bool ok,
                                               const std::vector<std::shared_ptr<::dht::Node>>&) {
            if (!impl.ops.finish(op)) return;
            if (ok || !found->empty()) {
              (*shared_done)(std::vector<uint64_t>(found->begin(), found->end()));
            } else {
              (*shared_done)(make_error("dht_get_failed",
                                        "dht get_ids " + key.to_hex() + ": no DHT node answered"));
            }
          },
          ::dht::Query(::dht::Select().field(::dht::Value::Field::Id)));
    });
    impl.poke();
  } catch (const std::exception& e) {
    if (impl.ops.finish(op)) {
      (*shared_done)(make_error("dht_get_failed", "dht get_ids " + key.to_hex() + ": " + e.what()));
    }
  }
}

ListenToken OpenDht::listen(const Key& key, ListenCallback on_values) {
  std::lock_guard lock(impl_->mutex);
  const ListenToken token = impl_->next_token++;
  if (impl_->stopped) return token;
  const auto hash = to_hash(key);
  Impl::ValuesCallback callback = [cb = std::make_shared<ListenCallback>(std::move(on_values))](
                                      const std::vector<std::shared_ptr<::dht::Value>>& values,
                                      bool expired) {
    (*cb)(from_opendht(values), expired);
    return true;
  };
  try {
    auto fut = impl_->runner.listen(hash, callback);
    impl_->poke();
    impl_->listens.emplace(token, Impl::Listening{hash, fut.share(), std::move(callback)});
  } catch (const std::exception& e) {
    spdlog::warn("component=dht listen key={} failed: {}", key.to_hex(), e.what());
  }
  return token;
}

void OpenDht::cancel_listen(const Key& /*key*/, ListenToken token) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->listens.find(token);
  if (it == impl_->listens.end()) return;
  if (!impl_->stopped) {
    try {
      impl_->runner.cancelListen(it->second.hash, it->second.token);
      impl_->poke();
    } catch (const std::exception& e) {
      spdlog::warn("component=dht cancel listen failed: {}", e.what());
    }
  }
  impl_->listens.erase(it);
}

size_t OpenDht::node_count() const {
  std::shared_lock lock(impl_->runner_mutex);
  if (impl_->stopped || !impl_->runner_up) return 0;
  const auto s4 = impl_->runner.getNodesStats(AF_INET);
  const auto s6 = impl_->runner.getNodesStats(AF_INET6);
  return std::max(s4.good_nodes, s6.good_nodes);
}

DhtStats OpenDht::stats() const {
  DhtStats s;
  s.bound_port = bound_port_;
  s.runner_restarts = impl_->restarts;
  s.restarts_for_failing_puts = impl_->restarts_for_failing_puts;
  s.values_kept_on_restart = impl_->values_kept;
  s.ops_failed_by_restart = impl_->ops_failed_by_restart;
  s.restarts_held_back = impl_->restarts_held_back;
  s.restarts_skipped_behind = impl_->restarts_skipped_behind;
  s.watchdog_checks = impl_->watchdog_checks;
  s.rebootstraps = impl_->rebootstraps;
  s.rebootstraps_deferred = impl_->rebootstraps_deferred;
  s.announce_pings = impl_->announce_pings;
  s.announce_reputs = impl_->announce_reputs;
  if (impl_->loop) s.datagrams_refused = impl_->loop->dropped_malformed();
  std::shared_lock lock(impl_->runner_mutex);
  if (impl_->stopped || !impl_->runner_up) return s;
  const auto s4 = impl_->runner.getNodesStats(AF_INET);
  const auto s6 = impl_->runner.getNodesStats(AF_INET6);
  s.good_nodes = std::max(s4.good_nodes, s6.good_nodes);
  s.dubious_nodes = std::max(s4.dubious_nodes, s6.dubious_nodes);
  s.searches = s4.searches + s6.searches;
  const auto [bytes, values] = impl_->runner.getStoreSize();
  s.stored_bytes = bytes;
  s.stored_values = values;
  return s;
}

void OpenDht::shutdown() {
  if (impl_->stopped.exchange(true)) return;
  {
    std::lock_guard lock(impl_->watchdog_mutex);
    impl_->watchdog_wake.notify_all();
  }
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
  std::lock_guard restarting(impl_->restart_mutex);  // a restart() of another thread has ended
  // No callback after this: what is in flight or held is forgotten, and nothing more is sent
  // (OpenDHT would report it at once, on the caller's thread, once the runner stops).
  impl_->ops.clear();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->listens.clear();
    impl_->permanent.clear();
  }
  {
    std::unique_lock lock(impl_->runner_mutex);
    impl_->runner_up = false;
  }
  try {
    impl_->runner.shutdown({}, /*stop=*/true);
    impl_->stop_driving();
    impl_->runner.join();
  } catch (const std::exception& e) {
    spdlog::warn("component=dht shutdown: {}", e.what());
  }
}

}  // namespace beemesh::dht
