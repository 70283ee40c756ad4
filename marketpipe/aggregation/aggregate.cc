#include "marketpipe/aggregation/aggregate.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/aggregation/bucket.h"

namespace marketpipe::aggregation {
namespace {

// numerator / denominator (denominator > 0) rounded to the nearest integer, ties away from
// zero. Quotient and remainder keep every step inside 128 bits.
int64_t RoundedDivide(__int128 numerator, __int128 denominator) {
  __int128 quotient = numerator / denominator;
  const __int128 remainder = numerator % denominator;
  const __int128 magnitude = remainder < 0 ? -remainder : remainder;
  if (magnitude >= denominator - magnitude) quotient += numerator < 0 ? -1 : 1;
  return static_cast<int64_t>(quotient);
}

// One bucket being filled.
class Bucket {
 public:
  Bucket(const Bar& first, int64_t start) : bar_(first), count_(1) {
    bar_.ts_ns = start;
    price_volume_ = static_cast<__int128>(first.vwap.units()) * first.volume;
    vwap_sum_ = first.vwap.units();
  }

  // False when a sum would leave int64.
  bool Add(const Bar& bar) {
    if (__builtin_add_overflow(bar_.volume, bar.volume, &bar_.volume)) return false;
    if (__builtin_add_overflow(bar_.trade_count, bar.trade_count, &bar_.trade_count)) {
      return false;
    }
    bar_.high = std::max(bar_.high, bar.high);
    bar_.low = std::min(bar_.low, bar.low);
    bar_.close = bar.close;
    // |vwap| < 2^63 and the volumes sum to < 2^63, so neither sum can pass 2^126.
    price_volume_ += static_cast<__int128>(bar.vwap.units()) * bar.volume;
    vwap_sum_ += bar.vwap.units();
    ++count_;
    return true;
  }

  Bar Finish() {
    bar_.vwap = Price::FromUnits(bar_.volume > 0 ? RoundedDivide(price_volume_, bar_.volume)
                                                 : RoundedDivide(vwap_sum_, count_));
    return bar_;
  }

 private:
  Bar bar_;
  int64_t count_;
  __int128 price_volume_;
  __int128 vwap_sum_;
};

}  // namespace

absl::StatusOr<std::vector<Bar>> Aggregate(std::span<const Bar> bars, Timeframe target) {
  std::vector<Bar> out;
  std::optional<Bucket> bucket;
  int64_t bucket_end = 0;
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    if (!InBucketDomain(bar.ts_ns)) {
      return absl::OutOfRangeError(absl::StrCat("aggregate: bar ", i, " (", bar.ToString(),
                                                ") lies outside the bucket domain"));
    }
    if (bar.volume < 0 || bar.trade_count < 0) {
      return absl::InvalidArgumentError(absl::StrCat("aggregate: bar ", i, " (", bar.ToString(),
                                                     ") has a negative volume or trade count"));
    }
    const bool same_symbol = i > 0 && bars[i - 1].symbol == bar.symbol;
    if (i > 0 &&
        (bar.symbol < bars[i - 1].symbol || (same_symbol && bar.ts_ns <= bars[i - 1].ts_ns))) {
      return absl::InvalidArgumentError(absl::StrCat("aggregate: bar ", i, " (", bar.ToString(),
                                                     ") is not after bar ", i - 1, " (",
                                                     bars[i - 1].ToString(),
                                                     "); bars must be sorted by symbol, then "
                                                     "strictly by time"));
    }
    if (bucket && same_symbol && bar.ts_ns < bucket_end) {
      if (!bucket->Add(bar)) {
        return absl::OutOfRangeError(absl::StrCat("aggregate: the volume or trade count of the ",
                                                  target.ToString(), " bucket holding bar ", i,
                                                  " (", bar.ToString(), ") overflows int64"));
      }
      continue;
    }
    if (bucket) out.push_back(bucket->Finish());
    bucket.emplace(bar, BucketStart(bar.ts_ns, target));
    bucket_end = BucketEnd(bar.ts_ns, target);
  }
  if (bucket) out.push_back(bucket->Finish());
  return out;
}

}  // namespace marketpipe::aggregation
