// Requests and virtual time to fetch 500 symbols x 1 day of 1-minute bars from an Alpaca-like
// server under Alpaca's free-plan limiter (200 requests/min, bursts of 10): one symbol per
// request against the batched `symbols=A,B,C` requests of AlpacaClient::Fetch. Both run the
// real AlpacaClient (pages, limiter, parsing) over an in-process transport that serves bars the
// way Alpaca does (`limit` across symbols, sorted by symbol then time, inclusive `end`), with a
// fixed round trip per request, on virtual time.
//
//   ./bazelw run -c opt //bench:batching_bench

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/providers/alpaca/alpaca_client.h"
#include "marketpipe/providers/fake/fake_provider.h"
#include "marketpipe/providers/rate_limit/rate_limiter.h"
#include "testing/async_test.h"

namespace {

using boost::asio::awaitable;
using namespace std::chrono_literals;
using marketpipe::Bar;
using marketpipe::Symbol;

constexpr int kSymbols = 500;
constexpr auto kRoundTrip = 50ms;

// An Alpaca-compatible bars endpoint in process. Bars come from the fake provider's market
// (390 per symbol and session day). The page token is "<symbol index>:<resume ns>".
class SimulatedAlpaca final : public marketpipe::net::HttpTransport {
 public:
  explicit SimulatedAlpaca(marketpipe::TimeSource& time) : time_(time) {}

  awaitable<absl::StatusOr<marketpipe::net::HttpResponse>> Send(
      marketpipe::net::HttpRequest request) override {
    ++requests_;
    co_await time_.SleepFor(kRoundTrip);
    co_return Serve(request.target);
  }

  int requests() const { return requests_; }

 private:
  marketpipe::net::HttpResponse Serve(std::string_view target) {
    marketpipe::net::HttpResponse response;
    response.status = 200;
    response.headers.Add("Content-Type", "application/json");
    auto url = boost::urls::parse_origin_form(target);
    std::vector<std::string> symbols;
    int64_t start = 0, end = 0, limit = 0;
    size_t first = 0;
    int64_t resume = 0;
    for (auto param : url->params()) {
      if (param.key == "symbols") symbols = absl::StrSplit(param.value, ',');
      if (param.key == "start") start = *marketpipe::ParseRfc3339(param.value);
      if (param.key == "end") end = *marketpipe::ParseRfc3339(param.value);
      if (param.key == "limit") limit = std::stoll(param.value);
      if (param.key == "page_token") {
        std::vector<std::string> parts = absl::StrSplit(param.value, ':');
        first = std::stoul(parts[0]);
        resume = std::stoll(parts[1]);
      }
    }
    std::sort(symbols.begin(), symbols.end());
    std::string body = R"({"bars":{)";
    int64_t count = 0;
    std::string next = "null";
    for (size_t i = first; i < symbols.size() && next == "null"; ++i) {
      const int64_t from = i == first && resume != 0 ? resume : start;
      // Alpaca's `end` is inclusive.
      auto range = *marketpipe::TimeRange::Create(from, end + 1);
      auto bars = *marketpipe::FakeProvider::Generate(*Symbol::Parse(symbols[i]), range,
                                                      marketpipe::Timeframe::kOneMinute);
      if (bars.empty()) continue;
      absl::StrAppend(&body, count > 0 ? "," : "", "\"", symbols[i], "\":[");
      for (size_t j = 0; j < bars.size(); ++j) {
        if (count == limit) {
          next = absl::StrCat("\"", i, ":", bars[j].ts_ns, "\"");
          break;
        }
        const Bar& b = bars[j];
        absl::StrAppend(&body, j > 0 ? "," : "", R"({"t":")", marketpipe::FormatRfc3339(b.ts_ns),
                        R"(","o":)", b.open.ToString(), R"(,"h":)", b.high.ToString(), R"(,"l":)",
                        b.low.ToString(), R"(,"c":)", b.close.ToString(), R"(,"v":)", b.volume,
                        R"(,"n":)", b.trade_count, R"(,"vw":)", b.vwap.ToString(), "}");
        ++count;
      }
      body += "]";
    }
    absl::StrAppend(&body, R"(},"next_page_token":)", next, "}");
    response.body = std::move(body);
    return response;
  }

  marketpipe::TimeSource& time_;
  int requests_ = 0;
};

// AsyncTest outside gtest: its io_context and auto-advancing virtual clock.
class BenchCase : public mptest::AsyncTest {
 public:
  void TestBody() override {}
  using AsyncTest::RunAsync;
  using AsyncTest::time;
};

struct Figures {
  int requests = 0;
  int batches = 0;
  int64_t bars = 0;
  double virtual_seconds = 0;
};

// Fetches every symbol of one session day, `per_request` symbols per Fetch, one after another.
Figures Run(int per_request) {
  BenchCase c;
  SimulatedAlpaca server(c.time());
  auto limiter = *marketpipe::RateLimiter::PerMinute(c.time(), 200, 10);
  marketpipe::alpaca::AlpacaOptions options;
  options.base_url = "http://127.0.0.1:1";
  options.key_id = "PKBENCH";
  options.secret = "bench-secret";
  options.max_symbols_per_request = per_request;
  auto client = *marketpipe::alpaca::AlpacaClient::Create(server, c.time(), *limiter, options);
  std::vector<Symbol> symbols;
  for (int i = 0; i < kSymbols; ++i) {
    symbols.push_back(*Symbol::Parse(absl::StrCat("S", 1000 + i)));
  }
  const auto day =
      *marketpipe::TimeRange::Create(*marketpipe::ParseRfc3339("2024-01-02T00:00:00Z"),
                                     *marketpipe::ParseRfc3339("2024-01-03T00:00:00Z"));
  Figures f;
  // Even batches: 500 symbols at most 121 per request are 5 batches of 100.
  const int batches = (kSymbols + per_request - 1) / per_request;
  c.RunAsync([&]() -> awaitable<void> {
    for (int b = 0; b < batches; ++b) {
      marketpipe::FetchRequest request;
      request.symbols.assign(symbols.begin() + b * kSymbols / batches,
                             symbols.begin() + (b + 1) * kSymbols / batches);
      request.range = day;
      absl::Status s = co_await client->Fetch(
          request, [&](marketpipe::FetchPage page) -> awaitable<absl::Status> {
            f.bars += static_cast<int64_t>(page.bars.size());
            co_return absl::OkStatus();
          });
      if (!s.ok()) {
        std::fprintf(stderr, "fetch failed: %s\n", std::string(s.message()).c_str());
        std::exit(1);
      }
    }
  }());
  f.requests = server.requests();
  f.batches = batches;
  f.virtual_seconds = std::chrono::duration<double>(c.time().elapsed()).count();
  return f;
}

}  // namespace

int main() {
  // The default batch size is derived from the URL length limit.
  mptest::VirtualTimeSource time;
  SimulatedAlpaca unused(time);
  auto limiter = *marketpipe::RateLimiter::PerMinute(time, 200, 10);
  marketpipe::alpaca::AlpacaOptions options;
  options.base_url = "http://127.0.0.1:1";
  options.key_id = "PKBENCH";
  options.secret = "bench-secret";
  const int batched = (*marketpipe::alpaca::AlpacaClient::Create(unused, time, *limiter, options))
                          ->max_symbols_per_request();

  const Figures one = Run(1);
  const Figures many = Run(batched);
  std::printf(
      "%d symbols x 1 day of 1m bars (390 per symbol), limiter 200/min burst 10, "
      "%lld ms round trip, sequential fetches\n",
      kSymbols, static_cast<long long>(kRoundTrip.count()));
  std::printf("%-28s %9s %9s %9s %12s\n", "", "fetches", "requests", "bars", "virtual s");
  std::printf("%-28s %9d %9d %9lld %12.1f\n", "one symbol per request", one.batches, one.requests,
              static_cast<long long>(one.bars), one.virtual_seconds);
  const std::string label = absl::StrCat("batched (<= ", batched, " per request)");
  std::printf("%-28s %9d %9d %9lld %12.1f\n", label.c_str(), many.batches, many.requests,
              static_cast<long long>(many.bars), many.virtual_seconds);
  std::printf("requests: %.1fx fewer (target >= 20x); virtual time: %.1fx shorter\n",
              static_cast<double>(one.requests) / many.requests,
              one.virtual_seconds / many.virtual_seconds);
  return one.bars == many.bars ? 0 : 1;
}
