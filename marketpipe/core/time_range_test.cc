#include "marketpipe/core/time_range.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "marketpipe/core/time_format.h"

namespace marketpipe {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

TEST(TimeRangeTest, CreateKeepsStartAndEnd) {
  absl::StatusOr<TimeRange> range = TimeRange::Create(10, 20);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->start_ns(), 10);
  EXPECT_EQ(range->end_ns(), 20);
  EXPECT_FALSE(range->empty());
}

TEST(TimeRangeTest, CreateRejectsEndEqualToStart) {
  absl::StatusOr<TimeRange> range = TimeRange::Create(5, 5);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(range.status().message()), HasSubstr("is not after start"));
}

TEST(TimeRangeTest, CreateRejectsEndBeforeStartNamingBothInstants) {
  const int64_t start = At("2024-01-03T00:00:00Z");
  const int64_t end = At("2024-01-02T00:00:00Z");
  absl::StatusOr<TimeRange> range = TimeRange::Create(start, end);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(range.status().message());
  EXPECT_THAT(message, HasSubstr("end \"2024-01-02T00:00:00Z\" (1704153600000000000 ns)"));
  EXPECT_THAT(message, HasSubstr("start \"2024-01-03T00:00:00Z\" (1704240000000000000 ns)"));
}

TEST(TimeRangeTest, CreateAcceptsTheSmallestRange) {
  absl::StatusOr<TimeRange> range = TimeRange::Create(0, 1);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->duration_ns(), 1);
  EXPECT_TRUE(range->Contains(0));
  EXPECT_FALSE(range->Contains(1));
}

TEST(TimeRangeTest, CreateAcceptsRangesBefore1970) {
  absl::StatusOr<TimeRange> range = TimeRange::Create(-100, -50);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->duration_ns(), 50);
  EXPECT_TRUE(range->Contains(-100));
  EXPECT_FALSE(range->Contains(-50));
}

TEST(TimeRangeTest, CreateRejectsADurationThatOverflowsInt64) {
  absl::StatusOr<TimeRange> range = TimeRange::Create(kMin, kMax);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(range.status().message()),
              HasSubstr("\"1677-09-21T00:12:43.145224192Z\""));
  // The longest ranges: exactly kMax nanoseconds.
  EXPECT_EQ(TimeRange::Create(0, kMax)->duration_ns(), kMax);
  EXPECT_EQ(TimeRange::Create(kMin, -1)->duration_ns(), kMax);
  EXPECT_FALSE(TimeRange::Create(-1, kMax).ok());
  EXPECT_FALSE(TimeRange::Create(kMin, 0).ok());
}

TEST(TimeRangeTest, ContainsStartButNotEnd) {
  const TimeRange range = *TimeRange::Create(100, 200);
  EXPECT_FALSE(range.Contains(99));
  EXPECT_TRUE(range.Contains(100));
  EXPECT_TRUE(range.Contains(150));
  EXPECT_TRUE(range.Contains(199));
  EXPECT_FALSE(range.Contains(200));
  EXPECT_FALSE(range.Contains(kMin));
  EXPECT_FALSE(range.Contains(kMax));
}

TEST(TimeRangeTest, AdjacentRangesShareNoInstant) {
  const TimeRange day1 = *TimeRange::Create(At("2024-01-02T00:00:00Z"), At("2024-01-03T00:00:00Z"));
  const TimeRange day2 = *TimeRange::Create(At("2024-01-03T00:00:00Z"), At("2024-01-04T00:00:00Z"));
  const int64_t midnight = At("2024-01-03T00:00:00Z");
  EXPECT_FALSE(day1.Contains(midnight));
  EXPECT_TRUE(day2.Contains(midnight));
  EXPECT_TRUE(day1.Contains(midnight - 1));
}

TEST(TimeRangeTest, DurationIsEndMinusStart) {
  const TimeRange range =
      *TimeRange::Create(At("2024-01-02T14:30:00Z"), At("2024-01-02T16:00:00.5Z"));
  EXPECT_EQ(range.duration_ns(), 5'400'500'000'000);
  EXPECT_EQ(range.duration(), absl::Minutes(90) + absl::Milliseconds(500));
}

TEST(TimeRangeTest, DefaultIsEmptyAndContainsNothing) {
  const TimeRange range;
  EXPECT_TRUE(range.empty());
  EXPECT_EQ(range.duration_ns(), 0);
  EXPECT_FALSE(range.Contains(0));
  EXPECT_NE(range, *TimeRange::Create(0, 1));
}

TEST(TimeRangeTest, ComparesByStartThenEnd) {
  const TimeRange a = *TimeRange::Create(0, 10);
  const TimeRange b = *TimeRange::Create(0, 20);
  const TimeRange c = *TimeRange::Create(5, 6);
  EXPECT_EQ(a, *TimeRange::Create(0, 10));
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(TimeRangeTest, HashesEqualRangesEqually) {
  EXPECT_EQ(absl::HashOf(*TimeRange::Create(1, 2)), absl::HashOf(*TimeRange::Create(1, 2)));
  EXPECT_NE(absl::HashOf(*TimeRange::Create(1, 2)), absl::HashOf(*TimeRange::Create(1, 3)));
}

TEST(TimeRangeTest, ToStringIsHalfOpenInterval) {
  const TimeRange range =
      *TimeRange::Create(At("2024-01-02T00:00:00Z"), At("2024-01-03T00:00:00Z"));
  EXPECT_EQ(range.ToString(), "[2024-01-02T00:00:00Z, 2024-01-03T00:00:00Z)");
  std::ostringstream os;
  os << range;
  EXPECT_EQ(os.str(), range.ToString());
}

}  // namespace
}  // namespace marketpipe
