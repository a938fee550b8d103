// common/metrics.h — a small thread-safe metrics registry rendered in the Prometheus text
// exposition format (version 0.0.4).
//
// Usage (the daemon owns one registry and hands references to components):
//   MetricsRegistry metrics;
//   auto& deployments = metrics.counter("beemesh_deployments_total", "Deployments by result.");
//   deployments.labels({{"result", "ok"}}).inc();
//   auto& latency = metrics.histogram("beemesh_apply_latency_seconds", "Apply latency.",
//                                     default_latency_buckets());
//   latency.labels().observe(0.42);
//   metrics.gauge("beemesh_dht_nodes", "DHT nodes known.").labels().set(12);
//   metrics.callback_gauge("beemesh_providers_announced", "...", [&] { return n(); });
//   std::string text = metrics.render();  // served at GET /metrics
//
// Promise:
//  * Every method may be called from any thread at any time, including while render() runs.
//  * References returned by counter()/gauge()/histogram() and by Family::labels() stay valid
//    for the life of the registry; asking again for the same name (and labels) returns the
//    same object, so components may look them up once and keep them.
//  * A name registered as one type and asked for as another is a programming error: it
//    asserts in debug builds; release builds return a detached family that is never rendered.
//  * render() emits, per family in name order, "# HELP", "# TYPE" and one sample line per
//    series (series in label order); label values and help text are escaped as the format
//    requires; histograms emit cumulative _bucket{le=...} lines ending at +Inf, then _sum
//    and _count. Counters only go up (inc with a negative amount is ignored).
//  * No global state: two registries never share anything.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace beemesh {

// Label name/value pairs, e.g. {{"result", "ok"}}. Order does not matter: a series is
// identified by its labels sorted by name.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double amount = 1.0);
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value); }
  void inc(double amount = 1.0);
  void dec(double amount = 1.0) { inc(-amount); }
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;  // without +Inf
    std::vector<uint64_t> cumulative;  // one per bound, then one for +Inf (== count)
    double sum = 0.0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> upper_bounds_;  // sorted, finite
  mutable std::mutex mutex_;
  std::vector<uint64_t> bucket_counts_;  // non-cumulative; last one is the +Inf overflow
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

// All series of one metric name.
template <typename Series>
class Family {
 public:
  using Factory = std::function<std::unique_ptr<Series>()>;
  Family(std::string name, std::string help, Factory factory)
      : name_(std::move(name)), help_(std::move(help)), factory_(std::move(factory)) {}

  Series& labels(const MetricLabels& labels = {});

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }

  // Calls fn(rendered label set "{a=\"b\"}" or "", series) for every series in label order.
  void for_each(const std::function<void(const std::string&, const Series&)>& fn) const;

 private:
  const std::string name_;
  const std::string help_;
  const Factory factory_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Series>> series_;  // key: rendered labels
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Buckets for operation latencies in seconds: 5 ms .. 60 s.
std::vector<double> default_latency_buckets();

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily& counter(const std::string& name, const std::string& help);
  GaugeFamily& gauge(const std::string& name, const std::string& help);
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<double> upper_bounds = default_latency_buckets());
  // A gauge whose value is read by calling `read` at render time (e.g. DHT nodes known).
  // `read` must be thread-safe and must not call back into this registry.
  void callback_gauge(const std::string& name, const std::string& help,
                      std::function<double()> read, const MetricLabels& labels = {});

  std::string render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram, kCallbackGauge };
  struct Entry;
  Entry* find_or_add(const std::string& name, Kind kind, const std::function<Entry()>& make);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Entry>> families_;
  std::vector<std::unique_ptr<Entry>> detached_;  // type clashes, never rendered
};

// Formatting helpers, exposed for tests and for other exporters.
// "{a=\"x\",b=\"y\"}" with names sorted and values escaped; "" for no labels.
std::string render_labels(const MetricLabels& labels);
// Prometheus sample value: integers without a fraction, +Inf/-Inf/NaN spelled as required.
std::string format_metric_value(double value);

}  // namespace beemesh
