// The node directory's recent joins (apply/directory.h): real OpenDHT nodes on loopback
// (dht::LoopbackMesh), a real ProviderManager and a started NodeDirectory per node. The
// shards are re-read only every ~8 min, so whatever a directory lists within seconds came
// through the joins key or its first pass over the shards.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "apply/directory.h"
#include "common/clock.h"
#include "crypto/identity.h"
#include "dht/loopback_mesh.h"
#include "directory_entry.h"
#include "provider/liveness.h"
#include "provider/provider_manager.h"

namespace beemesh::apply {
namespace {

using namespace std::chrono_literals;

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Liveness as the test sets it (unknown until set); remembers which nodes it was asked to check.
class FakeLiveness : public provider::Liveness {
 public:
  void set(const std::string& node_id, provider::NodeState state) {
    std::lock_guard lock(mutex_);
    states_[node_id] = state;
  }
  bool was_checked(const std::string& node_id) const {
    std::lock_guard lock(mutex_);
    return checked_.count(node_id) > 0;
  }
  provider::NodeState state(const std::string& node_id) const override {
    std::lock_guard lock(mutex_);
    auto it = states_.find(node_id);
    return it == states_.end() ? provider::NodeState::unknown : it->second;
  }
  bool watch(const std::string&, std::chrono::milliseconds) override { return true; }
  void unwatch(const std::string&) override {}
  void check(const std::vector<std::string>& node_ids, std::chrono::milliseconds) override {
    std::lock_guard lock(mutex_);
    checked_.insert(node_ids.begin(), node_ids.end());
  }
  uint64_t on_change(ChangeCallback) override { return 0; }
  void remove_callback(uint64_t) override {}

 private:
  mutable std::mutex mutex_;
  std::map<std::string, provider::NodeState> states_;
  std::set<std::string> checked_;
};

class DirectoryJoins : public ::testing::Test {
 protected:
  static constexpr size_t kDhtNodes = 8;  // the first ones carry the directories

  void SetUp() override {
    auto started = dht::LoopbackMesh::start(kDhtNodes, 0x0bee701e);
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    dht_ = std::move(*started);
    ASSERT_TRUE(dht_->wait_connected(3, 30s)) << dht_state();
    ids_.reserve(kDhtNodes);  // managers keep references
  }
  void TearDown() override {
    for (auto& d : directories_) d->stop();
    directories_.clear();
    providers_.clear();
  }

  // Starts a directory on DHT node i (announced and started at once, as the daemon does).
  NodeDirectory& start_node(size_t i, provider::ProviderConfig config = {}) {
    auto& d = announce_node(i, config);
    d.start();
    return d;
  }
  // A directory on DHT node i, announced, that reads only when told to (refresh()).
  NodeDirectory& announce_node(size_t i, provider::ProviderConfig config = {}) {
    return announce_node_as(i, crypto::Identity::generate(), std::move(config));
  }
  NodeDirectory& announce_node_as(size_t i, crypto::Identity id, provider::ProviderConfig config) {
    auto& d = silent_node(i, std::move(id), std::move(config));
    d.announce_self();
    return d;
  }
  // A directory on DHT node i, announced, that reads only when told to (refresh()): its
  // provider manager leaves out the nodes `filter` knows dead (as the daemon's does), and the
  // directory asks `liveness` (default: `filter`) about the nodes a read lacks.
  NodeDirectory& announce_node_with_liveness(size_t i, provider::Liveness& filter,
                                             provider::Liveness* liveness = nullptr) {
    provider::ProviderConfig config;
    config.liveness = &filter;
    config.liveness_passive = directory_ids();
    ids_.push_back(crypto::Identity::generate());
    providers_.push_back(std::make_unique<provider::ProviderManager>(dht_->node(i), ids_.back(),
                                                                     system_clock(), config));
    directories_.push_back(std::make_unique<NodeDirectory>(
        *providers_.back(), test_support::directory_entry(ids_.back(), i, 21000), 3600s, nullptr,
        liveness ? liveness : &filter));
    directories_.back()->announce_self();
    return *directories_.back();
  }
  // A directory on DHT node i that announces nothing (no shard record, no join).
  NodeDirectory& silent_node(size_t i, crypto::Identity id = crypto::Identity::generate(),
                             provider::ProviderConfig config = {}) {
    ids_.push_back(std::move(id));
    providers_.push_back(std::make_unique<provider::ProviderManager>(dht_->node(i), ids_.back(),
                                                                     system_clock(), config));
    directories_.push_back(std::make_unique<NodeDirectory>(
        *providers_.back(), test_support::directory_entry(ids_.back(), i, 21000), 3600s));
    return *directories_.back();
  }

  // Node `leaver` (an index) withdraws its shard record; returns once a read of that shard by
  // node `reader` no longer lists it.
  bool withdraw_and_wait(size_t leaver, size_t reader) {
    const auto shard = directory_shard_id(*directory_shard(ids_[leaver].node_id()));
    providers_[leaver]->withdraw(shard);
    return eventually(
        [&] {
          auto read = providers_[reader]->discover_once(shard);
          if (!read.ok()) return false;
          for (const auto& p : *read) {
            if (p.metadata.node_id == ids_[leaver].node_id()) return false;
          }
          return true;
        },
        10s);
  }

  // Node 0 reads (refresh() only), has listed node 1, and node 1 has withdrawn its shard
  // record since; nullptr if either step did not happen.
  NodeDirectory* reader_that_listed_a_node_since_withdrawn() {
    auto& reader = announce_node(0);
    announce_node(1);
    if (!refresh_until_lists(reader, 2) || !withdraw_and_wait(1, 0)) return nullptr;
    return &reader;
  }

  // Reads every shard of `reader` (refresh()) until it lists n nodes, for at most 10 s.
  static bool refresh_until_lists(NodeDirectory& reader, size_t n) {
    return eventually(
        [&] {
          reader.refresh();
          return reader.nodes().size() == n;
        },
        10s);
  }

  // What each DHT node knows (for failure messages: the mesh once failed to connect in CI).
  std::string dht_state() {
    std::string out;
    for (size_t i = 0; i < dht_->size(); ++i) {
      const auto st = dht_->node(i).stats();
      out += "\nDHT node " + std::to_string(i) + " (port " + std::to_string(st.bound_port) +
             "): good " + std::to_string(st.good_nodes) + ", dubious " +
             std::to_string(st.dubious_nodes) + ", runner restarts " +
             std::to_string(st.runner_restarts) + ", re-bootstraps " +
             std::to_string(st.rebootstraps) + ", refused datagrams " +
             std::to_string(st.datagrams_refused);
    }
    return out;
  }

  // What each node lists and how its reads went (for failure messages).
  std::string describe() {
    std::string out;
    for (size_t i = 0; i < directories_.size(); ++i) {
      const auto st = providers_[i]->stats();
      out += "\nnode " + std::to_string(i) + ": lists " +
             std::to_string(directories_[i]->nodes().size()) + ", puts ok " +
             std::to_string(st.puts_ok) + ", DHT reads failed " + std::to_string(st.dht_failures) +
             ", cache misses " + std::to_string(st.cache_misses) + ", DHT nodes " +
             std::to_string(st.dht_nodes);
    }
    return out;
  }

  bool every_directory_lists(size_t n) {
    for (auto& d : directories_) {
      if (d->nodes().size() != n) return false;
    }
    return true;
  }

  std::unique_ptr<dht::LoopbackMesh> dht_;
  std::vector<crypto::Identity> ids_;
  std::vector<std::unique_ptr<provider::ProviderManager>> providers_;
  std::vector<std::unique_ptr<NodeDirectory>> directories_;
};

// The apply_mesh_test flake: three nodes started together, so each one's first reads of the
// others' shards came back empty (formerly re-read only after a backoff of up to 60 s).
TEST_F(DirectoryJoins, ThreeNodesStartedTogetherListEachOtherWithinSeconds) {
  for (size_t i = 0; i < 3; ++i) start_node(i);
  EXPECT_TRUE(eventually([&] { return every_directory_lists(3); }, 10s)) << describe();
}

TEST_F(DirectoryJoins, ANodeJoiningASettledMeshIsListedEverywhereWithinSeconds) {
  for (size_t i = 0; i < 3; ++i) start_node(i);
  ASSERT_TRUE(eventually([&] { return every_directory_lists(3); }, 20s));
  std::this_thread::sleep_for(3s);  // every shard read at least once: none due for minutes
  start_node(3);
  EXPECT_TRUE(eventually([&] { return every_directory_lists(4); }, 10s));
}

TEST_F(DirectoryJoins, ASettledDirectoryListensOnlyToJoinsBucketsAroundNow) {
  for (size_t i = 0; i < 3; ++i) start_node(i);
  ASSERT_TRUE(eventually([&] { return every_directory_lists(3); }, 20s));
  std::this_thread::sleep_for(3s);
  for (auto& p : providers_) {
    EXPECT_GE(p->stats().cache_entries, 2u);
    EXPECT_LE(p->stats().cache_entries, 3u) << "shards are read without a cache entry or listen";
  }
}

TEST_F(DirectoryJoins, ASettledDirectoryMakesNoDhtReadsAtRest) {
  for (size_t i = 0; i < 3; ++i) start_node(i);
  ASSERT_TRUE(eventually([&] { return every_directory_lists(3); }, 20s));
  std::this_thread::sleep_for(5s);  // the first pass, and the re-read once reads are trusted
  std::vector<uint64_t> gets, watches;
  for (auto& p : providers_) gets.push_back(p->stats().cache_misses);
  for (auto& d : directories_) watches.push_back(d->stats().join_buckets_watched);
  std::this_thread::sleep_for(10s);
  for (size_t i = 0; i < providers_.size(); ++i) {
    // Watching the next joins bucket (once per 2 min) is a DHT get.
    const uint64_t new_watches = directories_[i]->stats().join_buckets_watched - watches[i];
    EXPECT_LE(new_watches, 1u);
    EXPECT_EQ(providers_[i]->stats().cache_misses, gets[i] + new_watches)
        << "node " << i << describe();
  }
}

// A directory with no joins to follow wakes for its shard reads (here its empty shards' 2 s,
// 4 s, ... backoff) and its joins buckets' changes, not at every tick (apply/refresh_schedule.h).
TEST_F(DirectoryJoins, ADirectoryWithNoJoinsToFollowDoesNotWakeAtEveryTick) {
  auto& reader = silent_node(0);
  reader.start(100ms);
  ASSERT_TRUE(eventually([&] { return reader.stats().shard_reads >= kDirectoryShards; }, 20s));
  std::this_thread::sleep_for(1s);
  const uint64_t before = reader.stats().ticks;
  std::this_thread::sleep_for(3s);
  // At every tick: ~30.
  EXPECT_LE(reader.stats().ticks - before, 12u);
}

// A directory at rest sleeps past its tick; a join arriving in a watched bucket wakes it.
TEST_F(DirectoryJoins, AJoinWakesADirectoryAtRestAtOnce) {
  auto& reader = silent_node(0);
  reader.start(8s);
  // The first pass (4 ticks of 16 shards, 100 ms apart), then one tick 8 s later that takes
  // the joins answers in after it: from then on the reader is at rest.
  ASSERT_TRUE(eventually([&] { return reader.stats().ticks >= 5; }, 30s));
  std::this_thread::sleep_for(500ms);
  const auto joined = std::chrono::steady_clock::now();
  announce_node(1);
  // Its next tick is 8 s away: only the wake lists the joiner sooner.
  EXPECT_TRUE(eventually([&] { return reader.nodes().size() == 2; }, 4s)) << describe();
  EXPECT_LT(std::chrono::steady_clock::now() - joined, 8s);
}

// The daemon stops its directory, then destroys the provider manager, then the directory
// (whose destructor stops it again): the second stop must not reach the manager (the CI's
// apply_mesh_test aborted on a destroyed mutex before).
TEST_F(DirectoryJoins, AStoppedDirectoryIsDestroyedAfterItsProviderManager) {
  auto id = crypto::Identity::generate();
  auto pm = std::make_unique<provider::ProviderManager>(dht_->node(0), id, system_clock(),
                                                        provider::ProviderConfig{});
  auto d = std::make_unique<NodeDirectory>(*pm, test_support::directory_entry(id, 0, 21000), 3600s);
  d->start(100ms);
  d->stop();
  pm.reset();
  d.reset();
  SUCCEED();
}

// More joins between two ticks than one joins answer lists (max_providers, 2 here): the
// ones pushed out are found by reading every shard again.
TEST_F(DirectoryJoins, JoinsPushedOutOfAFullAnswerAreFoundByReadingEveryShard) {
  provider::ProviderConfig two;
  two.max_providers = 2;
  auto& first = start_node(0, two);
  ASSERT_TRUE(eventually([&] { return first.nodes().size() == 1; }, 5s));
  std::this_thread::sleep_for(5s);  // its first pass is over: no shard due for 45 s or more
  for (size_t i = 1; i < 6; ++i) start_node(i, two);
  // A gap pass at once, and another kJoinGapRecheck later (a joiner's shard record may not be
  // stored yet at the first).
  EXPECT_TRUE(eventually([&] { return first.nodes().size() == 6; }, 2 * kJoinGapRecheck + 5s))
      << describe();
}

// A shard read that lacks a listed node drops it only on evidence that it left
// (apply/missed_entries.h): a withdrawal the read lists, its record's expiry, or liveness.
TEST_F(DirectoryJoins, ANodeWhoseWithdrawalTheShardReadListsIsDroppedAtOnce) {
  auto* reader = reader_that_listed_a_node_since_withdrawn();
  ASSERT_NE(reader, nullptr);
  reader->refresh();
  EXPECT_EQ(reader->nodes().size(), 1u);
}

TEST_F(DirectoryJoins, ANodeWhoseShardRecordExpiredIsDroppedWithoutAWithdrawal) {
  auto& reader = announce_node(0);
  // Node 1 announces with a TTL of 3 s, then goes without withdrawing: its manager is gone,
  // so is the refresh of its record.
  ids_.push_back(crypto::Identity::generate());
  auto leaver = std::make_unique<provider::ProviderManager>(
      dht_->node(1), ids_.back(), system_clock(), provider::ProviderConfig{});
  auto leaving = std::make_unique<NodeDirectory>(
      *leaver, test_support::directory_entry(ids_.back(), 1, 21000), 3s);
  leaving->announce_self();
  ASSERT_TRUE(refresh_until_lists(reader, 2)) << describe();
  leaving.reset();
  leaver.reset();
  std::this_thread::sleep_for(3500ms);
  reader.refresh();
  EXPECT_EQ(reader.nodes().size(), 1u);
}

TEST_F(DirectoryJoins, ANodeLivenessKnowsDeadIsDroppedAtTheNextReadOfItsShard) {
  FakeLiveness liveness;
  auto& reader = announce_node_with_liveness(0, liveness);
  announce_node(1);
  ASSERT_TRUE(refresh_until_lists(reader, 2)) << describe();
  liveness.set(ids_[1].node_id(), provider::NodeState::dead);
  reader.refresh();  // the read leaves the dead node out, and it is not kept
  EXPECT_EQ(reader.nodes().size(), 1u);
}

// Node 1's record lives and is not withdrawn, but the read lacks it (the reader's provider
// manager leaves it out: a stand-in for storing nodes that lack its record): it stays listed,
// and the directory asks its liveness to check it.
TEST_F(DirectoryJoins, ANodeAReadLacksStaysListedWhileItsRecordLivesAndIsChecked) {
  FakeLiveness reads_leave_out;  // what the reader's provider manager filters with
  FakeLiveness liveness;         // what the reader's directory asks
  auto& reader = announce_node_with_liveness(0, reads_leave_out, &liveness);
  announce_node(1);
  ASSERT_TRUE(refresh_until_lists(reader, 2)) << describe();
  reads_leave_out.set(ids_[1].node_id(), provider::NodeState::dead);
  const uint64_t kept = reader.stats().entries_kept_missing;
  reader.refresh();
  reader.refresh();
  EXPECT_EQ(reader.nodes().size(), 2u);
  EXPECT_GE(reader.stats().entries_kept_missing, kept + 2);
  EXPECT_TRUE(liveness.was_checked(ids_[1].node_id()));
}

// A started directory takes each joins answer in once and then skips it while it stays the
// same (take_joins); a joiner its shard reads dropped meanwhile is still listed from it.
TEST_F(DirectoryJoins, AJoinerAShardReadDroppedIsListedAgainFromItsUnchangedJoin) {
  auto& reader = start_node(0);
  start_node(1);
  ASSERT_TRUE(eventually([&] { return every_directory_lists(2); }, 20s)) << describe();
  reader.refresh();                     // its first pass is done...
  std::this_thread::sleep_for(2500ms);  // ...and a tick (every 2 s) has taken the joins in
  ASSERT_TRUE(withdraw_and_wait(1, 0));
  const uint64_t dropped = reader.stats().entries_dropped;
  reader.refresh();  // node 1's shard read with its withdrawal: dropped from it...
  EXPECT_GT(reader.stats().entries_dropped, dropped);
  EXPECT_TRUE(eventually([&] { return reader.nodes().size() == 2; }, 10s))
      << "...and listed again from its join" << describe();
}

// A shard re-read asks for the value ids first and, when none is new, reads no record: its
// cost does not grow with the entries of the shard.
TEST_F(DirectoryJoins, AReReadOfAShardThatDidNotChangeReadsNoRecord) {
  auto& reader = announce_node(0);
  announce_node(1);
  ASSERT_TRUE(refresh_until_lists(reader, 2)) << describe();
  const auto before = providers_[0]->stats();
  reader.refresh();
  const auto after = providers_[0]->stats();
  EXPECT_EQ(reader.nodes().size(), 2u);
  EXPECT_GE(after.id_reads - before.id_reads, 1u) << "the shards that hold a record";
  EXPECT_EQ(after.values_fetched, before.values_fetched);
}

// A joiner's join tells its shard record (sequence, timestamp, TTL, salt: its value id
// follows), so a directory that took the join in reads that shard by ids without fetching it.
TEST_F(DirectoryJoins, AJoinersShardRecordIsKnownFromItsJoinAndNotFetched) {
  provider::ProviderConfig stable;
  stable.stable_ids = directory_shard_ids();
  auto member = crypto::Identity::generate();
  auto joiner = crypto::Identity::generate();
  while (directory_shard(joiner.node_id()) != directory_shard(member.node_id())) {
    joiner = crypto::Identity::generate();  // one shard for both (1 in 64)
  }
  const std::string shard = directory_shard_id(*directory_shard(member.node_id()));
  const std::string joiner_id = joiner.node_id();
  auto& reader = start_node(0, stable);  // its own shard may be that one too (1 in 64)
  announce_node_as(1, std::move(member), stable);
  ASSERT_TRUE(refresh_until_lists(reader, 2)) << describe();
  const auto before = providers_[0]->stats();
  announce_node_as(2, std::move(joiner), stable).start();
  ASSERT_TRUE(eventually([&] { return reader.nodes().size() == 3; }, 10s)) << describe();
  ASSERT_TRUE(eventually(
      [&] {
        auto read = providers_[1]->discover_once(shard);
        if (!read.ok()) return false;
        return std::any_of(read->begin(), read->end(),
                           [&](const auto& p) { return p.metadata.node_id == joiner_id; });
      },
      10s))
      << "the joiner's shard record is stored" << describe();
  reader.refresh();
  const auto after = providers_[0]->stats();
  EXPECT_EQ(reader.nodes().size(), 3u);
  EXPECT_EQ(after.values_fetched, before.values_fetched) << "the joiner's record was seeded";
  EXPECT_EQ(after.unclean_id_reads, before.unclean_id_reads);
  EXPECT_GE(after.id_reads - before.id_reads, 1u);
}

TEST(JoinerShardRecord, IsTheJoinUnderTheShardIdWithTheSequenceTimestampAndTtlItTells) {
  provider::ProviderInfo join;
  join.manifest_id = joins_id(7);
  join.metadata = {"bmX",
                   "127.0.0.1:9",
                   "mock",
                   {{"name", "x"},
                    {"shard_seq", "12"},
                    {"shard_ts", "34"},
                    {"shard_ttl", "600"},
                    {"shard_salt", "00000000000000ff"}}};
  join.timestamp_ms = 99;
  join.ttl_s = 300;
  join.sequence = 5;
  auto told = joiner_shard_record(join, directory_shard_id(3));
  ASSERT_TRUE(told.has_value());
  EXPECT_EQ(told->first, provider::stable_value_id("bmX", directory_shard_id(3), 12, 0xff));
  const auto& r = told->second;
  EXPECT_EQ(r.manifest_id, directory_shard_id(3));
  EXPECT_EQ(r.node_id, "bmX");
  EXPECT_EQ(r.sequence, 12u);
  EXPECT_EQ(r.timestamp_ms, 34);
  EXPECT_EQ(r.ttl_s, 600);
  EXPECT_EQ(r.capabilities, (std::map<std::string, std::string>{{"name", "x"}}));
}

// Hostile: the four values come from another node; anything but a plain decimal in range
// and 16 lowercase hex digits tells nothing (the joiner is still listed from its join, and its
// record fetched).
TEST(JoinerShardRecord, TellsNothingWithoutThreeDecimalsInRangeAndAHexSalt) {
  provider::ProviderInfo join;
  join.metadata = {"bmX",
                   "127.0.0.1:9",
                   "mock",
                   {{"shard_seq", "12"},
                    {"shard_ts", "34"},
                    {"shard_ttl", "600"},
                    {"shard_salt", "0123456789abcdef"}}};
  ASSERT_TRUE(joiner_shard_record(join, directory_shard_id(3)).has_value());
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"shard_seq", "-1"},
                                                        {"shard_seq", "0"},
                                                        {"shard_seq", "1e3"},
                                                        {"shard_seq", " 12"},
                                                        {"shard_seq", "9999999999999999999"},
                                                        {"shard_ts", ""},
                                                        {"shard_ts", "0x10"},
                                                        {"shard_ttl", "0"},
                                                        {"shard_ttl", "86401"},
                                                        {"shard_salt", "0123456789ABCDEF"},
                                                        {"shard_salt", "123"},
                                                        {"shard_salt", "0123456789abcdefa"},
                                                        {"shard_salt", "0123456789abcdeg"}}) {
    auto bad = join;
    bad.metadata.capabilities[key] = value;
    EXPECT_FALSE(joiner_shard_record(bad, directory_shard_id(3)).has_value())
        << key << "=" << value;
  }
  auto missing = join;
  missing.metadata.capabilities.erase("shard_ts");
  EXPECT_FALSE(joiner_shard_record(missing, directory_shard_id(3)).has_value());
}

TEST_F(DirectoryJoins, AJoinerWhoseKeyDoesNotHashToItsNodeIdIsNotListed) {
  auto& a = start_node(0);
  // A record in the joins key naming node `liar` with another node's public key.
  auto liar = crypto::Identity::generate();
  auto other = crypto::Identity::generate();
  provider::ProviderManager lying(dht_->node(5), liar, system_clock(), {});
  lying.announce(joins_id(join_bucket(system_clock().now_ms())),
                 {liar.node_id(),
                  "127.0.0.1:9",
                  "mock",
                  {{"public_key", to_hex(other.public_key())}, {"name", "liar"}, {"api", ""}}},
                 600s);
  // An honest joiner announced after it: once it is listed, the liar's record was seen too.
  start_node(1);
  ASSERT_TRUE(eventually([&] { return a.nodes().size() == 2; }, 10s));
  std::this_thread::sleep_for(2500ms);  // one more tick
  for (const auto& n : a.nodes()) EXPECT_NE(n.node_id, liar.node_id());
}

// A mass start: the 50 latest joins are seconds old when a node starts; joiners pushed out
// of its first answer may not have been stored when its first pass read their shards.
TEST(FirstJoinsAnswer, IsAGapWhenItsOldestJoinerJoinedShortlyBeforeTheDirectoryStarted) {
  const int64_t started = 1'800'000'000'000;
  EXPECT_TRUE(first_joins_answer_is_gap(started - 5'000, started));
  EXPECT_TRUE(first_joins_answer_is_gap(started + 5'000, started)) << "joined after it";
}

// A node joining a running mesh (a fleet started in waves): the 50 latest joins span more
// than kJoinStoreMargin, so the older ones were stored before its first pass read them.
TEST(FirstJoinsAnswer, IsNoGapWhenItsOldestJoinerJoinedLongBeforeTheDirectoryStarted) {
  const int64_t started = 1'800'000'000'000;
  const int64_t margin = std::chrono::milliseconds(kJoinStoreMargin).count();
  EXPECT_FALSE(first_joins_answer_is_gap(started - margin, started));
  EXPECT_FALSE(first_joins_answer_is_gap(started - 50'000, started));
}

// Session 9: with joins in 2-min buckets, a fleet rolled out at less than 50 joins per 2 min
// never fills an answer; its joiners made the four early passes over 64 shards each (86 % of
// the datagrams at 530 of 1,000 nodes).
TEST(JoinedRunningMesh, WhenAFirstPassListedAtLeastMaxProvidersMembers) {
  EXPECT_TRUE(joined_running_mesh(false, 50, 50));
  EXPECT_TRUE(joined_running_mesh(false, 400, 50));
  EXPECT_FALSE(joined_running_mesh(false, 49, 50));
}

TEST(JoinedRunningMesh, WhenAJoinsAnswerWasFull) {
  EXPECT_TRUE(joined_running_mesh(true, 3, 50));
}

TEST(DirectoryIds, AreTheShardsAndThePrefixOfTheJoinsBuckets) {
  auto ids = directory_ids();
  ASSERT_EQ(ids.size(), kDirectoryShards + 1);
  EXPECT_EQ(ids.back(), "beemesh:nodes:joins:");
  ids.pop_back();
  for (const auto& id : ids) EXPECT_TRUE(is_directory_id(id)) << id;
  EXPECT_TRUE(is_directory_id(joins_id(14'800'000)));
  EXPECT_FALSE(is_directory_id("beemesh:nodes:joins:"));
  EXPECT_FALSE(is_directory_id("beemesh:nodes:joins:12x"));
  EXPECT_FALSE(is_directory_id("beemesh:nodes:64"));
}

TEST(JoinBuckets, AreTwoMinutesOfUnixTimeEach) {
  EXPECT_EQ(join_bucket(0), 0);
  EXPECT_EQ(join_bucket(119'999), 0);
  EXPECT_EQ(join_bucket(120'000), 1);
  EXPECT_EQ(join_bucket(1'800'000'000'000), 15'000'000);
  EXPECT_EQ(join_bucket(-1), -1);
  EXPECT_EQ(joins_id(15'000'000), "beemesh:nodes:joins:15000000");
}

// A joiner whose clock runs up to a bucket ahead announces in the next bucket: watched too.
TEST_F(DirectoryJoins, AJoinInTheNextBucketIsTakenInOnceThatBucketIsWatched) {
  auto& a = announce_node(0);
  a.set_next_bucket_watch(1ms);  // watched from the start of each bucket on
  a.start();
  auto ahead = crypto::Identity::generate();
  provider::ProviderManager ahead_pm(dht_->node(6), ahead, system_clock(), {});
  // Only its join record, not its shard record: only the joins bucket can list it.
  ahead_pm.announce(joins_id(join_bucket(system_clock().now_ms()) + 1),
                    {ahead.node_id(),
                     "127.0.0.1:9",
                     "mock",
                     {{"public_key", to_hex(ahead.public_key())}, {"name", "ahead"}, {"api", ""}}},
                    600s);
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& n : a.nodes()) {
          if (n.node_id == ahead.node_id()) return true;
        }
        return false;
      },
      15s));
}

// A listener of the joins buckets is sent what they hold: the joins of the last few minutes,
// not every join since the mesh started. A join announced an hour ago is in no bucket read.
TEST_F(DirectoryJoins, AJoinRecordOfAnOldBucketIsNotTakenIn) {
  auto& a = start_node(0);
  auto old_joiner = crypto::Identity::generate();
  provider::ProviderManager old_pm(dht_->node(6), old_joiner, system_clock(), {});
  const int64_t an_hour_ago = system_clock().now_ms() - 3'600'000;
  // Only its join record, not its shard record: a shard read cannot list it.
  old_pm.announce(joins_id(join_bucket(an_hour_ago)),
                  {old_joiner.node_id(),
                   "127.0.0.1:9",
                   "mock",
                   {{"public_key", to_hex(old_joiner.public_key())}, {"name", "old"}, {"api", ""}}},
                  600s);
  start_node(1);  // a joiner of now
  ASSERT_TRUE(eventually([&] { return a.nodes().size() == 2; }, 10s));
  std::this_thread::sleep_for(2500ms);  // one more tick
  for (const auto& n : a.nodes()) EXPECT_NE(n.node_id, old_joiner.node_id());
}

}  // namespace
}  // namespace beemesh::apply
