#include "marketpipe/aggregation/aggregate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/aggregation/bucket.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/price.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/providers/fake/fake_provider.h"

namespace marketpipe::aggregation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMinute = 60'000'000'000;

int64_t T(std::string_view rfc3339) {
  auto ns = ParseRfc3339(rfc3339);
  EXPECT_TRUE(ns.ok()) << ns.status();
  return ns.value_or(0);
}

Symbol Sym(std::string_view text) { return *Symbol::Parse(text); }

// A bar with prices given in 1e-4 units.
Bar MakeBar(std::string_view symbol, int64_t ts_ns, int64_t open, int64_t high, int64_t low,
            int64_t close, int64_t volume, int64_t trades, int64_t vwap) {
  Bar bar;
  bar.symbol = Sym(symbol);
  bar.ts_ns = ts_ns;
  bar.open = Price::FromUnits(open);
  bar.high = Price::FromUnits(high);
  bar.low = Price::FromUnits(low);
  bar.close = Price::FromUnits(close);
  bar.volume = volume;
  bar.trade_count = trades;
  bar.vwap = Price::FromUnits(vwap);
  return bar;
}

// A flat bar at `price` units with the given volume and vwap.
Bar Flat(std::string_view symbol, int64_t ts_ns, int64_t price, int64_t volume, int64_t vwap) {
  return MakeBar(symbol, ts_ns, price, price, price, price, volume, 1, vwap);
}

TEST(AggregateTest, EmptyInputGivesNoBars) {
  for (Timeframe tf : Timeframe::kAll) {
    auto out = Aggregate({}, tf);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_THAT(*out, IsEmpty());
  }
}

TEST(AggregateTest, OneBarBucketKeepsTheBarRestampedAtTheBucketStart) {
  const Bar bar = MakeBar("AAPL", T("2024-01-02T14:37:00Z"), 100, 120, 90, 110, 7, 3, 105);
  auto out = Aggregate({&bar, 1}, Timeframe::kFiveMinutes);
  ASSERT_TRUE(out.ok()) << out.status();
  Bar expected = bar;
  expected.ts_ns = T("2024-01-02T14:35:00Z");
  EXPECT_THAT(*out, ElementsAre(expected));
}

TEST(AggregateTest, CombinesABucketsBars) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  const std::vector<Bar> bars = {
      MakeBar("AAPL", t0, 100, 130, 95, 120, 10, 2, 110),
      MakeBar("AAPL", t0 + kMinute, 120, 150, 118, 140, 30, 5, 140),
      MakeBar("AAPL", t0 + 4 * kMinute, 140, 141, 80, 90, 0, 0, 90),
  };
  auto out = Aggregate(bars, Timeframe::kFiveMinutes);
  ASSERT_TRUE(out.ok()) << out.status();
  // vwap = (110 * 10 + 140 * 30 + 90 * 0) / 40 = 132.5 -> 133 (ties away from zero).
  EXPECT_THAT(*out, ElementsAre(MakeBar("AAPL", t0, 100, 150, 80, 90, 40, 7, 133)));
}

TEST(AggregateTest, BarExactlyOnTheBoundaryOpensTheNextBucket) {
  const int64_t edge = T("2024-01-02T14:35:00Z");
  const std::vector<Bar> bars = {
      Flat("AAPL", edge - kMinute, 100, 1, 100),
      Flat("AAPL", edge, 200, 1, 200),
      Flat("AAPL", edge + 4 * kMinute, 300, 1, 300),
      Flat("AAPL", edge + 5 * kMinute, 400, 1, 400),
  };
  auto out = Aggregate(bars, Timeframe::kFiveMinutes);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[0].ts_ns, edge - 5 * kMinute);
  EXPECT_EQ((*out)[0].volume, 1);
  EXPECT_EQ((*out)[1].ts_ns, edge);
  EXPECT_EQ((*out)[1].open, Price::FromUnits(200));
  EXPECT_EQ((*out)[1].close, Price::FromUnits(300));
  EXPECT_EQ((*out)[1].volume, 2);
  EXPECT_EQ((*out)[2].ts_ns, edge + 5 * kMinute);
  EXPECT_EQ((*out)[2].volume, 1);
}

TEST(AggregateTest, GapsLeaveNoEmptyBuckets) {
  const int64_t t0 = T("2024-01-02T14:00:00Z");
  const std::vector<Bar> bars = {Flat("AAPL", t0, 100, 1, 100),
                                 Flat("AAPL", t0 + 300 * kMinute, 100, 1, 100)};
  auto out = Aggregate(bars, Timeframe::kOneHour);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].ts_ns, t0);
  EXPECT_EQ((*out)[1].ts_ns, t0 + 300 * kMinute);
}

TEST(AggregateTest, SymbolsNeverShareABucket) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  const std::vector<Bar> bars = {
      Flat("AAPL", t0, 100, 1, 100),
      Flat("AAPL", t0 + kMinute, 200, 1, 200),
      Flat("MSFT", t0, 300, 5, 300),
      Flat("MSFT", t0 + 2 * kMinute, 400, 5, 400),
  };
  auto out = Aggregate(bars, Timeframe::kFifteenMinutes);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, ElementsAre(MakeBar("AAPL", t0, 100, 200, 100, 200, 2, 2, 150),
                                MakeBar("MSFT", t0, 300, 400, 300, 400, 10, 2, 350)));
}

TEST(AggregateTest, FourHourBucketsAreUtcAligned) {
  const std::vector<Bar> bars = {Flat("AAPL", T("2024-01-02T14:30:00Z"), 100, 1, 100),
                                 Flat("AAPL", T("2024-01-02T15:59:00Z"), 100, 1, 100),
                                 Flat("AAPL", T("2024-01-02T16:00:00Z"), 100, 1, 100)};
  auto out = Aggregate(bars, Timeframe::kFourHours);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].ts_ns, T("2024-01-02T12:00:00Z"));
  EXPECT_EQ((*out)[0].volume, 2);
  EXPECT_EQ((*out)[1].ts_ns, T("2024-01-02T16:00:00Z"));
}

TEST(AggregateTest, DailyBarsAcrossTheSpringDstChange) {
  // Friday 2024-03-08 (EST), Sunday 03-10 (the change; midnight still EST), Monday 03-11 (EDT).
  const std::vector<Bar> bars = {
      Flat("AAPL", T("2024-03-08T14:30:00Z"), 100, 1, 100),
      Flat("AAPL", T("2024-03-09T04:59:00Z"), 110, 1, 110),  // Friday 23:59 EST
      Flat("AAPL", T("2024-03-10T05:00:00Z"), 120, 1, 120),  // Sunday 00:00 EST
      Flat("AAPL", T("2024-03-11T03:59:00Z"), 130, 1, 130),  // Sunday 23:59 EDT
      Flat("AAPL", T("2024-03-11T04:00:00Z"), 140, 1, 140),  // Monday 00:00 EDT
      Flat("AAPL", T("2024-03-11T13:30:00Z"), 150, 1, 150),
  };
  auto out = Aggregate(bars, Timeframe::kOneDay);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(
      *out, ElementsAre(MakeBar("AAPL", T("2024-03-08T05:00:00Z"), 100, 110, 100, 110, 2, 2, 105),
                        MakeBar("AAPL", T("2024-03-10T05:00:00Z"), 120, 130, 120, 130, 2, 2, 125),
                        MakeBar("AAPL", T("2024-03-11T04:00:00Z"), 140, 150, 140, 150, 2, 2, 145)));
}

TEST(AggregateTest, DailyBarsAcrossTheAutumnDstChange) {
  // Sunday 2024-11-03: midnight EDT (04:00Z), 25 hours long; Monday midnight is 05:00Z (EST).
  const std::vector<Bar> bars = {
      Flat("AAPL", T("2024-11-01T19:59:00Z"), 100, 1, 100),  // Friday 15:59 EDT
      Flat("AAPL", T("2024-11-03T04:00:00Z"), 110, 1, 110),  // Sunday 00:00 EDT
      Flat("AAPL", T("2024-11-04T04:59:00Z"), 120, 1, 120),  // Sunday 23:59 EST
      Flat("AAPL", T("2024-11-04T05:00:00Z"), 130, 1, 130),  // Monday 00:00 EST
  };
  auto out = Aggregate(bars, Timeframe::kOneDay);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(
      *out, ElementsAre(MakeBar("AAPL", T("2024-11-01T04:00:00Z"), 100, 100, 100, 100, 1, 1, 100),
                        MakeBar("AAPL", T("2024-11-03T04:00:00Z"), 110, 120, 110, 120, 2, 2, 115),
                        MakeBar("AAPL", T("2024-11-04T05:00:00Z"), 130, 130, 130, 130, 1, 1, 130)));
}

TEST(AggregateTest, VwapRoundsToNearestTiesAwayFromZero) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  // (1 * 1 + 2 * 2) / 3 = 1.67 -> 2; (1 * 2 + 2 * 1) / 3 = 1.33 -> 1; (1 + 2) / 2 = 1.5 -> 2.
  struct Case {
    int64_t volume_a, volume_b, vwap;
  };
  for (const Case& c : {Case{1, 2, 2}, Case{2, 1, 1}, Case{1, 1, 2}}) {
    const std::vector<Bar> bars = {Flat("AAPL", t0, 1, c.volume_a, 1),
                                   Flat("AAPL", t0 + kMinute, 2, c.volume_b, 2)};
    auto out = Aggregate(bars, Timeframe::kFiveMinutes);
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ((*out)[0].vwap, Price::FromUnits(c.vwap)) << c.volume_a << " " << c.volume_b;
  }
}

TEST(AggregateTest, BucketWithoutVolumeGetsTheMeanVwap) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  const std::vector<Bar> bars = {Flat("AAPL", t0, 100, 0, 100),
                                 Flat("AAPL", t0 + kMinute, 101, 0, 101)};
  auto out = Aggregate(bars, Timeframe::kFiveMinutes);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].vwap, Price::FromUnits(101));  // 100.5 -> 101
  EXPECT_EQ((*out)[0].volume, 0);
}

TEST(AggregateTest, VwapIsExactAtTheLargestPricesAndVolumes) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t half = max / 2;  // the two volumes sum to max - 1
  const std::vector<Bar> bars = {
      MakeBar("AAPL", t0, max, max, max, max, half, 1, max),
      MakeBar("AAPL", t0 + kMinute, max - 2, max - 2, max - 2, max - 2, half, 1, max - 2)};
  auto out = Aggregate(bars, Timeframe::kFiveMinutes);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].volume, 2 * half);
  EXPECT_EQ((*out)[0].vwap, Price::FromUnits(max - 1));  // exact mean, no 64-bit overflow
  EXPECT_EQ((*out)[0].high, Price::Max());
}

TEST(AggregateTest, VolumeSumBeyondInt64IsOutOfRange) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  const int64_t max = std::numeric_limits<int64_t>::max();
  const std::vector<Bar> bars = {Flat("AAPL", t0, 1, max, 1), Flat("AAPL", t0 + kMinute, 1, 1, 1)};
  auto out = Aggregate(bars, Timeframe::kFiveMinutes);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(out.status().message(), HasSubstr("overflows int64"));
  // In different buckets the same volumes are fine.
  EXPECT_TRUE(Aggregate(bars, Timeframe::kOneMinute).ok());
}

TEST(AggregateTest, TradeCountSumBeyondInt64IsOutOfRange) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  Bar a = Flat("AAPL", t0, 1, 1, 1);
  Bar b = Flat("AAPL", t0 + kMinute, 1, 1, 1);
  a.trade_count = std::numeric_limits<int64_t>::max();
  const std::vector<Bar> bars = {a, b};
  EXPECT_EQ(Aggregate(bars, Timeframe::kFiveMinutes).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(AggregateTest, UnsortedOrDuplicatedBarsAreInvalidArgument) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  const std::vector<std::vector<Bar>> bad = {
      {Flat("AAPL", t0 + kMinute, 1, 1, 1), Flat("AAPL", t0, 1, 1, 1)},
      {Flat("AAPL", t0, 1, 1, 1), Flat("AAPL", t0, 1, 1, 1)},
      {Flat("MSFT", t0, 1, 1, 1), Flat("AAPL", t0 + kMinute, 1, 1, 1)},
  };
  for (const auto& bars : bad) {
    auto out = Aggregate(bars, Timeframe::kFiveMinutes);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(out.status().message(), HasSubstr("bar 1"));
    EXPECT_THAT(out.status().message(), HasSubstr("sorted"));
  }
}

TEST(AggregateTest, NegativeVolumeOrTradeCountIsInvalidArgument) {
  const int64_t t0 = T("2024-01-02T14:30:00Z");
  Bar negative_volume = Flat("AAPL", t0, 1, -1, 1);
  EXPECT_EQ(Aggregate({&negative_volume, 1}, Timeframe::kFiveMinutes).status().code(),
            absl::StatusCode::kInvalidArgument);
  Bar negative_trades = Flat("AAPL", t0, 1, 1, 1);
  negative_trades.trade_count = -1;
  EXPECT_EQ(Aggregate({&negative_trades, 1}, Timeframe::kFiveMinutes).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AggregateTest, TimestampsOutsideTheBucketDomainAreOutOfRange) {
  for (int64_t ts : {std::numeric_limits<int64_t>::min(), kMinBucketNs - 1, kMaxBucketNs,
                     std::numeric_limits<int64_t>::max()}) {
    const Bar bar = Flat("AAPL", ts, 1, 1, 1);
    EXPECT_EQ(Aggregate({&bar, 1}, Timeframe::kOneDay).status().code(),
              absl::StatusCode::kOutOfRange)
        << ts;
  }
}

// Buckets that nest give the same bars whether built from minutes or from the finer aggregate
// (all but vwap, which is rounded at each step). 4h buckets do not nest in New York days.
TEST(AggregateTest, NestedBucketsAggregateInSteps) {
  auto range = TimeRange::Create(T("2024-11-01T00:00:00Z"), T("2024-11-06T00:00:00Z"));
  ASSERT_TRUE(range.ok());
  auto minutes =
      FakeProvider::Generate(Sym("MSFT"), *range, Timeframe::kOneMinute, {.all_hours = true});
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  const auto without_vwap = [](std::vector<Bar> bars) {
    for (Bar& bar : bars) bar.vwap = Price();
    return bars;
  };
  const std::pair<Timeframe, Timeframe> steps[] = {
      {Timeframe::kFiveMinutes, Timeframe::kFifteenMinutes},
      {Timeframe::kFifteenMinutes, Timeframe::kOneHour},
      {Timeframe::kOneHour, Timeframe::kFourHours},
      {Timeframe::kOneHour, Timeframe::kOneDay},
      {Timeframe::kThirtyMinutes, Timeframe::kOneDay},
  };
  for (const auto& [fine, coarse] : steps) {
    auto direct = Aggregate(*minutes, coarse);
    auto first = Aggregate(*minutes, fine);
    ASSERT_TRUE(direct.ok() && first.ok());
    auto stepped = Aggregate(*first, coarse);
    ASSERT_TRUE(stepped.ok()) << stepped.status();
    EXPECT_EQ(without_vwap(*stepped), without_vwap(*direct)) << fine << " -> " << coarse;
  }
  auto four = Aggregate(*minutes, Timeframe::kFourHours);
  auto direct_day = Aggregate(*minutes, Timeframe::kOneDay);
  ASSERT_TRUE(four.ok() && direct_day.ok());
  auto from_four = Aggregate(*four, Timeframe::kOneDay);
  ASSERT_TRUE(from_four.ok());
  EXPECT_NE(without_vwap(*from_four), without_vwap(*direct_day));
}

// The fake provider builds its longer bars from its own minutes with the same rules, so
// aggregating its 1m bars must reproduce them exactly.
TEST(AggregateTest, ReproducesTheFakeProvidersOwnAggregates) {
  auto range = TimeRange::Create(T("2024-03-07T00:00:00Z"), T("2024-03-13T00:00:00Z"));
  ASSERT_TRUE(range.ok());
  for (bool all_hours : {false, true}) {
    const FakeProvider::Options options{.all_hours = all_hours};
    auto minutes = FakeProvider::Generate(Sym("AAPL"), *range, Timeframe::kOneMinute, options);
    ASSERT_TRUE(minutes.ok()) << minutes.status();
    for (Timeframe tf : {Timeframe::kFiveMinutes, Timeframe::kFifteenMinutes,
                         Timeframe::kThirtyMinutes, Timeframe::kOneHour, Timeframe::kFourHours}) {
      auto expected = FakeProvider::Generate(Sym("AAPL"), *range, tf, options);
      ASSERT_TRUE(expected.ok()) << expected.status();
      auto out = Aggregate(*minutes, tf);
      ASSERT_TRUE(out.ok()) << out.status();
      EXPECT_EQ(*out, *expected) << tf << " all_hours=" << all_hours;
    }
  }
}

TEST(AggregateTest, ReproducesTheFakeProvidersDailyBarsAcrossTheSpringDstChange) {
  // New York midnights on both ends (EST 05:00Z, then EDT 04:00Z): whole New York dates, so
  // the all-hours days of 24, 23 (2024-03-10) and 24 hours aggregate completely.
  auto range = TimeRange::Create(T("2024-03-07T05:00:00Z"), T("2024-03-13T04:00:00Z"));
  ASSERT_TRUE(range.ok());
  for (bool all_hours : {false, true}) {
    const FakeProvider::Options options{.all_hours = all_hours};
    auto minutes = FakeProvider::Generate(Sym("AAPL"), *range, Timeframe::kOneMinute, options);
    ASSERT_TRUE(minutes.ok()) << minutes.status();
    auto expected = FakeProvider::Generate(Sym("AAPL"), *range, Timeframe::kOneDay, options);
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(expected->size(), all_hours ? 6u : 4u);
    auto out = Aggregate(*minutes, Timeframe::kOneDay);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*out, *expected) << "all_hours=" << all_hours;
  }
}

}  // namespace
}  // namespace marketpipe::aggregation
