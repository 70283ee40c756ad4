#include "marketpipe/providers/fake/us_session.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "marketpipe/core/time_format.h"

namespace marketpipe {
namespace {

int64_t Seconds(const std::string& rfc3339) {
  return ParseRfc3339(rfc3339).value() / 1'000'000'000;
}

int64_t Nanos(const std::string& rfc3339) { return ParseRfc3339(rfc3339).value(); }

TEST(UsSessionTest, DaysFromCivilMatchesKnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11'017);
  EXPECT_EQ(DaysFromCivil(2024, 1, 2), 19'724);
  EXPECT_EQ(DaysFromCivil(1700, 1, 1), -98'615);
  EXPECT_EQ(CivilFromDays(19'724), (CivilDate{2024, 1, 2}));
  EXPECT_EQ(CivilFromDays(-1), (CivilDate{1969, 12, 31}));
}

TEST(UsSessionTest, CivilDaysRoundTripAndAdvanceOneDayAtATime) {
  const int64_t first = DaysFromCivil(1700, 1, 1);
  const int64_t last = DaysFromCivil(2250, 1, 1);
  CivilDate previous = CivilFromDays(first - 1);
  for (int64_t days = first; days <= last; ++days) {
    const CivilDate date = CivilFromDays(days);
    ASSERT_EQ(DaysFromCivil(date.year, date.month, date.day), days);
    const bool next_day = date.day == previous.day + 1 && date.month == previous.month;
    const bool next_month = date.day == 1 && (date.month == previous.month + 1 ||
                                              (date.month == 1 && previous.month == 12));
    ASSERT_TRUE(next_day || next_month) << date.year << "-" << date.month << "-" << date.day;
    previous = date;
  }
}

TEST(UsSessionTest, WeekdaysOfKnownDates) {
  EXPECT_EQ(WeekdayFromDays(0), 4);                            // 1970-01-01, Thursday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(2024, 1, 2)), 2);    // Tuesday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(2024, 3, 10)), 0);   // Sunday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(1969, 12, 27)), 6);  // Saturday
}

// Transition dates for America/New_York 1990-2040 (taken once from the tz database, which the
// code itself never reads): DST starts 07:00Z on the first date and ends 06:00Z on the second.
struct Transitions {
  int year, start_month, start_day, end_month, end_day;
};
constexpr Transitions kNewYork[] = {
    {1990, 4, 1, 10, 28}, {1991, 4, 7, 10, 27}, {1992, 4, 5, 10, 25}, {1993, 4, 4, 10, 31},
    {1994, 4, 3, 10, 30}, {1995, 4, 2, 10, 29}, {1996, 4, 7, 10, 27}, {1997, 4, 6, 10, 26},
    {1998, 4, 5, 10, 25}, {1999, 4, 4, 10, 31}, {2000, 4, 2, 10, 29}, {2001, 4, 1, 10, 28},
    {2002, 4, 7, 10, 27}, {2003, 4, 6, 10, 26}, {2004, 4, 4, 10, 31}, {2005, 4, 3, 10, 30},
    {2006, 4, 2, 10, 29}, {2007, 3, 11, 11, 4}, {2008, 3, 9, 11, 2},  {2009, 3, 8, 11, 1},
    {2010, 3, 14, 11, 7}, {2011, 3, 13, 11, 6}, {2012, 3, 11, 11, 4}, {2013, 3, 10, 11, 3},
    {2014, 3, 9, 11, 2},  {2015, 3, 8, 11, 1},  {2016, 3, 13, 11, 6}, {2017, 3, 12, 11, 5},
    {2018, 3, 11, 11, 4}, {2019, 3, 10, 11, 3}, {2020, 3, 8, 11, 1},  {2021, 3, 14, 11, 7},
    {2022, 3, 13, 11, 6}, {2023, 3, 12, 11, 5}, {2024, 3, 10, 11, 3}, {2025, 3, 9, 11, 2},
    {2026, 3, 8, 11, 1},  {2027, 3, 14, 11, 7}, {2028, 3, 12, 11, 5}, {2029, 3, 11, 11, 4},
    {2030, 3, 10, 11, 3}, {2031, 3, 9, 11, 2},  {2032, 3, 14, 11, 7}, {2033, 3, 13, 11, 6},
    {2034, 3, 12, 11, 5}, {2035, 3, 11, 11, 4}, {2036, 3, 9, 11, 2},  {2037, 3, 8, 11, 1},
    {2038, 3, 14, 11, 7}, {2039, 3, 13, 11, 6}, {2040, 3, 11, 11, 4}};

TEST(UsSessionTest, DaylightTimeStartsAndEndsAtTheRightSecondEveryYear) {
  for (const auto& t : kNewYork) {
    const int64_t start = DaysFromCivil(t.year, t.start_month, t.start_day) * 86'400 + 7 * 3'600;
    const int64_t end = DaysFromCivil(t.year, t.end_month, t.end_day) * 86'400 + 6 * 3'600;
    EXPECT_FALSE(IsUsEasternDaylightTime(start - 1)) << t.year;
    EXPECT_TRUE(IsUsEasternDaylightTime(start)) << t.year;
    EXPECT_TRUE(IsUsEasternDaylightTime(end - 1)) << t.year;
    EXPECT_FALSE(IsUsEasternDaylightTime(end)) << t.year;
    EXPECT_EQ(UsEasternUtcOffsetSeconds(start - 1), -5 * 3'600) << t.year;
    EXPECT_EQ(UsEasternUtcOffsetSeconds(start), -4 * 3'600) << t.year;
    EXPECT_EQ(UsEasternUtcOffsetSeconds(end), -5 * 3'600) << t.year;
  }
  EXPECT_FALSE(IsUsEasternDaylightTime(Seconds("2024-01-01T00:00:00Z")));
  EXPECT_FALSE(IsUsEasternDaylightTime(Seconds("2023-12-31T23:59:59Z")));
  EXPECT_TRUE(IsUsEasternDaylightTime(Seconds("2024-07-04T12:00:00Z")));
}

TEST(UsSessionTest, RegularSessionFollowsEasternTime) {
  const auto session = [](int y, int m, int d) { return UsRegularSession(DaysFromCivil(y, m, d)); };
  // Friday before and Monday after the March 2024 switch to EDT.
  EXPECT_EQ(session(2024, 3, 8),
            (SessionHours{Nanos("2024-03-08T14:30:00Z"), Nanos("2024-03-08T21:00:00Z")}));
  EXPECT_EQ(session(2024, 3, 11),
            (SessionHours{Nanos("2024-03-11T13:30:00Z"), Nanos("2024-03-11T20:00:00Z")}));
  // Friday before and Monday after the November 2024 switch back to EST.
  EXPECT_EQ(session(2024, 11, 1)->open_ns, Nanos("2024-11-01T13:30:00Z"));
  EXPECT_EQ(session(2024, 11, 4)->open_ns, Nanos("2024-11-04T14:30:00Z"));
  // Before 2007, DST began in April.
  EXPECT_EQ(session(2006, 3, 13)->open_ns, Nanos("2006-03-13T14:30:00Z"));
  EXPECT_EQ(session(2006, 4, 3)->open_ns, Nanos("2006-04-03T13:30:00Z"));
  EXPECT_EQ(session(2024, 3, 9), std::nullopt);   // Saturday
  EXPECT_EQ(session(2024, 3, 10), std::nullopt);  // Sunday
}

TEST(UsSessionTest, EasternDateChangesAtLocalMidnight) {
  EXPECT_EQ(UsEasternDays(Seconds("2024-01-03T04:59:59Z")), DaysFromCivil(2024, 1, 2));
  EXPECT_EQ(UsEasternDays(Seconds("2024-01-03T05:00:00Z")), DaysFromCivil(2024, 1, 3));
  EXPECT_EQ(UsEasternDays(Seconds("2024-07-03T03:59:59Z")), DaysFromCivil(2024, 7, 2));
  EXPECT_EQ(UsEasternDays(Seconds("2024-07-03T04:00:00Z")), DaysFromCivil(2024, 7, 3));
  EXPECT_EQ(UsEasternDays(Seconds("1969-12-31T23:00:00Z")), DaysFromCivil(1969, 12, 31));
}

}  // namespace
}  // namespace marketpipe
