// workload/events.h — the in-process event bus of the workload manager.
//
// Promise:
//  * publish() stamps each event with a strictly increasing sequence number (and the
//    clock's time when the event has none), keeps it in a bounded ring of recent events and
//    hands it to every current subscriber, synchronously, in sequence order. Events are
//    delivered one at a time: two publishes never run subscriber callbacks concurrently.
//  * subscribe() returns an RAII Subscription; once it is destroyed or reset() returns, its
//    callback is never called again (also when reset() is called from inside the callback
//    or while another thread is publishing).
//  * recent(after) replays the ring: events with sequence > after, oldest first, at most
//    the ring's capacity (older ones are dropped first).
//  * Thread-safe. Callbacks must be quick and must not wait for another thread that may
//    itself be publishing; hand slow work to a queue of your own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace beemesh::workload {

enum class EventKind {
  Deploying,
  Deployed,
  DeployFailed,
  Announced,
  Unhealthy,
  Recovered,
  Removed
};

std::string_view to_string(EventKind kind);
std::optional<EventKind> event_kind_from_string(std::string_view name);

struct WorkloadEvent {
  EventKind kind = EventKind::Deploying;
  std::string workload_id;
  std::string manifest_id;
  int64_t time_ms = 0;    // Unix ms; publish() fills it from the clock when 0
  std::string reason;     // why (failure text, engine's note), may be empty
  uint64_t sequence = 0;  // set by publish(): 1, 2, 3, ...
};

using EventCallback = std::function<void(const WorkloadEvent&)>;

class EventBus {
  struct Subscriber;

 public:
  static constexpr size_t kDefaultHistory = 1000;

  explicit EventBus(const Clock& clock, size_t history_capacity = kDefaultHistory);
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Unsubscribes on destruction. Move-only. Must not outlive the bus.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription();

    void reset();
    bool active() const { return bus_ != nullptr; }

   private:
    friend class EventBus;
    Subscription(EventBus* bus, std::shared_ptr<Subscriber> subscriber)
        : bus_(bus), subscriber_(std::move(subscriber)) {}
    EventBus* bus_ = nullptr;
    std::shared_ptr<Subscriber> subscriber_;
  };

  [[nodiscard]] Subscription subscribe(EventCallback callback);

  // Returns the event as delivered (with sequence and time set).
  WorkloadEvent publish(WorkloadEvent event);
  WorkloadEvent publish(EventKind kind, std::string workload_id, std::string manifest_id,
                        std::string reason = {});

  std::vector<WorkloadEvent> recent(uint64_t after_sequence = 0) const;
  size_t subscriber_count() const;
  size_t history_capacity() const { return capacity_; }

 private:
  struct Subscriber {
    EventCallback callback;
    bool active = true;
  };

  void unsubscribe(const std::shared_ptr<Subscriber>& subscriber);

  const Clock& clock_;
  const size_t capacity_;
  // Held while publishing (stamping, recording and delivering) and while changing the
  // subscriber list; recursive so callbacks may publish, subscribe or unsubscribe.
  mutable std::recursive_mutex mutex_;
  uint64_t next_sequence_ = 1;
  std::deque<WorkloadEvent> ring_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
};

}  // namespace beemesh::workload
