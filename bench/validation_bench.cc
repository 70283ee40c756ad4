// Validation throughput, side by side in one run:
//   BM_CopyPages      the ceiling: copying each 10,000-bar page (ValidatePage takes its page
//                     by value, so an ingest that keeps its copy pays this too)
//   BM_ValidatePages  Validator::ValidatePage over the same pages (all eight checks, drop-bad)
//
//   ./bazelw run -c opt //bench:validation_bench
//
// Data: 10 symbols x 30 days of the fake provider's 1m bars around the clock (432,000 bars).

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/providers/fake/fake_provider.h"
#include "marketpipe/validation/validator.h"

namespace {

using marketpipe::Bar;
using marketpipe::Timeframe;

constexpr size_t kPageSize = 10'000;

const std::vector<std::vector<Bar>>& Pages() {
  static const std::vector<std::vector<Bar>> pages = [] {
    const auto month =
        *marketpipe::TimeRange::Create(*marketpipe::ParseRfc3339("2024-03-01T00:00:00Z"),
                                       *marketpipe::ParseRfc3339("2024-03-31T00:00:00Z"));
    std::vector<Bar> all;
    for (int i = 0; i < 10; ++i) {
      const auto symbol =
          *marketpipe::Symbol::Parse(std::string("SYM") + static_cast<char>('A' + i));
      auto bars = marketpipe::FakeProvider::Generate(symbol, month, Timeframe::kOneMinute,
                                                     {.all_hours = true});
      all.insert(all.end(), bars->begin(), bars->end());
    }
    std::vector<std::vector<Bar>> out;
    for (size_t i = 0; i < all.size(); i += kPageSize) {
      out.emplace_back(all.begin() + i, all.begin() + std::min(all.size(), i + kPageSize));
    }
    return out;
  }();
  return pages;
}

int64_t TotalBars() {
  int64_t n = 0;
  for (const auto& page : Pages()) n += static_cast<int64_t>(page.size());
  return n;
}

void Report(benchmark::State& state) {
  state.counters["bars/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * TotalBars(), benchmark::Counter::kIsRate);
}

void BM_CopyPages(benchmark::State& state) {
  for (auto _ : state) {
    for (const auto& page : Pages()) {
      std::vector<Bar> copy = page;
      benchmark::DoNotOptimize(copy.data());
    }
  }
  Report(state);
}
BENCHMARK(BM_CopyPages)->Unit(benchmark::kMillisecond);

void BM_ValidatePages(benchmark::State& state) {
  for (auto _ : state) {
    marketpipe::validation::Validator validator(Timeframe::kOneMinute);
    for (const auto& page : Pages()) {
      auto verdict = validator.ValidatePage(page);
      if (!verdict.ok() || !verdict->issues.empty()) {
        state.SkipWithError("unexpected verdict");
        return;
      }
      benchmark::DoNotOptimize(verdict->accepted.data());
    }
  }
  Report(state);
}
BENCHMARK(BM_ValidatePages)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
