#ifndef MARKETPIPE_CORE_CIVIL_DATE_H_
#define MARKETPIPE_CORE_CIVIL_DATE_H_

#include <cstdint>

namespace marketpipe {

// Proleptic Gregorian calendar arithmetic on "days since 1970-01-01" (negative before), the
// one implementation every package uses (Howard Hinnant's public-domain algorithms).
struct CivilDate {
  int64_t year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

// Days since 1970-01-01 of the given date (month 1..12, day 1..31; not validated).
int64_t DaysFromCivil(int64_t year, int month, int day);

// Inverse of DaysFromCivil.
CivilDate CivilFromDays(int64_t days);

// 0 = Sunday, 1 = Monday, ..., 6 = Saturday.
int WeekdayFromDays(int64_t days);

bool IsLeapYear(int64_t year);

// 28..31 (month 1..12).
int DaysInMonth(int64_t year, int month);

}  // namespace marketpipe

#endif  // MARKETPIPE_CORE_CIVIL_DATE_H_
