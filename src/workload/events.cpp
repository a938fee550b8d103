#include "workload/events.h"

#include <algorithm>
#include <array>
#include <utility>

namespace beemesh::workload {

namespace {

constexpr std::array<std::pair<EventKind, std::string_view>, 7> kKindNames{{
    {EventKind::Deploying, "Deploying"},
    {EventKind::Deployed, "Deployed"},
    {EventKind::DeployFailed, "DeployFailed"},
    {EventKind::Announced, "Announced"},
    {EventKind::Unhealthy, "Unhealthy"},
    {EventKind::Recovered, "Recovered"},
    {EventKind::Removed, "Removed"},
}};

}  // namespace

std::string_view to_string(EventKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "Unknown";
}

std::optional<EventKind> event_kind_from_string(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

EventBus::EventBus(const Clock& clock, size_t history_capacity)
    : clock_(clock), capacity_(history_capacity) {}

EventBus::Subscription EventBus::subscribe(EventCallback callback) {
  auto subscriber = std::make_shared<Subscriber>();
  subscriber->callback = std::move(callback);
  std::lock_guard lock(mutex_);
  subscribers_.push_back(subscriber);
  return Subscription(this, std::move(subscriber));
}

void EventBus::unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  // Waits for a delivery in progress on another thread; a callback unsubscribing itself
  // re-enters the recursive mutex.
  std::lock_guard lock(mutex_);
  subscriber->active = false;
  std::erase(subscribers_, subscriber);
}

WorkloadEvent EventBus::publish(WorkloadEvent event) {
  std::lock_guard lock(mutex_);
  if (event.time_ms == 0) event.time_ms = clock_.now_ms();
  event.sequence = next_sequence_++;
  if (capacity_ > 0) {
    if (ring_.size() == capacity_) ring_.pop_front();
    ring_.push_back(event);
  }
  // A copy: callbacks may subscribe or unsubscribe while we iterate.
  const auto targets = subscribers_;
  for (const auto& subscriber : targets) {
    if (subscriber->active) subscriber->callback(event);
  }
  return event;
}

WorkloadEvent EventBus::publish(EventKind kind, std::string workload_id, std::string manifest_id,
                                std::string reason) {
  WorkloadEvent event;
  event.kind = kind;
  event.workload_id = std::move(workload_id);
  event.manifest_id = std::move(manifest_id);
  event.reason = std::move(reason);
  return publish(std::move(event));
}

std::vector<WorkloadEvent> EventBus::recent(uint64_t after_sequence) const {
  std::lock_guard lock(mutex_);
  std::vector<WorkloadEvent> out;
  for (const auto& event : ring_) {
    if (event.sequence > after_sequence) out.push_back(event);
  }
  return out;
}

size_t EventBus::subscriber_count() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

EventBus::Subscription::Subscription(Subscription&& other) noexcept
    : bus_(std::exchange(other.bus_, nullptr)), subscriber_(std::move(other.subscriber_)) {}

EventBus::Subscription& EventBus::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    bus_ = std::exchange(other.bus_, nullptr);
    subscriber_ = std::move(other.subscriber_);
  }
  return *this;
}

EventBus::Subscription::~Subscription() {
  reset();
}

void EventBus::Subscription::reset() {
  if (bus_ != nullptr && subscriber_) bus_->unsubscribe(subscriber_);
  bus_ = nullptr;
  subscriber_.reset();
}

}  // namespace beemesh::workload
