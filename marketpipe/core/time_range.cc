#include "marketpipe/core/time_range.h"

#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe {
namespace {

// "2024-01-02T00:00:00Z" (1704153600000000000 ns), for messages.
std::string Describe(int64_t ns) {
  return absl::StrCat("\"", FormatRfc3339(ns), "\" (", ns, " ns)");
}

}  // namespace

absl::StatusOr<TimeRange> TimeRange::Create(int64_t start_ns, int64_t end_ns) {
  if (end_ns <= start_ns) {
    return absl::InvalidArgumentError(absl::StrCat("invalid time range: end ", Describe(end_ns),
                                                   " is not after start ", Describe(start_ns),
                                                   " (the end is exclusive)"));
  }
  int64_t duration;
  if (__builtin_sub_overflow(end_ns, start_ns, &duration)) {
    return absl::OutOfRangeError(absl::StrCat("time range from ", Describe(start_ns), " to ",
                                              Describe(end_ns),
                                              " is longer than int64 nanoseconds can hold"));
  }
  return TimeRange(start_ns, end_ns);
}

std::string TimeRange::ToString() const {
  return absl::StrCat("[", FormatRfc3339(start_ns_), ", ", FormatRfc3339(end_ns_), ")");
}

std::ostream& operator<<(std::ostream& os, const TimeRange& range) {
  return os << range.ToString();
}

}  // namespace marketpipe
