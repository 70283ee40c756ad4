// Aggregation throughput in source (1m) bars per second, side by side in one run:
//   BM_SumVolume            the ceiling: one pass over the same bars summing volume
//   BM_Aggregate/<tf>       marketpipe::aggregation::Aggregate, pure (no I/O)
//   BM_ReadBars/<store>     Store::ReadBars of the same bars (the read recompute does)
//   BM_Recompute/<store>/<n>  RecomputeTouchedBuckets: read + aggregate + upsert, n targets
//                           (1: 5m; 6: 5m 15m 30m 1h 4h 1d)
//   BM_GroupBy5m/<store>    the SQL alternative: the database's own GROUP BY over the stored
//                           integer columns (min/max/sums only, no first open/last close: a
//                           lower bound on its cost)
//
//   ./bazelw run -c opt //bench:aggregation_bench
//
// Stores: SQLite in a temp directory, and PostgreSQL from the test kit (MP_TEST_PG_DSN, or a
// private throwaway PostgreSQL 15 started for the run) in a schema of its own, dropped after.
//
// Data: 10 symbols x 30 days of the fake provider's 1m bars around the clock (432,000 bars).

#include <benchmark/benchmark.h>
#include <postgresql/libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
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
#include "testing/postgres/postgres_server.h"

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

// A store holding Minutes(): SQLite in a fresh temp directory, or a fresh PostgreSQL schema.
// Removed at exit.
class StoreFixture {
 public:
  static StoreFixture* Sqlite() {
    static StoreFixture* fixture = [] {
      std::string pattern = (std::filesystem::temp_directory_path() / "aggbench.XXXXXX").string();
      std::string dir = mkdtemp(pattern.data());
      auto* f = new StoreFixture("sqlite:" + dir + "/store.db");
      f->cleanup_ = [dir] { std::filesystem::remove_all(dir); };
      return f;
    }();
    return fixture;
  }

  // Null (with the reason printed) when no PostgreSQL can be had.
  static StoreFixture* Postgres() {
    static StoreFixture* fixture = []() -> StoreFixture* {
      auto server = mptest::SharedPostgresServer();
      if (!server.ok()) {
        std::fprintf(stderr, "no PostgreSQL: %s\n", server.status().ToString().c_str());
        return nullptr;
      }
      const std::string schema = "aggbench_" + std::to_string(getpid());
      const std::string conninfo = server->conninfo;
      auto* f = new StoreFixture("postgres:" + conninfo + ";schema=" + schema);
      f->cleanup_ = [conninfo, schema] {
        PGconn* conn = PQconnectdb(conninfo.c_str());
        const std::string drop =
            "SET client_min_messages = warning; DROP SCHEMA IF EXISTS " + schema + " CASCADE";
        PQclear(PQexec(conn, drop.c_str()));
        PQfinish(conn);
      };
      return f;
    }();
    return fixture;
  }

  marketpipe::storage::Store& store() { return *store_; }

  void Close() {
    store_.reset();
    if (cleanup_) cleanup_();
  }

 private:
  explicit StoreFixture(const std::string& spec) {
    auto opened = marketpipe::storage::OpenStore(spec);
    if (!opened.ok()) {
      std::fprintf(stderr, "OpenStore: %s\n", opened.status().ToString().c_str());
      std::abort();
    }
    store_ = *std::move(opened);
    const std::vector<Bar>& bars = Minutes();
    constexpr size_t kPage = 10'000;
    for (size_t i = 0; i < bars.size(); i += kPage) {
      marketpipe::storage::PageWrite write;
      write.timeframe = Timeframe::kOneMinute;
      write.provenance = {"fake", "fake", "raw"};
      write.bars = std::span<const Bar>(bars).subspan(i, std::min(kPage, bars.size() - i));
      if (auto s = store_->WritePage(write); !s.ok()) {
        std::fprintf(stderr, "WritePage: %s\n", s.ToString().c_str());
        std::abort();
      }
    }
  }

  std::unique_ptr<marketpipe::storage::Store> store_;
  std::function<void()> cleanup_;
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

void BM_ReadBars(benchmark::State& state, StoreFixture* fixture) {
  for (auto _ : state) {
    for (const Symbol& symbol : Symbols()) {
      auto bars = fixture->store().ReadBars(symbol, Timeframe::kOneMinute, Month());
      benchmark::DoNotOptimize(bars->data());
    }
  }
  Report(state, static_cast<int64_t>(Minutes().size()));
}

void BM_Recompute(benchmark::State& state, StoreFixture* fixture) {
  marketpipe::aggregation::RecomputeRequest request;
  request.symbols = Symbols();
  request.touched = Month();
  for (int i = 1; i <= state.range(0); ++i) request.targets.push_back(Timeframe::kAll[i]);
  int64_t read = 0;
  int64_t written = 0;
  for (auto _ : state) {
    auto stats = marketpipe::aggregation::RecomputeTouchedBuckets(fixture->store(), request);
    if (!stats.ok()) {
      state.SkipWithError(stats.status().ToString().c_str());
      break;
    }
    read = stats->source_bars_read;
    written = stats->bars_written;
  }
  state.counters["read"] = static_cast<double>(read);
  state.counters["written"] = static_cast<double>(written);
  Report(state, static_cast<int64_t>(Minutes().size()));
}

void BM_GroupBy5m(benchmark::State& state, StoreFixture* fixture) {
  const std::string sql =
      "SELECT symbol, ts_ns / 300000000000 AS bucket, max(high_units), min(low_units), "
      "sum(volume), sum(trade_count), sum(vwap_units * volume) FROM bar_units "
      "WHERE timeframe = '1m' GROUP BY symbol, bucket";
  for (auto _ : state) {
    auto result = fixture->store().Query(sql, 1'000'000);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(result->rows.data());
  }
  Report(state, static_cast<int64_t>(Minutes().size()));
}

void RegisterStore(const char* name, StoreFixture* fixture) {
  if (fixture == nullptr) return;
  const std::string suffix = std::string("/") + name;
  benchmark::RegisterBenchmark(("BM_ReadBars" + suffix).c_str(), BM_ReadBars, fixture)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(3);
  benchmark::RegisterBenchmark(("BM_Recompute" + suffix).c_str(), BM_Recompute, fixture)
      ->Arg(1)
      ->Arg(6)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(3);
  benchmark::RegisterBenchmark(("BM_GroupBy5m" + suffix).c_str(), BM_GroupBy5m, fixture)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(3);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RegisterBenchmark("BM_SumVolume", BM_SumVolume);
  benchmark::RegisterBenchmark("BM_Aggregate", BM_Aggregate)
      ->DenseRange(1, 6)
      ->Unit(benchmark::kMillisecond);
  RegisterStore("sqlite", StoreFixture::Sqlite());
  RegisterStore("postgres", StoreFixture::Postgres());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  StoreFixture::Sqlite()->Close();
  if (StoreFixture* pg = StoreFixture::Postgres()) pg->Close();
  return 0;
}
