#ifndef MARKETPIPE_CORE_TIME_FORMAT_H_
#define MARKETPIPE_CORE_TIME_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace marketpipe {

// Conversions between text and UTC nanoseconds since the Unix epoch (the int64 `ts_ns` used
// throughout MarketPipe). int64 nanoseconds span 1677-09-21T00:12:43.145224192Z through
// 2262-04-11T23:47:16.854775807Z; instants before 1970 are negative and fully supported.
// The calendar is proleptic Gregorian.

// Parses an RFC 3339 date-time: "2024-01-02T14:30:00Z", "2024-01-02t14:30:00.123456789z",
// "2024-01-02T09:30:00-05:00", "2024-01-02T20:00:00+05:30". Fractional seconds may have 1
// to 9 digits. Rejected with InvalidArgument: a missing or malformed zone, a space instead of
// 'T', fields with the wrong number of digits, month 13, Feb 30 (and Feb 29 outside leap
// years), hour 24, minute or second 60 (Unix time has no leap seconds), more than 9
// fractional digits, trailing text. An instant outside the int64 range above is OutOfRange.
absl::StatusOr<int64_t> ParseRfc3339(std::string_view text);

// Parses "YYYY-MM-DD" as midnight UTC of that day, with the same validation as ParseRfc3339.
absl::StatusOr<int64_t> ParseIsoDate(std::string_view text);

// Formats as RFC 3339 in UTC: "2024-01-02T14:30:00Z". The fraction is written only when
// non-zero, without trailing zeros ("...:00.5Z", "...:00.000000001Z"), so
// ParseRfc3339(FormatRfc3339(ns)) == ns for every int64.
std::string FormatRfc3339(int64_t ns);

}  // namespace marketpipe

#endif  // MARKETPIPE_CORE_TIME_FORMAT_H_
