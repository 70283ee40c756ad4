#ifndef MARKETPIPE_AGGREGATION_RECOMPUTE_CONFORMANCE_H_
#define MARKETPIPE_AGGREGATION_RECOMPUTE_CONFORMANCE_H_

// RecomputeTouchedBuckets against a real Store: typed cases every Store implementation runs
// through
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, RecomputeConformanceTest, ::testing::Types<SqliteEnv>);
//
// with the storage conformance suite's environment protocol: a gtest fixture whose
// `std::string StoreSpec()` names an OpenStore spec private to the case. Each store's aggregates
// must equal the pure Aggregate of the same bars, so both stores give identical results.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "marketpipe/aggregation/aggregate.h"
#include "marketpipe/aggregation/bucket.h"
#include "marketpipe/aggregation/recompute.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/core/time_range.h"
#include "marketpipe/core/timeframe.h"
#include "marketpipe/providers/fake/fake_provider.h"
#include "marketpipe/storage/store.h"

namespace marketpipe::aggregation::conformance {

inline int64_t At(std::string_view rfc3339) { return *ParseRfc3339(rfc3339); }
inline TimeRange Range(std::string_view start, std::string_view end) {
  return *TimeRange::Create(At(start), At(end));
}
inline Symbol Sym(std::string_view text) { return *Symbol::Parse(text); }

inline const std::vector<Timeframe>& AllTargets() {
  static const std::vector<Timeframe> targets = {
      Timeframe::kFiveMinutes, Timeframe::kFifteenMinutes, Timeframe::kThirtyMinutes,
      Timeframe::kOneHour,     Timeframe::kFourHours,      Timeframe::kOneDay};
  return targets;
}

inline storage::Provenance FakeProvenance() { return storage::Provenance{"fake", "fake", "raw"}; }

// The fake provider's 1m bars of `symbol` in `range`, around the clock by default (so buckets
// cross UTC and New York midnights), else the regular sessions only.
inline std::vector<Bar> Minutes(std::string_view symbol, TimeRange range, bool all_hours = true) {
  auto bars =
      FakeProvider::Generate(Sym(symbol), range, Timeframe::kOneMinute, {.all_hours = all_hours});
  EXPECT_TRUE(bars.ok()) << bars.status();
  return bars.value_or(std::vector<Bar>{});
}

template <typename Env>
class RecomputeConformanceTest : public Env {
 protected:
  void TearDown() override {
    store_.reset();
    Env::TearDown();
  }

  storage::Store& store() {
    if (store_ == nullptr) {
      absl::StatusOr<std::unique_ptr<storage::Store>> opened =
          storage::OpenStore(this->StoreSpec());
      if (!opened.ok()) {
        ADD_FAILURE() << "OpenStore: " << opened.status();
        throw std::runtime_error("store did not open");
      }
      store_ = *std::move(opened);
    }
    return *store_;
  }

  void Write(const std::vector<Bar>& bars, Timeframe timeframe = Timeframe::kOneMinute,
             storage::Provenance provenance = FakeProvenance()) {
    storage::PageWrite write;
    write.timeframe = timeframe;
    write.provenance = std::move(provenance);
    write.bars = bars;
    ASSERT_TRUE(store().WritePage(write).ok());
  }

  std::vector<Bar> Read(std::string_view symbol, Timeframe timeframe) {
    auto bars = store().ReadBars(Sym(symbol), timeframe,
                                 Range("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"));
    EXPECT_TRUE(bars.ok()) << bars.status();
    return bars.value_or(std::vector<Bar>{});
  }

  absl::StatusOr<RecomputeStats> Recompute(std::vector<std::string_view> symbols, TimeRange touched,
                                           std::vector<Timeframe> targets = AllTargets()) {
    RecomputeRequest request;
    for (std::string_view symbol : symbols) request.symbols.push_back(Sym(symbol));
    request.touched = touched;
    request.targets = std::move(targets);
    return RecomputeTouchedBuckets(store(), request);
  }

 private:
  std::unique_ptr<storage::Store> store_;
};

TYPED_TEST_SUITE_P(RecomputeConformanceTest);

// Three days across the spring DST change, two symbols, every target.
TYPED_TEST_P(RecomputeConformanceTest, StoredAggregatesEqualThePureAggregation) {
  const TimeRange range = Range("2024-03-09T00:00:00Z", "2024-03-12T00:00:00Z");
  const std::vector<Bar> aapl = Minutes("AAPL", range);
  const std::vector<Bar> msft = Minutes("MSFT", range);
  this->Write(aapl);
  this->Write(msft);
  auto stats = this->Recompute({"AAPL", "MSFT"}, range);
  ASSERT_TRUE(stats.ok()) << stats.status();
  // 1d buckets reach past both ends of the range: New York midnights are 04:00Z/05:00Z.
  EXPECT_EQ(stats->source_bars_read, static_cast<int64_t>(aapl.size() + msft.size()));
  int64_t expected_written = 0;
  for (Timeframe target : AllTargets()) {
    for (const auto* bars : {&aapl, &msft}) {
      auto expected = Aggregate(*bars, target);
      ASSERT_TRUE(expected.ok()) << expected.status();
      expected_written += static_cast<int64_t>(expected->size());
      EXPECT_EQ(this->Read(bars->front().symbol.value(), target), *expected) << target;
      auto provenance = this->store().GetProvenance(bars->front().symbol, target);
      ASSERT_TRUE(provenance.ok()) << provenance.status();
      EXPECT_EQ(*provenance, FakeProvenance()) << target;
    }
  }
  EXPECT_EQ(stats->bars_written, expected_written);
}

TYPED_TEST_P(RecomputeConformanceTest, OnlyTheTouchedBucketsAreWritten) {
  this->Write(Minutes("AAPL", Range("2024-01-02T14:30:00Z", "2024-01-02T14:50:00Z")));
  // One touched minute, 14:37: its 5m bucket 14:35-14:40 and its 15m bucket 14:30-14:45.
  auto stats = this->Recompute({"AAPL"}, Range("2024-01-02T14:37:00Z", "2024-01-02T14:38:00Z"),
                               {Timeframe::kFiveMinutes, Timeframe::kFifteenMinutes});
  ASSERT_TRUE(stats.ok()) << stats.status();
  const std::vector<Bar> five = this->Read("AAPL", Timeframe::kFiveMinutes);
  ASSERT_EQ(five.size(), 1u);
  EXPECT_EQ(five[0].ts_ns, At("2024-01-02T14:35:00Z"));
  EXPECT_EQ(five[0].trade_count, [&] {
    int64_t n = 0;
    for (const Bar& bar : this->Read("AAPL", Timeframe::kOneMinute)) {
      if (bar.ts_ns >= five[0].ts_ns && bar.ts_ns < five[0].ts_ns + 5 * 60'000'000'000) {
        n += bar.trade_count;
      }
    }
    return n;
  }());
  const std::vector<Bar> fifteen = this->Read("AAPL", Timeframe::kFifteenMinutes);
  ASSERT_EQ(fifteen.size(), 1u);
  EXPECT_EQ(fifteen[0].ts_ns, At("2024-01-02T14:30:00Z"));
  EXPECT_EQ(stats->source_bars_read, 15);  // 14:30-14:44, the widest bucket
  EXPECT_EQ(stats->bars_written, 2);
}

TYPED_TEST_P(RecomputeConformanceTest, ARevisedMinuteUpdatesItsBuckets) {
  const TimeRange day = Range("2024-01-02T14:30:00Z", "2024-01-02T21:00:00Z");
  std::vector<Bar> minutes = Minutes("AAPL", day);
  this->Write(minutes);
  ASSERT_TRUE(this->Recompute({"AAPL"}, day).ok());
  // A later page revises 15:02 with a huge volume; only its minute is touched.
  minutes[32].volume += 1'000'000;
  this->Write({minutes[32]});
  ASSERT_TRUE(
      this->Recompute({"AAPL"}, *TimeRange::Create(minutes[32].ts_ns, minutes[32].ts_ns + 1)).ok());
  for (Timeframe target : AllTargets()) {
    auto expected = Aggregate(minutes, target);
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(this->Read("AAPL", target), *expected) << target;
  }
}

TYPED_TEST_P(RecomputeConformanceTest, RecomputingIsIdempotent) {
  const TimeRange day = Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z");
  this->Write(Minutes("AAPL", day));
  ASSERT_TRUE(this->Recompute({"AAPL"}, day).ok());
  const std::vector<Bar> first = this->Read("AAPL", Timeframe::kOneHour);
  ASSERT_TRUE(this->Recompute({"AAPL"}, day).ok());
  EXPECT_EQ(this->Read("AAPL", Timeframe::kOneHour), first);
  auto count = this->store().CountBars(Sym("AAPL"), Timeframe::kOneHour,
                                       Range("2024-01-01T00:00:00Z", "2024-01-04T00:00:00Z"));
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 24);
}

TYPED_TEST_P(RecomputeConformanceTest, RangesLongerThanAWindowMatchToo) {
  const TimeRange range = Range("2024-10-28T00:00:00Z", "2024-11-12T00:00:00Z");  // 15 days
  const std::vector<Bar> minutes = Minutes("AAPL", range, /*all_hours=*/false);
  this->Write(minutes);
  ASSERT_TRUE(this->Recompute({"AAPL"}, range, {Timeframe::kFourHours, Timeframe::kOneDay}).ok());
  for (Timeframe target : {Timeframe::kFourHours, Timeframe::kOneDay}) {
    auto expected = Aggregate(minutes, target);
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(this->Read("AAPL", target), *expected) << target;
  }
}

TYPED_TEST_P(RecomputeConformanceTest, SymbolsWithoutSourceBarsAreSkipped) {
  auto stats = this->Recompute({"AAPL"}, Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"));
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->source_bars_read, 0);
  EXPECT_EQ(stats->bars_written, 0);
  EXPECT_TRUE(this->Read("AAPL", Timeframe::kOneDay).empty());
}

TYPED_TEST_P(RecomputeConformanceTest, AggregatesOfAnotherProvenanceAreRefused) {
  const TimeRange hour = Range("2024-01-02T15:00:00Z", "2024-01-02T16:00:00Z");
  const std::vector<Bar> minutes = Minutes("AAPL", hour);
  this->Write(minutes);
  auto other = Aggregate(minutes, Timeframe::kOneHour);
  ASSERT_TRUE(other.ok());
  this->Write(*other, Timeframe::kOneHour, storage::Provenance{"alpaca", "sip", "raw"});
  auto stats = this->Recompute({"AAPL"}, hour, {Timeframe::kOneHour});
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stats.status().message(), ::testing::HasSubstr("recompute AAPL 1h"));
}

TYPED_TEST_P(RecomputeConformanceTest, TargetsThatDoNotNestAreInvalidArgument) {
  const TimeRange day = Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z");
  for (const auto& targets : std::vector<std::vector<Timeframe>>{
           {Timeframe::kOneMinute}, {Timeframe::kFiveMinutes, Timeframe::kOneMinute}}) {
    EXPECT_EQ(this->Recompute({"AAPL"}, day, targets).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  RecomputeRequest request;
  request.symbols = {Sym("AAPL")};
  request.touched = day;
  request.source = Timeframe::kFourHours;
  request.targets = {Timeframe::kOneDay};  // 4h buckets straddle New York midnight
  auto stats = RecomputeTouchedBuckets(this->store(), request);
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(stats.status().message(), ::testing::HasSubstr("4h bars into 1d"));
  request.source = Timeframe::kOneHour;
  EXPECT_TRUE(RecomputeTouchedBuckets(this->store(), request).ok());
  request.touched = TimeRange();
  EXPECT_EQ(RecomputeTouchedBuckets(this->store(), request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

REGISTER_TYPED_TEST_SUITE_P(RecomputeConformanceTest, StoredAggregatesEqualThePureAggregation,
                            OnlyTheTouchedBucketsAreWritten, ARevisedMinuteUpdatesItsBuckets,
                            RecomputingIsIdempotent, RangesLongerThanAWindowMatchToo,
                            SymbolsWithoutSourceBarsAreSkipped,
                            AggregatesOfAnotherProvenanceAreRefused,
                            TargetsThatDoNotNestAreInvalidArgument);

}  // namespace marketpipe::aggregation::conformance

#endif  // MARKETPIPE_AGGREGATION_RECOMPUTE_CONFORMANCE_H_
