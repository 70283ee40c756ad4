// How much virtual time one real second buys, and what one async test case costs.
//
//   ./bazelw run -c opt //bench:virtual_time_bench
//
// BM_RateLimitedRequests: a rate-limit-like workload (every request waits 600 ms for a token,
// 100 requests per "window") on VirtualTimeSource, driven exactly as AsyncTest::RunAsync
// drives it. Counter `virtual_s_per_real_s` is the speed-up over running the same waits in
// real time. BM_CaseOverhead: a fresh io_context + virtual clock + RunAsync of a trivial
// coroutine, i.e. the kit's fixed cost per test case (target: about 0.5 µs, as before the
// fixtures became components). BM_BareIoContextCase is the reference: the same coroutine on a
// fresh io_context with no kit at all, so the difference is what the kit adds.

#include <benchmark/benchmark.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>

#include "testing/async_test.h"

namespace {

using boost::asio::awaitable;
using namespace std::chrono_literals;

// AsyncTest outside gtest: expose what a case body would use.
class BenchCase : public mptest::AsyncTest {
 public:
  void TestBody() override {}
  using AsyncTest::RunAsync;
  using AsyncTest::time;
};

void BM_RateLimitedRequests(benchmark::State& state) {
  const int requests = static_cast<int>(state.range(0));
  double virtual_seconds = 0;
  for (auto _ : state) {
    BenchCase c;
    c.RunAsync([&]() -> awaitable<void> {
      for (int i = 0; i < requests; ++i) co_await c.time().SleepFor(600ms);
    }());
    virtual_seconds += std::chrono::duration<double>(c.time().elapsed()).count();
  }
  state.counters["virtual_s_per_real_s"] =
      benchmark::Counter(virtual_seconds, benchmark::Counter::kIsRate);
  state.counters["waits_per_s"] = benchmark::Counter(
      static_cast<double>(requests) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RateLimitedRequests)->Arg(100)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_CaseOverhead(benchmark::State& state) {
  for (auto _ : state) {
    BenchCase c;
    benchmark::DoNotOptimize(c.RunAsync([]() -> awaitable<int> { co_return 1; }()));
  }
}
BENCHMARK(BM_CaseOverhead)->Unit(benchmark::kMicrosecond);

void BM_BareIoContextCase(benchmark::State& state) {
  for (auto _ : state) {
    boost::asio::io_context io;
    int result = 0;
    boost::asio::co_spawn(
        io, []() -> awaitable<int> { co_return 1; }(),
        [&](std::exception_ptr, int value) { result = value; });
    io.run();
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_BareIoContextCase)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
