// Loopback fetch throughput: AlpacaClient + the real HttpClient against FakeAlpacaServer
// serving 10,000-bar pages (HTTP/1.1 keep-alive, plain HTTP on 127.0.0.1). Both ends share the
// machine's two cores, so this is a floor for a real network fetch's client-side cost; compare
// with //bench:alpaca_parse_bench (the parser alone).
//
//   ./bazelw run -c opt //bench:alpaca_fetch_bench

#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>

#include "marketpipe/core/time_format.h"
#include "marketpipe/net/client/http_client.h"
#include "marketpipe/providers/alpaca/alpaca_client.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"
#include "marketpipe/time/time_source.h"
#include "testing/fakes/fake_alpaca_server.h"

namespace {

constexpr int kPages = 10;
constexpr int kBarsPerPage = 10000;

mptest::FakeAlpacaServer::BarsBySymbol Page(int page) {
  mptest::FakeAlpacaServer::BarsBySymbol bars;
  auto& list = bars["AAPL"];
  list.reserve(kBarsPerPage);
  const int64_t start = *marketpipe::ParseRfc3339("2024-01-02T00:00:00Z") / 1'000'000'000;
  for (int i = 0; i < kBarsPerPage; ++i) {
    const int64_t minute = static_cast<int64_t>(page) * kBarsPerPage + i;
    const std::string t = marketpipe::FormatRfc3339((start + minute * 60) * 1'000'000'000);
    const double base = 180.0 + (minute % 97) * 0.01;
    list.push_back({.t = t,
                    .o = base,
                    .h = base + 0.35,
                    .l = base - 0.2,
                    .c = base + 0.05,
                    .v = 1000 + minute % 5000,
                    .n = 10 + minute % 40,
                    .vw = base + 0.07});
  }
  return bars;
}

void BM_FetchThroughFakeServer(benchmark::State& state) {
  mptest::FakeAlpacaServer server;
  for (int p = 0; p < kPages; ++p) server.AddPage(Page(p));
  boost::asio::io_context io;
  auto& time = marketpipe::SystemTimeSource();
  marketpipe::net::HttpClient http(io, time);
  auto limiter = *marketpipe::RateLimiter::PerMinute(time, 1'000'000, 1000);
  marketpipe::alpaca::AlpacaOptions options;
  options.base_url = server.base_url();
  options.key_id = "PKBENCH";
  options.secret = "bench-secret";
  auto client = *marketpipe::alpaca::AlpacaClient::Create(http, time, *limiter, options);
  auto range = *marketpipe::TimeRange::Create(*marketpipe::ParseRfc3339("2024-01-02T00:00:00Z"),
                                              *marketpipe::ParseRfc3339("2024-03-02T00:00:00Z"));
  for (auto _ : state) {
    absl::StatusOr<std::vector<marketpipe::Bar>> bars;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          bars = co_await client->FetchBars(*marketpipe::Symbol::Parse("AAPL"), range,
                                            marketpipe::Timeframe::kOneMinute);
        },
        boost::asio::detached);
    io.restart();
    io.run();
    if (!bars.ok() || bars->size() != static_cast<size_t>(kPages * kBarsPerPage)) {
      state.SkipWithError(bars.ok() ? "wrong bar count"
                                    : std::string(bars.status().message()).c_str());
      break;
    }
  }
  state.counters["bars/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kPages * kBarsPerPage, benchmark::Counter::kIsRate);
  state.counters["connections"] = static_cast<double>(server.connections_accepted());
}
BENCHMARK(BM_FetchThroughFakeServer)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
