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
  // Simulated round trip of each page, waited through the TimeSource.
  TimeSource::Duration latency{0};
  // Bars per page, counted across the symbols of a request (like Alpaca's `limit`).
  int page_size = 10'000;
  // How many symbols one FetchRequest may name.
  int max_symbols_per_request = 1'000;
  // Generate fails with OutOfRange instead of returning more bars than this (Fetch streams
  // pages and needs no such bound).
  int64_t max_bars = 1'000'000;
};

// The built-in provider ("fake"): plausible, fully deterministic bars for any valid symbol,
// the same in every process, run and machine (integer arithmetic seeded by FNV-1a of the
// symbol and SplitMix64 of the minute; no std::hash, no floating point).
//
//   FakeProvider provider;  // regular session, no latency, system clock
//   auto bars = co_await provider.FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute);
//   absl::Status s = co_await provider.Fetch({.symbols = {aapl, msft}, .range = range}, sink);
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
//   start at 14:00Z (holding 14:30-15:00Z). The 1d bar of a trading day is stamped at New York
//   midnight of its date (05:00Z under EST, 04:00Z under EDT), as Alpaca stamps daily bars, and
//   holds that date's session (all hours: the whole New York date, 23 or 25 h on DST days).
// - Sessions: 09:30-16:00 America/New_York, Monday to Friday, EST/EDT by the US DST rules (see
//   us_session.h); no holidays. Bars lie in [range.start, range.end), sorted by time; there are
//   none before 1700-01-01 or from 2250-01-01 on (inside the int64 nanosecond range).
//
// Fetch streams pages of `page_size` bars counted across the request's symbols, sorted by symbol
// then time; a symbol is in `completed` of the page its last bar is on (or, with no bars, of the
// page where the symbols before it end). Pages report feed "fake" and adjustment "raw"; any
// other adjustment or feed is InvalidArgument. Each page arrives after `latency`, or through a
// post when it is zero, on the awaiting coroutine's executor; cancellation (during that wait, or
// between pages) ends the fetch with CANCELLED. Thread-safe: it holds no mutable state.
class FakeProvider final : public Provider {
 public:
  using Options = FakeProviderOptions;

  // Uses the process-wide real clock (only the latency wait reads it).
  explicit FakeProvider(Options options = {});
  // `time` must outlive the provider.
  explicit FakeProvider(TimeSource& time, Options options = {});

  std::string name() const override { return "fake"; }
  int max_symbols_per_request() const override { return options_.max_symbols_per_request; }

  // The fetch holds copies of the options and the TimeSource pointer, not `this`: destroying the
  // provider mid-fetch is safe (the TimeSource must outlive the fetch).
  boost::asio::awaitable<absl::Status> Fetch(FetchRequest request, PageSink sink) override;

  // The bars of one symbol that Fetch delivers, computed synchronously (no latency).
  //
  //   auto bars = FakeProvider::Generate(aapl, range, Timeframe::kOneDay, {.all_hours = true});
  static absl::StatusOr<std::vector<Bar>> Generate(const Symbol& symbol, TimeRange range,
                                                   Timeframe timeframe,
                                                   const Options& options = {});

 private:
  static boost::asio::awaitable<absl::Status> Stream(TimeSource* time, Options options,
                                                     FetchRequest request, PageSink sink);

  TimeSource* time_;
  Options options_;
};

}  // namespace marketpipe

#endif  // MARKETPIPE_PROVIDERS_FAKE_FAKE_PROVIDER_H_
