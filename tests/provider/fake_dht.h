// tests/provider/fake_dht.h — an in-memory dht::Dht for unit tests: puts are stored at once,
// listeners are told synchronously, gets answer synchronously; failures can be switched on, gets
// of chosen keys held until release() (a slow DHT read), and put acknowledgements held until
// ack_put() (a slow DHT write; cancel_put() drops a held one unanswered, as OpenDHT does).
// get_ids() and get_value() answer from the store and are counted apart from get(); either can
// be told to leave a value id out (storing nodes that disagree: hide_from_ids(), withhold()).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "dht/dht.h"

namespace beemesh::testing {

class FakeDht final : public dht::Dht {
 public:
  ~FakeDht() override { shutdown(); }

  void put(const dht::Key& key, dht::Value value, dht::PutCallback done = {}) override {
    ++puts;
    if (fail_puts > 0) {
      --fail_puts;
      if (done) done(make_error("dht_put_failed", "fake: put failed"));
      return;
    }
    std::vector<dht::ListenCallback> to_tell;
    {
      std::lock_guard lock(mutex_);
      auto& values = store_[key];
      bool replaced = false;
      for (auto& v : values) {
        if (v.id == value.id) {
          v = value;
          replaced = true;
        }
      }
      if (!replaced) values.push_back(value);
      for (auto& [token, l] : listeners_) {
        if (l.first == key) to_tell.push_back(l.second);
      }
    }
    for (auto& cb : to_tell) cb({value}, false);
    if (hold_puts && done) {
      std::lock_guard lock(mutex_);
      held_puts_.emplace_back(value.id, std::move(done));
      return;
    }
    if (done) done(ok_result());
  }

  uint64_t put_permanent(const dht::Key& key, dht::Value value,
                         dht::PutCallback done = {}) override {
    if (value.id == 0) value.id = ++next_id_;
    const auto id = value.id;
    ++permanent_puts;
    {
      std::lock_guard lock(mutex_);
      permanent_.insert({key, id});
    }
    put(key, std::move(value), std::move(done));
    return id;
  }
  // Stops "refreshing" the value; stored values stay (as on the other nodes of a real DHT).
  void cancel_permanent(const dht::Key& key, uint64_t id) override {
    std::lock_guard lock(mutex_);
    if (permanent_.erase({key, id})) ++cancelled_permanent;
  }

  void cancel_put(const dht::Key&, uint64_t id) override {
    std::lock_guard lock(mutex_);
    cancelled_puts_.push_back(id);
    std::erase_if(held_puts_, [id](const auto& p) { return p.first == id; });
  }

  void get(const dht::Key& key, dht::GetCallback done) override {
    ++gets;
    if (hang_gets) {
      std::lock_guard lock(mutex_);
      hung_.push_back(std::move(done));  // answered (late) at shutdown
      return;
    }
    if (fail_gets) {
      done(make_error("dht_get_failed", "fake: get failed"));
      return;
    }
    std::vector<dht::Value> values;
    {
      std::lock_guard lock(mutex_);
      if (held_keys_.count(key)) {
        held_.emplace_back(key, std::move(done));
        return;
      }
      auto it = store_.find(key);
      if (it != store_.end()) values = it->second;
    }
    done(std::move(values));
  }

  void get_ids(const dht::Key& key, dht::GetIdsCallback done) override {
    ++id_gets;
    if (fail_gets) {
      done(make_error("dht_get_failed", "fake: get failed"));
      return;
    }
    std::vector<uint64_t> ids;
    for (const auto& v : values(key)) ids.push_back(v.id);
    {
      std::lock_guard lock(mutex_);
      std::erase_if(ids, [&](uint64_t id) { return hidden_from_ids_.count(id) > 0; });
    }
    done(std::move(ids));
  }

  void get_value(const dht::Key& key, uint64_t id, dht::GetCallback done) override {
    ++value_gets;
    if (fail_gets) {
      done(make_error("dht_get_failed", "fake: get failed"));
      return;
    }
    auto found = values(key);
    std::erase_if(found, [id](const dht::Value& v) { return v.id != id; });
    {
      std::lock_guard lock(mutex_);
      if (withheld_.count(id)) found.clear();
    }
    done(std::move(found));
  }

  dht::ListenToken listen(const dht::Key& key, dht::ListenCallback cb) override {
    std::vector<dht::Value> existing;
    dht::ListenToken token;
    {
      std::lock_guard lock(mutex_);
      token = ++next_token_;
      listeners_.emplace(token, std::make_pair(key, cb));
      auto it = store_.find(key);
      if (it != store_.end()) existing = it->second;
    }
    ++listens;
    if (!existing.empty()) cb(existing, false);
    return token;
  }
  void cancel_listen(const dht::Key&, dht::ListenToken token) override {
    std::lock_guard lock(mutex_);
    if (listeners_.erase(token)) ++cancelled_listens;
  }

  size_t node_count() const override { return 7; }
  dht::DhtStats stats() const override { return {}; }
  void shutdown() override {
    std::vector<dht::GetCallback> hung;
    {
      std::lock_guard lock(mutex_);
      hung.swap(hung_);
      for (auto& [key, cb] : held_) hung.push_back(std::move(cb));
      held_.clear();
    }
    for (auto& cb : hung) cb(make_error("dht_stopped", "fake: shut down"));
  }

  // Gets of `key` wait (unanswered) until release(key).
  void hold_gets(const dht::Key& key) {
    std::lock_guard lock(mutex_);
    held_keys_.insert(key);
  }
  // Answers the held gets of `key` with what it holds now; later gets answer at once.
  void release(const dht::Key& key) {
    std::vector<dht::GetCallback> answer;
    std::vector<dht::Value> values;
    {
      std::lock_guard lock(mutex_);
      held_keys_.erase(key);
      for (auto it = held_.begin(); it != held_.end();) {
        if (it->first == key) {
          answer.push_back(std::move(it->second));
          it = held_.erase(it);
        } else {
          ++it;
        }
      }
      auto s = store_.find(key);
      if (s != store_.end()) values = s->second;
    }
    for (auto& cb : answer) cb(values);
  }
  // Value ids of the puts held unacknowledged (hold_puts), oldest first.
  std::vector<uint64_t> held_put_ids() {
    std::lock_guard lock(mutex_);
    std::vector<uint64_t> out;
    for (const auto& [id, done] : held_puts_) out.push_back(id);
    return out;
  }
  // Acknowledges the held put of value `id`.
  void ack_put(uint64_t id) {
    dht::PutCallback done;
    {
      std::lock_guard lock(mutex_);
      auto it = std::find_if(held_puts_.begin(), held_puts_.end(),
                             [id](const auto& p) { return p.first == id; });
      if (it == held_puts_.end()) return;
      done = std::move(it->second);
      held_puts_.erase(it);
    }
    done(ok_result());
  }
  // Value ids passed to cancel_put(), in order.
  std::vector<uint64_t> cancelled_puts() {
    std::lock_guard lock(mutex_);
    return cancelled_puts_;
  }

  // Gets waiting in hold_gets().
  size_t held() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }

  // Test helpers.
  void put_raw(const dht::Key& key, dht::Value value) {
    if (value.id == 0) value.id = ++next_id_;
    put(key, std::move(value));
  }
  std::vector<dht::Value> values(const dht::Key& key) {
    std::lock_guard lock(mutex_);
    auto it = store_.find(key);
    return it == store_.end() ? std::vector<dht::Value>{} : it->second;
  }
  // Drops value `id` of `key` (as when it expires at every storing node), telling no one.
  void erase(const dht::Key& key, uint64_t id) {
    std::lock_guard lock(mutex_);
    std::erase_if(store_[key], [id](const dht::Value& v) { return v.id == id; });
  }
  // Tells listeners of `key` that values expired.
  void expire_all(const dht::Key& key) {
    std::vector<dht::Value> gone;
    std::vector<dht::ListenCallback> to_tell;
    {
      std::lock_guard lock(mutex_);
      gone.swap(store_[key]);
      for (auto& [token, l] : listeners_) {
        if (l.first == key) to_tell.push_back(l.second);
      }
    }
    for (auto& cb : to_tell) cb(gone, true);
  }
  // Value ids under `key` still put permanently (not cancelled).
  std::vector<uint64_t> permanent_ids(const dht::Key& key) {
    std::lock_guard lock(mutex_);
    std::vector<uint64_t> out;
    for (const auto& [k, id] : permanent_) {
      if (k == key) out.push_back(id);
    }
    return out;
  }
  // get_ids() leaves `id` out (the storing nodes that answered it lack the value).
  void hide_from_ids(uint64_t id) {
    std::lock_guard lock(mutex_);
    hidden_from_ids_.insert(id);
  }
  // get_value(key, id) answers nothing (the storing nodes it reached lack the value).
  void withhold(uint64_t id) {
    std::lock_guard lock(mutex_);
    withheld_.insert(id);
  }
  size_t active_listens() {
    std::lock_guard lock(mutex_);
    return listeners_.size();
  }

  std::atomic<int> fail_puts{0};
  std::atomic<bool> fail_gets{false};
  std::atomic<bool> hang_gets{false};
  std::atomic<bool> hold_puts{false};  // put callbacks wait for ack_put()
  std::atomic<int> puts{0}, gets{0}, listens{0}, cancelled_listens{0};
  std::atomic<int> id_gets{0}, value_gets{0};  // get_ids(), get_value()
  std::atomic<int> permanent_puts{0}, cancelled_permanent{0};

 private:
  std::mutex mutex_;
  std::map<dht::Key, std::vector<dht::Value>> store_;
  std::map<dht::ListenToken, std::pair<dht::Key, dht::ListenCallback>> listeners_;
  std::vector<dht::GetCallback> hung_;
  std::set<dht::Key> held_keys_;
  std::vector<std::pair<dht::Key, dht::GetCallback>> held_;
  std::set<std::pair<dht::Key, uint64_t>> permanent_;
  std::vector<std::pair<uint64_t, dht::PutCallback>> held_puts_;  // value id, callback
  std::vector<uint64_t> cancelled_puts_;
  std::set<uint64_t> hidden_from_ids_, withheld_;
  uint64_t next_id_ = 1000;
  dht::ListenToken next_token_ = 0;
};

}  // namespace beemesh::testing
