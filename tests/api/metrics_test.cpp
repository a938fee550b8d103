// The metrics registry (src/common/metrics.h). Lives beside the API tests because /metrics
// is where its output is served.
#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace beemesh {
namespace {

TEST(MetricsRegistry, RendersCounterWithHelpTypeAndLabels) {
  MetricsRegistry metrics;
  auto& deployments = metrics.counter("beemesh_deployments_total", "Deployments by result.");
  deployments.labels({{"result", "ok"}}).inc();
  deployments.labels({{"result", "ok"}}).inc(2);
  deployments.labels({{"result", "failed"}}).inc();

  EXPECT_EQ(metrics.render(),
            "# HELP beemesh_deployments_total Deployments by result.\n"
            "# TYPE beemesh_deployments_total counter\n"
            "beemesh_deployments_total{result=\"failed\"} 1\n"
            "beemesh_deployments_total{result=\"ok\"} 3\n");
}

TEST(MetricsRegistry, SameNameAndLabelsReturnSameSeries) {
  MetricsRegistry metrics;
  Counter& a = metrics.counter("c_total", "c").labels({{"x", "1"}, {"y", "2"}});
  Counter& b = metrics.counter("c_total", "c").labels({{"y", "2"}, {"x", "1"}});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsRegistry, CounterIgnoresNegativeIncrements) {
  MetricsRegistry metrics;
  Counter& c = metrics.counter("c_total", "c").labels();
  c.inc(5);
  c.inc(-3);
  EXPECT_EQ(c.value(), 5);
}

TEST(MetricsRegistry, GaugeGoesUpAndDown) {
  MetricsRegistry metrics;
  Gauge& g = metrics.gauge("beemesh_dht_nodes", "DHT nodes known.").labels();
  g.set(10);
  g.inc();
  g.dec(4);
  EXPECT_EQ(metrics.render(),
            "# HELP beemesh_dht_nodes DHT nodes known.\n"
            "# TYPE beemesh_dht_nodes gauge\n"
            "beemesh_dht_nodes 7\n");
}

TEST(MetricsRegistry, CallbackGaugeIsReadAtRenderTime) {
  MetricsRegistry metrics;
  int known = 3;
  metrics.callback_gauge("beemesh_providers_announced", "Providers announced.",
                         [&] { return static_cast<double>(known); });
  EXPECT_NE(metrics.render().find("beemesh_providers_announced 3\n"), std::string::npos);
  known = 5;
  EXPECT_NE(metrics.render().find("beemesh_providers_announced 5\n"), std::string::npos);
}

TEST(MetricsRegistry, HistogramRendersCumulativeBucketsSumAndCount) {
  MetricsRegistry metrics;
  auto& latency =
      metrics.histogram("beemesh_apply_latency_seconds", "Apply latency.", {0.1, 0.5, 1});
  latency.labels().observe(0.05);
  latency.labels().observe(0.1);  // upper bounds are inclusive
  latency.labels().observe(0.7);
  latency.labels().observe(3);

  EXPECT_EQ(metrics.render(),
            "# HELP beemesh_apply_latency_seconds Apply latency.\n"
            "# TYPE beemesh_apply_latency_seconds histogram\n"
            "beemesh_apply_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "beemesh_apply_latency_seconds_bucket{le=\"0.5\"} 2\n"
            "beemesh_apply_latency_seconds_bucket{le=\"1\"} 3\n"
            "beemesh_apply_latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "beemesh_apply_latency_seconds_sum 3.85\n"
            "beemesh_apply_latency_seconds_count 4\n");
}

TEST(MetricsRegistry, HistogramBucketLabelJoinsSeriesLabels) {
  MetricsRegistry metrics;
  metrics.histogram("h_seconds", "h", {1}).labels({{"engine", "podman"}}).observe(0.5);
  std::string text = metrics.render();
  EXPECT_NE(text.find("h_seconds_bucket{engine=\"podman\",le=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("h_seconds_bucket{engine=\"podman\",le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("h_seconds_count{engine=\"podman\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, FamiliesRenderInNameOrder) {
  MetricsRegistry metrics;
  metrics.counter("b_total", "b").labels().inc();
  metrics.counter("a_total", "a").labels().inc();
  std::string text = metrics.render();
  EXPECT_LT(text.find("a_total"), text.find("b_total"));
}

TEST(MetricsRegistry, FamilyWithoutSeriesStillHasHelpAndType) {
  MetricsRegistry metrics;
  metrics.counter("beemesh_discovery_cache_hits_total", "Discovery cache hits.");
  EXPECT_EQ(metrics.render(),
            "# HELP beemesh_discovery_cache_hits_total Discovery cache hits.\n"
            "# TYPE beemesh_discovery_cache_hits_total counter\n");
}

TEST(MetricsFormat, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(render_labels({{"reason", "a\"b\\c\nd"}}), "{reason=\"a\\\"b\\\\c\\nd\"}");
  MetricsRegistry metrics;
  metrics.counter("x_total", "line one\nline two \\ end");
  EXPECT_NE(metrics.render().find("# HELP x_total line one\\nline two \\\\ end\n"),
            std::string::npos);
}

TEST(MetricsFormat, SortsLabelsByName) {
  EXPECT_EQ(render_labels({{"z", "1"}, {"a", "2"}}), "{a=\"2\",z=\"1\"}");
  EXPECT_EQ(render_labels({}), "");
}

TEST(MetricsFormat, FormatsValuesAsPrometheusExpects) {
  EXPECT_EQ(format_metric_value(3), "3");
  EXPECT_EQ(format_metric_value(-2), "-2");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
}

TEST(MetricsRegistry, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry metrics;
  auto& family = metrics.counter("c_total", "c");
  auto& hist = metrics.histogram("h_seconds", "h", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        family.labels({{"result", "ok"}}).inc();
        hist.labels().observe(0.5);
      }
    });
  }
  std::thread renderer([&] {
    for (int i = 0; i < 50; ++i) (void)metrics.render();
  });
  for (auto& t : threads) t.join();
  renderer.join();
  EXPECT_EQ(family.labels({{"result", "ok"}}).value(), 40'000);
  EXPECT_EQ(hist.labels().snapshot().count, 40'000u);
}

TEST(MetricsRegistry, TwoRegistriesShareNothing) {
  MetricsRegistry a;
  MetricsRegistry b;
  a.counter("c_total", "c").labels().inc();
  EXPECT_EQ(b.render(), "");
}

}  // namespace
}  // namespace beemesh
