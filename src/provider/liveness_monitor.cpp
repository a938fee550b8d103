#include "provider/liveness_monitor.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include "crypto/heartbeat.h"
#include "provider/liveness_table.h"

namespace beemesh::provider {

namespace {

using std::chrono::milliseconds;

constexpr int64_t kMinValidityMs = 1000;
constexpr int64_t kMaxValidityMs = 60'000;

int64_t ms(milliseconds d) {
  return d.count();
}

}  // namespace

struct LivenessMonitor::Core : std::enable_shared_from_this<Core> {
  Core(dht::Dht& d, const crypto::Identity& id, const Clock& c, LivenessConfig cfg)
      : dht(d),
        identity(id),
        clock(c),
        config(std::move(cfg)),
        self(id.node_id()),
        table(ms(config.dead_after)) {}

  struct Watch {
    bool pinned = false;    // watch(node, 0): until unwatch()
    bool followed = false;  // returned by the follow() source at its last call
    int64_t until_ms = 0;   // interest of watch(node, d)
    dht::ListenToken listen = 0;
    bool reading = false;
    uint64_t read_attempt = 0;
    int64_t read_started_ms = 0;
    NodeState reported = NodeState::unknown;
  };

  dht::Dht& dht;
  const crypto::Identity& identity;
  const Clock& clock;
  const LivenessConfig config;
  const std::string self;

  mutable std::mutex mutex;
  std::condition_variable wake;    // the worker
  std::condition_variable change;  // check() waiters
  bool started = false;
  bool stopping = false;
  LivenessTable table;
  std::map<std::string, Watch> watches;
  struct CheckReads {
    int in_flight = 0;
    int64_t last_started_ms = 0;
  };
  std::map<std::string, CheckReads> checking;  // node -> reads of check() in flight
  std::map<uint64_t, ChangeCallback> callbacks;
  uint64_t next_token = 0;
  uint64_t last_attempt = 0;

  // Publishing.
  uint64_t sequence = 0;
  int64_t next_put_ms = 0;
  struct PutInFlight {
    int64_t started_ms = 0;
    uint64_t value_id = 0;
  };
  std::map<uint64_t, PutInFlight> puts_in_flight;  // attempt -> put; at most 3
  // Puts to stop in the DHT (timed out, or superseded by a newer acknowledged heartbeat): the
  // worker cancels them. OpenDHT would re-send each until all its storing nodes acknowledged.
  std::vector<uint64_t> puts_to_cancel;
  std::mt19937_64 rng{std::random_device{}()};
  uint64_t search_marker = 0;  // value id of the permanent marker under our own key
  // When this node last reached the DHT (start time counts: not cut off before the first
  // try): the start of an acknowledged heartbeat put of ours, or the arrival of a newer
  // heartbeat of another node (new data can only have come from the DHT just now).
  int64_t last_reach_ms = 0;

  LivenessMonitor::FollowSource follow_source;  // set once, before its thread
  milliseconds follow_every{0};

  LivenessStats counters;

  bool cut_off(int64_t now) const {
    return config.publish && now - last_reach_ms > ms(config.dead_after);
  }

  // A death needs evidence that this node itself reached the DHT when the other one should
  // have shown life: not cut off now, and — unless the record alone says dead — this node
  // reached the DHT more than half of dead_after after the other's last sign of life (a node
  // that went silent at the moment we lost the DHT ourselves is not accused). Our own puts
  // alone are not enough evidence: a put is acknowledged only once every storing node
  // answered, so a storing node that just died holds our puts up for seconds
  // (docs/notes/liveness.md).
  NodeState state_locked(const std::string& node_id, int64_t now) const {
    if (node_id == self) return NodeState::alive;
    auto s = table.state(node_id, now);
    if (s != NodeState::dead || !config.publish) return s;
    if (cut_off(now)) return NodeState::unknown;
    if (table.dead_by_record(node_id, now)) return s;
    const auto life = table.last_sign_of_life(node_id);
    if (life && last_reach_ms <= *life + ms(config.dead_after) / 2) return NodeState::unknown;
    return s;
  }

  // ---- reading heartbeats ----

  // The newest acceptable heartbeat of `node_id` among `values`, if any.
  std::optional<HeartbeatSeen> pick(const std::string& node_id,
                                    const std::vector<dht::Value>& values) {
    std::optional<HeartbeatSeen> best;
    const int64_t now = clock.now_ms();
    size_t looked = 0;
    uint64_t rejected = 0;
    for (const auto& v : values) {
      if (v.kind != dht::ValueKind::heartbeat) continue;
      if (looked++ >= config.max_values_per_read) {
        ++rejected;
        continue;
      }
      auto hb = crypto::open_heartbeat(v.data);
      Result<void> ok = hb ? Result<void>() : Result<void>(hb.error());
      if (ok && hb->node_id != node_id) ok = make_error("wrong_node", "heartbeat of another node");
      if (ok && (hb->validity_ms < kMinValidityMs || hb->validity_ms > kMaxValidityMs)) {
        ok = make_error("out_of_range", "validity_ms " + std::to_string(hb->validity_ms));
      }
      if (ok && hb->timestamp_ms > now + ms(config.max_clock_skew)) {
        ok = make_error("out_of_range", "dated in the future");
      }
      if (ok && config.membership) {
        auto member = config.membership->verify(hb->credential, hb->signer_public_key);
        if (!member) {
          ok = member.error();
        } else if (member->kind != crypto::CertKind::kNode) {
          ok = make_error("not_a_node", "heartbeat credential is not a node's");
        }
      }
      if (!ok) {
        ++rejected;
        spdlog::debug("component=liveness node={} dropped heartbeat: {}", node_id,
                      ok.error().to_string());
        continue;
      }
      if (!best || hb->sequence > best->sequence) {
        best = HeartbeatSeen{hb->node_id, hb->sequence, hb->timestamp_ms, hb->validity_ms};
      }
    }
    std::lock_guard lock(mutex);
    counters.records_rejected += rejected;
    return best;
  }

  // A read of `node_id` finished: `complete` says the DHT answered (found or not).
  void on_values(const std::string& node_id, const std::vector<dht::Value>& values, bool complete) {
    auto best = pick(node_id, values);
    {
      std::lock_guard lock(mutex);
      const int64_t now = clock.now_ms();
      if (best) {
        if (table.observe(*best, now)) {
          ++counters.heartbeats_seen;
          last_reach_ms = std::max(last_reach_ms, now);
        }
      } else if (complete) {
        table.observe_missing(node_id, now);
      }
    }
    change.notify_all();  // a check() waiting for this node (a listen may answer first)
  }

  void on_read_done(const std::string& node_id, uint64_t attempt,
                    Result<std::vector<dht::Value>> got, bool for_check) {
    if (got) {
      on_values(node_id, *got, true);
    } else {
      spdlog::debug("component=liveness node={} read failed: {}", node_id, got.error().to_string());
    }
    {
      std::lock_guard lock(mutex);
      if (for_check) {
        auto it = checking.find(node_id);
        if (it != checking.end() && --it->second.in_flight <= 0) checking.erase(it);
      } else {
        auto it = watches.find(node_id);
        if (it != watches.end() && it->second.reading && it->second.read_attempt == attempt) {
          it->second.reading = false;
        }
      }
    }
    change.notify_all();
    wake.notify_all();
  }

  void read(const std::string& node_id, uint64_t attempt, bool for_check) {
    std::weak_ptr<Core> weak = weak_from_this();
    dht.get(dht::liveness_key(node_id),
            [weak, node_id, attempt, for_check](Result<std::vector<dht::Value>> got) {
              if (auto core = weak.lock()) {
                core->on_read_done(node_id, attempt, std::move(got), for_check);
              }
            });
  }

  dht::ListenToken listen(const std::string& node_id) {
    std::weak_ptr<Core> weak = weak_from_this();
    return dht.listen(dht::liveness_key(node_id),
                      [weak, node_id](const std::vector<dht::Value>& values, bool expired) {
                        if (expired) return;
                        if (auto core = weak.lock()) core->on_values(node_id, values, false);
                      });
  }

  // ---- publishing ----

  void on_put_done(uint64_t attempt, Result<void> r) {
    std::lock_guard lock(mutex);
    auto it = puts_in_flight.find(attempt);
    if (it == puts_in_flight.end()) return;  // timed out or superseded already
    const int64_t started = it->second.started_ms;
    puts_in_flight.erase(it);
    if (r) {
      ++counters.heartbeats_put;
      // When the put was made: the DHT was reachable then.
      last_reach_ms = std::max(last_reach_ms, started);
      // Older heartbeats still in flight are superseded: stop them (attempts grow with time).
      for (auto old = puts_in_flight.begin();
           old != puts_in_flight.end() && old->first < attempt;) {
        puts_to_cancel.push_back(old->second.value_id);
        old = puts_in_flight.erase(old);
      }
    } else {
      ++counters.heartbeat_put_failures;
      spdlog::debug("component=liveness heartbeat put failed: {}", r.error().to_string());
    }
  }

  dht::Value sign_next(int64_t now) {
    sequence = std::max<uint64_t>(sequence + 1, static_cast<uint64_t>(std::max<int64_t>(now, 0)));
    protocol::Heartbeat hb;
    hb.node_id = self;
    hb.signer_public_key = identity.public_key();
    hb.timestamp_ms = now;
    hb.validity_ms = static_cast<uint32_t>(ms(config.validity));
    hb.sequence = sequence;
    hb.credential = identity.credential();
    // Our own id (never 0), so that the put can be cancelled.
    const uint64_t id = std::uniform_int_distribution<uint64_t>(1)(rng);
    return dht::Value{id, dht::ValueKind::heartbeat, crypto::sign_heartbeat(identity, hb)};
  }

  // ---- the worker ----

  struct Work {
    std::optional<dht::Value> put;
    uint64_t put_attempt = 0;
    std::vector<uint64_t> cancel_puts;  // value ids
    std::vector<std::pair<std::string, uint64_t>> reads;
    std::vector<std::string> listens;
    std::vector<std::pair<std::string, dht::ListenToken>> cancels;
    std::vector<std::pair<std::string, NodeState>> changes;
    std::vector<std::pair<std::string, NodeState>> to_log;  // deaths and revivals (info)
  };

  // Mutex held: decides what to do now.
  Work plan(int64_t now) {
    Work w;
    if (config.publish) {
      std::erase_if(puts_in_flight, [&](const auto& p) {
        const bool late = now - p.second.started_ms > ms(config.put_timeout);
        if (late) {
          ++counters.heartbeat_put_failures;
          puts_to_cancel.push_back(p.second.value_id);
        }
        return late;
      });
      w.cancel_puts.swap(puts_to_cancel);
      if (now >= next_put_ms && puts_in_flight.size() < 3) {
        w.put = sign_next(now);
        w.put_attempt = ++last_attempt;
        puts_in_flight.emplace(w.put_attempt, PutInFlight{now, w.put->id});
        next_put_ms = now + ms(config.period);
      }
    }
    for (auto it = watches.begin(); it != watches.end();) {
      auto& [id, watch] = *it;
      if (!watch.pinned && !watch.followed && now > watch.until_ms) {
        if (watch.listen) w.cancels.emplace_back(id, watch.listen);
        table.forget(id);
        it = watches.erase(it);
        continue;
      }
      if (config.listen && watch.listen == 0) w.listens.push_back(id);
      if (watch.reading && now - watch.read_started_ms > ms(config.get_timeout)) {
        watch.reading = false;
      }
      const auto life = table.last_sign_of_life(id);
      const auto seen = table.last_observed(id);
      const bool quiet = !life || now - *life >= ms(config.poll_after);
      const bool not_just_read = !seen || now - *seen >= ms(config.poll_after);
      if (!watch.reading && quiet && not_just_read) {
        watch.reading = true;
        watch.read_attempt = ++last_attempt;
        watch.read_started_ms = now;
        ++counters.reads;
        w.reads.emplace_back(id, watch.read_attempt);
      }
      const auto s = state_locked(id, now);
      if (s != NodeState::unknown && s != watch.reported) {
        if (s == NodeState::dead) ++counters.deaths;
        if (s == NodeState::alive && watch.reported == NodeState::dead) ++counters.revivals;
        if (s == NodeState::dead || watch.reported == NodeState::dead) w.to_log.emplace_back(id, s);
        watch.reported = s;
        w.changes.emplace_back(id, s);
      }
      ++it;
    }
    // Nodes learnt through check() and not watched are forgotten after dead_after.
    for (const auto& id : table.nodes()) {
      if (watches.count(id) || checking.count(id)) continue;
      auto seen = table.last_observed(id);
      if (!seen || now - *seen > ms(config.dead_after)) table.forget(id);
    }
    return w;
  }

  void run_follow(std::stop_token stop) {
    std::vector<std::string> ids;
    try {
      ids = follow_source(stop);
    } catch (const std::exception& e) {
      spdlog::warn("component=liveness follow source failed: {}", e.what());
      return;
    }
    std::set<std::string> wanted(ids.begin(), ids.end());
    wanted.erase(self);
    std::lock_guard lock(mutex);
    for (auto& [id, watch] : watches) watch.followed = wanted.count(id) != 0;
    for (const auto& id : wanted) {
      if (watches.count(id)) continue;
      if (watches.size() >= config.max_watched) break;
      watches[id].followed = true;
    }
  }

  void run_follower(std::stop_token stop) {
    std::unique_lock lock(mutex);
    while (!stopping) {
      lock.unlock();
      run_follow(stop);
      lock.lock();
      wake.wait_for(lock, follow_every, [this] { return stopping; });
    }
  }

  void run_worker() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      Work w = plan(clock.now_ms());
      std::vector<ChangeCallback> cbs;
      if (!w.changes.empty()) {
        for (const auto& [token, cb] : callbacks) cbs.push_back(cb);
      }
      lock.unlock();
      for (const uint64_t id : w.cancel_puts) dht.cancel_put(dht::liveness_key(self), id);
      if (w.put) {
        std::weak_ptr<Core> weak = weak_from_this();
        dht.put(dht::liveness_key(self), std::move(*w.put),
                [weak, attempt = w.put_attempt](Result<void> r) {
                  if (auto core = weak.lock()) core->on_put_done(attempt, std::move(r));
                });
      }
      for (auto& [id, token] : w.cancels) dht.cancel_listen(dht::liveness_key(id), token);
      for (const auto& id : w.listens) {
        auto token = listen(id);
        std::lock_guard relock(mutex);
        auto it = watches.find(id);
        if (it != watches.end() && it->second.listen == 0 && !stopping) {
          it->second.listen = token;
        } else {
          dht.cancel_listen(dht::liveness_key(id), token);
        }
      }
      for (const auto& [id, attempt] : w.reads) read(id, attempt, false);
      for (const auto& [id, s] : w.to_log) {
        spdlog::info("component=liveness node={} is {}", id, to_string(s));
      }
      for (const auto& [id, s] : w.changes) {
        for (const auto& cb : cbs) cb(id, s);
      }
      lock.lock();
      if (stopping) break;
      wake.wait_for(lock, config.tick);
    }
  }
};

LivenessMonitor::LivenessMonitor(dht::Dht& dht, const crypto::Identity& identity,
                                 const Clock& clock, LivenessConfig config)
    : core_(std::make_shared<Core>(dht, identity, clock, std::move(config))) {
  core_->last_reach_ms = clock.now_ms();
}

LivenessMonitor::~LivenessMonitor() {
  stop();
}

void LivenessMonitor::start() {
  std::lock_guard lock(core_->mutex);
  if (core_->started || core_->stopping) return;
  core_->started = true;
  core_->last_reach_ms = core_->clock.now_ms();
  // A tiny permanent value (kind raw, empty; readers skip it) keeps OpenDHT's search of our
  // heartbeat key open: else it closes the search once a heartbeat is acknowledged and looks
  // the storing nodes up again at the next one (a find per storing node and heartbeat).
  if (core_->config.publish) {
    core_->search_marker =
        core_->dht.put_permanent(dht::liveness_key(core_->self), {0, dht::ValueKind::raw, {}});
  }
  worker_ = std::thread([core = core_.get()] { core->run_worker(); });
  ::pthread_setname_np(worker_.native_handle(), "liveness");
}

void LivenessMonitor::stop() {
  std::map<std::string, Core::Watch> watches;
  std::vector<uint64_t> puts;
  uint64_t search_marker = 0;
  {
    std::lock_guard lock(core_->mutex);
    core_->stopping = true;
    std::swap(search_marker, core_->search_marker);
    watches.swap(core_->watches);
    puts.swap(core_->puts_to_cancel);
    for (const auto& [attempt, put] : core_->puts_in_flight) puts.push_back(put.value_id);
    core_->puts_in_flight.clear();
  }
  core_->wake.notify_all();
  core_->change.notify_all();
  follower_.request_stop();
  if (worker_.joinable()) worker_.join();
  if (follower_.joinable()) follower_.join();
  for (auto& [id, w] : watches) {
    if (w.listen) core_->dht.cancel_listen(dht::liveness_key(id), w.listen);
  }
  for (const uint64_t id : puts) core_->dht.cancel_put(dht::liveness_key(core_->self), id);
  if (search_marker) core_->dht.cancel_permanent(dht::liveness_key(core_->self), search_marker);
}

NodeState LivenessMonitor::state(const std::string& node_id) const {
  std::lock_guard lock(core_->mutex);
  return core_->state_locked(node_id, core_->clock.now_ms());
}

bool LivenessMonitor::watch(const std::string& node_id, std::chrono::milliseconds interest) {
  if (node_id == core_->self) return true;
  {
    std::lock_guard lock(core_->mutex);
    if (core_->stopping) return false;
    auto it = core_->watches.find(node_id);
    if (it == core_->watches.end()) {
      if (core_->watches.size() >= core_->config.max_watched) return false;
      it = core_->watches.emplace(node_id, Core::Watch{}).first;
    }
    if (interest.count() <= 0) {
      it->second.pinned = true;
    } else {
      it->second.until_ms = std::max(it->second.until_ms, core_->clock.now_ms() + interest.count());
    }
  }
  core_->wake.notify_all();
  return true;
}

void LivenessMonitor::unwatch(const std::string& node_id) {
  std::lock_guard lock(core_->mutex);
  auto it = core_->watches.find(node_id);
  if (it == core_->watches.end()) return;
  it->second.pinned = false;
  it->second.until_ms = 0;  // the worker drops it unless the follow source still names it
}

void LivenessMonitor::check(const std::vector<std::string>& node_ids,
                            std::chrono::milliseconds timeout) {
  std::vector<std::string> waited;                      // unknown nodes: a read in flight
  std::vector<std::pair<std::string, uint64_t>> reads;  // of those, the reads started here
  {
    std::lock_guard lock(core_->mutex);
    if (core_->stopping) return;
    const int64_t now = core_->clock.now_ms();
    std::set<std::string> seen;
    for (const auto& id : node_ids) {
      if (id == core_->self || core_->table.known(id) || !seen.insert(id).second) continue;
      waited.push_back(id);
      auto& in_flight = core_->checking[id];
      // Another check's read, younger than get_timeout: wait for that one.
      if (in_flight.in_flight > 0 &&
          now - in_flight.last_started_ms < ms(core_->config.get_timeout)) {
        continue;
      }
      ++in_flight.in_flight;
      in_flight.last_started_ms = now;
      ++core_->counters.reads;
      reads.emplace_back(id, ++core_->last_attempt);
    }
  }
  if (waited.empty()) return;
  // All reads at once; each one that answers after `timeout` still records what it found.
  for (const auto& [id, attempt] : reads) core_->read(id, attempt, true);
  std::unique_lock lock(core_->mutex);
  core_->change.wait_for(lock, timeout, [&] {
    if (core_->stopping) return true;
    return std::none_of(waited.begin(), waited.end(), [&](const auto& id) {
      return !core_->table.known(id) && core_->checking.count(id) != 0;
    });
  });
}

uint64_t LivenessMonitor::on_change(ChangeCallback callback) {
  std::lock_guard lock(core_->mutex);
  const uint64_t token = ++core_->next_token;
  core_->callbacks.emplace(token, std::move(callback));
  return token;
}

void LivenessMonitor::remove_callback(uint64_t token) {
  std::lock_guard lock(core_->mutex);
  core_->callbacks.erase(token);
}

void LivenessMonitor::follow(FollowSource source, std::chrono::milliseconds every) {
  std::lock_guard lock(core_->mutex);
  if (core_->follow_source || core_->stopping) return;
  core_->follow_source = std::move(source);
  core_->follow_every = std::max(every, std::chrono::milliseconds(100));
  follower_ =
      std::jthread([core = core_.get()](std::stop_token stop) { core->run_follower(stop); });
  ::pthread_setname_np(follower_.native_handle(), "liveness-follow");
}

LivenessStats LivenessMonitor::stats() const {
  std::lock_guard lock(core_->mutex);
  LivenessStats s = core_->counters;
  s.watched = core_->watches.size();
  s.cut_off = core_->cut_off(core_->clock.now_ms());
  return s;
}

}  // namespace beemesh::provider
