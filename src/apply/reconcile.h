// apply/reconcile.h — the reconcile loop (issue 13): keeps the number of live replicas of
// every manifest this node runs at what the owner's intent asks for, without a control
// plane (docs/ARCHITECTURE.md "Reconcile loop").
//
// Usage (the daemon):
//   apply::ReconcileLoop loop(settings, parts);   // parts: narrow callbacks, below
//   handlers.set_on_deployed([&](auto& mid, auto& owner, auto& yaml) {
//     loop.remember(mid, owner, yaml); });
//   loop.start(); ... loop.stop();
//
// Promise:
//  * decide() is the whole rule, a pure function of what one node sees for one manifest.
//    live = the nodes discovery lists as providers of the intent's content version (dead
//    ones already left out, provider/liveness.h; a record without a version counts as
//    current) plus self when it runs that version plus placements in flight; old = the
//    live providers of another version. Ranks are by the rendezvous hash BLAKE2b(node id ‖
//    manifest id), smallest first; the leader is rank 0 of live.
//      tombstone                                            -> remove_self
//      self runs an old version: live not empty, live + old > replicas, and self is the
//        last-ranked of old                                 -> remove_self (rolling update)
//      self current, live < replicas, self the leader       -> place min(replicas - live,
//        replicas + (old ? 1 : 0) - live - old): one replica of surge during a rollout
//      self current, live > replicas, self ranks >= replicas -> remove_self
//      otherwise                                            -> none
//    A removal (excess or rolling) also needs its count without the unconfirmed nodes: at
//    least `replicas` confirmed live nodes ranked before self (excess), or a confirmed
//    current one and more than `replicas` confirmed in all (rolling). A node that cannot tell
//    whether the others are alive (liveness reads `unknown` while it is cut off from the DHT,
//    or before a check answers) keeps its replica: unknown may be dead, and a removal on the
//    strength of a dead node leaves the manifest short where no node may lead its repair.
//    Every node that sees the same sets computes the same leader and the same removals.
//  * The loop runs on its own thread, every settings.tick and on every liveness change,
//    over the manifests this node runs (Parts::local) that have an intent in the
//    DesiredStateStore (the store is re-read from the DHT every settings.fetch_every per
//    manifest, and just before a placement). Nothing happens for settings.settle after a
//    manifest (or a new intent sequence) is first seen here. A placement needs the same
//    shortfall on settings.confirm_ticks consecutive ticks (a single false "dead" verdict
//    is not enough), an excess removal settings.excess_ticks; a tombstone is acted on at
//    once. One placement per manifest is in flight at a time; its nodes count as live
//    until their provider record appears or settings.placement_timeout passes; a failed
//    placement backs off settings.backoff.
//  * Placements need the plaintext: only a node that deployed the manifest since it
//    started (remember()) can lead one; a leader without it logs and does nothing.
//  * stop() waits for the thread, which looks at the stop flag between manifests (a tick does
//    not finish its pass first); callbacks of placements or removals arriving later are
//    ignored. Every blocking call inside is bounded by the callee (discovery, DHT fetch).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "apply/desired_state.h"
#include "apply/publisher.h"
#include "common/result.h"
#include "provider/liveness.h"

namespace beemesh::apply {

// The rendezvous rank key of a node for a manifest (hex of BLAKE2b-128(node id ‖ 0 ‖ id)).
std::string rendezvous_key(std::string_view node_id, std::string_view manifest_id);
// `nodes` ordered by rendezvous_key, smallest first (ties: node id).
std::vector<std::string> rendezvous_order(std::vector<std::string> nodes,
                                          std::string_view manifest_id);

struct ReconcileView {
  std::string manifest_id;
  std::string self;
  bool tombstone = false;
  int replicas = 0;            // the intent's
  std::set<std::string> live;  // live replica nodes of the intent's version (self when it is)
  std::set<std::string> old;   // live replica nodes of another version (self when it is)
  // Of live and old, the nodes not known alive (liveness `unknown`, placements in flight):
  // they count towards a shortfall, never towards a removal.
  std::set<std::string> unconfirmed;
};

enum class ReconcileAction { none, place, remove_self };
struct ReconcileDecision {
  ReconcileAction action = ReconcileAction::none;
  int count = 0;  // replicas to place
};
ReconcileDecision decide(const ReconcileView& view);

struct ReconcileSettings {
  std::chrono::milliseconds tick{1'000};
  std::chrono::milliseconds settle{10'000};
  std::chrono::milliseconds fetch_every{10'000};
  std::chrono::milliseconds placement_timeout{60'000};
  std::chrono::milliseconds backoff{5'000};
  int confirm_ticks = 2;
  int excess_ticks = 3;
};

struct LocalReplica {
  std::string manifest_id;
  crypto::PublicKey owner{};
  std::string content_version;  // content_version_label() of what it runs; empty: unknown
};

struct ProviderView {
  std::string node_id;
  std::string content_version;  // from the provider record; empty: unknown (counts as current)
  bool confirmed = true;        // known alive (false: liveness has no verdict yet)
};

struct ReconcileStats {
  uint64_t ticks = 0;
  uint64_t placements = 0;  // placements started
  uint64_t placements_failed = 0;
  uint64_t replicas_placed = 0;
  uint64_t removals = 0;  // own replicas removed (excess or tombstone)
};

class ReconcileLoop {
 public:
  struct Parts {
    std::string self;
    DesiredStateStore& desired;
    provider::Liveness* liveness = nullptr;  // optional: wake on changes
    // What this node runs (healthy, up workloads): one entry per (manifest, owner).
    std::function<std::vector<LocalReplica>()> local;
    // Node ids of the live providers of a manifest (discovery; may block, bounded).
    std::function<std::vector<ProviderView>(const std::string& manifest_id)> providers;
    // Starts a re-placement; `done` is called once, on any thread.
    std::function<void(ReplaceRequest, std::function<void(Result<PublishOutcome>)>)> place;
    // Removes this node's replicas of the manifest; `done` is called once, on any thread.
    std::function<void(const std::string& manifest_id, const crypto::PublicKey& owner,
                       std::function<void(Result<int>)>)>
        remove;
  };

  ReconcileLoop(ReconcileSettings settings, Parts parts);
  ~ReconcileLoop();
  ReconcileLoop(const ReconcileLoop&) = delete;
  ReconcileLoop& operator=(const ReconcileLoop&) = delete;

  // Keeps the plaintext of a manifest this node deployed (in memory only).
  void remember(const std::string& manifest_id, const crypto::PublicKey& owner,
                const std::string& yaml);
  void start();
  void stop();
  ReconcileStats stats() const;

 private:
  using Key = std::pair<std::string, crypto::PublicKey>;
  struct Entry {
    std::optional<std::string> yaml;
    uint64_t sequence = 0;
    std::chrono::steady_clock::time_point settled_at{};
    std::chrono::steady_clock::time_point next_fetch{};
    int short_ticks = 0;
    int excess_ticks = 0;
    bool busy = false;              // a placement or removal in flight
    std::set<std::string> pending;  // nodes placed, not yet seen as providers
    std::chrono::steady_clock::time_point pending_until{};
    std::chrono::steady_clock::time_point backoff_until{};
    bool seen = false;            // in this tick's local set
    std::string content_version;  // what this node runs (LocalReplica::content_version)
  };
  void run();
  void tick();
  void reconcile(const Key& key);
  void start_placement(const Key& key, int count, const ReconcileView& view,
                       const crypto::DesiredState& state);
  void start_removal(const Key& key, const char* why);

  const ReconcileSettings settings_;
  Parts parts_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<Key, Entry> entries_;
  ReconcileStats stats_;
  bool stopping_ = false;
  bool woken_ = false;
  uint64_t liveness_token_ = 0;
  std::thread worker_;
  // Late placement/removal callbacks check it under its own mutex (taken before mutex_).
  struct Guard {
    std::mutex mutex;
    bool alive = true;
  };
  std::shared_ptr<Guard> guard_ = std::make_shared<Guard>();
};

}  // namespace beemesh::apply
