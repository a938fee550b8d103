#include "apply/desired_state.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "common/safe_text.h"

namespace beemesh::apply {

dht::Key desired_key(std::string_view manifest_id) {
  return dht::Key::of(std::string("beemesh/desired/").append(manifest_id));
}

DesiredStateStore::DesiredStateStore(DesiredStateSettings settings, dht::Dht* dht,
                                     const crypto::Membership* membership, const Clock& clock)
    : settings_(settings), dht_(dht), membership_(membership), clock_(clock) {}

DesiredStateStore::~DesiredStateStore() {
  stop();
}

void DesiredStateStore::start() {
  std::lock_guard lock(mutex_);
  if (worker_.joinable() || stopping_) return;
  worker_ = std::thread([this] { run(); });
  ::pthread_setname_np(worker_.native_handle(), "desired-state");
}

void DesiredStateStore::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::chrono::steady_clock::time_point DesiredStateStore::next_due(std::chrono::milliseconds base) {
  std::uniform_real_distribution<double> spread(1.0 - settings_.jitter, 1.0 + settings_.jitter);
  auto ms = std::chrono::milliseconds(static_cast<int64_t>(base.count() * spread(random_)));
  return std::chrono::steady_clock::now() + ms;
}

size_t DesiredStateStore::bytes_kept() const {
  return bytes_kept_;
}

std::optional<crypto::DesiredState> DesiredStateStore::lookup(
    const std::string& manifest_id, const crypto::PublicKey& owner) const {
  Bytes value;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find({manifest_id, owner});
    if (it == entries_.end() || !it->second.state) return std::nullopt;
    value = it->second.state->value;
  }
  auto state = crypto::open_desired_state(value, membership_);
  if (!state) return std::nullopt;
  return std::move(*state);
}

Result<bool> DesiredStateStore::offer(ByteView value) {
  auto state = crypto::open_desired_state(value, membership_);
  if (!state) return state.error();
  const EntryKey id{state->intent.manifest_id, state->intent.owner_public_key};
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.state) {
    if (!crypto::supersedes(state->intent, it->second.state->intent)) return false;
  } else if (it == entries_.end() && entries_.size() >= settings_.max_entries) {
    return make_error("quota_exceeded",
                      "desired state for " + std::to_string(entries_.size()) + " manifests kept");
  }
  const size_t old_size =
      (it != entries_.end() && it->second.state) ? it->second.state->value.size() : 0;
  if (bytes_kept() - old_size + state->value.size() > settings_.max_bytes) {
    return make_error("quota_exceeded", "desired state values exceed the byte quota");
  }
  bytes_kept_ = bytes_kept_ - old_size + state->value.size();
  entries_[id].state = std::move(*state);
  return true;
}

std::optional<crypto::DesiredState> DesiredStateStore::fetch(const std::string& manifest_id,
                                                             const crypto::PublicKey& owner) {
  if (dht_) {
    auto values = dht_->get_blocking(desired_key(manifest_id), settings_.dht_timeout);
    {
      std::lock_guard lock(mutex_);
      ++counters_.gets;
    }
    if (values) {
      for (const auto& v : *values) {
        // Only the owner's records for this id are kept (anyone may put values here).
        auto opened = crypto::open_desired_state(v.data, nullptr);
        if (opened && (opened->intent.manifest_id != manifest_id ||
                       opened->intent.owner_public_key != owner)) {
          std::lock_guard lock(mutex_);
          ++counters_.ignored;
          continue;
        }
        auto kept = opened ? offer(v.data) : Result<bool>(opened.error());
        if (!kept) {
          std::lock_guard lock(mutex_);
          ++counters_.rejected;
          spdlog::debug("desired state of {}: a DHT value was refused: {}", printable(manifest_id),
                        kept.error().to_string());
        }
      }
    }
  }
  return lookup(manifest_id, owner);
}

Result<void> DesiredStateStore::publish(const std::string& manifest_id,
                                        const crypto::PublicKey& owner) {
  Bytes value;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find({manifest_id, owner});
    if (it == entries_.end() || !it->second.state) {
      return make_error("not_found", "no desired state kept for " + manifest_id);
    }
    value = it->second.state->value;
    ++counters_.puts;
  }
  if (!dht_) return ok_result();
  // The value id is a hash of the value: every refresher of the same record puts the same
  // (id, bytes), which the storing nodes keep once and only re-date, instead of one more copy
  // per put (a random id each time made every get return ~2.5 copies per refresher).
  const dht::Key digest =
      dht::Key::of(std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
  uint64_t id = 0;
  for (size_t b = 0; b < sizeof(id); ++b) id = (id << 8) | digest.bytes[b];
  return dht_->put_blocking(desired_key(manifest_id),
                            dht::Value{id | 1, dht::ValueKind::raw, std::move(value)},
                            settings_.dht_timeout);
}

void DesiredStateStore::track(const std::string& manifest_id, const crypto::PublicKey& owner) {
  {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= settings_.max_entries && !entries_.contains({manifest_id, owner})) {
      spdlog::warn("desired state: {} manifests kept; {} is not tracked", entries_.size(),
                   printable(manifest_id));
      return;
    }
    auto& e = entries_[{manifest_id, owner}];
    if (e.tracked) return;
    e.tracked = true;
    e.due = next_due(e.state ? settings_.refresh_interval : settings_.first_refresh);
    due_.push(Due{e.due, {manifest_id, owner}});
  }
  wake_.notify_all();
}

void DesiredStateStore::untrack(const std::string& manifest_id, const crypto::PublicKey& owner) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find({manifest_id, owner});
  if (it == entries_.end()) return;
  it->second.tracked = false;
  if (!it->second.state) entries_.erase(it);
}

bool DesiredStateStore::is_tracked(const std::string& manifest_id,
                                   const crypto::PublicKey& owner) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find({manifest_id, owner});
  return it != entries_.end() && it->second.tracked;
}

std::vector<DesiredStateStore::TrackedManifest> DesiredStateStore::tracked() const {
  std::lock_guard lock(mutex_);
  std::vector<TrackedManifest> out;
  for (const auto& [key, e] : entries_) {
    if (e.tracked) out.push_back({key.first, key.second});
  }
  return out;
}

DesiredStateStats DesiredStateStore::stats() const {
  std::lock_guard lock(mutex_);
  DesiredStateStats out = counters_;
  out.entries = 0;
  out.tracked = 0;
  for (const auto& [id, e] : entries_) {
    out.entries += e.state ? 1 : 0;
    out.tracked += e.tracked ? 1 : 0;
  }
  return out;
}

void DesiredStateStore::refresh(const EntryKey& key) {
  auto state = fetch(key.first, key.second);
  if (state && state->intent.tombstone && state->intent.expires_ms <= clock_.now_ms()) {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      bytes_kept_ -= it->second.state ? it->second.state->value.size() : 0;
      entries_.erase(it);  // the tombstone has done its work
    }
    return;
  }
  if (!state) return;  // nothing verified yet: read again next time
  if (auto put = publish(key.first, key.second); !put) {
    spdlog::debug("desired state of {}: republish failed: {}", printable(key.first),
                  put.error().to_string());
  }
}

void DesiredStateStore::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    std::vector<EntryKey> due;
    while (!due_.empty() && due_.top().at <= now) {
      Due top = due_.top();
      due_.pop();
      auto it = entries_.find(top.key);
      if (it == entries_.end() || !it->second.tracked || it->second.due != top.at) continue;
      it->second.due = next_due(settings_.refresh_interval);
      due_.push(Due{it->second.due, top.key});
      due.push_back(std::move(top.key));
    }
    const auto next = due_.empty() ? now + std::chrono::seconds(60)
                                   : std::min(now + std::chrono::seconds(60), due_.top().at);
    if (due.empty()) {
      wake_.wait_until(lock, next);
      continue;
    }
    lock.unlock();
    for (const auto& id : due) {
      {
        std::lock_guard check(mutex_);
        if (stopping_) break;
      }
      refresh(id);
    }
    lock.lock();
  }
}

}  // namespace beemesh::apply
