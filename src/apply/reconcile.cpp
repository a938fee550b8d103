#include "apply/reconcile.h"

#include <pthread.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "apply/intent_authorization.h"
#include "common/bytes.h"
#include "protocol/intent.h"

namespace beemesh::apply {

std::string rendezvous_key(std::string_view node_id, std::string_view manifest_id) {
  unsigned char out[16];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof(out));
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(node_id.data()),
                            node_id.size());
  const unsigned char zero = 0;
  crypto_generichash_update(&state, &zero, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(manifest_id.data()),
                            manifest_id.size());
  crypto_generichash_final(&state, out, sizeof(out));
  return to_hex(ByteView(out, sizeof(out)));
}

std::vector<std::string> rendezvous_order(std::vector<std::string> nodes,
                                          std::string_view manifest_id) {
  std::vector<std::pair<std::string, std::string>> keyed;
  for (auto& n : nodes) keyed.emplace_back(rendezvous_key(n, manifest_id), std::move(n));
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> out;
  for (auto& [key, node] : keyed) out.push_back(std::move(node));
  return out;
}

namespace {

// Self, or a node liveness knows alive (apply/reconcile.h: removals count only those).
bool known_alive(const std::string& node, const ReconcileView& view) {
  return node == view.self || !view.unconfirmed.count(node);
}

template <typename It>
size_t known_alive_in(It first, It last, const ReconcileView& view) {
  return static_cast<size_t>(
      std::count_if(first, last, [&](const std::string& n) { return known_alive(n, view); }));
}

}  // namespace

ReconcileDecision decide(const ReconcileView& view) {
  if (view.tombstone) return {ReconcileAction::remove_self, 0};
  if (view.replicas <= 0) return {};
  const int live = static_cast<int>(view.live.size());
  const int old = static_cast<int>(view.old.size());
  const auto replicas = static_cast<size_t>(view.replicas);
  if (view.old.count(view.self)) {
    // Rolling update: old replicas leave one at a time, once a current one is announced.
    // Only nodes known alive count (so also nothing leaves while live is empty or live + old
    // is at most the count).
    const size_t live_known = known_alive_in(view.live.begin(), view.live.end(), view);
    if (live_known == 0 ||
        live_known + known_alive_in(view.old.begin(), view.old.end(), view) <= replicas) {
      return {};
    }
    auto order = rendezvous_order(std::vector<std::string>(view.old.begin(), view.old.end()),
                                  view.manifest_id);
    if (order.back() == view.self) return {ReconcileAction::remove_self, 0};
    return {};
  }
  auto order = rendezvous_order(std::vector<std::string>(view.live.begin(), view.live.end()),
                                view.manifest_id);
  auto self = std::find(order.begin(), order.end(), view.self);
  if (self == order.end()) return {};
  const int rank = static_cast<int>(self - order.begin());
  if (live < view.replicas) {
    if (rank != 0) return {};
    const int room = view.replicas + (old > 0 ? 1 : 0) - live - old;
    const int count = std::min(view.replicas - live, room);
    if (count > 0) return {ReconcileAction::place, count};
    return {};
  }
  if (live > view.replicas && rank >= view.replicas) {
    if (known_alive_in(order.begin(), self, view) >= replicas) {
      return {ReconcileAction::remove_self, 0};
    }
  }
  return {};
}

ReconcileLoop::ReconcileLoop(ReconcileSettings settings, Parts parts)
    : settings_(settings), parts_(std::move(parts)) {}

ReconcileLoop::~ReconcileLoop() {
  stop();
}

void ReconcileLoop::remember(const std::string& manifest_id, const crypto::PublicKey& owner,
                             const std::string& yaml) {
  std::lock_guard lock(mutex_);
  auto& e = entries_[{manifest_id, owner}];
  e.yaml = yaml;
}

void ReconcileLoop::start() {
  if (parts_.liveness) {
    liveness_token_ = parts_.liveness->on_change([this](const std::string&, provider::NodeState) {
      std::lock_guard lock(mutex_);
      woken_ = true;
      wake_.notify_all();
    });
  }
  worker_ = std::thread([this] { run(); });
  ::pthread_setname_np(worker_.native_handle(), "reconcile");
}

void ReconcileLoop::stop() {
  {
    std::lock_guard guard(guard_->mutex);
    guard_->alive = false;
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
    wake_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
  if (parts_.liveness && liveness_token_) {
    parts_.liveness->remove_callback(liveness_token_);
    liveness_token_ = 0;
  }
}

ReconcileStats ReconcileLoop::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void ReconcileLoop::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, settings_.tick, [this] { return stopping_ || woken_; });
    if (stopping_) break;
    woken_ = false;
    lock.unlock();
    tick();
    lock.lock();
  }
}

void ReconcileLoop::tick() {
  auto local = parts_.local();
  std::vector<Key> keys;
  {
    std::lock_guard lock(mutex_);
    ++stats_.ticks;
    for (auto& [key, e] : entries_) e.seen = false;
    for (const auto& r : local) {
      Key key{r.manifest_id, r.owner};
      auto& e = entries_[key];
      if (!e.seen) keys.push_back(key);
      e.seen = true;
      e.content_version = r.content_version;
    }
    // Forget what this node no longer runs (unless a placement or removal is in flight).
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!it->second.seen && !it->second.busy) {
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& key : keys) {
    {
      // Each manifest may wait on a bounded DHT read: stop() must not wait for all of them.
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    reconcile(key);
  }
}

void ReconcileLoop::reconcile(const Key& key) {
  const auto now = std::chrono::steady_clock::now();
  bool fetch = false;
  {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    if (e.busy) return;
    if (now >= e.next_fetch) {
      fetch = true;
      e.next_fetch = now + settings_.fetch_every;
    }
  }
  // The DHT read learns tombstones and newer intents (a delete that missed this node).
  auto state = fetch ? parts_.desired.fetch(key.first, key.second)
                     : parts_.desired.lookup(key.first, key.second);
  if (!state) return;  // applied without an intent: nothing to keep
  if (state->intent.tombstone) {
    start_removal(key, "the owner deleted it (tombstone)");
    return;
  }
  const std::string current = content_version_label(state->intent.content_version);
  const auto is_current = [&](const std::string& version) {
    return version.empty() || version == current;
  };
  ReconcileView view{key.first, parts_.self, false, static_cast<int>(state->intent.replicas),
                     {},        {},          {}};
  for (const auto& p : parts_.providers(key.first)) {
    if (p.node_id == parts_.self) continue;
    (is_current(p.content_version) ? view.live : view.old).insert(p.node_id);
    if (!p.confirmed) view.unconfirmed.insert(p.node_id);
  }
  std::string self_version;
  {
    std::lock_guard lock(mutex_);
    self_version = entries_[key].content_version;
  }
  (is_current(self_version) ? view.live : view.old).insert(parts_.self);
  ReconcileDecision decision;
  int count = 0;
  {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    if (e.sequence != state->intent.sequence) {
      e.sequence = state->intent.sequence;
      e.settled_at = now + settings_.settle;
      e.short_ticks = e.excess_ticks = 0;
    }
    for (auto it = e.pending.begin(); it != e.pending.end();) {
      if (view.live.count(*it) || now >= e.pending_until) {
        it = e.pending.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& n : e.pending) {
      if (view.live.insert(n).second) view.unconfirmed.insert(n);
    }
    if (now < e.settled_at) return;
    decision = decide(view);
    e.short_ticks = decision.action == ReconcileAction::place ? e.short_ticks + 1 : 0;
    e.excess_ticks = decision.action == ReconcileAction::remove_self ? e.excess_ticks + 1 : 0;
    if (decision.action == ReconcileAction::place) {
      if (e.short_ticks < settings_.confirm_ticks || now < e.backoff_until) return;
      if (!e.yaml || content_version_label(*e.yaml) != current) {
        if (e.short_ticks == settings_.confirm_ticks) {
          spdlog::warn(
              "reconcile {}: {} of {} replicas live and this node leads, but it has "
              "not got the manifest's plaintext (deployed before a restart)",
              key.first, view.live.size(), view.replicas);
        }
        return;
      }
    }
    if (decision.action == ReconcileAction::remove_self &&
        e.excess_ticks < settings_.excess_ticks) {
      return;
    }
    count = decision.count;
  }
  if (decision.action == ReconcileAction::place) {
    // Read the DHT once more: a delete or a scale-down may have just happened.
    auto fresh = parts_.desired.fetch(key.first, key.second);
    if (!fresh || fresh->intent.tombstone || fresh->intent.sequence != state->intent.sequence) {
      return;
    }
    start_placement(key, count, view, *fresh);
  } else if (decision.action == ReconcileAction::remove_self) {
    const bool rolling = view.old.count(parts_.self) > 0;
    spdlog::info(
        "reconcile {}: {} replicas live of the current version, {} of others ({} of them "
        "not known alive), {} wanted; this node {}",
        key.first, view.live.size(), view.old.size(), view.unconfirmed.size(), view.replicas,
        rolling ? "runs an old version (rolling update)" : "ranks beyond them");
    start_removal(key, rolling ? "rolling update" : "excess replica");
  }
}

void ReconcileLoop::start_placement(const Key& key, int count, const ReconcileView& view,
                                    const crypto::DesiredState& state) {
  const auto& live = view.live;
  auto record = protocol::decode_desired_state_record(state.value);
  if (!record) return;
  ReplaceRequest req;
  req.manifest_id = key.first;
  req.owner = key.second;
  req.intent = record->intent;
  req.owner_credential = record->owner_credential;
  req.count = count;
  req.exclude = view.live;  // every node running it, whatever its version
  req.exclude.insert(view.old.begin(), view.old.end());
  {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    req.yaml = *e.yaml;
    e.busy = true;
    ++stats_.placements;
  }
  spdlog::info("reconcile {}: {} of {} replicas live; placing {} (this node leads)", key.first,
               live.size(), state.intent.replicas, count);
  parts_.place(std::move(req), [this, guard = guard_, key](Result<PublishOutcome> outcome) {
    std::lock_guard g(guard->mutex);
    if (!guard->alive) return;
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    e.busy = false;
    e.short_ticks = 0;
    const auto now = std::chrono::steady_clock::now();
    int placed = 0;
    if (outcome) {
      for (const auto& p : outcome->placements) {
        if (p.ok) {
          e.pending.insert(p.node_id);
          ++placed;
        } else {
          spdlog::warn("reconcile {}: node {} refused the re-placement: {} {}", key.first,
                       p.node_id, p.code, p.message);
        }
      }
      e.pending_until = now + settings_.placement_timeout;
    } else {
      spdlog::warn("reconcile {}: re-placement failed: {}", key.first, outcome.error().to_string());
    }
    stats_.replicas_placed += static_cast<uint64_t>(placed);
    if (placed == 0) {
      ++stats_.placements_failed;
      e.backoff_until = now + settings_.backoff;
    } else {
      spdlog::info("reconcile {}: placed {} replica(s)", key.first, placed);
    }
  });
}

void ReconcileLoop::start_removal(const Key& key, const char* why) {
  {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    if (e.busy) return;
    e.busy = true;
    ++stats_.removals;
  }
  spdlog::info("reconcile {}: removing this node's replica ({})", key.first, why);
  parts_.remove(key.first, key.second, [this, guard = guard_, key](Result<int> removed) {
    std::lock_guard g(guard->mutex);
    if (!guard->alive) return;
    if (!removed) {
      spdlog::warn("reconcile {}: removing this node's replica failed: {}", key.first,
                   removed.error().to_string());
    }
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    e.busy = false;
    e.excess_ticks = 0;
    e.backoff_until = std::chrono::steady_clock::now() + settings_.backoff;
  });
}

}  // namespace beemesh::apply
