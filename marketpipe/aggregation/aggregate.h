#ifndef MARKETPIPE_AGGREGATION_AGGREGATE_H_
#define MARKETPIPE_AGGREGATION_AGGREGATE_H_

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::aggregation {

// Aggregates finer bars (1-minute bars, as stored) into bars of `target`, one per (symbol,
// bucket) that holds at least one input bar, stamped at the bucket's start (see bucket.h).
// Pure: no I/O, exact integer arithmetic.
//
// Each output bar has the first open, the highest high, the lowest low and the last close of
// its bucket's bars; volume and trade_count are their sums; vwap is their vwaps weighted by
// volume, sum(vwap * volume) / sum(volume), computed exactly in 128 bits and rounded to the
// nearest 1e-4, ties away from zero (as Price's lenient parse rounds). A bucket that traded no
// volume at all gets the plain mean of its vwaps, rounded the same way.
//
// `bars` must be sorted by symbol, then strictly by time (as stores read them and providers
// page them): anything else is InvalidArgument naming the offending bar, as is a negative
// volume or trade count (validation drops those). OutOfRange for a timestamp outside the
// bucket domain (bucket.h) or a volume or trade-count sum beyond int64.
//
//   auto five = Aggregate(minute_bars, Timeframe::kFiveMinutes);
absl::StatusOr<std::vector<Bar>> Aggregate(std::span<const Bar> bars, Timeframe target);

}  // namespace marketpipe::aggregation

#endif  // MARKETPIPE_AGGREGATION_AGGREGATE_H_
