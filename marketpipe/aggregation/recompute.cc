#include "marketpipe/aggregation/recompute.h"

#include <algorithm>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/aggregation/aggregate.h"
#include "marketpipe/aggregation/bucket.h"

namespace marketpipe::aggregation {
namespace {

constexpr int64_t kWindowNs = 7 * 86'400LL * 1'000'000'000;

absl::Status CheckTargets(const RecomputeRequest& request) {
  if (request.touched.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("recompute: empty touched range ", request.touched.ToString()));
  }
  const Timeframe source = request.source;
  for (Timeframe target : request.targets) {
    const bool nests = target == Timeframe::kOneDay ? source <= Timeframe::kOneHour
                                                    : target.nanos() % source.nanos() == 0;
    if (target <= source || !nests) {
      return absl::InvalidArgumentError(absl::StrCat("recompute: cannot aggregate ",
                                                     source.ToString(), " bars into ",
                                                     target.ToString(), " bars"));
    }
  }
  return absl::OkStatus();
}

absl::Status InContext(const absl::Status& status, const Symbol& symbol, Timeframe timeframe,
                       const char* what) {
  return absl::Status(status.code(),
                      absl::StrCat("recompute ", symbol.value(), " ", timeframe.ToString(), ": ",
                                   what, ": ", status.message()));
}

// The bars of `bars` (sorted by time) inside `range`.
std::span<const Bar> Within(const std::vector<Bar>& bars, TimeRange range) {
  const auto by_ts = [](const Bar& bar, int64_t ts) { return bar.ts_ns < ts; };
  const auto first = std::lower_bound(bars.begin(), bars.end(), range.start_ns(), by_ts);
  const auto last = std::lower_bound(first, bars.end(), range.end_ns(), by_ts);
  return {first, last};
}

}  // namespace

absl::StatusOr<RecomputeStats> RecomputeTouchedBuckets(storage::Store& store,
                                                       const RecomputeRequest& request) {
  if (absl::Status s = CheckTargets(request); !s.ok()) return s;
  RecomputeStats stats;
  if (request.targets.empty()) return stats;

  // Every window's buckets are whole, so a bucket cut by a window edge is simply computed in
  // both windows from all of its bars: correct, at the cost of one bucket per edge.
  std::vector<TimeRange> windows;
  for (int64_t start = request.touched.start_ns(); start < request.touched.end_ns();) {
    const int64_t end =
        request.touched.end_ns() - start > kWindowNs ? start + kWindowNs : request.touched.end_ns();
    windows.push_back(*TimeRange::Create(start, end));
    start = end;
  }

  for (const Symbol& symbol : request.symbols) {
    absl::StatusOr<std::optional<storage::Provenance>> provenance =
        store.GetProvenance(symbol, request.source);
    if (!provenance.ok()) {
      return InContext(provenance.status(), symbol, request.source, "reading provenance");
    }
    if (!provenance->has_value()) continue;  // no source bars at all

    for (const TimeRange& window : windows) {
      std::vector<TimeRange> expanded;
      int64_t read_start = window.end_ns();
      int64_t read_end = window.start_ns();
      for (Timeframe target : request.targets) {
        absl::StatusOr<TimeRange> range = ExpandToBuckets(window, target);
        if (!range.ok()) return InContext(range.status(), symbol, target, "widening");
        read_start = std::min(read_start, range->start_ns());
        read_end = std::max(read_end, range->end_ns());
        expanded.push_back(*range);
      }
      absl::StatusOr<std::vector<Bar>> source =
          store.ReadBars(symbol, request.source, *TimeRange::Create(read_start, read_end));
      if (!source.ok()) return InContext(source.status(), symbol, request.source, "reading");
      stats.source_bars_read += static_cast<int64_t>(source->size());

      for (size_t i = 0; i < request.targets.size(); ++i) {
        const Timeframe target = request.targets[i];
        absl::StatusOr<std::vector<Bar>> bars = Aggregate(Within(*source, expanded[i]), target);
        if (!bars.ok()) return InContext(bars.status(), symbol, target, "aggregating");
        if (bars->empty()) continue;
        storage::PageWrite write;
        write.timeframe = target;
        write.provenance = **provenance;
        write.bars = *bars;
        if (absl::Status s = store.WritePage(write); !s.ok()) {
          return InContext(s, symbol, target, "writing");
        }
        stats.bars_written += static_cast<int64_t>(bars->size());
      }
    }
  }
  return stats;
}

}  // namespace marketpipe::aggregation
