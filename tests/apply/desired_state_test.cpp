// DesiredStateStore: which version it keeps, and how a refresher keeps it in the DHT.
// The DHT below is an in-memory fake of the dht::Dht interface (the interface's promise:
// put/get report once through their callbacks).
#include "apply/desired_state.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "crypto/intent.h"

namespace beemesh::apply {
namespace {

using namespace std::chrono_literals;

class FakeDht final : public dht::Dht {
 public:
  void put(const dht::Key& key, dht::Value value, dht::PutCallback done) override {
    {
      std::lock_guard lock(mutex_);
      ++puts_[key];
      values_[key].push_back(std::move(value));
    }
    if (done) done(ok_result());
  }
  uint64_t put_permanent(const dht::Key& key, dht::Value value, dht::PutCallback done) override {
    put(key, std::move(value), std::move(done));
    return 1;
  }
  void cancel_permanent(const dht::Key&, uint64_t) override {}
  void get(const dht::Key& key, dht::GetCallback done) override {
    std::vector<dht::Value> out;
    {
      std::lock_guard lock(mutex_);
      if (auto it = values_.find(key); it != values_.end()) out = it->second;
    }
    done(std::move(out));
  }
  dht::ListenToken listen(const dht::Key&, dht::ListenCallback) override { return 1; }
  void cancel_listen(const dht::Key&, dht::ListenToken) override {}
  size_t node_count() const override { return 1; }
  dht::DhtStats stats() const override { return {}; }
  void shutdown() override {}

  size_t puts(const dht::Key& key) const {
    std::lock_guard lock(mutex_);
    auto it = puts_.find(key);
    return it == puts_.end() ? 0 : it->second;
  }
  void add(const dht::Key& key, Bytes data) {
    std::lock_guard lock(mutex_);
    values_[key].push_back(dht::Value{0, dht::ValueKind::raw, std::move(data)});
  }

 private:
  mutable std::mutex mutex_;
  std::map<dht::Key, std::vector<dht::Value>> values_;
  std::map<dht::Key, size_t> puts_;
};

class DesiredStateTest : public ::testing::Test {
 protected:
  ManualClock clock;
  FakeDht dht;
  crypto::Identity owner = crypto::Identity::generate();
  DesiredStateSettings settings{
      .refresh_interval = 100ms, .first_refresh = 10ms, .jitter = 0.2, .dht_timeout = 1s};

  Bytes intent_value(uint64_t sequence, uint32_t replicas, std::string_view yaml = "v1") {
    protocol::DesiredIntent i{.manifest_id = "m1",
                              .owner_public_key = owner.public_key(),
                              .namespaces = {"default"},
                              .name = "Pod/web",
                              .content_version = crypto::content_version(yaml),
                              .sequence = sequence,
                              .replicas = replicas,
                              .issued_ms = clock.now_ms()};
    return crypto::make_desired_state_value(crypto::sign_intent(owner, i), {}, {});
  }
  // Runs the store's worker for one second; how many times it put manifest m1.
  size_t puts_of_m1_in_one_second(DesiredStateStore& store) {
    store.start();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    store.stop();
    return dht.puts(desired_key("m1"));
  }
  // A value of another manifest ("m2") of the same owner.
  Bytes other_manifest_value() {
    protocol::DesiredIntent other{.manifest_id = "m2",
                                  .owner_public_key = owner.public_key(),
                                  .content_version = crypto::content_version("x"),
                                  .sequence = 1};
    return crypto::make_desired_state_value(crypto::sign_intent(owner, other), {}, {});
  }
  Bytes tombstone_value(uint64_t sequence, int64_t expires_ms) {
    protocol::DesiredIntent t{.tombstone = true,
                              .manifest_id = "m1",
                              .owner_public_key = owner.public_key(),
                              .sequence = sequence,
                              .issued_ms = clock.now_ms(),
                              .expires_ms = expires_ms};
    return crypto::make_desired_state_value(crypto::sign_intent(owner, t), {}, {});
  }
};

TEST_F(DesiredStateTest, LookupOfAnUnknownManifestIsEmpty) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  EXPECT_FALSE(store.lookup("m1", owner.public_key()).has_value());
}

TEST_F(DesiredStateTest, NewerIntentReplacesAnOlderOneAndAnOlderOneIsIgnored) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  ASSERT_TRUE(*store.offer(intent_value(10, 2)));
  ASSERT_TRUE(*store.offer(intent_value(11, 3)));
  auto older = store.offer(intent_value(9, 5));
  ASSERT_TRUE(older);
  EXPECT_FALSE(*older);
  EXPECT_EQ(store.lookup("m1", owner.public_key())->intent.replicas, 3u);
}

TEST_F(DesiredStateTest, TombstoneWinsOverTheIntentOfTheSameSequence) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  ASSERT_TRUE(*store.offer(intent_value(10, 2)));
  ASSERT_TRUE(*store.offer(tombstone_value(10, clock.now_ms() + 60'000)));
  EXPECT_FALSE(*store.offer(intent_value(10, 2)));
  EXPECT_TRUE(store.lookup("m1", owner.public_key())->intent.tombstone);
}

TEST_F(DesiredStateTest, ValueThatDoesNotVerifyIsRefused) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  Bytes value = intent_value(10, 2);
  value[value.size() / 2] ^= 0x40;
  EXPECT_FALSE(store.offer(value));
  EXPECT_FALSE(store.lookup("m1", owner.public_key()).has_value());
}

TEST_F(DesiredStateTest, FetchKeepsTheWinnerAmongTheDhtValues) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  dht.add(desired_key("m1"), intent_value(10, 2));
  dht.add(desired_key("m1"), intent_value(12, 4));
  dht.add(desired_key("m1"), Bytes{1, 2, 3});  // garbage from anyone is skipped
  auto state = store.fetch("m1", owner.public_key());
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->intent.sequence, 12u);
  EXPECT_EQ(store.stats().rejected, 1u);
}

TEST_F(DesiredStateTest, AnotherOwnersTombstoneUnderTheSameIdNeitherHidesNorEndsTheOwners) {
  // Manifest ids are public: mallory signs a tombstone and an intent for alice's id.
  DesiredStateStore store(settings, &dht, nullptr, clock);
  auto mallory = crypto::Identity::generate();
  protocol::DesiredIntent squat{.tombstone = true,
                                .manifest_id = "m1",
                                .owner_public_key = mallory.public_key(),
                                .sequence = 99,
                                .issued_ms = clock.now_ms(),
                                .expires_ms = clock.now_ms() + 60'000};
  dht.add(desired_key("m1"),
          crypto::make_desired_state_value(crypto::sign_intent(mallory, squat), {}, {}));
  dht.add(desired_key("m1"), intent_value(10, 2));

  auto state = store.fetch("m1", owner.public_key());

  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->intent.tombstone);
  EXPECT_EQ(state->intent.replicas, 2u);
  EXPECT_EQ(store.stats().ignored, 1u);
  EXPECT_FALSE(store.lookup("m1", mallory.public_key()).has_value()) << "not kept at all";
}

TEST_F(DesiredStateTest, TrackedManifestIsReadThenRepublishedEveryInterval) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  dht.add(desired_key("m1"), intent_value(10, 2));
  store.track("m1", owner.public_key());
  // About 1 s / 100 ms ± 20 % puts: bounded, one per interval.
  size_t puts = puts_of_m1_in_one_second(store);
  EXPECT_GE(puts, 6u);
  EXPECT_LE(puts, 13u);
  ASSERT_TRUE(store.lookup("m1", owner.public_key()).has_value());
}

TEST_F(DesiredStateTest, TrackedListsWhatThisNodeRefreshes) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  ASSERT_TRUE(*store.offer(intent_value(10, 2)));  // kept, not tracked
  store.track("m2", owner.public_key());
  auto tracked = store.tracked();
  ASSERT_EQ(tracked.size(), 1u);
  EXPECT_EQ(tracked[0].manifest_id, "m2");
  EXPECT_EQ(tracked[0].owner, owner.public_key());
}

TEST_F(DesiredStateTest, UntrackedManifestIsNotRepublished) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  ASSERT_TRUE(*store.offer(intent_value(10, 2)));
  store.start();
  std::this_thread::sleep_for(300ms);
  store.stop();
  EXPECT_EQ(dht.puts(desired_key("m1")), 0u);
}

TEST_F(DesiredStateTest, ExpiredTombstoneIsForgottenAndNoLongerRepublished) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  dht.add(desired_key("m1"), tombstone_value(10, clock.now_ms() + 60'000));
  store.track("m1", owner.public_key());
  store.start();
  std::this_thread::sleep_for(300ms);
  EXPECT_GE(dht.puts(desired_key("m1")), 1u) << "a live tombstone is republished";
  clock.advance_ms(61'000);
  std::this_thread::sleep_for(300ms);
  size_t after_expiry = dht.puts(desired_key("m1"));
  std::this_thread::sleep_for(300ms);
  store.stop();
  EXPECT_EQ(dht.puts(desired_key("m1")), after_expiry);
  EXPECT_FALSE(store.is_tracked("m1", owner.public_key()));
}

TEST_F(DesiredStateTest, TrackedAgainAfterUntrackIsRepublishedOncePerInterval) {
  DesiredStateStore store(settings, &dht, nullptr, clock);
  dht.add(desired_key("m1"), intent_value(10, 2));
  store.track("m1", owner.public_key());
  store.untrack("m1", owner.public_key());
  store.track("m1", owner.public_key());  // its first due time is queued twice now
  // As for a manifest tracked once: about 1 s / 100 ms ± 20 %, not twice that.
  size_t puts = puts_of_m1_in_one_second(store);
  EXPECT_GE(puts, 6u);
  EXPECT_LE(puts, 13u);
}

TEST_F(DesiredStateTest, ByteQuotaCountsAReplacedValueOnce) {
  const size_t one = intent_value(10, 2).size();
  DesiredStateSettings small = settings;
  small.max_bytes = one + one / 2;  // room for one value, not two
  DesiredStateStore store(small, &dht, nullptr, clock);
  ASSERT_TRUE(*store.offer(intent_value(10, 2)));
  for (uint64_t sequence = 11; sequence < 20; ++sequence) {
    auto newer = store.offer(intent_value(sequence, 2));
    ASSERT_TRUE(newer) << newer.error().to_string();
    EXPECT_TRUE(*newer) << "a newer value of the same manifest replaces the old one's bytes";
  }
  auto refused = store.offer(other_manifest_value());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "quota_exceeded");
}

TEST_F(DesiredStateTest, StoreKeepsAtMostMaxEntriesManifests) {
  DesiredStateSettings small = settings;
  small.max_entries = 1;
  DesiredStateStore store(small, &dht, nullptr, clock);
  ASSERT_TRUE(*store.offer(intent_value(10, 2)));
  auto refused = store.offer(other_manifest_value());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "quota_exceeded");
}

TEST_F(DesiredStateTest, ByDefaultATrackedManifestIsFirstReadAtItsFirstRegularRefresh) {
  const DesiredStateSettings defaults;
  EXPECT_EQ(defaults.first_refresh, defaults.refresh_interval)
      << "no extra read of every tracked manifest right after track()";
}

TEST_F(DesiredStateTest, TrackedManifestWithNothingKeptIsNotReadBeforeFirstRefresh) {
  DesiredStateSettings slow = settings;
  slow.first_refresh = slow.refresh_interval = 10s;
  DesiredStateStore store(slow, &dht, nullptr, clock);
  dht.add(desired_key("m1"), intent_value(10, 2));
  store.track("m1", owner.public_key());
  store.start();
  std::this_thread::sleep_for(300ms);
  store.stop();
  EXPECT_EQ(store.stats().gets, 0u);
  EXPECT_EQ(dht.puts(desired_key("m1")), 0u);
}

}  // namespace
}  // namespace beemesh::apply
