#include "marketpipe/validation/validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/core/bar.h"
#include "marketpipe/core/price.h"
#include "marketpipe/core/symbol.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/core/timeframe.h"

namespace marketpipe::validation {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMinute = 60'000'000'000;
constexpr int64_t kUnits = Price::kUnitsPerWhole;

int64_t T(std::string_view rfc3339) {
  auto ns = ParseRfc3339(rfc3339);
  EXPECT_TRUE(ns.ok()) << ns.status();
  return ns.value_or(0);
}

const int64_t kT0 = T("2024-01-02T14:30:00Z");

// A bar that passes every check: open = low = close = `price_units`, high one unit above,
// volume 100.
Bar Good(std::string_view symbol, int64_t ts_ns, int64_t price_units = 100 * kUnits) {
  Bar bar;
  bar.symbol = *Symbol::Parse(symbol);
  bar.ts_ns = ts_ns;
  bar.open = Price::FromUnits(price_units);
  bar.high = Price::FromUnits(price_units + 1);
  bar.low = Price::FromUnits(price_units);
  bar.close = Price::FromUnits(price_units);
  bar.volume = 100;
  bar.trade_count = 10;
  bar.vwap = Price::FromUnits(price_units);
  return bar;
}

// Bars of AAPL one minute apart from kT0, with the given closes (open = low = close).
std::vector<Bar> Closes(std::vector<int64_t> closes, int64_t start = kT0) {
  std::vector<Bar> bars;
  for (size_t i = 0; i < closes.size(); ++i) {
    bars.push_back(Good("AAPL", start + static_cast<int64_t>(i) * kMinute, closes[i]));
  }
  return bars;
}

PageVerdict Validate(Validator& validator, std::vector<Bar> bars) {
  auto verdict = validator.ValidatePage(std::move(bars));
  EXPECT_TRUE(verdict.ok()) << verdict.status();
  return verdict.ok() ? *std::move(verdict) : PageVerdict{};
}

std::vector<Reason> Reasons(const PageVerdict& verdict) {
  std::vector<Reason> out;
  for (const Issue& issue : verdict.issues) out.push_back(issue.reason);
  return out;
}

// The reasons one bar (after `before`) gets, on a fresh 1m validator.
std::vector<Reason> ReasonsOf(const Bar& bar, std::vector<Bar> before = {}) {
  Validator validator(Timeframe::kOneMinute);
  Validate(validator, std::move(before));
  return Reasons(Validate(validator, {bar}));
}

TEST(ValidatorTest, GoodBarsPassUntouched) {
  Validator validator(Timeframe::kOneMinute);
  const std::vector<Bar> bars = Closes({100 * kUnits, 101 * kUnits, 99 * kUnits});
  const PageVerdict verdict = Validate(validator, bars);
  EXPECT_EQ(verdict.accepted, bars);
  EXPECT_THAT(verdict.issues, IsEmpty());
  EXPECT_EQ(verdict.dropped, 0);
  EXPECT_EQ(validator.counts().total(), 0);
}

TEST(ValidatorTest, EmptyPageIsFine) {
  Validator validator(Timeframe::kOneMinute);
  const PageVerdict verdict = Validate(validator, {});
  EXPECT_THAT(verdict.accepted, IsEmpty());
  EXPECT_THAT(verdict.issues, IsEmpty());
  EXPECT_EQ(validator.bars_checked(), 0);
}

TEST(ValidatorTest, RepeatedOrEarlierTimestampIsNonMonotonic) {
  EXPECT_THAT(ReasonsOf(Good("AAPL", kT0), {Good("AAPL", kT0)}),
              ElementsAre(Reason::kNonMonotonicTimestamp));
  EXPECT_THAT(ReasonsOf(Good("AAPL", kT0 - kMinute), {Good("AAPL", kT0)}),
              ElementsAre(Reason::kNonMonotonicTimestamp));
  EXPECT_THAT(ReasonsOf(Good("AAPL", kT0 + kMinute), {Good("AAPL", kT0)}), IsEmpty());
}

TEST(ValidatorTest, OrderIsJudgedAgainstTheLastInOrderBar) {
  Validator validator(Timeframe::kOneMinute);
  const PageVerdict verdict =
      Validate(validator, {Good("AAPL", kT0), Good("AAPL", kT0 + 2 * kMinute),
                           Good("AAPL", kT0 + kMinute), Good("AAPL", kT0 + 3 * kMinute)});
  ASSERT_THAT(Reasons(verdict), ElementsAre(Reason::kNonMonotonicTimestamp));
  EXPECT_EQ(verdict.issues[0].ts_ns, kT0 + kMinute);
  EXPECT_THAT(verdict.issues[0].detail, HasSubstr("2024-01-02T14:32:00Z"));
  EXPECT_EQ(verdict.accepted.size(), 3u);
}

TEST(ValidatorTest, OrderIsCheckedAcrossPages) {
  Validator validator(Timeframe::kOneMinute);
  Validate(validator, {Good("AAPL", kT0), Good("AAPL", kT0 + kMinute)});
  const PageVerdict verdict =
      Validate(validator, {Good("AAPL", kT0 + kMinute), Good("AAPL", kT0 + 2 * kMinute)});
  EXPECT_THAT(Reasons(verdict), ElementsAre(Reason::kNonMonotonicTimestamp));
  EXPECT_EQ(verdict.accepted.size(), 1u);
}

TEST(ValidatorTest, SeedCarriesTheLastStoredBarIntoAResumedJob) {
  Validator validator(Timeframe::kOneMinute);
  validator.Seed(Good("AAPL", kT0, 100 * kUnits));
  EXPECT_EQ(validator.bars_checked(), 0);
  const PageVerdict verdict = Validate(
      validator, {Good("AAPL", kT0, 100 * kUnits), Good("AAPL", kT0 + kMinute, 200 * kUnits)});
  EXPECT_THAT(Reasons(verdict), ElementsAre(Reason::kNonMonotonicTimestamp, Reason::kExtremeMove));
}

TEST(ValidatorTest, EachSymbolHasItsOwnOrder) {
  Validator validator(Timeframe::kOneMinute);
  // Interleaved symbols: MSFT's first bar is earlier than AAPL's last, which is fine.
  const PageVerdict verdict =
      Validate(validator, {Good("AAPL", kT0 + kMinute), Good("MSFT", kT0),
                           Good("AAPL", kT0 + 2 * kMinute), Good("MSFT", kT0 + kMinute)});
  EXPECT_THAT(verdict.issues, IsEmpty());
  EXPECT_EQ(verdict.accepted.size(), 4u);
}

TEST(ValidatorTest, ZeroOrNegativePriceIsNonPositive) {
  for (int field = 0; field < 4; ++field) {
    Bar bar = Good("AAPL", kT0, 1);  // 0.0001: the smallest positive price is fine
    bar.high = Price::FromUnits(1);
    EXPECT_THAT(ReasonsOf(bar), IsEmpty());
    Price* prices[] = {&bar.open, &bar.high, &bar.low, &bar.close};
    Bar zero = bar;
    Price* zero_prices[] = {&zero.open, &zero.high, &zero.low, &zero.close};
    *zero_prices[field] = Price::FromUnits(0);
    const auto reasons = ReasonsOf(zero);
    EXPECT_THAT(reasons, testing::Contains(Reason::kNonPositivePrice)) << field;
    *prices[field] = Price::FromUnits(-1);
    EXPECT_THAT(ReasonsOf(bar), testing::Contains(Reason::kNonPositivePrice)) << field;
  }
}

TEST(ValidatorTest, NegativeVwapIsNonPositiveButZeroVwapIsTolerated) {
  Bar bar = Good("AAPL", kT0);
  bar.vwap = Price::FromUnits(0);
  EXPECT_THAT(ReasonsOf(bar), IsEmpty());
  bar.vwap = Price::FromUnits(-1);
  EXPECT_THAT(ReasonsOf(bar), ElementsAre(Reason::kNonPositivePrice));
}

TEST(ValidatorTest, NegativeVolumeOrTradeCount) {
  Bar bar = Good("AAPL", kT0);
  bar.volume = -1;
  EXPECT_THAT(ReasonsOf(bar), ElementsAre(Reason::kNegativeVolume));
  bar = Good("AAPL", kT0);
  bar.trade_count = -1;
  EXPECT_THAT(ReasonsOf(bar), ElementsAre(Reason::kNegativeVolume));
  bar.trade_count = 0;
  EXPECT_THAT(ReasonsOf(bar), IsEmpty());
}

TEST(ValidatorTest, OhlcOutsideTheRangeIsInconsistent) {
  Bar bar = Good("AAPL", kT0);
  bar.open = bar.high = bar.low = bar.close = Price::FromUnits(100);  // all equal: fine
  EXPECT_THAT(ReasonsOf(bar), IsEmpty());

  Bar inverted = bar;
  inverted.low = Price::FromUnits(101);
  inverted.open = inverted.close = Price::FromUnits(100);
  EXPECT_THAT(ReasonsOf(inverted), ElementsAre(Reason::kOhlcInconsistent));

  Bar open_above = Good("AAPL", kT0);
  open_above.open = open_above.high + Price::FromUnits(1);
  EXPECT_THAT(ReasonsOf(open_above), ElementsAre(Reason::kOhlcInconsistent));
  Bar close_below = Good("AAPL", kT0);
  close_below.close = close_below.low - Price::FromUnits(1);
  EXPECT_THAT(ReasonsOf(close_below), ElementsAre(Reason::kOhlcInconsistent));
  Bar open_below = Good("AAPL", kT0);
  open_below.open = open_below.low - Price::FromUnits(1);
  EXPECT_THAT(ReasonsOf(open_below), ElementsAre(Reason::kOhlcInconsistent));
  Bar close_above = Good("AAPL", kT0);
  close_above.close = close_above.high + Price::FromUnits(1);
  EXPECT_THAT(ReasonsOf(close_above), ElementsAre(Reason::kOhlcInconsistent));

  // vwap outside [low, high] is Alpaca's normal, not an inconsistency.
  Bar vwap_outside = Good("AAPL", kT0);
  vwap_outside.vwap = vwap_outside.high + Price::FromUnits(5);
  EXPECT_THAT(ReasonsOf(vwap_outside), IsEmpty());
}

TEST(ValidatorTest, IntradayBoundaryByTimeframe) {
  struct Case {
    Timeframe timeframe;
    int64_t ts_ns;
    bool on_boundary;
  };
  const Case cases[] = {
      {Timeframe::kOneMinute, kT0, true},
      {Timeframe::kOneMinute, kT0 + 1, false},
      {Timeframe::kOneMinute, kT0 + 1'000'000'000, false},
      {Timeframe::kFiveMinutes, T("2024-01-02T14:35:00Z"), true},
      {Timeframe::kFiveMinutes, T("2024-01-02T14:36:00Z"), false},
      {Timeframe::kOneHour, T("2024-01-02T14:00:00Z"), true},
      {Timeframe::kOneHour, kT0, false},
      {Timeframe::kFourHours, T("2024-01-02T16:00:00Z"), true},
      {Timeframe::kFourHours, T("2024-01-02T14:00:00Z"), false},
  };
  for (const Case& c : cases) {
    Validator validator(c.timeframe);
    const PageVerdict verdict = Validate(validator, {Good("AAPL", c.ts_ns)});
    if (c.on_boundary) {
      EXPECT_THAT(verdict.issues, IsEmpty()) << c.timeframe << " " << FormatRfc3339(c.ts_ns);
    } else {
      EXPECT_THAT(Reasons(verdict), ElementsAre(Reason::kNotOnBoundary))
          << c.timeframe << " " << FormatRfc3339(c.ts_ns);
    }
  }
}

TEST(ValidatorTest, DailyBarsMustSitAtNewYorkMidnight) {
  Validator validator(Timeframe::kOneDay);
  const PageVerdict verdict =
      Validate(validator, {Good("AAPL", T("2024-01-02T05:00:00Z")),  // EST midnight
                           Good("AAPL", T("2024-03-10T05:00:00Z")),  // DST day: midnight still EST
                           Good("AAPL", T("2024-03-11T04:00:00Z")),  // EDT midnight
                           Good("AAPL", T("2024-03-12T00:00:00Z")),  // UTC midnight: not New York's
                           Good("AAPL", T("2024-11-04T04:00:00Z")),  // EST is back: 04:00Z is 23:00
                           Good("AAPL", T("2024-11-05T05:00:00Z"))});
  ASSERT_THAT(Reasons(verdict), ElementsAre(Reason::kNotOnBoundary, Reason::kNotOnBoundary));
  EXPECT_EQ(verdict.issues[0].ts_ns, T("2024-03-12T00:00:00Z"));
  EXPECT_THAT(verdict.issues[0].detail, HasSubstr("New York midnight"));
  EXPECT_EQ(verdict.issues[1].ts_ns, T("2024-11-04T04:00:00Z"));
}

TEST(ValidatorTest, PriceMoveWithZeroVolume) {
  Bar flat = Good("AAPL", kT0);
  flat.high = flat.low;
  flat.volume = 0;
  flat.trade_count = 0;
  EXPECT_THAT(ReasonsOf(flat), IsEmpty());

  Bar wick = flat;
  wick.high = wick.low + Price::FromUnits(1);  // open == close, but the range moved
  EXPECT_THAT(ReasonsOf(wick), ElementsAre(Reason::kPriceMoveWithZeroVolume));

  Bar moved = flat;
  moved.high = moved.close = moved.low + Price::FromUnits(1);
  EXPECT_THAT(ReasonsOf(moved), ElementsAre(Reason::kPriceMoveWithZeroVolume));

  moved.volume = 1;
  EXPECT_THAT(ReasonsOf(moved), IsEmpty());
}

TEST(ValidatorTest, ExtremeMoveIsMoreThanHalfThePreviousClose) {
  Validator validator(Timeframe::kOneMinute);
  // 100 -> 150 (+50 % exactly) -> 75 (-50 % exactly): both pass.
  EXPECT_THAT(Validate(validator, Closes({100 * kUnits, 150 * kUnits, 75 * kUnits})).issues,
              IsEmpty());
  // 100 -> 150.0001 and 100 -> 49.9999: one unit beyond the limit either way.
  EXPECT_THAT(ReasonsOf(Good("AAPL", kT0 + kMinute, 150 * kUnits + 1), Closes({100 * kUnits})),
              ElementsAre(Reason::kExtremeMove));
  EXPECT_THAT(ReasonsOf(Good("AAPL", kT0 + kMinute, 50 * kUnits - 1), Closes({100 * kUnits})),
              ElementsAre(Reason::kExtremeMove));
  EXPECT_THAT(ReasonsOf(Good("AAPL", kT0 + kMinute, 50 * kUnits), Closes({100 * kUnits})),
              IsEmpty());
}

TEST(ValidatorTest, ExtremeMoveDetailNamesBothCloses) {
  const PageVerdict verdict = [] {
    Validator validator(Timeframe::kOneMinute);
    return Validate(validator, Closes({100 * kUnits, 160 * kUnits}));
  }();
  ASSERT_EQ(verdict.issues.size(), 1u);
  EXPECT_EQ(verdict.issues[0].detail,
            "close 160.0000 moved +60.00% from the previous close 100.0000 (limit 50%)");
}

TEST(ValidatorTest, FirstBarOfASymbolHasNoPreviousClose) {
  Validator validator(Timeframe::kOneMinute);
  Validate(validator, Closes({100 * kUnits}));
  // MSFT at a tenth of AAPL's price: no cross-symbol comparison.
  EXPECT_THAT(Validate(validator, {Good("MSFT", kT0 + kMinute, 10 * kUnits)}).issues, IsEmpty());
}

TEST(ValidatorTest, ExtremeMoveIsCheckedAcrossPages) {
  Validator validator(Timeframe::kOneMinute);
  Validate(validator, Closes({100 * kUnits}));
  const PageVerdict verdict = Validate(validator, Closes({200 * kUnits}, kT0 + kMinute));
  EXPECT_THAT(Reasons(verdict), ElementsAre(Reason::kExtremeMove));
  EXPECT_THAT(verdict.accepted, IsEmpty());
}

TEST(ValidatorTest, SpikeAndReturnAreBothReportedButALevelChangeOnce) {
  Validator spike(Timeframe::kOneMinute);
  EXPECT_THAT(Reasons(Validate(spike, Closes({100 * kUnits, 300 * kUnits, 100 * kUnits}))),
              ElementsAre(Reason::kExtremeMove, Reason::kExtremeMove));
  Validator split(Timeframe::kOneMinute);
  EXPECT_THAT(
      Reasons(Validate(split, Closes({100 * kUnits, 25 * kUnits, 25 * kUnits, 26 * kUnits}))),
      ElementsAre(Reason::kExtremeMove));
}

TEST(ValidatorTest, ExtremeMoveIsExactAtTheLargestPrices) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  Bar top = Good("AAPL", kT0 + kMinute, max - 1);
  top.high = Price::Max();
  Bar base = Good("AAPL", kT0, max / 2 + 1);
  // max - 1 vs (max / 2 + 1): a move of just under 100 %, computed without overflow.
  EXPECT_THAT(ReasonsOf(top, {base}), ElementsAre(Reason::kExtremeMove));
  Bar near = Good("AAPL", kT0, max - 2);
  EXPECT_THAT(ReasonsOf(top, {near}), IsEmpty());
}

TEST(ValidatorTest, OutOfOrderBarDoesNotBecomeThePreviousClose) {
  Validator validator(Timeframe::kOneMinute);
  std::vector<Bar> bars = Closes({100 * kUnits, 100 * kUnits});
  bars.push_back(Good("AAPL", kT0, 10 * kUnits));  // out of order and far off
  bars.push_back(Good("AAPL", kT0 + 2 * kMinute, 101 * kUnits));
  EXPECT_THAT(Reasons(Validate(validator, bars)), ElementsAre(Reason::kNonMonotonicTimestamp));
}

TEST(ValidatorTest, VolumeAboveOneBillion) {
  Bar bar = Good("AAPL", kT0);
  bar.volume = 1'000'000'000;
  EXPECT_THAT(ReasonsOf(bar), IsEmpty());
  bar.volume = 1'000'000'001;
  EXPECT_THAT(ReasonsOf(bar), ElementsAre(Reason::kVolumeTooLarge));
  bar.volume = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(ReasonsOf(bar), ElementsAre(Reason::kVolumeTooLarge));
}

TEST(ValidatorTest, EveryReasonOfABarIsReportedInOrder) {
  Bar bar = Good("AAPL", kT0 + 1);  // off the minute
  bar.low = Price::FromUnits(0);    // non-positive
  bar.high = Price::FromUnits(-5);  // non-positive and below low
  bar.volume = -1;                  // negative
  EXPECT_THAT(ReasonsOf(bar), ElementsAre(Reason::kNonPositivePrice, Reason::kNegativeVolume,
                                          Reason::kOhlcInconsistent, Reason::kNotOnBoundary));
}

TEST(ValidatorTest, IssuesNameSymbolAndTimestamp) {
  Validator validator(Timeframe::kOneMinute);
  Bar bad = Good("MSFT", kT0 + 3 * kMinute);
  bad.volume = 2'000'000'000;
  const PageVerdict verdict = Validate(validator, {Good("AAPL", kT0), bad});
  EXPECT_THAT(verdict.issues, ElementsAre(Issue{bad.symbol, bad.ts_ns, Reason::kVolumeTooLarge,
                                                "volume 2000000000 > 1000000000"}));
}

TEST(ValidatorTest, DropBadKeepsTheGoodBarsInOrder) {
  Validator validator(Timeframe::kOneMinute, Policy::kDropBad);
  std::vector<Bar> bars = {Good("AAPL", kT0), Good("AAPL", kT0 + kMinute),
                           Good("AAPL", kT0 + 2 * kMinute), Good("MSFT", kT0)};
  bars[1].volume = -5;
  const PageVerdict verdict = Validate(validator, bars);
  EXPECT_THAT(verdict.accepted, ElementsAre(bars[0], bars[2], bars[3]));
  EXPECT_EQ(verdict.dropped, 1);
  EXPECT_THAT(verdict.rejected, IsEmpty());
  EXPECT_FALSE(validator.IsRejected(bars[1].symbol));
  // The next page of AAPL is stored as usual.
  EXPECT_EQ(Validate(validator, {Good("AAPL", kT0 + 3 * kMinute)}).accepted.size(), 1u);
}

TEST(ValidatorTest, RejectSymbolDropsEveryBarOfTheSymbolFromItsFirstBadPageOn) {
  Validator validator(Timeframe::kOneMinute, Policy::kRejectSymbol);
  const Symbol aapl = *Symbol::Parse("AAPL");
  const Symbol msft = *Symbol::Parse("MSFT");
  // Page 0 is clean and kept.
  EXPECT_EQ(Validate(validator, {Good("AAPL", kT0), Good("MSFT", kT0)}).accepted.size(), 2u);
  // Page 1: AAPL's good bar before its bad one goes too; MSFT is untouched.
  std::vector<Bar> page = {Good("AAPL", kT0 + kMinute), Good("AAPL", kT0 + 2 * kMinute),
                           Good("AAPL", kT0 + 3 * kMinute), Good("MSFT", kT0 + kMinute)};
  page[1].volume = -1;
  const PageVerdict verdict = Validate(validator, page);
  EXPECT_THAT(verdict.accepted, ElementsAre(page[3]));
  EXPECT_EQ(verdict.dropped, 3);
  EXPECT_THAT(Reasons(verdict), ElementsAre(Reason::kNegativeVolume));
  ASSERT_EQ(verdict.rejected.size(), 1u);
  EXPECT_EQ(verdict.rejected[0].symbol, aapl);
  EXPECT_THAT(verdict.rejected[0].why, HasSubstr("negative_volume"));
  EXPECT_THAT(verdict.rejected[0].why, HasSubstr("2024-01-02T14:32:00Z"));
  EXPECT_TRUE(validator.IsRejected(aapl));
  EXPECT_FALSE(validator.IsRejected(msft));
  // Page 2: AAPL stays rejected (reported once), MSFT still flows.
  const PageVerdict later =
      Validate(validator, {Good("AAPL", kT0 + 4 * kMinute), Good("MSFT", kT0 + 2 * kMinute)});
  EXPECT_THAT(later.accepted, ElementsAre(Good("MSFT", kT0 + 2 * kMinute)));
  EXPECT_THAT(later.rejected, IsEmpty());
  EXPECT_THAT(validator.rejections(), ElementsAre(Field(&Rejection::symbol, aapl)));
  EXPECT_EQ(validator.bars_checked(), 8);
  EXPECT_EQ(validator.bars_accepted(), 4);
  EXPECT_EQ(validator.bars_dropped(), 4);
}

TEST(ValidatorTest, RejectSymbolDropsEarlierBarsOfTheSymbolWhenSymbolsInterleave) {
  Validator validator(Timeframe::kOneMinute, Policy::kRejectSymbol);
  std::vector<Bar> page = {Good("AAPL", kT0), Good("MSFT", kT0), Good("AAPL", kT0 + kMinute),
                           Good("MSFT", kT0 + kMinute)};
  page[2].volume = -1;
  const PageVerdict verdict = Validate(validator, page);
  EXPECT_THAT(verdict.accepted, ElementsAre(page[1], page[3]));
  EXPECT_EQ(verdict.dropped, 2);
}

TEST(ValidatorTest, RejectSymbolKeepsCleanSymbols) {
  Validator validator(Timeframe::kOneMinute, Policy::kRejectSymbol);
  const std::vector<Bar> bars = Closes({100 * kUnits, 101 * kUnits});
  EXPECT_EQ(Validate(validator, bars).accepted, bars);
  EXPECT_THAT(validator.rejections(), IsEmpty());
}

TEST(ValidatorTest, CountsPerReasonAccumulateOverPages) {
  Validator validator(Timeframe::kOneMinute);
  Bar huge = Good("AAPL", kT0);
  huge.volume = 2'000'000'000;
  Validate(validator, {huge, Good("AAPL", kT0)});  // volume; non-monotonic
  Bar off = Good("AAPL", kT0 + kMinute + 1);
  off.volume = 2'000'000'000;
  Validate(validator, {off});  // boundary; volume
  EXPECT_EQ(validator.counts()[Reason::kVolumeTooLarge], 2);
  EXPECT_EQ(validator.counts()[Reason::kNonMonotonicTimestamp], 1);
  EXPECT_EQ(validator.counts()[Reason::kNotOnBoundary], 1);
  EXPECT_EQ(validator.counts()[Reason::kExtremeMove], 0);
  EXPECT_EQ(validator.counts().total(), 4);
  EXPECT_EQ(validator.bars_checked(), 3);
  EXPECT_EQ(validator.bars_dropped(), 3);
}

TEST(ValidatorTest, ReasonCountsAdd) {
  ReasonCounts a;
  a.Add(Reason::kExtremeMove, 2);
  ReasonCounts b;
  b.Add(Reason::kExtremeMove);
  b.Add(Reason::kNegativeVolume);
  a += b;
  EXPECT_EQ(a[Reason::kExtremeMove], 3);
  EXPECT_EQ(a[Reason::kNegativeVolume], 1);
  EXPECT_EQ(a.total(), 4);
  EXPECT_NE(a, b);
}

TEST(ValidatorTest, BarWithoutSymbolIsInvalidArgumentAndChangesNothing) {
  Validator validator(Timeframe::kOneMinute);
  Bar nameless = Good("AAPL", kT0 + kMinute);
  nameless.symbol = Symbol();
  auto verdict = validator.ValidatePage({Good("AAPL", kT0 + 5 * kMinute), nameless});
  EXPECT_EQ(verdict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(verdict.status().message(), HasSubstr("bar 1"));
  EXPECT_EQ(validator.bars_checked(), 0);
  // AAPL's state was not advanced to 14:35 by the refused page.
  EXPECT_THAT(Validate(validator, {Good("AAPL", kT0 + kMinute)}).issues, IsEmpty());
}

TEST(ValidatorTest, ExtremeTimestampsAreReportedNotMisread) {
  Validator validator(Timeframe::kOneDay);
  const PageVerdict verdict =
      Validate(validator, {Good("AAPL", std::numeric_limits<int64_t>::min()),
                           Good("AAPL", std::numeric_limits<int64_t>::max())});
  EXPECT_THAT(Reasons(verdict), ElementsAre(Reason::kNotOnBoundary, Reason::kNotOnBoundary));
}

TEST(ValidatorTest, ReasonNamesRoundTrip) {
  for (Reason reason : kAllReasons) {
    auto parsed = ParseReason(ReasonName(reason));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, reason);
  }
  EXPECT_EQ(ReasonName(Reason::kExtremeMove), "extreme_move");
  auto bad = ParseReason("extreme-move");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("\"extreme-move\""));
  EXPECT_THAT(bad.status().message(), HasSubstr("extreme_move"));
}

TEST(ValidatorTest, PolicyNamesRoundTrip) {
  EXPECT_EQ(PolicyName(Policy::kDropBad), "drop-bad");
  EXPECT_EQ(PolicyName(Policy::kRejectSymbol), "reject-symbol");
  for (Policy policy : {Policy::kDropBad, Policy::kRejectSymbol}) {
    auto parsed = ParsePolicy(PolicyName(policy));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, policy);
  }
  for (std::string_view bad : {"", "drop_bad", "DROP-BAD", "reject"}) {
    auto parsed = ParsePolicy(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("drop-bad, reject-symbol"));
  }
  EXPECT_EQ(Validator(Timeframe::kOneMinute).policy(), Policy::kDropBad);
}

}  // namespace
}  // namespace marketpipe::validation
