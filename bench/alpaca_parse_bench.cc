// Bars page parsing throughput, side by side in one run:
//   BM_PlainScan        the ceiling: one pass over the same bytes counting '{' (memory bound)
//   BM_ParseBarsPage/fresh_body
//                       marketpipe::alpaca::ParseBarsPage (simdjson On-Demand), including
//                       RFC 3339 -> ns and exact decimal prices, on a fresh body per page with
//                       the spare capacity HttpClient leaves (kResponseBodyPadding), parsed in
//                       place and its bars freed before the next page: what a real fetch does.
//                       Run twice: with glibc's default malloc thresholds (glibc_default/) and
//                       after net::RetainPageMemory(), as the `marketpipe` binary runs
//   BM_ParseBarsPage/fresh_exact_body
//                       the same with no spare capacity (what Beast's string_body used to hand
//                       over): the parser must copy the body first
//   BM_ParseBarsPage/reused_body
//                       the reference: the same buffer every page (no fresh memory at all)
//   BM_ParseBarsPage/general_path/fresh_body
//                       fresh_body with the fast path for Alpaca's exact bar shape off: every bar
//                       through the general On-Demand field loop (the parser before that path)
//   BM_OnDemandWalk     simdjson walking every field, converting nothing (the parser's floor)
//   BM_BoostJsonDom     Boost.JSON parse of the same page + field extraction (the alternative
//                       we measured against before choosing simdjson)
//
//   ./bazelw run -c opt //bench:alpaca_parse_bench
//
// Counters: bytes_per_second (MB/s), bars/s, and faults/page (minor page faults in the timed
// part: fresh memory the kernel had to map). Parse figures are CPU time; the load average is
// printed in the header (figures under load are low and noisy).

#include <benchmark/benchmark.h>
#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <string>

#include "marketpipe/core/price.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/net/http_types.h"
#include "marketpipe/net/page_memory.h"
#include "marketpipe/providers/alpaca/bars_parser.h"

namespace {

// The transport's padding is what lets the parser skip its copy.
static_assert(marketpipe::net::kResponseBodyPadding >= simdjson::SIMDJSON_PADDING);

constexpr int kBars = 10000;

const std::string& PageJson() {
  static const std::string page = [] {
    std::string s = R"({"bars":{"AAPL":[)";
    char buf[256];
    for (int i = 0; i < kBars; ++i) {
      const int minute = i % 390, day = 2 + i / 390;
      std::snprintf(buf, sizeof buf,
                    R"(%s{"t":"2024-01-%02dT%02d:%02d:00Z","o":%d.%02d,"h":%d.%04d,"l":%d.%d,)"
                    R"("c":%d.%03d,"v":%d,"n":%d,"vw":%d.%04d})",
                    i ? "," : "", day, 14 + (30 + minute) / 60, (30 + minute) % 60, 180 + i % 13,
                    i % 100, 181 + i % 13, (i * 37) % 10000, 179 + i % 13, i % 10, 180 + i % 13,
                    (i * 7) % 1000, 1000 + i * 3, 10 + i % 50, 180 + i % 13, (i * 91) % 10000);
      s += buf;
    }
    s += R"(]},"next_page_token":"QUFQTHxNfDIwMjQtMDEtMzBUMTU6NDk6MDAuMDAwMDAwMDAwWg=="})";
    return s;
  }();
  return page;
}

void Report(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * PageJson().size());
  state.counters["bars/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kBars,
                                                benchmark::Counter::kIsRate);
}

void BM_PlainScan(benchmark::State& state) {
  const std::string& page = PageJson();
  for (auto _ : state) {
    int64_t braces = 0;
    for (char c : page) braces += (c == '{');
    benchmark::DoNotOptimize(braces);
  }
  Report(state);
}
BENCHMARK(BM_PlainScan);

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

enum BodyKind { kFreshPadded, kFreshExact, kReused };

// A page body as the transport hands it over: a new string per page (each page is a new
// response), filled outside the timed region as the network read fills it. The parsed page is
// dropped inside it, as the fetch drops each page after handing its bars on.
void BM_ParseBarsPage(benchmark::State& state, BodyKind kind, bool retain_page_memory,
                      bool fast_bar_path = true) {
  // mallopt cannot be undone: the glibc_default cases are registered (and so run) first.
  if (retain_page_memory && !marketpipe::net::RetainPageMemory().ok()) {
    state.SkipWithError("RetainPageMemory failed");
    return;
  }
  const std::string& page = PageJson();
  std::string reused;
  reused.reserve(page.size() + marketpipe::net::kResponseBodyPadding);
  long faults = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string fresh;
    std::string* body = &fresh;
    if (kind == kReused) {
      reused.assign(page);
      body = &reused;
    } else {
      fresh.reserve(page.size() +
                    (kind == kFreshPadded ? marketpipe::net::kResponseBodyPadding : 0));
      fresh.append(page);
    }
    const long faults_before = MinorFaults();
    state.ResumeTiming();
    {
      auto parsed = marketpipe::alpaca::internal::ParseBarsPage(body, "page 1", fast_bar_path);
      if (!parsed.ok() || parsed->bars.size() != kBars) {
        state.SkipWithError("parse failed");
        break;
      }
      benchmark::DoNotOptimize(parsed->bars.data());
    }
    state.PauseTiming();
    faults += MinorFaults() - faults_before;
    state.ResumeTiming();
  }
  Report(state);
  state.counters["faults/page"] =
      static_cast<double>(faults) / static_cast<double>(std::max<int64_t>(state.iterations(), 1));
}
// glibc_default first (the allocator as glibc starts), then as `marketpipe` runs (after
// RetainPageMemory): the figure to hold against the target is fresh_body.
BENCHMARK_CAPTURE(BM_ParseBarsPage, glibc_default / fresh_body, kFreshPadded, false);
BENCHMARK_CAPTURE(BM_ParseBarsPage, glibc_default / fresh_exact_body, kFreshExact, false);
BENCHMARK_CAPTURE(BM_ParseBarsPage, fresh_body, kFreshPadded, true);
BENCHMARK_CAPTURE(BM_ParseBarsPage, fresh_exact_body, kFreshExact, true);
BENCHMARK_CAPTURE(BM_ParseBarsPage, reused_body, kReused, true);
BENCHMARK_CAPTURE(BM_ParseBarsPage, general_path / fresh_body, kFreshPadded, true, false);

// simdjson On-Demand walking every field and touching its raw token, converting nothing: the
// floor for any parser built on On-Demand.
void BM_OnDemandWalk(benchmark::State& state) {
  const std::string& page = PageJson();
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(page);
  for (auto _ : state) {
    simdjson::ondemand::document doc = parser.iterate(padded);
    size_t sum = 0;
    for (auto entry : doc.get_object()) {
      if (entry.key().raw()[0] != 'b') continue;
      for (auto symbol : entry.value().get_object()) {
        for (auto bar : symbol.value().get_array()) {
          for (auto field : bar.get_object())
            sum += field.value().raw_json_token().value_unsafe().size();
        }
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  Report(state);
}
BENCHMARK(BM_OnDemandWalk);

void BM_BoostJsonDom(benchmark::State& state) {
  const std::string& page = PageJson();
  for (auto _ : state) {
    boost::json::value doc = boost::json::parse(page);
    int64_t sum = 0;
    for (const auto& [symbol, list] : doc.at("bars").as_object()) {
      for (const auto& bar : list.as_array()) {
        const auto& o = bar.as_object();
        auto t = marketpipe::ParseRfc3339(std::string(o.at("t").as_string()));
        auto price = marketpipe::Price::FromDouble(o.at("c").to_number<double>());
        sum += *t + price->units() + o.at("v").to_number<int64_t>();
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  Report(state);
}
BENCHMARK(BM_BoostJsonDom);

}  // namespace

BENCHMARK_MAIN();
