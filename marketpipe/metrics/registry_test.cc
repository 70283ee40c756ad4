#include "marketpipe/metrics/registry.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketpipe::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, EmptyRegistryRendersNothing) {
  Registry registry;
  EXPECT_EQ(registry.Render(), "");
}

TEST(RegistryTest, CounterRendersHelpTypeAndValue) {
  Registry registry;
  registry.GetCounter("bars_stored_total", "Bars written.").Increment(3);
  EXPECT_EQ(registry.Render(),
            "# HELP bars_stored_total Bars written.\n"
            "# TYPE bars_stored_total counter\n"
            "bars_stored_total 3\n");
}

TEST(RegistryTest, CounterIgnoresNegativeAmounts) {
  Registry registry;
  Counter& c = registry.GetCounter("c_total", "c");
  c.Increment(2);
  c.Increment(-5);
  EXPECT_EQ(c.value(), 2);
}

TEST(RegistryTest, SameNameAndLabelsReturnTheSameSeriesWhateverTheLabelOrder) {
  Registry registry;
  Counter& a = registry.GetCounter("r_total", "r", {{"a", "1"}, {"b", "2"}});
  Counter& b = registry.GetCounter("r_total", "r", {{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(&a, &b);
  Counter& other = registry.GetCounter("r_total", "r", {{"a", "1"}, {"b", "3"}});
  EXPECT_NE(&a, &other);
}

TEST(RegistryTest, SeriesAndFamiliesAreSortedAndLabelsRenderedByName) {
  Registry registry;
  registry.GetGauge("zeta", "z").Set(1);
  registry.GetCounter("alpha_total", "a", {{"code", "404"}}).Increment();
  registry.GetCounter("alpha_total", "a", {{"code", "200"}, {"method", "GET"}}).Increment(2);
  EXPECT_EQ(registry.Render(),
            "# HELP alpha_total a\n"
            "# TYPE alpha_total counter\n"
            "alpha_total{code=\"200\",method=\"GET\"} 2\n"
            "alpha_total{code=\"404\"} 1\n"
            "# HELP zeta z\n"
            "# TYPE zeta gauge\n"
            "zeta 1\n");
}

TEST(RegistryTest, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  registry.GetGauge("g", "line one\nback\\slash", {{"v", "a\"b\\c\nd"}}).Set(0);
  EXPECT_EQ(registry.Render(),
            "# HELP g line one\\nback\\\\slash\n"
            "# TYPE g gauge\n"
            "g{v=\"a\\\"b\\\\c\\nd\"} 0\n");
}

TEST(RegistryTest, GaugeGoesUpAndDownAndPrintsFractionsAndSpecialValues) {
  Registry registry;
  Gauge& g = registry.GetGauge("g", "g");
  g.Set(1.5);
  g.Add(-4);
  EXPECT_THAT(registry.Render(), HasSubstr("\ng -2.5\n"));
  g.Set(std::numeric_limits<double>::infinity());
  EXPECT_THAT(registry.Render(), HasSubstr("\ng +Inf\n"));
  g.Set(-std::numeric_limits<double>::infinity());
  EXPECT_THAT(registry.Render(), HasSubstr("\ng -Inf\n"));
  g.Set(std::nan(""));
  EXPECT_THAT(registry.Render(), HasSubstr("\ng NaN\n"));
}

TEST(RegistryTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry registry;
  Histogram& h = registry.GetHistogram("lat_seconds", "Latency.", {{"code", "200"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(registry.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{code=\"200\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{code=\"200\",le=\"1\"} 3\n"
            "lat_seconds_bucket{code=\"200\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{code=\"200\"} 7.65\n"
            "lat_seconds_count{code=\"200\"} 4\n");
}

TEST(RegistryTest, CollectorsRunBeforeEachRender) {
  Registry registry;
  int figure = 0;
  registry.AddCollector([&figure](Registry& r) { r.GetGauge("figure", "f").Set(++figure); });
  EXPECT_THAT(registry.Render(), HasSubstr("\nfigure 1\n"));
  EXPECT_THAT(registry.Render(), HasSubstr("\nfigure 2\n"));
}

TEST(RegistryTest, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry] {
      for (int i = 0; i < 10000; ++i) {
        registry.GetCounter("n_total", "n").Increment();
        registry.GetHistogram("h", "h").Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(registry.GetCounter("n_total", "n").value(), 40000);
  EXPECT_EQ(registry.GetHistogram("h", "h").snapshot().count, 40000u);
}

TEST(RegistryDeathTest, InvalidMetricNameAborts) {
  Registry registry;
  EXPECT_DEATH(registry.GetCounter("9lives", "x"), "invalid metric name: \"9lives\"");
}

TEST(RegistryDeathTest, InvalidOrReservedLabelNameAborts) {
  Registry registry;
  EXPECT_DEATH(registry.GetCounter("c", "x", {{"bad-label", "1"}}), "bad-label");
  EXPECT_DEATH(registry.GetCounter("c", "x", {{"__reserved", "1"}}), "__reserved");
  EXPECT_DEATH(registry.GetHistogram("h", "x", {{"le", "1"}}), "\"le\"");
}

TEST(RegistryDeathTest, SameNameWithAnotherTypeAborts) {
  Registry registry;
  registry.GetCounter("m", "x");
  EXPECT_DEATH(registry.GetGauge("m", "x"), "another type or help: \"m\"");
}

}  // namespace
}  // namespace marketpipe::metrics
