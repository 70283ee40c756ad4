#ifndef MARKETPIPE_PROVIDERS_FAKE_FAKE_PROVIDER_H_
#define MARKETPIPE_PROVIDERS_FAKE_FAKE_PROVIDER_H_

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/providers/provider.h"
#include "marketpipe/time/time_source.h"

namespace marketpipe {

// Declared outside FakeProvider so that `Options{}` works as a default argument.
struct FakeProviderOptions {
  // Bars for every minute of every day (a market open 24/7) instead of the regular US session.
  bool all_hours = false;
  // Simulated round trip of each FetchBars, waited through the TimeSource.
  TimeSource::Duration latency{0};
  // FetchBars fails with OutOfRange instead of returning more bars than this.
  int64_t max_bars = 1'000'000;
};

// The built-in provider ("fake"): plausible, fully deterministic bars for any valid symbol,
// the same in every process, run and machine (integer arithmetic seeded by FNV-1a of the
// symbol and SplitMix64 of the minute; no std::hash, no floating point).
//
//   FakeProvider provider;  // regular session, no latency, system clock
//   auto bars = co_await provider.FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute);
//
// What it returns:
// - One-minute bars are a pure function of (symbol, minute): a bounded multi-scale random walk
//   around a per-symbol base price, so a bar is identical whichever range fetched it, and each
//   bar opens at the previous minute's close. low <= open, close <= high; prices > 0;
//   volume > 0 (U-shaped over the session, thin outside it); 0 < trade_count <= volume;
//   low <= vwap <= high.
// - Longer timeframes aggregate those minutes (first open, max high, min low, last close,
//   summed volume and trades, volume-weighted vwap) over the bucket [ts, ts + width) with
//   ts = floor(t / width) * width in UTC, restricted to session minutes unless all_hours. A
//   bucket gets a bar when it holds at least one such minute; e.g. the 1h bars of a winter day
//   start at 14:00Z (holding 14:30-15:00Z). The 1d bar of a trading day is stamped 00:00Z of
//   its date, like every other bucket, not at the session open.
// - Sessions: 09:30-16:00 America/New_York, Monday to Friday, EST/EDT by the US DST rules (see
//   us_session.h); no holidays. Bars lie in [range.start, range.end), sorted by time; there are
//   none before 1700-01-01 or from 2250-01-01 on (inside the int64 nanosecond range).
//
// FetchBars always completes asynchronously (after `latency`, or through a post when it is
// zero) on the awaiting coroutine's executor. It is InvalidArgument for the empty Symbol,
// OutOfRange above max_bars and CancelledError when cancelled during the latency wait.
// Thread-safe: it holds no mutable state.
class FakeProvider final : public Provider {
 public:
  using Options = FakeProviderOptions;

  // Uses the process-wide real clock (only the latency wait reads it).
  explicit FakeProvider(Options options = {});
  // `time` must outlive the provider.
  explicit FakeProvider(TimeSource& time, Options options = {});

  std::string name() const override { return "fake"; }

  boost::asio::awaitable<absl::StatusOr<std::vector<Bar>>> FetchBars(Symbol symbol, TimeRange range,
                                                                     Timeframe timeframe) override;

  // What FetchBars returns, computed synchronously (no latency).
  //
  //   auto bars = FakeProvider::Generate(aapl, range, Timeframe::kOneDay, {.all_hours = true});
  static absl::StatusOr<std::vector<Bar>> Generate(const Symbol& symbol, TimeRange range,
                                                   Timeframe timeframe,
                                                   const Options& options = {});

 private:
  TimeSource* time_;
  Options options_;
};

}  // namespace marketpipe

#endif  // MARKETPIPE_PROVIDERS_FAKE_FAKE_PROVIDER_H_
