#ifndef MARKETPIPE_CORE_BAR_H_
#define MARKETPIPE_CORE_BAR_H_

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>

#include "marketpipe/core/price.h"
#include "marketpipe/core/symbol.h"

namespace marketpipe {

// One OHLCV bar: the trades of `symbol` in the bar that starts at `ts_ns` (UTC nanoseconds
// since the Unix epoch). Its width (the Timeframe) is kept alongside, not in the bar.
//
// A plain value: Bar itself enforces no invariants (high >= low and the like are checked by
// validation, which must be able to hold and report bad bars). Ordered field by field, so
// sorting bars orders them by symbol, then time.
struct Bar {
  Symbol symbol;
  int64_t ts_ns = 0;
  Price open;
  Price high;
  Price low;
  Price close;
  int64_t volume = 0;
  int64_t trade_count = 0;
  Price vwap;  // Volume-weighted average price.

  // "AAPL 2024-01-02T14:30:00Z o=187.2350 h=... l=... c=... v=... n=... vwap=...".
  std::string ToString() const;

  friend bool operator==(const Bar&, const Bar&) = default;
  friend std::strong_ordering operator<=>(const Bar&, const Bar&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const Bar& bar) {
    return H::combine(std::move(h), bar.symbol, bar.ts_ns, bar.open, bar.high, bar.low, bar.close,
                      bar.volume, bar.trade_count, bar.vwap);
  }
};

std::ostream& operator<<(std::ostream& os, const Bar& bar);

}  // namespace marketpipe

#endif  // MARKETPIPE_CORE_BAR_H_
