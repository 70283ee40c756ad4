#ifndef MARKETPIPE_AGGREGATION_BUCKET_H_
#define MARKETPIPE_AGGREGATION_BUCKET_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::aggregation {

// Which bucket of a timeframe a timestamp falls in (DESIGN, aggregation):
// - 1m, 5m, 15m, 30m, 1h, 4h: UTC floor buckets [floor(ts / W) * W, + W).
// - 1d: the New York calendar date, from New York midnight to the next one (23, 24 or 25 hours
//   across DST changes), stamped at New York midnight as Alpaca stamps its daily bars. EST/EDT
//   follow the rules of marketpipe/providers/fake/us_session.h.
//
//   BucketStart(ParseRfc3339("2024-03-11T15:07:00Z"), Timeframe::kOneDay)
//       == ParseRfc3339("2024-03-11T04:00:00Z")  // EDT midnight

// The timestamps buckets are computed for: [1700-01-01T00:00Z, 2250-01-01T00:00Z), the fake
// provider's range, far enough inside int64 nanoseconds that bucket ends never overflow.
inline constexpr int64_t kMinBucketNs = -8'520'336'000'000'000'000;
inline constexpr int64_t kMaxBucketNs = 8'835'955'200'000'000'000;

// Whether kMinBucketNs <= ts_ns < kMaxBucketNs.
constexpr bool InBucketDomain(int64_t ts_ns) {
  return kMinBucketNs <= ts_ns && ts_ns < kMaxBucketNs;
}

// The start of the bucket holding `ts_ns`. Requires InBucketDomain(ts_ns).
int64_t BucketStart(int64_t ts_ns, Timeframe timeframe);

// The end (exclusive) of the bucket holding `ts_ns`: the next bucket's start. Requires
// InBucketDomain(ts_ns).
int64_t BucketEnd(int64_t ts_ns, Timeframe timeframe);

// Whether `ts_ns` is the start of its bucket. Defined (and overflow-free) for every int64.
bool IsBucketStart(int64_t ts_ns, Timeframe timeframe);

// `range` widened to whole buckets: [BucketStart(start), BucketEnd(end - 1)). OutOfRange when
// the range reaches outside [kMinBucketNs, kMaxBucketNs).
absl::StatusOr<TimeRange> ExpandToBuckets(TimeRange range, Timeframe timeframe);

// New York midnight, in UTC nanoseconds, of the New York date `days` (days since 1970-01-01):
// 05:00Z under EST, 04:00Z under EDT. Requires a date inside the bucket domain.
int64_t NewYorkMidnightNs(int64_t days);

}  // namespace marketpipe::aggregation

#endif  // MARKETPIPE_AGGREGATION_BUCKET_H_
