#include "marketpipe/providers/fake/us_session.h"

namespace marketpipe {
namespace {

constexpr int64_t kSecondsPerDay = 86'400;
constexpr int64_t kSecondsPerHour = 3'600;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The n-th (1-based) Sunday of year/month.
int64_t NthSunday(int64_t year, int month, int n) {
  const int64_t first = DaysFromCivil(year, month, 1);
  return first + (7 - WeekdayFromDays(first)) % 7 + 7 * (n - 1);
}

// The last Sunday of year/month (month < 12).
int64_t LastSunday(int64_t year, int month) {
  const int64_t last = DaysFromCivil(year, month + 1, 1) - 1;
  return last - WeekdayFromDays(last);
}

}  // namespace

bool IsUsEasternDaylightTime(int64_t unix_seconds) {
  // The year as read on a standard-time clock: DST never spans New Year.
  const int64_t year =
      CivilFromDays(FloorDiv(unix_seconds - 5 * kSecondsPerHour, kSecondsPerDay)).year;
  int64_t start_day;
  int64_t end_day;
  if (year >= 2007) {
    start_day = NthSunday(year, 3, 2);
    end_day = NthSunday(year, 11, 1);
  } else {
    start_day = NthSunday(year, 4, 1);
    end_day = LastSunday(year, 10);
  }
  // 02:00 EST = 07:00Z on the first day; 02:00 EDT = 06:00Z on the last.
  const int64_t start = start_day * kSecondsPerDay + 7 * kSecondsPerHour;
  const int64_t end = end_day * kSecondsPerDay + 6 * kSecondsPerHour;
  return start <= unix_seconds && unix_seconds < end;
}

int64_t UsEasternUtcOffsetSeconds(int64_t unix_seconds) {
  return (IsUsEasternDaylightTime(unix_seconds) ? -4 : -5) * kSecondsPerHour;
}

std::optional<SessionHours> UsRegularSession(int64_t days) {
  const int weekday = WeekdayFromDays(days);
  if (weekday == 0 || weekday == 6) return std::nullopt;
  // Transitions happen at 02:00 on Sundays, so noon tells the offset of the whole weekday.
  const int64_t local_midnight = days * kSecondsPerDay;
  const int64_t offset =
      UsEasternUtcOffsetSeconds(local_midnight + 17 * kSecondsPerHour);  // ~noon local
  const int64_t open = local_midnight + 9 * kSecondsPerHour + 30 * 60 - offset;
  const int64_t close = local_midnight + 16 * kSecondsPerHour - offset;
  return SessionHours{open * kNanosPerSecond, close * kNanosPerSecond};
}

int64_t UsEasternDays(int64_t unix_seconds) {
  return FloorDiv(unix_seconds + UsEasternUtcOffsetSeconds(unix_seconds), kSecondsPerDay);
}

int64_t UsEasternMidnightSeconds(int64_t days) {
  // Clocks change at 02:00 local, so 04:00Z of the date (midnight EDT, 23:00 EST the evening
  // before) always has the offset that midnight itself has.
  const int64_t naive = days * kSecondsPerDay;
  return naive - UsEasternUtcOffsetSeconds(naive + 4 * kSecondsPerHour);
}

}  // namespace marketpipe
