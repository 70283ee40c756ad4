#include "marketpipe/core/time_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace marketpipe {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86'400 * kSecond;
// 2024-01-02T14:30:00Z (cross-checked with Python's datetime).
constexpr int64_t kJan2At1430 = 1'704'205'800 * kSecond;

struct ParseCase {
  std::string_view text;
  int64_t ns;
};

std::ostream& operator<<(std::ostream& os, const ParseCase& c) {
  return os << "\"" << c.text << "\"";
}

class ParseRfc3339AcceptsTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseRfc3339AcceptsTest, GivesUtcNanos) {
  absl::StatusOr<int64_t> ns = ParseRfc3339(GetParam().text);
  ASSERT_TRUE(ns.ok()) << ns.status();
  EXPECT_EQ(*ns, GetParam().ns);
}

TEST_P(ParseRfc3339AcceptsTest, AgreesWithAbslParseTime) {
  absl::Time time;
  std::string error;
  const std::string text(GetParam().text);
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &time, &error)) << error;
  EXPECT_EQ(absl::ToUnixNanos(time), GetParam().ns);
}

INSTANTIATE_TEST_SUITE_P(
    ValidTimestamps, ParseRfc3339AcceptsTest,
    ::testing::Values(ParseCase{"1970-01-01T00:00:00Z", 0},
                      ParseCase{"2024-01-02T14:30:00Z", kJan2At1430},
                      ParseCase{"2024-01-02t14:30:00z", kJan2At1430},
                      ParseCase{"2024-01-02T20:00:00+05:30", kJan2At1430},
                      ParseCase{"2024-01-02T10:30:00-04:00", kJan2At1430},
                      ParseCase{"2024-01-02T14:30:00+00:00", kJan2At1430},
                      ParseCase{"2024-01-02T14:30:00-00:00", kJan2At1430},
                      ParseCase{"2024-01-01T23:30:00-15:00", kJan2At1430},
                      ParseCase{"2024-01-02T14:30:00.5Z", kJan2At1430 + 500'000'000},
                      ParseCase{"2024-01-02T14:30:00.123456789Z", kJan2At1430 + 123'456'789},
                      ParseCase{"2024-01-02T14:30:00.000000001Z", kJan2At1430 + 1},
                      ParseCase{"2024-01-02T14:30:00.120Z", kJan2At1430 + 120'000'000},
                      ParseCase{"2024-02-29T00:00:00Z", 1'709'164'800 * kSecond},
                      ParseCase{"2000-02-29T12:00:00Z", 951'825'600 * kSecond},
                      ParseCase{"2038-01-19T03:14:08Z", 2'147'483'648 * kSecond},
                      ParseCase{"1969-12-31T23:59:59Z", -kSecond},
                      ParseCase{"1969-12-31T23:59:59.5Z", -500'000'000},
                      ParseCase{"1969-12-31T23:59:59.999999999Z", -1},
                      ParseCase{"1900-01-01T00:00:00Z", -2'208'988'800 * kSecond},
                      ParseCase{"2262-04-11T23:47:16.854775807Z", kMax},
                      ParseCase{"2262-04-12T00:47:16.854775807+01:00", kMax},
                      ParseCase{"1677-09-21T00:12:43.145224192Z", kMin},
                      ParseCase{"1677-09-20T23:12:43.145224192-01:00", kMin}));

struct RejectCase {
  std::string_view text;
  std::string_view message_part;
};

std::ostream& operator<<(std::ostream& os, const RejectCase& c) {
  return os << "\"" << c.text << "\"";
}

class ParseRfc3339RejectsTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(ParseRfc3339RejectsTest, IsInvalidArgumentNamingTheText) {
  absl::StatusOr<int64_t> ns = ParseRfc3339(GetParam().text);
  ASSERT_FALSE(ns.ok()) << GetParam().text << " parsed as " << *ns;
  EXPECT_EQ(ns.status().code(), absl::StatusCode::kInvalidArgument) << ns.status();
  EXPECT_THAT(std::string(ns.status().message()), HasSubstr("invalid RFC 3339 timestamp \""));
  EXPECT_THAT(std::string(ns.status().message()), HasSubstr(GetParam().message_part));
}

INSTANTIATE_TEST_SUITE_P(
    MalformedTimestamps, ParseRfc3339RejectsTest,
    ::testing::Values(
        RejectCase{"", "\"\": empty"},
        RejectCase{"2024-02-30T00:00:00Z",
                   "\"2024-02-30T00:00:00Z\": day 30 is out of range for 2024-02 (01-29)"},
        RejectCase{"2023-02-29T00:00:00Z", "day 29 is out of range for 2023-02 (01-28)"},
        RejectCase{"1900-02-29T00:00:00Z", "day 29 is out of range for 1900-02"},
        RejectCase{"2100-02-29T00:00:00Z", "day 29 is out of range for 2100-02"},
        RejectCase{"2024-04-31T00:00:00Z", "day 31 is out of range for 2024-04 (01-30)"},
        RejectCase{"2024-01-00T00:00:00Z", "day 00 is out of range"},
        RejectCase{"2024-01-32T00:00:00Z", "day 32 is out of range"},
        RejectCase{"2024-13-01T00:00:00Z", "month 13 is out of range 01-12"},
        RejectCase{"2024-00-01T00:00:00Z", "month 00 is out of range 01-12"},
        RejectCase{"2024-01-02T24:00:00Z", "hour 24 is out of range 00-23"},
        RejectCase{"2024-01-02T23:60:00Z", "minute 60 is out of range 00-59"},
        RejectCase{"2024-01-02T23:59:60Z", "leap second"},
        RejectCase{"2024-01-02T23:59:61Z", "second 61 is out of range 00-59"},
        RejectCase{"2024-01-02T14:30:00", "missing time zone offset"},
        RejectCase{"2024-01-02T14:30:00.5", "missing time zone offset"},
        RejectCase{"2024-01-02T14:30:00Zjunk", "unexpected trailing text \"junk\" at position 20"},
        RejectCase{"2024-01-02T14:30:00+05:30x", "unexpected trailing text \"x\""},
        RejectCase{"2024-01-02T14:30:00Z ", "unexpected trailing text \" \""},
        RejectCase{"2024-01-02 14:30:00Z", "expected 'T' between date and time at position 10"},
        RejectCase{"2024-01-02", "expected 'T'"},
        RejectCase{"2024-01-02T14:30Z", "expected ':' after the minute at position 16"},
        RejectCase{"2024-01-02T14Z", "expected ':' after the hour"},
        RejectCase{"2024-1-02T14:30:00Z", "expected 2-digit month at position 5"},
        RejectCase{"2024-01-2T14:30:00Z", "expected 2-digit day at position 8"},
        RejectCase{"24-01-02T14:30:00Z", "expected 4-digit year at position 0"},
        RejectCase{"+2024-01-02T14:30:00Z", "expected 4-digit year"},
        RejectCase{"20240102T143000Z", "expected '-' after the year at position 4"},
        RejectCase{"2024-01-02T4:30:00Z", "expected 2-digit hour"},
        RejectCase{"2024-01-02T14:30:00.Z", "expected digits after '.' at position 20"},
        RejectCase{"2024-01-02T14:30:00.1234567890Z", "more than 9 fractional second digits"},
        RejectCase{"2024-01-02T14:30:00,5Z", "expected time zone 'Z' or +HH:MM/-HH:MM"},
        RejectCase{"2024-01-02T14:30:00+0530", "expected ':' in the offset"},
        RejectCase{"2024-01-02T14:30:00+05", "expected ':' in the offset"},
        RejectCase{"2024-01-02T14:30:00+5:30", "expected 2-digit offset hour"},
        RejectCase{"2024-01-02T14:30:00+24:00", "offset hour 24 is out of range 00-23"},
        RejectCase{"2024-01-02T14:30:00+05:60", "offset minute 60 is out of range 00-59"},
        RejectCase{"2024-01-02T14:30:00 Z", "expected time zone"},
        RejectCase{"2024-01-02T14:30:00UTC", "expected time zone"},
        RejectCase{"2024-01-02T14:30:00GMT+1", "expected time zone"},
        RejectCase{"2024-01-02T14:30:00\xef\xbc\xba", "expected time zone"},
        RejectCase{"now", "expected 4-digit year"}));

class ParseRfc3339OutOfRangeTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(ParseRfc3339OutOfRangeTest, IsOutOfRangeNamingTheText) {
  absl::StatusOr<int64_t> ns = ParseRfc3339(GetParam());
  ASSERT_FALSE(ns.ok()) << GetParam() << " parsed as " << *ns;
  EXPECT_EQ(ns.status().code(), absl::StatusCode::kOutOfRange) << ns.status();
  EXPECT_THAT(std::string(ns.status().message()), HasSubstr("\"" + std::string(GetParam()) + "\""));
  EXPECT_THAT(std::string(ns.status().message()), HasSubstr("outside the representable range"));
}

INSTANTIATE_TEST_SUITE_P(BeyondInt64Nanos, ParseRfc3339OutOfRangeTest,
                         ::testing::Values("2262-04-11T23:47:16.854775808Z",
                                           "2262-04-11T23:47:16.854775807-00:01",
                                           "1677-09-21T00:12:43.145224191Z",
                                           "1677-09-21T00:12:43.145224192+00:01",
                                           "9999-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00Z",
                                           "1600-01-01T00:00:00Z"));

TEST(ParseIsoDateTest, GivesMidnightUtc) {
  EXPECT_EQ(*ParseIsoDate("1970-01-01"), 0);
  EXPECT_EQ(*ParseIsoDate("2024-01-02"), kJan2At1430 - (14 * 3600 + 30 * 60) * kSecond);
  EXPECT_EQ(*ParseIsoDate("2024-02-29"), 1'709'164'800 * kSecond);
  EXPECT_EQ(*ParseIsoDate("1969-12-31"), -kDay);
  EXPECT_EQ(*ParseIsoDate("2024-01-02"), *ParseRfc3339("2024-01-02T00:00:00Z"));
}

TEST(ParseIsoDateTest, RejectsMalformedDatesNamingTheText) {
  for (std::string_view text :
       {"", "2024-02-30", "2023-02-29", "2024-13-01", "2024-1-2", "2024/01/02", "20240102",
        "2024-01-02T00:00:00Z", "2024-01-02 ", " 2024-01-02", "01/02/2024"}) {
    absl::StatusOr<int64_t> ns = ParseIsoDate(text);
    ASSERT_FALSE(ns.ok()) << text;
    EXPECT_EQ(ns.status().code(), absl::StatusCode::kInvalidArgument) << ns.status();
    EXPECT_THAT(std::string(ns.status().message()),
                HasSubstr("invalid ISO date \"" + std::string(text) + "\""));
    EXPECT_THAT(std::string(ns.status().message()), HasSubstr("(expected YYYY-MM-DD)"));
  }
}

TEST(ParseIsoDateTest, RejectsDatesBeyondInt64NanosAsOutOfRange) {
  EXPECT_TRUE(ParseIsoDate("1677-09-22").ok());
  EXPECT_TRUE(ParseIsoDate("2262-04-11").ok());
  for (std::string_view text : {"1677-09-21", "2262-04-12", "9999-12-31", "1000-01-01"}) {
    absl::StatusOr<int64_t> ns = ParseIsoDate(text);
    ASSERT_FALSE(ns.ok()) << text;
    EXPECT_EQ(ns.status().code(), absl::StatusCode::kOutOfRange) << ns.status();
  }
}

struct FormatCase {
  int64_t ns;
  std::string_view text;
};

std::ostream& operator<<(std::ostream& os, const FormatCase& c) { return os << c.ns; }

class FormatRfc3339Test : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FormatRfc3339Test, WritesUtcWithFractionOnlyWhenNonZero) {
  EXPECT_EQ(FormatRfc3339(GetParam().ns), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Instants, FormatRfc3339Test,
    ::testing::Values(FormatCase{0, "1970-01-01T00:00:00Z"},
                      FormatCase{kJan2At1430, "2024-01-02T14:30:00Z"},
                      FormatCase{kJan2At1430 + 500'000'000, "2024-01-02T14:30:00.5Z"},
                      FormatCase{kJan2At1430 + 123'400'000, "2024-01-02T14:30:00.1234Z"},
                      FormatCase{kJan2At1430 + 123'456'789, "2024-01-02T14:30:00.123456789Z"},
                      FormatCase{kJan2At1430 + 1, "2024-01-02T14:30:00.000000001Z"},
                      FormatCase{1'709'164'800 * kSecond, "2024-02-29T00:00:00Z"},
                      FormatCase{1'709'164'800 * kSecond - 1, "2024-02-28T23:59:59.999999999Z"},
                      FormatCase{-1, "1969-12-31T23:59:59.999999999Z"},
                      FormatCase{-kSecond, "1969-12-31T23:59:59Z"},
                      FormatCase{-kDay, "1969-12-31T00:00:00Z"},
                      FormatCase{-2'208'988'800 * kSecond, "1900-01-01T00:00:00Z"},
                      FormatCase{kMax, "2262-04-11T23:47:16.854775807Z"},
                      FormatCase{kMin, "1677-09-21T00:12:43.145224192Z"}));

// Deterministic spread of instants over the whole int64 range (and its edges).
std::vector<int64_t> SampleInstants() {
  std::vector<int64_t> out = {kMin, kMin + 1, -kSecond - 1, -1, 0, 1, kMax - 1, kMax};
  uint64_t state = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 20'000; ++i) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    out.push_back(static_cast<int64_t>(state));
  }
  return out;
}

TEST(TimeFormatTest, FormatThenParseRoundTripsEveryInt64) {
  for (int64_t ns : SampleInstants()) {
    const std::string text = FormatRfc3339(ns);
    absl::StatusOr<int64_t> parsed = ParseRfc3339(text);
    ASSERT_TRUE(parsed.ok()) << ns << " -> " << text << ": " << parsed.status();
    ASSERT_EQ(*parsed, ns) << text;
  }
}

TEST(TimeFormatTest, FormatAgreesWithAbslFormatTime) {
  for (int64_t ns : SampleInstants()) {
    const std::string expected =
        absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::FromUnixNanos(ns), absl::UTCTimeZone());
    ASSERT_EQ(FormatRfc3339(ns), expected) << ns;
  }
}

// Every day from 1678 to 2261 (all of int64 nanoseconds' range), one century per case so the
// ~0.8 s walk splits across shards instead of holding one to the end.
struct YearSpan {
  int first, last;
};

class EveryDayTest : public ::testing::TestWithParam<YearSpan> {};

TEST_P(EveryDayTest, ParsesToConsecutiveMidnights) {
  // Walks the calendar with absl's civil days as the oracle, so every month length and leap
  // year in range is checked against our own calendar math; absl also anchors the first day.
  const YearSpan span = GetParam();
  int64_t expected =
      absl::ToUnixNanos(absl::FromCivil(absl::CivilDay(span.first, 1, 1), absl::UTCTimeZone()));
  for (absl::CivilDay day(span.first, 1, 1); day < absl::CivilDay(span.last + 1, 1, 1); ++day) {
    const std::string text = absl::FormatCivilTime(day);
    absl::StatusOr<int64_t> ns = ParseIsoDate(text);
    ASSERT_TRUE(ns.ok()) << text << ": " << ns.status();
    ASSERT_EQ(*ns, expected) << text;
    ASSERT_EQ(FormatRfc3339(*ns), text + "T00:00:00Z");
    expected += kDay;
  }
}

INSTANTIATE_TEST_SUITE_P(TimeFormatTest, EveryDayTest,
                         ::testing::Values(YearSpan{1678, 1699}, YearSpan{1700, 1799},
                                           YearSpan{1800, 1899}, YearSpan{1900, 1999},
                                           YearSpan{2000, 2099}, YearSpan{2100, 2199},
                                           YearSpan{2200, 2261}),
                         [](const ::testing::TestParamInfo<YearSpan>& info) {
                           return "From" + std::to_string(info.param.first) + "To" +
                                  std::to_string(info.param.last);
                         });

}  // namespace
}  // namespace marketpipe
