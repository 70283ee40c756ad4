#include "marketpipe/aggregation/bucket.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/providers/fake/us_session.h"

namespace marketpipe::aggregation {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// From the remainder, not a - FloorDiv(a, b) * b, which overflows near INT64_MIN.
int64_t FloorMod(int64_t a, int64_t b) {
  const int64_t r = a % b;
  return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

}  // namespace

int64_t NewYorkMidnightNs(int64_t days) { return UsEasternMidnightSeconds(days) * kNanosPerSecond; }

int64_t BucketStart(int64_t ts_ns, Timeframe timeframe) {
  if (timeframe == Timeframe::kOneDay) {
    return NewYorkMidnightNs(UsEasternDays(FloorDiv(ts_ns, kNanosPerSecond)));
  }
  const int64_t width = timeframe.nanos();
  return FloorDiv(ts_ns, width) * width;
}

int64_t BucketEnd(int64_t ts_ns, Timeframe timeframe) {
  if (timeframe == Timeframe::kOneDay) {
    return NewYorkMidnightNs(UsEasternDays(FloorDiv(ts_ns, kNanosPerSecond)) + 1);
  }
  return BucketStart(ts_ns, timeframe) + timeframe.nanos();
}

bool IsBucketStart(int64_t ts_ns, Timeframe timeframe) {
  if (timeframe != Timeframe::kOneDay) return FloorMod(ts_ns, timeframe.nanos()) == 0;
  // In seconds, so that no int64 timestamp can overflow on the way.
  if (FloorMod(ts_ns, kNanosPerSecond) != 0) return false;
  const int64_t seconds = FloorDiv(ts_ns, kNanosPerSecond);
  return seconds == UsEasternMidnightSeconds(UsEasternDays(seconds));
}

absl::StatusOr<TimeRange> ExpandToBuckets(TimeRange range, Timeframe timeframe) {
  if (range.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot expand the empty range ", range.ToString(), " to buckets"));
  }
  if (!InBucketDomain(range.start_ns()) || !InBucketDomain(range.end_ns() - 1)) {
    return absl::OutOfRangeError(
        absl::StrCat("range ", range.ToString(), " reaches outside the bucket domain [",
                     FormatRfc3339(kMinBucketNs), ", ", FormatRfc3339(kMaxBucketNs), ")"));
  }
  return TimeRange::Create(BucketStart(range.start_ns(), timeframe),
                           BucketEnd(range.end_ns() - 1, timeframe));
}

}  // namespace marketpipe::aggregation
