#include "common/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace beemesh {

namespace {

void atomic_add(std::atomic<double>& target, double amount) {
  double current = target.load();
  while (!target.compare_exchange_weak(current, current + amount)) {
  }
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string escape_help(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Inserts `extra` (already rendered as name="value") into a rendered label set.
std::string with_label(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

bool valid_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

}  // namespace

std::string render_labels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  MetricLabels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  std::string out = "{";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out += ",";
    out += sorted[i].first + "=\"" + escape_label_value(sorted[i].second) + "\"";
  }
  out += "}";
  return out;
}

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  // The shortest representation that reads back as the same double.
  char buf[32];
  for (int precision = 1; precision < 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) return buf;
  }
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return buf;
}

std::vector<double> default_latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void Counter::inc(double amount) {
  if (!(amount > 0)) return;  // counters never go down (also drops NaN)
  atomic_add(value_, amount);
}

void Gauge::inc(double amount) {
  atomic_add(value_, amount);
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_([&] {
        std::vector<double> b;
        for (double v : upper_bounds) {
          if (std::isfinite(v)) b.push_back(v);
        }
        std::sort(b.begin(), b.end());
        b.erase(std::unique(b.begin(), b.end()), b.end());
        return b;
      }()),
      bucket_counts_(upper_bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t index =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  std::lock_guard lock(mutex_);
  ++bucket_counts_[index];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = upper_bounds_;
  std::lock_guard lock(mutex_);
  uint64_t running = 0;
  for (uint64_t c : bucket_counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

template <typename Series>
Series& Family<Series>::labels(const MetricLabels& labels) {
  std::string key = render_labels(labels);
  std::lock_guard lock(mutex_);
  auto& slot = series_[key];
  if (!slot) slot = factory_();
  return *slot;
}

template <typename Series>
void Family<Series>::for_each(
    const std::function<void(const std::string&, const Series&)>& fn) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, series] : series_) fn(key, *series);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct MetricsRegistry::Entry {
  Kind type = Kind::kCounter;
  std::string name;
  std::string help;
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<GaugeFamily> gauges;
  std::unique_ptr<HistogramFamily> histograms;
  std::map<std::string, std::function<double()>> callbacks;  // key: rendered labels
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry* MetricsRegistry::find_or_add(const std::string& name, Kind kind,
                                                     const std::function<Entry()>& make) {
  assert(valid_metric_name(name) && "invalid metric name");
  // Caller holds mutex_.
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second->type == kind) return it->second.get();
    assert(false && "metric registered twice with different types");
    detached_.push_back(std::make_unique<Entry>(make()));
    return detached_.back().get();
  }
  auto entry = std::make_unique<Entry>(make());
  if (!valid_metric_name(name)) {
    detached_.push_back(std::move(entry));
    return detached_.back().get();
  }
  Entry* raw = entry.get();
  families_.emplace(name, std::move(entry));
  return raw;
}

CounterFamily& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  Entry* e = find_or_add(name, Kind::kCounter, [&] {
    Entry entry;
    entry.type = Kind::kCounter;
    entry.name = name;
    entry.help = help;
    entry.counters =
        std::make_unique<CounterFamily>(name, help, [] { return std::make_unique<Counter>(); });
    return entry;
  });
  return *e->counters;
}

GaugeFamily& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  Entry* e = find_or_add(name, Kind::kGauge, [&] {
    Entry entry;
    entry.type = Kind::kGauge;
    entry.name = name;
    entry.help = help;
    entry.gauges =
        std::make_unique<GaugeFamily>(name, help, [] { return std::make_unique<Gauge>(); });
    return entry;
  });
  return *e->gauges;
}

HistogramFamily& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                            std::vector<double> upper_bounds) {
  std::lock_guard lock(mutex_);
  Entry* e = find_or_add(name, Kind::kHistogram, [&] {
    Entry entry;
    entry.type = Kind::kHistogram;
    entry.name = name;
    entry.help = help;
    entry.histograms = std::make_unique<HistogramFamily>(
        name, help, [bounds = upper_bounds] { return std::make_unique<Histogram>(bounds); });
    return entry;
  });
  return *e->histograms;
}

void MetricsRegistry::callback_gauge(const std::string& name, const std::string& help,
                                     std::function<double()> read, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  Entry* e = find_or_add(name, Kind::kCallbackGauge, [&] {
    Entry entry;
    entry.type = Kind::kCallbackGauge;
    entry.name = name;
    entry.help = help;
    return entry;
  });
  e->callbacks[render_labels(labels)] = std::move(read);
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  auto type_name = [](Kind kind) -> std::string_view {
    switch (kind) {
      case Kind::kCounter:
        return "counter";
      case Kind::kHistogram:
        return "histogram";
      case Kind::kGauge:
      case Kind::kCallbackGauge:
        break;
    }
    return "gauge";
  };
  std::ostringstream out;
  for (const auto& [family_name, entry] : families_) {
    const std::string& name = family_name;  // lambdas cannot capture bindings (clang 14)
    out << "# HELP " << name << " " << escape_help(entry->help) << "\n";
    out << "# TYPE " << name << " " << type_name(entry->type) << "\n";
    switch (entry->type) {
      case Kind::kCounter:
        entry->counters->for_each([&](const std::string& labels, const Counter& c) {
          out << name << labels << " " << format_metric_value(c.value()) << "\n";
        });
        break;
      case Kind::kGauge:
        entry->gauges->for_each([&](const std::string& labels, const Gauge& g) {
          out << name << labels << " " << format_metric_value(g.value()) << "\n";
        });
        break;
      case Kind::kCallbackGauge:
        for (const auto& [labels, read] : entry->callbacks) {
          out << name << labels << " " << format_metric_value(read()) << "\n";
        }
        break;
      case Kind::kHistogram:
        entry->histograms->for_each([&](const std::string& labels, const Histogram& h) {
          Histogram::Snapshot s = h.snapshot();
          for (size_t i = 0; i < s.upper_bounds.size(); ++i) {
            out << name << "_bucket"
                << with_label(labels, "le=\"" + format_metric_value(s.upper_bounds[i]) + "\"")
                << " " << s.cumulative[i] << "\n";
          }
          out << name << "_bucket" << with_label(labels, "le=\"+Inf\"") << " " << s.count << "\n";
          out << name << "_sum" << labels << " " << format_metric_value(s.sum) << "\n";
          out << name << "_count" << labels << " " << s.count << "\n";
        });
        break;
    }
  }
  return out.str();
}

}  // namespace beemesh
