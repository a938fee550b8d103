// Test doubles for the workload manager: a recording Announcer, an engine wrapper that
// holds deploys at a gate and counts how many run at once, an event recorder and a
// temporary directory.
#pragma once

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "provider/provider.h"
#include "runtime/runtime.h"
#include "workload/events.h"

namespace beemesh::workload::testing {

// How long a test waits for something that must happen (a safety net, not an assertion
// about speed).
inline constexpr std::chrono::seconds kPatience{20};

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "beemesh-workload-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Records every announce/withdraw; answers the callback at once with `result`.
class FakeAnnouncer final : public provider::Announcer {
 public:
  struct Call {
    std::string action;  // "announce" | "withdraw"
    std::string manifest_id;
    provider::ProviderMetadata metadata;
    std::chrono::seconds ttl{0};
  };

  void announce(const std::string& manifest_id, const provider::ProviderMetadata& metadata,
                std::chrono::seconds ttl, provider::DoneCallback on_done) override {
    record({"announce", manifest_id, metadata, ttl});
    if (on_done) on_done(answer());
  }
  void withdraw(const std::string& manifest_id, provider::DoneCallback on_done) override {
    record({"withdraw", manifest_id, {}, std::chrono::seconds{0}});
    if (on_done) on_done(answer());
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // "announce:<id>" / "withdraw:<id>" in call order.
  std::vector<std::string> actions() const {
    std::vector<std::string> out;
    for (const auto& c : calls()) out.push_back(c.action + ":" + c.manifest_id);
    return out;
  }
  int count(const std::string& action, const std::string& manifest_id) const {
    int n = 0;
    for (const auto& c : calls()) n += c.action == action && c.manifest_id == manifest_id;
    return n;
  }
  // True when the last call for the manifest was an announce.
  bool is_announced(const std::string& manifest_id) const {
    bool announced = false;
    for (const auto& c : calls()) {
      if (c.manifest_id == manifest_id) announced = c.action == "announce";
    }
    return announced;
  }
  void fail_puts(bool fail) {
    std::lock_guard lock(mutex_);
    fail_ = fail;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    calls_.clear();
  }

 private:
  void record(Call call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
  }
  Result<void> answer() const {
    std::lock_guard lock(mutex_);
    if (fail_) return make_error("dht_put_failed", "fake announcer told to fail");
    return ok_result();
  }

  mutable std::mutex mutex_;
  std::vector<Call> calls_;
  bool fail_ = false;
};

// Wraps an engine; deploys wait at a gate (open by default) and are counted while inside;
// restarts can be made to fail.
class GatedEngine final : public runtime::RuntimeEngine {
 public:
  explicit GatedEngine(std::shared_ptr<runtime::RuntimeEngine> inner) : inner_(std::move(inner)) {}

  void close_gate() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  // Waits until `n` deploys are inside the engine at once; false after kPatience.
  bool wait_inside(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return inside_ >= n; });
  }
  int inside() const {
    std::lock_guard lock(mutex_);
    return inside_;
  }
  int max_inside() const {
    std::lock_guard lock(mutex_);
    return max_inside_;
  }

  std::string name() const override { return inner_->name(); }
  bool is_available() override { return inner_->is_available(); }
  using RuntimeEngine::deploy;
  using RuntimeEngine::validate_manifest;
  Result<void> validate_manifest(const manifest::Manifest& parsed) override {
    return inner_->validate_manifest(parsed);
  }
  Result<runtime::WorkloadInfo> deploy(const manifest::SharedManifest& yaml,
                                       const runtime::DeploymentConfig& config) override {
    {
      std::unique_lock lock(mutex_);
      ++inside_;
      max_inside_ = std::max(max_inside_, inside_);
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    }
    auto result = inner_->deploy(yaml, config);
    {
      std::lock_guard lock(mutex_);
      --inside_;
    }
    changed_.notify_all();
    return result;
  }
  Result<runtime::WorkloadInfo> status(const std::string& id) override {
    return inner_->status(id);
  }
  Result<std::vector<runtime::WorkloadInfo>> list() override { return inner_->list(); }
  Result<std::string> logs(const std::string& id, int tail) override {
    return inner_->logs(id, tail);
  }
  Result<void> remove(const std::string& id) override { return inner_->remove(id); }
  Result<void> restart(const std::string& id) override {
    {
      std::lock_guard lock(mutex_);
      ++restart_attempts_;
      if (fail_restarts_) return make_error("restart_failed", "gated engine refuses restarts");
    }
    return inner_->restart(id);
  }

  void fail_restarts(bool fail) {
    std::lock_guard lock(mutex_);
    fail_restarts_ = fail;
  }
  int restart_attempts() const {
    std::lock_guard lock(mutex_);
    return restart_attempts_;
  }

 private:
  std::shared_ptr<runtime::RuntimeEngine> inner_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int inside_ = 0;
  int max_inside_ = 0;
  bool fail_restarts_ = false;
  int restart_attempts_ = 0;
};

// Keeps every event it is given.
class EventRecorder {
 public:
  explicit EventRecorder(EventBus& bus)
      : subscription_(bus.subscribe([this](const WorkloadEvent& event) {
          {
            std::lock_guard lock(mutex_);
            events_.push_back(event);
          }
          changed_.notify_all();
        })) {}

  std::vector<WorkloadEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // Kinds of the events of one workload (all workloads when empty), in order.
  std::vector<EventKind> kinds(const std::string& workload_id = {}) const {
    std::vector<EventKind> out;
    for (const auto& e : events()) {
      if (workload_id.empty() || e.workload_id == workload_id) out.push_back(e.kind);
    }
    return out;
  }
  int count(EventKind kind) const {
    int n = 0;
    for (const auto& e : events()) n += e.kind == kind;
    return n;
  }
  // Waits until `n` events of `kind` arrived; false after kPatience.
  bool wait_for(EventKind kind, int n = 1) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] {
      int seen = 0;
      for (const auto& e : events_) seen += e.kind == kind;
      return seen >= n;
    });
  }
  void clear() {
    std::lock_guard lock(mutex_);
    events_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<WorkloadEvent> events_;
  EventBus::Subscription subscription_;  // last: unsubscribes before the rest goes away
};

inline std::string pod_manifest(const std::string& name, const std::string& restart_policy = {}) {
  std::string yaml =
      "apiVersion: v1\n"
      "kind: Pod\n"
      "metadata:\n"
      "  name: " +
      name +
      "\n"
      "spec:\n";
  if (!restart_policy.empty()) yaml += "  restartPolicy: " + restart_policy + "\n";
  yaml +=
      "  containers:\n"
      "    - name: web\n"
      "      image: localhost/busybox:latest\n"
      "      command: [\"httpd\", \"-f\", \"-p\", \"8080\"]\n"
      "      ports:\n"
      "        - containerPort: 8080\n";
  return yaml;
}

}  // namespace beemesh::workload::testing
