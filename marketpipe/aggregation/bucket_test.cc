#include "marketpipe/aggregation/bucket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string_view>

#include "absl/status/status.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::aggregation {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000'000'000;
constexpr int64_t kHour = 60 * kMinute;

int64_t T(std::string_view rfc3339) {
  auto ns = ParseRfc3339(rfc3339);
  EXPECT_TRUE(ns.ok()) << ns.status();
  return ns.value_or(0);
}

TEST(BucketTest, IntradayBucketsAreUtcFloors) {
  EXPECT_EQ(BucketStart(T("2024-01-02T14:34:59Z"), Timeframe::kFiveMinutes),
            T("2024-01-02T14:30:00Z"));
  EXPECT_EQ(BucketEnd(T("2024-01-02T14:34:59Z"), Timeframe::kFiveMinutes),
            T("2024-01-02T14:35:00Z"));
  EXPECT_EQ(BucketStart(T("2024-01-02T14:44:00Z"), Timeframe::kFifteenMinutes),
            T("2024-01-02T14:30:00Z"));
  EXPECT_EQ(BucketStart(T("2024-01-02T14:59:00Z"), Timeframe::kThirtyMinutes),
            T("2024-01-02T14:30:00Z"));
  EXPECT_EQ(BucketStart(T("2024-01-02T14:30:00Z"), Timeframe::kOneHour), T("2024-01-02T14:00:00Z"));
  // 4h buckets start at 00, 04, 08, ... UTC whatever the New York offset.
  EXPECT_EQ(BucketStart(T("2024-01-02T14:30:00Z"), Timeframe::kFourHours),
            T("2024-01-02T12:00:00Z"));
  EXPECT_EQ(BucketEnd(T("2024-01-02T14:30:00Z"), Timeframe::kFourHours), T("2024-01-02T16:00:00Z"));
}

TEST(BucketTest, ABarExactlyOnTheBoundaryStartsTheNextBucket) {
  const int64_t edge = T("2024-01-02T14:35:00Z");
  EXPECT_EQ(BucketStart(edge, Timeframe::kFiveMinutes), edge);
  EXPECT_EQ(BucketStart(edge - 1, Timeframe::kFiveMinutes), edge - 5 * kMinute);
  EXPECT_EQ(BucketEnd(edge - 1, Timeframe::kFiveMinutes), edge);
  EXPECT_TRUE(IsBucketStart(edge, Timeframe::kFiveMinutes));
  EXPECT_FALSE(IsBucketStart(edge + 1, Timeframe::kFiveMinutes));
  EXPECT_FALSE(IsBucketStart(edge - kMinute, Timeframe::kFiveMinutes));
  EXPECT_TRUE(IsBucketStart(edge - kMinute, Timeframe::kOneMinute));
}

TEST(BucketTest, BucketsBeforeTheEpochFloorTowardsThePast) {
  EXPECT_EQ(BucketStart(-1, Timeframe::kOneHour), -kHour);
  EXPECT_EQ(BucketEnd(-1, Timeframe::kOneHour), 0);
  EXPECT_EQ(BucketStart(T("1969-12-31T19:00:00Z"), Timeframe::kOneDay), T("1969-12-31T05:00:00Z"));
  EXPECT_TRUE(IsBucketStart(-kHour, Timeframe::kOneHour));
  EXPECT_FALSE(IsBucketStart(-1, Timeframe::kOneHour));
}

TEST(BucketTest, DailyBucketsAreNewYorkDatesStampedAtNewYorkMidnight) {
  // Winter (EST): midnight is 05:00Z; 03:00Z still belongs to the previous New York date.
  EXPECT_EQ(BucketStart(T("2024-01-02T15:00:00Z"), Timeframe::kOneDay), T("2024-01-02T05:00:00Z"));
  EXPECT_EQ(BucketEnd(T("2024-01-02T15:00:00Z"), Timeframe::kOneDay), T("2024-01-03T05:00:00Z"));
  EXPECT_EQ(BucketStart(T("2024-01-03T03:00:00Z"), Timeframe::kOneDay), T("2024-01-02T05:00:00Z"));
  EXPECT_EQ(BucketStart(T("2024-01-03T05:00:00Z"), Timeframe::kOneDay), T("2024-01-03T05:00:00Z"));
  EXPECT_EQ(BucketStart(T("2024-01-03T04:59:59Z"), Timeframe::kOneDay), T("2024-01-02T05:00:00Z"));
  // Summer (EDT): midnight is 04:00Z.
  EXPECT_EQ(BucketStart(T("2024-07-01T19:59:00Z"), Timeframe::kOneDay), T("2024-07-01T04:00:00Z"));
  EXPECT_EQ(BucketEnd(T("2024-07-01T19:59:00Z"), Timeframe::kOneDay), T("2024-07-02T04:00:00Z"));
}

TEST(BucketTest, DailyBucketsAcrossTheSpringDstChangeLastTwentyThreeHours) {
  // 2024-03-10: clocks go from 02:00 EST to 03:00 EDT (07:00Z).
  const int64_t saturday = T("2024-03-09T05:00:00Z");
  const int64_t sunday = T("2024-03-10T05:00:00Z");  // still EST at midnight
  const int64_t monday = T("2024-03-11T04:00:00Z");  // EDT from here on
  EXPECT_EQ(BucketEnd(saturday, Timeframe::kOneDay), sunday);
  EXPECT_EQ(BucketStart(T("2024-03-10T06:59:59Z"), Timeframe::kOneDay), sunday);
  EXPECT_EQ(BucketStart(T("2024-03-10T07:00:00Z"), Timeframe::kOneDay), sunday);
  EXPECT_EQ(BucketEnd(sunday, Timeframe::kOneDay), monday);
  EXPECT_EQ(monday - sunday, 23 * kHour);
  EXPECT_EQ(BucketStart(T("2024-03-11T03:59:00Z"), Timeframe::kOneDay), sunday);
  EXPECT_EQ(BucketStart(T("2024-03-11T13:30:00Z"), Timeframe::kOneDay), monday);
  EXPECT_TRUE(IsBucketStart(sunday, Timeframe::kOneDay));
  EXPECT_TRUE(IsBucketStart(monday, Timeframe::kOneDay));
  EXPECT_FALSE(IsBucketStart(T("2024-03-11T05:00:00Z"), Timeframe::kOneDay));
  EXPECT_FALSE(IsBucketStart(T("2024-03-10T04:00:00Z"), Timeframe::kOneDay));
}

TEST(BucketTest, DailyBucketsAcrossTheAutumnDstChangeLastTwentyFiveHours) {
  // 2024-11-03: clocks go from 02:00 EDT back to 01:00 EST (06:00Z).
  const int64_t sunday = T("2024-11-03T04:00:00Z");  // still EDT at midnight
  const int64_t monday = T("2024-11-04T05:00:00Z");  // EST from here on
  EXPECT_EQ(BucketStart(T("2024-11-02T15:00:00Z"), Timeframe::kOneDay), T("2024-11-02T04:00:00Z"));
  EXPECT_EQ(BucketEnd(T("2024-11-02T15:00:00Z"), Timeframe::kOneDay), sunday);
  EXPECT_EQ(BucketEnd(sunday, Timeframe::kOneDay), monday);
  EXPECT_EQ(monday - sunday, 25 * kHour);
  EXPECT_EQ(BucketStart(T("2024-11-04T04:30:00Z"), Timeframe::kOneDay), sunday);
  EXPECT_EQ(BucketStart(T("2024-11-04T14:30:00Z"), Timeframe::kOneDay), monday);
  EXPECT_TRUE(IsBucketStart(sunday, Timeframe::kOneDay));
  EXPECT_TRUE(IsBucketStart(monday, Timeframe::kOneDay));
  EXPECT_FALSE(IsBucketStart(T("2024-11-04T04:00:00Z"), Timeframe::kOneDay));
}

TEST(BucketTest, DailyBucketsFollowThePre2007DstRules) {
  // 2006: DST from the first Sunday of April (04-02) to the last Sunday of October (10-29).
  EXPECT_EQ(BucketStart(T("2006-03-20T15:00:00Z"), Timeframe::kOneDay), T("2006-03-20T05:00:00Z"));
  EXPECT_EQ(BucketStart(T("2006-04-03T15:00:00Z"), Timeframe::kOneDay), T("2006-04-03T04:00:00Z"));
  EXPECT_EQ(BucketStart(T("2006-10-30T15:00:00Z"), Timeframe::kOneDay), T("2006-10-30T05:00:00Z"));
}

TEST(BucketTest, DailyBoundaryNeedsWholeSeconds) {
  EXPECT_FALSE(IsBucketStart(T("2024-01-02T05:00:00Z") + 1, Timeframe::kOneDay));
  EXPECT_FALSE(IsBucketStart(T("2024-01-02T05:00:00Z") - 1, Timeframe::kOneDay));
  EXPECT_FALSE(IsBucketStart(T("2024-01-02T00:00:00Z"), Timeframe::kOneDay));
}

TEST(BucketTest, IsBucketStartIsDefinedForEveryInt64) {
  for (Timeframe tf : Timeframe::kAll) {
    EXPECT_FALSE(IsBucketStart(std::numeric_limits<int64_t>::min(), tf)) << tf;
    EXPECT_FALSE(IsBucketStart(std::numeric_limits<int64_t>::max(), tf)) << tf;
  }
  EXPECT_TRUE(IsBucketStart(0, Timeframe::kFourHours));
}

TEST(BucketTest, NewYorkMidnightOfTheEpochDate) {
  EXPECT_EQ(NewYorkMidnightNs(0), T("1970-01-01T05:00:00Z"));
}

TEST(BucketTest, ExpandToBucketsWidensToWholeBuckets) {
  auto range = TimeRange::Create(T("2024-01-02T14:31:00Z"), T("2024-01-02T14:36:00Z"));
  ASSERT_TRUE(range.ok());
  auto five = ExpandToBuckets(*range, Timeframe::kFiveMinutes);
  ASSERT_TRUE(five.ok()) << five.status();
  EXPECT_EQ(five->start_ns(), T("2024-01-02T14:30:00Z"));
  EXPECT_EQ(five->end_ns(), T("2024-01-02T14:40:00Z"));
  auto day = ExpandToBuckets(*range, Timeframe::kOneDay);
  ASSERT_TRUE(day.ok()) << day.status();
  EXPECT_EQ(day->start_ns(), T("2024-01-02T05:00:00Z"));
  EXPECT_EQ(day->end_ns(), T("2024-01-03T05:00:00Z"));
}

TEST(BucketTest, ExpandToBucketsKeepsAnAlignedRange) {
  // The end is exclusive: a range ending on a boundary does not pull in the next bucket.
  auto range = TimeRange::Create(T("2024-01-02T14:30:00Z"), T("2024-01-02T14:35:00Z"));
  ASSERT_TRUE(range.ok());
  auto five = ExpandToBuckets(*range, Timeframe::kFiveMinutes);
  ASSERT_TRUE(five.ok()) << five.status();
  EXPECT_EQ(*five, *range);
}

TEST(BucketTest, ExpandToBucketsRefusesEmptyAndOutOfDomainRanges) {
  EXPECT_EQ(ExpandToBuckets(TimeRange(), Timeframe::kOneHour).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto far = TimeRange::Create(T("2249-12-31T00:00:00Z"), T("2250-01-01T00:00:01Z"));
  ASSERT_TRUE(far.ok());
  auto expanded = ExpandToBuckets(*far, Timeframe::kOneDay);
  EXPECT_EQ(expanded.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(expanded.status().message(), HasSubstr("bucket domain"));
  auto last = TimeRange::Create(T("2249-12-31T00:00:00Z"), kMaxBucketNs);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(ExpandToBuckets(*last, Timeframe::kOneDay).ok());
  auto early = TimeRange::Create(kMinBucketNs - 1, T("1700-01-02T00:00:00Z"));
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(ExpandToBuckets(*early, Timeframe::kOneMinute).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(BucketTest, DomainEdgesMatchTheirDates) {
  EXPECT_EQ(kMinBucketNs, T("1700-01-01T00:00:00Z"));
  EXPECT_EQ(kMaxBucketNs, T("2250-01-01T00:00:00Z"));
  EXPECT_TRUE(InBucketDomain(kMinBucketNs));
  EXPECT_FALSE(InBucketDomain(kMinBucketNs - 1));
  EXPECT_FALSE(InBucketDomain(kMaxBucketNs));
  EXPECT_EQ(BucketStart(kMinBucketNs, Timeframe::kOneDay), T("1699-12-31T05:00:00Z"));
}

}  // namespace
}  // namespace marketpipe::aggregation
