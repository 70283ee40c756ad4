#ifndef MARKETPIPE_METRICS_REGISTRY_H_
#define MARKETPIPE_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marketpipe::metrics {

// Label name -> value. Order does not matter: {{"a","1"},{"b","2"}} and {{"b","2"},{"a","1"}}
// name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up (requests served, bars stored). Thread-safe, lock-free.
class Counter {
 public:
  // Negative amounts are ignored: a counter never goes down.
  void Increment(double amount = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down (jobs running, the job's state). Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into cumulative buckets (request latency, in seconds). Thread-safe.
class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, strictly increasing; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Upper bounds for request latencies in seconds: 1 ms .. 10 s.
std::vector<double> DefaultLatencyBounds();

// A set of named metric families, each a counter, gauge or histogram with series told apart by
// labels, rendered in the Prometheus text exposition format (version 0.0.4).
//
//   Registry registry;
//   Counter& ok = registry.GetCounter("marketpipe_http_requests_total", "HTTP requests served.",
//                                     {{"code", "200"}});
//   ok.Increment();
//   registry.Render();
//   // # HELP marketpipe_http_requests_total HTTP requests served.
//   // # TYPE marketpipe_http_requests_total counter
//   // marketpipe_http_requests_total{code="200"} 1
//
// The Get* calls create a series on first use and return the same object afterwards; the
// reference stays valid for the registry's life. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*,
// label names [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"; "le" is reserved for
// histograms), and one name keeps one type and help text: breaking these is a programming error
// and aborts with a message naming the metric. Thread-safe.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // `bounds` applies when the series is created (DefaultLatencyBounds() if empty).
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          std::vector<double> bounds = {});

  // Runs before every Render, e.g. to copy figures from a store into gauges. Called without
  // the registry's lock held, so it may call Get*.
  void AddCollector(std::function<void(Registry&)> collector);

  // The text exposition format: families sorted by name, series by labels; HELP and label
  // values escaped; integers printed without a fraction, +Inf/-Inf/NaN as Prometheus spells
  // them. Content type: kContentType.
  std::string Render();

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Type type;
    std::string help;
    std::map<Labels, Series> series;  // labels sorted by name
  };

  Series& GetSeries(std::string_view name, std::string_view help, Type type, Labels labels);

  std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void(Registry&)>> collectors_;
};

}  // namespace marketpipe::metrics

#endif  // MARKETPIPE_METRICS_REGISTRY_H_
