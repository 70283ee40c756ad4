#ifndef MARKETPIPE_AGGREGATION_RECOMPUTE_H_
#define MARKETPIPE_AGGREGATION_RECOMPUTE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::aggregation {

// What an ingest touched, and which aggregates to bring up to date.
struct RecomputeRequest {
  std::vector<Symbol> symbols;
  // The range whose source bars were written (an ingest's [start, end)).
  TimeRange touched;
  // Coarser than `source`: 5m 15m 30m 1h 4h 1d for 1m bars.
  std::vector<Timeframe> targets;
  Timeframe source = Timeframe::kOneMinute;
};

struct RecomputeStats {
  int64_t source_bars_read = 0;
  int64_t bars_written = 0;  // aggregated bars upserted, over every target
};

// Recomputes, in `store`, only the buckets of `targets` that `touched` reaches: the range is
// widened to whole buckets of each target (bucket.h), the source bars of those buckets are read
// back and aggregated (Aggregate), and the result is upserted under the target timeframe with
// the provenance of the source bars. Buckets outside the widened range are not read or
// written; a symbol without source bars is skipped. Idempotent: running it twice writes the
// same rows.
//
// Symbols are done one at a time, in windows of at most a week of `touched`, so memory holds
// one window of one symbol's source bars.
//
// INVALID_ARGUMENT for an empty `touched`, a target not coarser than `source`, or a source whose
// buckets do not nest in a target's (1d needs a source of at most 1h; 4h does not nest in New
// York days). Store errors are returned with the symbol and target they concern; what was
// written before an error stays written (rerunning completes it).
absl::StatusOr<RecomputeStats> RecomputeTouchedBuckets(storage::Store& store,
                                                       const RecomputeRequest& request);

}  // namespace marketpipe::aggregation

#endif  // MARKETPIPE_AGGREGATION_RECOMPUTE_H_
