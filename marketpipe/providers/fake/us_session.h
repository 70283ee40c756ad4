#ifndef MARKETPIPE_PROVIDERS_FAKE_US_SESSION_H_
#define MARKETPIPE_PROVIDERS_FAKE_US_SESSION_H_

#include <cstdint>
#include <optional>

#include "marketpipe/core/civil_date.h"

namespace marketpipe {

// The US equity calendar the fake provider follows, computed from the rules alone (no tz
// database): America/New_York offsets and the regular session, 09:30-16:00 local, Monday to
// Friday. Exchange holidays are not modelled: every weekday is a trading day.
//
// Dates are proleptic Gregorian; "days" count from 1970-01-01 (negative before).

// Calendar arithmetic (DaysFromCivil, CivilFromDays, WeekdayFromDays) is in
// marketpipe/core/civil_date.h.

// Whether US Eastern daylight time (EDT, UTC-4) is in effect at `unix_seconds`. Since 2007 DST
// runs from the second Sunday of March, 02:00 EST (07:00Z), to the first Sunday of November,
// 02:00 EDT (06:00Z); from 1987 to 2006 from the first Sunday of April to the last Sunday of
// October, and that older rule is applied to every earlier year too.
bool IsUsEasternDaylightTime(int64_t unix_seconds);

// America/New_York minus UTC at `unix_seconds`: -4 h (EDT) or -5 h (EST), in seconds.
int64_t UsEasternUtcOffsetSeconds(int64_t unix_seconds);

// A regular session [open_ns, close_ns) in UTC nanoseconds since the Unix epoch.
struct SessionHours {
  int64_t open_ns = 0;
  int64_t close_ns = 0;
  friend bool operator==(const SessionHours&, const SessionHours&) = default;
};

// The regular session (09:30-16:00 New York time) of the New York calendar date `days`, or
// nullopt on Saturdays and Sundays. E.g. 2024-03-08 is 14:30Z-21:00Z, 2024-03-11 13:30Z-20:00Z.
std::optional<SessionHours> UsRegularSession(int64_t days);

// The New York calendar date (as days since 1970-01-01) at `unix_seconds`.
int64_t UsEasternDays(int64_t unix_seconds);

// Midnight in New York of the New York date `days`, in UTC seconds since the Unix epoch:
// 05:00Z under EST, 04:00Z under EDT. Alpaca stamps daily bars there.
int64_t UsEasternMidnightSeconds(int64_t days);

}  // namespace marketpipe

#endif  // MARKETPIPE_PROVIDERS_FAKE_US_SESSION_H_
