#ifndef MARKETPIPE_CORE_TIME_RANGE_H_
#define MARKETPIPE_CORE_TIME_RANGE_H_

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace marketpipe {

// A half-open interval [start_ns, end_ns) of UTC nanoseconds since the Unix epoch: the start
// is included, the end is not, so consecutive ranges [a, b) and [b, c) never share an
// instant. Ordered by start, then end.
class TimeRange {
 public:
  // The empty range [0, 0): contains nothing, duration zero. Create never returns it; it
  // exists so that TimeRange, and structs holding one, can be default-constructed.
  constexpr TimeRange() = default;

  // InvalidArgument (naming both instants) unless end_ns > start_ns; OutOfRange when
  // end_ns - start_ns does not fit in int64 nanoseconds (about 292 years).
  static absl::StatusOr<TimeRange> Create(int64_t start_ns, int64_t end_ns);

  constexpr int64_t start_ns() const { return start_ns_; }
  constexpr int64_t end_ns() const { return end_ns_; }
  constexpr bool empty() const { return end_ns_ <= start_ns_; }

  // start_ns <= ts_ns < end_ns.
  constexpr bool Contains(int64_t ts_ns) const { return start_ns_ <= ts_ns && ts_ns < end_ns_; }

  constexpr int64_t duration_ns() const { return end_ns_ - start_ns_; }
  absl::Duration duration() const { return absl::Nanoseconds(duration_ns()); }

  // "[2024-01-02T00:00:00Z, 2024-01-03T00:00:00Z)".
  std::string ToString() const;

  friend constexpr bool operator==(const TimeRange&, const TimeRange&) = default;
  friend constexpr std::strong_ordering operator<=>(const TimeRange&, const TimeRange&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const TimeRange& range) {
    return H::combine(std::move(h), range.start_ns_, range.end_ns_);
  }

 private:
  constexpr TimeRange(int64_t start_ns, int64_t end_ns) : start_ns_(start_ns), end_ns_(end_ns) {}

  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
};

std::ostream& operator<<(std::ostream& os, const TimeRange& range);

}  // namespace marketpipe

#endif  // MARKETPIPE_CORE_TIME_RANGE_H_
