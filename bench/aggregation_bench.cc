// Aggregation throughput in source (1m) bars per second, side by side in one run:
//   BM_SumVolume            the ceiling: one pass over the same bars summing volume
//   BM_Aggregate/<tf>       marketpipe::aggregation::Aggregate, pure (no I/O)
//   BM_SqliteReadBars       SqliteStore::ReadBars of the same bars (the read recompute does)
//   BM_SqliteRecompute/<n>  RecomputeTouchedBuckets on SqliteStore: read + aggregate + upsert,
//                           n targets (1: 5m; 6: 5m 15m 30m 1h 4h 1d)
//   BM_SqliteGroupBy5m      the SQL alternative: SQLite's own GROUP BY over the stored integer
//                           columns (min/max/sums only, no first open/last close: a lower bound)
//
//   ./bazelw run -c opt //bench:aggregation_bench
//
// Data: 10 symbols x 30 days of the fake provider's 1m bars around the clock (432,000 bars).

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "marketpipe/aggregation/aggregate.h"
#include "marketpipe/aggregation/recompute.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/providers/fake/fake_provider.h"
#include "marketpipe/storage/store.h"

namespace {

using marketpipe::Bar;
using marketpipe::Symbol;
using marketpipe::Timeframe;
using marketpipe::TimeRange;

constexpr int kSymbols = 10;

TimeRange Month() {
  return *TimeRange::Create(*marketpipe::ParseRfc3339("2024-03-01T00:00:00Z"),
                            *marketpipe::ParseRfc3339("2024-03-31T00:00:00Z"));
}

std::vector<Symbol> Symbols() {
  std::vector<Symbol> symbols;
  for (int i = 0; i < kSymbols; ++i) {
    symbols.push_back(*Symbol::Parse(std::string("SYM") + static_cast<char>('A' + i)));
  }
  return symbols;
}

// Every symbol's bars, sorted by symbol then time.
const std::vector<Bar>& Minutes() {
  static const std::vector<Bar> bars = [] {
    std::vector<Bar> all;
    for (const Symbol& symbol : Symbols()) {
      auto bars = marketpipe::FakeProvider::Generate(symbol, Month(), Timeframe::kOneMinute,
                                                     {.all_hours = true});
      all.insert(all.end(), bars->begin(), bars->end());
    }
    return all;
  }();
  return bars;
}

// A SQLite store in a fresh temp directory holding Minutes(), removed at exit.
class SqliteFixture {
 public:
  static SqliteFixture& Get() {
    static SqliteFixture fixture;
    return fixture;
  }
  marketpipe::storage::Store& store() { return *store_; }
  ~SqliteFixture() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

 private:
  SqliteFixture() {
    std::string pattern = (std::filesystem::temp_directory_path() / "aggbench.XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    store_ = *marketpipe::storage::OpenStore("sqlite:" + dir_ + "/store.db");
    const std::vector<Bar>& bars = Minutes();
    constexpr size_t kPage = 10'000;
    for (size_t i = 0; i < bars.size(); i += kPage) {
      marketpipe::storage::PageWrite write;
      write.timeframe = Timeframe::kOneMinute;
      write.provenance = {"fake", "fake", "raw"};
      write.bars = std::span<const Bar>(bars).subspan(i, std::min(kPage, bars.size() - i));
      if (auto s = store_->WritePage(write); !s.ok())
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
    }
  }

  std::string dir_;
  std::unique_ptr<marketpipe::storage::Store> store_;
};

void Report(benchmark::State& state, int64_t bars_per_iteration) {
  state.counters["bars/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * bars_per_iteration, benchmark::Counter::kIsRate);
}

void BM_SumVolume(benchmark::State& state) {
  const std::vector<Bar>& bars = Minutes();
  for (auto _ : state) {
    int64_t volume = 0;
    for (const Bar& bar : bars) volume += bar.volume;
    benchmark::DoNotOptimize(volume);
  }
  Report(state, static_cast<int64_t>(Minutes().size()));
}
BENCHMARK(BM_SumVolume);

void BM_Aggregate(benchmark::State& state) {
  const Timeframe target = Timeframe::kAll[state.range(0)];
  state.SetLabel(target.ToString());
  const std::vector<Bar>& bars = Minutes();
  for (auto _ : state) {
    auto out = marketpipe::aggregation::Aggregate(bars, target);
    if (!out.ok()) {
      state.SkipWithError("aggregate failed");
      break;
    }
    benchmark::DoNotOptimize(out->data());
  }
  Report(state, static_cast<int64_t>(bars.size()));
}
BENCHMARK(BM_Aggregate)->DenseRange(1, 6)->Unit(benchmark::kMillisecond);

void BM_SqliteReadBars(benchmark::State& state) {
  auto& store = SqliteFixture::Get().store();
  for (auto _ : state) {
    for (const Symbol& symbol : Symbols()) {
      auto bars = store.ReadBars(symbol, Timeframe::kOneMinute, Month());
      benchmark::DoNotOptimize(bars->data());
    }
  }
  Report(state, static_cast<int64_t>(Minutes().size()));
}
BENCHMARK(BM_SqliteReadBars)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_SqliteRecompute(benchmark::State& state) {
  auto& store = SqliteFixture::Get().store();
  marketpipe::aggregation::RecomputeRequest request;
  request.symbols = Symbols();
  request.touched = Month();
  for (int i = 1; i <= state.range(0); ++i) request.targets.push_back(Timeframe::kAll[i]);
  int64_t read = 0;
  for (auto _ : state) {
    auto stats = marketpipe::aggregation::RecomputeTouchedBuckets(store, request);
    if (!stats.ok()) {
      state.SkipWithError(stats.status().ToString().c_str());
      break;
    }
    read = stats->source_bars_read;
  }
  state.counters["source_bars_read"] = static_cast<double>(read);
  Report(state, static_cast<int64_t>(Minutes().size()));
}
BENCHMARK(BM_SqliteRecompute)->Arg(1)->Arg(6)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_SqliteGroupBy5m(benchmark::State& state) {
  auto& store = SqliteFixture::Get().store();
  const std::string sql =
      "SELECT symbol, ts_ns / 300000000000 AS bucket, max(high_units), min(low_units), "
      "sum(volume), sum(trade_count), sum(vwap_units * volume) FROM bar_units "
      "WHERE timeframe = '1m' GROUP BY symbol, bucket";
  for (auto _ : state) {
    auto result = store.Query(sql, 1'000'000);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(result->rows.data());
  }
  Report(state, static_cast<int64_t>(Minutes().size()));
}
BENCHMARK(BM_SqliteGroupBy5m)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
