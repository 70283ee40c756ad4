#include "marketpipe/providers/fake/fake_provider.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "marketpipe/core/time_format.h"
#include "marketpipe/providers/fake/us_session.h"
#include "testing/async_test.h"

namespace marketpipe {
namespace {

using boost::asio::awaitable;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;

constexpr int64_t kMinute = 60'000'000'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t Ns(const std::string& rfc3339) { return ParseRfc3339(rfc3339).value(); }

TimeRange Range(const std::string& start, const std::string& end) {
  return TimeRange::Create(Ns(start), Ns(end)).value();
}

Symbol Sym(const std::string& text) { return Symbol::Parse(text).value(); }

std::vector<Bar> Gen(const std::string& symbol, TimeRange range, Timeframe tf,
                     FakeProvider::Options options = {}) {
  auto bars = FakeProvider::Generate(Sym(symbol), range, tf, options);
  EXPECT_TRUE(bars.ok()) << bars.status();
  return bars.ok() ? *std::move(bars) : std::vector<Bar>{};
}

std::vector<std::string> Timestamps(const std::vector<Bar>& bars) {
  std::vector<std::string> out;
  for (const Bar& bar : bars) out.push_back(FormatRfc3339(bar.ts_ns));
  return out;
}

class FakeProviderTest : public mptest::AsyncTest {
 protected:
  std::vector<Bar> Fetch(FakeProvider& provider, const std::string& symbol, TimeRange range,
                         Timeframe tf) {
    auto bars = RunAsync(provider.FetchBars(Sym(symbol), range, tf));
    EXPECT_TRUE(bars.ok()) << bars.status();
    return bars.ok() ? *std::move(bars) : std::vector<Bar>{};
  }
};

TEST_F(FakeProviderTest, IsNamedFake) {
  FakeProvider provider(time());
  EXPECT_EQ(provider.name(), "fake");
}

TEST_F(FakeProviderTest, FirstBarOfAaplOn20240102IsTheRecordedGoldenValue) {
  // Recorded from the generator. A change here changes every fake data set (stored stores,
  // benchmarks, docs): update these literals on purpose only.
  FakeProvider provider(time());
  const TimeRange day = Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z");
  const auto minutes = Fetch(provider, "AAPL", day, Timeframe::kOneMinute);
  ASSERT_EQ(minutes.size(), 390u);
  EXPECT_EQ(minutes.front().ToString(),
            "AAPL 2024-01-02T14:30:00Z o=463.5645 h=463.6386 l=463.3200 c=463.4377 v=74371 "
            "n=783 vwap=463.4654");
  Bar expected;
  expected.symbol = Sym("AAPL");
  expected.ts_ns = Ns("2024-01-02T14:30:00Z");
  expected.open = Price::FromUnits(4'635'645);
  expected.high = Price::FromUnits(4'636'386);
  expected.low = Price::FromUnits(4'633'200);
  expected.close = Price::FromUnits(4'634'377);
  expected.volume = 74'371;
  expected.trade_count = 783;
  expected.vwap = Price::FromUnits(4'634'654);
  EXPECT_EQ(minutes.front(), expected);
  const auto daily = Fetch(provider, "AAPL", day, Timeframe::kOneDay);
  ASSERT_EQ(daily.size(), 1u);
  EXPECT_EQ(daily.front().ToString(),
            "AAPL 2024-01-02T05:00:00Z o=463.5645 h=466.8354 l=461.8364 c=463.5047 v=14348795 "
            "n=151232 vwap=464.2377");
}

TEST_F(FakeProviderTest, SameBarsTwiceAndAcrossInstances) {
  FakeProvider first(time());
  FakeProvider second(time());
  const TimeRange range = Range("2024-01-02T00:00:00Z", "2024-01-06T00:00:00Z");
  for (Timeframe tf : Timeframe::kAll) {
    const auto a = Fetch(first, "MSFT", range, tf);
    ASSERT_FALSE(a.empty()) << tf;
    EXPECT_EQ(Fetch(first, "MSFT", range, tf), a) << tf;
    EXPECT_EQ(Fetch(second, "MSFT", range, tf), a) << tf;
    EXPECT_EQ(Gen("MSFT", range, tf), a) << tf;
  }
}

TEST_F(FakeProviderTest, DifferentSymbolsGetDifferentMarkets) {
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T15:30:00Z");
  const auto aapl = Gen("AAPL", range, Timeframe::kOneMinute);
  const auto msft = Gen("MSFT", range, Timeframe::kOneMinute);
  ASSERT_EQ(aapl.size(), msft.size());
  EXPECT_NE(aapl.front().close, msft.front().close);
  EXPECT_NE(aapl.front().volume, msft.front().volume);
}

TEST_F(FakeProviderTest, SplitRangesConcatenateToTheWholeRange) {
  const TimeRange whole = Range("2024-03-07T00:00:00Z", "2024-03-13T00:00:00Z");
  // Cut points on and off bucket boundaries, inside and outside sessions.
  const std::vector<std::string> cuts = {"2024-03-07T15:07:13Z", "2024-03-08T00:00:00Z",
                                         "2024-03-08T20:00:00.5Z", "2024-03-11T13:30:00Z",
                                         "2024-03-12T16:00:00Z"};
  for (Timeframe tf : Timeframe::kAll) {
    const auto expected = Gen("IBM", whole, tf);
    ASSERT_FALSE(expected.empty()) << tf;
    std::vector<Bar> joined;
    std::string start = "2024-03-07T00:00:00Z";
    for (size_t i = 0; i <= cuts.size(); ++i) {
      const std::string end = i < cuts.size() ? cuts[i] : "2024-03-13T00:00:00Z";
      const auto part = Gen("IBM", Range(start, end), tf);
      joined.insert(joined.end(), part.begin(), part.end());
      start = end;
    }
    EXPECT_EQ(joined, expected) << tf;
  }
}

TEST_F(FakeProviderTest, NoBarsOnWeekendsOrOutsideTheSession) {
  // Saturday and Sunday.
  EXPECT_TRUE(
      Gen("AAPL", Range("2024-01-06T00:00:00Z", "2024-01-08T00:00:00Z"), Timeframe::kOneMinute)
          .empty());
  // Tuesday before the open and after the close (EST: 14:30Z-21:00Z).
  EXPECT_TRUE(
      Gen("AAPL", Range("2024-01-02T00:00:00Z", "2024-01-02T14:30:00Z"), Timeframe::kOneMinute)
          .empty());
  EXPECT_TRUE(
      Gen("AAPL", Range("2024-01-02T21:00:00Z", "2024-01-03T14:30:00Z"), Timeframe::kOneMinute)
          .empty());
  // Two weeks: ten sessions of 390 minutes, each inside 09:30-16:00 New York time.
  const auto bars =
      Gen("AAPL", Range("2024-01-01T00:00:00Z", "2024-01-15T00:00:00Z"), Timeframe::kOneMinute);
  EXPECT_EQ(bars.size(), 10u * 390u);
  std::map<int64_t, int> per_day;
  for (const Bar& bar : bars) {
    const int64_t seconds = bar.ts_ns / 1'000'000'000;
    const int64_t day = UsEasternDays(seconds);
    const auto session = UsRegularSession(day);
    ASSERT_TRUE(session.has_value()) << bar;
    EXPECT_GE(bar.ts_ns, session->open_ns) << bar;
    EXPECT_LT(bar.ts_ns, session->close_ns) << bar;
    ++per_day[day];
  }
  EXPECT_EQ(per_day.size(), 10u);
  for (const auto& [day, count] : per_day) EXPECT_EQ(count, 390) << day;
}

TEST_F(FakeProviderTest, SessionFollowsDaylightSavingTime) {
  const auto day = [](const std::string& date) {
    return Gen("SPY", Range(date + "T00:00:00Z", date + "T23:59:59Z"), Timeframe::kOneMinute);
  };
  const auto before_spring = day("2024-03-08");  // Friday, EST
  const auto after_spring = day("2024-03-11");   // Monday, EDT
  const auto before_fall = day("2024-11-01");    // Friday, EDT
  const auto after_fall = day("2024-11-04");     // Monday, EST
  ASSERT_EQ(before_spring.size(), 390u);
  ASSERT_EQ(after_spring.size(), 390u);
  ASSERT_EQ(before_fall.size(), 390u);
  ASSERT_EQ(after_fall.size(), 390u);
  EXPECT_EQ(FormatRfc3339(before_spring.front().ts_ns), "2024-03-08T14:30:00Z");
  EXPECT_EQ(FormatRfc3339(before_spring.back().ts_ns), "2024-03-08T20:59:00Z");
  EXPECT_EQ(FormatRfc3339(after_spring.front().ts_ns), "2024-03-11T13:30:00Z");
  EXPECT_EQ(FormatRfc3339(after_spring.back().ts_ns), "2024-03-11T19:59:00Z");
  EXPECT_EQ(FormatRfc3339(before_fall.front().ts_ns), "2024-11-01T13:30:00Z");
  EXPECT_EQ(FormatRfc3339(after_fall.front().ts_ns), "2024-11-04T14:30:00Z");
}

TEST_F(FakeProviderTest, DailyBarsAreStampedAtNewYorkMidnightAsAlpacaStampsThem) {
  const TimeRange week = Range("2024-03-07T00:00:00Z", "2024-03-14T00:00:00Z");
  std::vector<std::string> stamps;
  for (const Bar& bar : Gen("AAPL", week, Timeframe::kOneDay)) {
    stamps.push_back(FormatRfc3339(bar.ts_ns));
  }
  // Thursday and Friday under EST, Monday to Wednesday under EDT (from 2024-03-10); no weekend.
  EXPECT_THAT(stamps, ::testing::ElementsAre("2024-03-07T05:00:00Z", "2024-03-08T05:00:00Z",
                                             "2024-03-11T04:00:00Z", "2024-03-12T04:00:00Z",
                                             "2024-03-13T04:00:00Z"));
  // A range ending exactly on a stamp leaves that day out; one starting on it keeps it.
  EXPECT_EQ(
      Gen("AAPL", Range("2024-03-07T00:00:00Z", "2024-03-07T05:00:00Z"), Timeframe::kOneDay).size(),
      0u);
  EXPECT_EQ(
      Gen("AAPL", Range("2024-03-07T05:00:00Z", "2024-03-07T05:00:01Z"), Timeframe::kOneDay).size(),
      1u);
}

TEST_F(FakeProviderTest, AllHoursModeCoversEveryMinuteOfEveryDay) {
  const FakeProvider::Options all_hours{.all_hours = true};
  const auto saturday = Gen("BTC", Range("2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z"),
                            Timeframe::kOneMinute, all_hours);
  ASSERT_EQ(saturday.size(), 1440u);
  EXPECT_EQ(FormatRfc3339(saturday.front().ts_ns), "2024-01-06T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(saturday.back().ts_ns), "2024-01-06T23:59:00Z");
  const TimeRange tuesday = Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z");
  const auto full = Gen("AAPL", tuesday, Timeframe::kOneMinute, all_hours);
  ASSERT_EQ(full.size(), 1440u);
  // A minute's bar does not depend on the mode: the session's bars are a slice of the 24 h ones.
  const auto session = Gen("AAPL", tuesday, Timeframe::kOneMinute);
  ASSERT_EQ(session.size(), 390u);
  EXPECT_EQ(std::vector<Bar>(full.begin() + 14 * 60 + 30, full.begin() + 21 * 60), session);
  EXPECT_EQ(Gen("AAPL", tuesday, Timeframe::kOneHour, all_hours).size(), 24u);
  EXPECT_EQ(Gen("AAPL", tuesday, Timeframe::kOneDay, all_hours).size(), 1u);
}

TEST_F(FakeProviderTest, BarsKeepOhlcInvariantsAndAWalkThatIsContinuous) {
  for (const std::string symbol : {"AAPL", "MSFT", "BRK.B", "Z", "SPY", "QQQ", "TSLA", "A1"}) {
    const auto bars =
        Gen(symbol, Range("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"), Timeframe::kOneMinute);
    ASSERT_EQ(bars.size(), 23u * 390u) << symbol;  // 23 weekdays in January 2024
    for (size_t i = 0; i < bars.size(); ++i) {
      const Bar& bar = bars[i];
      ASSERT_EQ(bar.symbol.value(), symbol);
      ASSERT_GT(bar.low, Price()) << bar;
      ASSERT_LE(bar.low, std::min(bar.open, bar.close)) << bar;
      ASSERT_GE(bar.high, std::max(bar.open, bar.close)) << bar;
      ASSERT_GE(bar.vwap, bar.low) << bar;
      ASSERT_LE(bar.vwap, bar.high) << bar;
      ASSERT_GT(bar.volume, 0) << bar;
      ASSERT_GT(bar.trade_count, 0) << bar;
      ASSERT_LE(bar.trade_count, bar.volume) << bar;
      ASSERT_LT(bar.volume, 1'000'000'000) << bar;
      ASSERT_EQ(bar.ts_ns % kMinute, 0) << bar;
      // A minute moves well under 1 %: the walk has small steps.
      ASSERT_LT((bar.high - bar.low).units() * 100, bar.low.units()) << bar;
      if (i > 0) {
        ASSERT_GT(bar.ts_ns, bars[i - 1].ts_ns);
        // Within a session each bar opens at the previous close.
        if (bar.ts_ns - bars[i - 1].ts_ns == kMinute) {
          ASSERT_EQ(bar.open, bars[i - 1].close);
        }
        // Never a jump that validation would flag as extreme (> 50 %).
        ASSERT_LT((bar.open - bars[i - 1].close).units() * 2, bars[i - 1].close.units());
        ASSERT_LT((bars[i - 1].close - bar.open).units() * 2, bars[i - 1].close.units());
      }
    }
  }
}

TEST_F(FakeProviderTest, LongerTimeframesAreAlignedAndCountedPerSession) {
  struct Case {
    Timeframe tf;
    size_t winter_bars;  // 2024-01-02, session 14:30Z-21:00Z
    size_t summer_bars;  // 2024-07-02, session 13:30Z-20:00Z
    const char* winter_first;
    const char* summer_first;
  };
  const Case cases[] = {
      {Timeframe::kFiveMinutes, 78, 78, "2024-01-02T14:30:00Z", "2024-07-02T13:30:00Z"},
      {Timeframe::kFifteenMinutes, 26, 26, "2024-01-02T14:30:00Z", "2024-07-02T13:30:00Z"},
      {Timeframe::kThirtyMinutes, 13, 13, "2024-01-02T14:30:00Z", "2024-07-02T13:30:00Z"},
      {Timeframe::kOneHour, 7, 7, "2024-01-02T14:00:00Z", "2024-07-02T13:00:00Z"},
      {Timeframe::kFourHours, 3, 2, "2024-01-02T12:00:00Z", "2024-07-02T12:00:00Z"},
      {Timeframe::kOneDay, 1, 1, "2024-01-02T05:00:00Z", "2024-07-02T04:00:00Z"},
  };
  for (const Case& c : cases) {
    const auto winter = Gen("AAPL", Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"), c.tf);
    const auto summer = Gen("AAPL", Range("2024-07-02T00:00:00Z", "2024-07-03T00:00:00Z"), c.tf);
    ASSERT_EQ(winter.size(), c.winter_bars) << c.tf;
    ASSERT_EQ(summer.size(), c.summer_bars) << c.tf;
    EXPECT_EQ(FormatRfc3339(winter.front().ts_ns), c.winter_first) << c.tf;
    EXPECT_EQ(FormatRfc3339(summer.front().ts_ns), c.summer_first) << c.tf;
    if (c.tf == Timeframe::kOneDay) continue;  // New York midnights, not UTC multiples
    for (const auto* bars : {&winter, &summer}) {
      for (const Bar& bar : *bars) EXPECT_EQ(bar.ts_ns % c.tf.nanos(), 0) << c.tf << " " << bar;
    }
  }
  // One daily bar per weekday, stamped at New York midnight of its date.
  const auto days =
      Gen("AAPL", Range("2024-03-04T00:00:00Z", "2024-03-18T00:00:00Z"), Timeframe::kOneDay);
  EXPECT_EQ(Timestamps(days),
            (std::vector<std::string>{"2024-03-04T05:00:00Z", "2024-03-05T05:00:00Z",
                                      "2024-03-06T05:00:00Z", "2024-03-07T05:00:00Z",
                                      "2024-03-08T05:00:00Z", "2024-03-11T04:00:00Z",
                                      "2024-03-12T04:00:00Z", "2024-03-13T04:00:00Z",
                                      "2024-03-14T04:00:00Z", "2024-03-15T04:00:00Z"}));
}

TEST_F(FakeProviderTest, UnalignedRangesReturnOnlyBucketsStartingInside) {
  const auto minutes =
      Gen("AAPL", Range("2024-01-02T14:30:30Z", "2024-01-02T14:35:00Z"), Timeframe::kOneMinute);
  EXPECT_EQ(Timestamps(minutes),
            (std::vector<std::string>{"2024-01-02T14:31:00Z", "2024-01-02T14:32:00Z",
                                      "2024-01-02T14:33:00Z", "2024-01-02T14:34:00Z"}));
  // The 14:00Z hour bar starts before 14:30:30Z, so it is not in the range.
  const auto hours =
      Gen("AAPL", Range("2024-01-02T14:30:30Z", "2024-01-02T16:00:00Z"), Timeframe::kOneHour);
  EXPECT_EQ(Timestamps(hours), std::vector<std::string>{"2024-01-02T15:00:00Z"});
  EXPECT_TRUE(
      Gen("AAPL", Range("2024-01-02T14:30:30Z", "2024-01-02T14:31:00Z"), Timeframe::kOneMinute)
          .empty());
}

TEST_F(FakeProviderTest, LongerTimeframesAggregateTheMinuteBars) {
  const TimeRange week = Range("2024-03-04T00:00:00Z", "2024-03-16T00:00:00Z");
  const auto minutes = Gen("NVDA", week, Timeframe::kOneMinute);
  for (Timeframe tf :
       {Timeframe::kFiveMinutes, Timeframe::kOneHour, Timeframe::kFourHours, Timeframe::kOneDay}) {
    const auto bars = Gen("NVDA", week, tf);
    ASSERT_FALSE(bars.empty()) << tf;
    size_t covered = 0;
    for (const Bar& bar : bars) {
      std::vector<Bar> inside;
      for (const Bar& m : minutes) {
        if (m.ts_ns >= bar.ts_ns && m.ts_ns < bar.ts_ns + tf.nanos()) inside.push_back(m);
      }
      ASSERT_FALSE(inside.empty()) << bar;
      covered += inside.size();
      int64_t volume = 0;
      int64_t trades = 0;
      Price high = inside.front().high;
      Price low = inside.front().low;
      for (const Bar& m : inside) {
        volume += m.volume;
        trades += m.trade_count;
        high = std::max(high, m.high);
        low = std::min(low, m.low);
      }
      EXPECT_EQ(bar.open, inside.front().open) << tf << " " << bar;
      EXPECT_EQ(bar.close, inside.back().close) << tf << " " << bar;
      EXPECT_EQ(bar.high, high) << tf << " " << bar;
      EXPECT_EQ(bar.low, low) << tf << " " << bar;
      EXPECT_EQ(bar.volume, volume) << tf << " " << bar;
      EXPECT_EQ(bar.trade_count, trades) << tf << " " << bar;
      EXPECT_GE(bar.vwap, low) << tf << " " << bar;
      EXPECT_LE(bar.vwap, high) << tf << " " << bar;
    }
    EXPECT_EQ(covered, minutes.size()) << tf;
  }
}

TEST_F(FakeProviderTest, EmptySymbolIsInvalidArgument) {
  FakeProvider provider(time());
  auto bars = RunAsync(provider.FetchBars(
      Symbol(), Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"), Timeframe::kOneMinute));
  EXPECT_EQ(bars.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FakeProviderTest, TooManyBarsIsOutOfRange) {
  const TimeRange month = Range("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z");
  EXPECT_EQ(FakeProvider::Generate(Sym("AAPL"), month, Timeframe::kOneMinute, {.max_bars = 1000})
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(FakeProvider::Generate(Sym("AAPL"), month, Timeframe::kOneMinute,
                                   {.all_hours = true, .max_bars = 1000})
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(
      FakeProvider::Generate(Sym("AAPL"), month, Timeframe::kOneDay, {.max_bars = 23}).ok());
}

TEST_F(FakeProviderTest, RangesAtTheEdgesOfTimeAreEmptyNotBroken) {
  const auto early = TimeRange::Create(std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::min() + kDay)
                         .value();
  const auto late = TimeRange::Create(std::numeric_limits<int64_t>::max() - kDay,
                                      std::numeric_limits<int64_t>::max())
                        .value();
  for (Timeframe tf : Timeframe::kAll) {
    EXPECT_TRUE(Gen("AAPL", early, tf).empty()) << tf;
    EXPECT_TRUE(Gen("AAPL", late, tf).empty()) << tf;
  }
  // Before 1970 works like any other time.
  EXPECT_EQ(
      Gen("AAPL", Range("1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z"), Timeframe::kOneMinute)
          .size(),
      390u);
}

TEST_F(FakeProviderTest, FetchBarsCompletesAsynchronously) {
  FakeProvider provider(time());
  bool done = false;
  boost::asio::co_spawn(
      io(),
      [&]() -> awaitable<void> {
        auto bars = co_await provider.FetchBars(
            Sym("AAPL"), Range("2024-01-02T14:30:00Z", "2024-01-02T14:31:00Z"),
            Timeframe::kOneMinute);
        EXPECT_TRUE(bars.ok());
        done = true;
      },
      boost::asio::detached);
  EXPECT_FALSE(done) << "FetchBars completed inline, inside co_spawn";
  Poll();
  EXPECT_TRUE(done);
  EXPECT_EQ(time().elapsed(), 0s);
}

TEST_F(FakeProviderTest, LatencyIsWaitedOnTheTimeSourceAndIsCancellable) {
  FakeProvider provider(time(), {.latency = 250ms});
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T14:35:00Z");
  const auto bars = Fetch(provider, "AAPL", range, Timeframe::kOneMinute);
  EXPECT_EQ(bars.size(), 5u);
  EXPECT_EQ(time().elapsed(), 250ms);
  auto raced = RunAsync([&]() -> awaitable<bool> {
    auto result = co_await (provider.FetchBars(Sym("AAPL"), range, Timeframe::kOneMinute) ||
                            time().SleepFor(100ms));
    co_return result.index() == 1;
  }());
  EXPECT_TRUE(raced);
  EXPECT_EQ(time().elapsed(), 350ms);
}

// Collects every page of a Fetch.
struct Collected {
  absl::Status status;
  std::vector<FetchPage> pages;

  std::vector<Bar> Bars() const {
    std::vector<Bar> out;
    for (const FetchPage& p : pages) out.insert(out.end(), p.bars.begin(), p.bars.end());
    return out;
  }
  std::vector<std::string> Completed() const {
    std::vector<std::string> out;
    for (const FetchPage& p : pages) {
      for (const Symbol& s : p.completed) out.push_back(s.value());
    }
    return out;
  }
};

awaitable<Collected> Collect(Provider& provider, FetchRequest request, int stop_after = -1) {
  Collected c;
  c.status = co_await provider.Fetch(std::move(request),
                                     [&c, stop_after](FetchPage page) -> awaitable<absl::Status> {
                                       c.pages.push_back(std::move(page));
                                       if (static_cast<int>(c.pages.size()) == stop_after) {
                                         co_return absl::AbortedError("sink says stop");
                                       }
                                       co_return absl::OkStatus();
                                     });
  co_return c;
}

FetchRequest Request(std::vector<std::string> symbols, TimeRange range,
                     Timeframe tf = Timeframe::kOneMinute) {
  FetchRequest r;
  for (const auto& s : symbols) r.symbols.push_back(Sym(s));
  r.range = range;
  r.timeframe = tf;
  return r;
}

bool SameBars(const std::vector<Bar>& a, const std::vector<Bar>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) return false;
  }
  return true;
}

TEST_F(FakeProviderTest, FetchPagesAcrossSymbolsSortedBySymbolThenTime) {
  FakeProvider provider(time(), {.page_size = 4});
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T14:40:00Z");
  const Collected c = RunAsync(Collect(provider, Request({"MSFT", "AAPL", "IBM"}, range)));
  ASSERT_TRUE(c.status.ok()) << c.status;
  // 30 bars in pages of 4: 8 pages, the last one half full.
  ASSERT_EQ(c.pages.size(), 8u);
  for (size_t i = 0; i < c.pages.size(); ++i) {
    EXPECT_EQ(c.pages[i].index, static_cast<int>(i));
    EXPECT_EQ(c.pages[i].feed, "fake");
    EXPECT_EQ(c.pages[i].adjustment, "raw");
    EXPECT_LE(c.pages[i].bars.size(), 4u);
  }
  std::vector<Bar> expected = Gen("AAPL", range, Timeframe::kOneMinute);
  for (const char* s : {"IBM", "MSFT"}) {
    auto more = Gen(s, range, Timeframe::kOneMinute);
    expected.insert(expected.end(), more.begin(), more.end());
  }
  EXPECT_TRUE(SameBars(c.Bars(), expected));
  // AAPL's last bar is bar 9 (page 2), IBM's bar 19 (page 4), MSFT's bar 29 (page 7).
  EXPECT_EQ(c.Completed(), (std::vector<std::string>{"AAPL", "IBM", "MSFT"}));
  ASSERT_EQ(c.pages[2].completed.size(), 1u);
  EXPECT_EQ(c.pages[2].completed[0].value(), "AAPL");
  ASSERT_EQ(c.pages[4].completed.size(), 1u);
  EXPECT_EQ(c.pages[4].completed[0].value(), "IBM");
  ASSERT_EQ(c.pages[7].completed.size(), 1u);
}

TEST_F(FakeProviderTest, SymbolWhoseBarsEndExactlyAtAPageEndCompletesOnThatPage) {
  FakeProvider provider(time(), {.page_size = 5});
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T14:35:00Z");
  const Collected c = RunAsync(Collect(provider, Request({"AAPL", "IBM"}, range)));
  ASSERT_TRUE(c.status.ok()) << c.status;
  ASSERT_EQ(c.pages.size(), 2u);
  EXPECT_EQ(c.pages[0].completed, std::vector<Symbol>{Sym("AAPL")});
  EXPECT_EQ(c.pages[1].completed, std::vector<Symbol>{Sym("IBM")});
}

TEST_F(FakeProviderTest, SymbolsWithoutBarsAreStillCompleted) {
  FakeProvider provider(time(), {.page_size = 3});
  // A Saturday: no session, no bars.
  const TimeRange saturday = Range("2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z");
  const Collected c = RunAsync(Collect(provider, Request({"AAPL", "IBM", "MSFT"}, saturday)));
  ASSERT_TRUE(c.status.ok()) << c.status;
  ASSERT_EQ(c.pages.size(), 1u);
  EXPECT_TRUE(c.pages[0].bars.empty());
  EXPECT_EQ(c.Completed(), (std::vector<std::string>{"AAPL", "IBM", "MSFT"}));
}

TEST_F(FakeProviderTest, RangeEndingExactlyOnABarLeavesThatBarOut) {
  FakeProvider provider(time(), {.page_size = 7});
  const TimeRange range = Range("2024-01-02T14:00:00Z", "2024-01-02T15:00:00Z");
  const Collected c = RunAsync(Collect(provider, Request({"AAPL"}, range)));
  ASSERT_TRUE(c.status.ok()) << c.status;
  const auto bars = c.Bars();
  ASSERT_EQ(bars.size(), 30u);  // 14:30 .. 14:59; the session opens at 14:30Z in winter
  EXPECT_EQ(FormatRfc3339(bars.back().ts_ns), "2024-01-02T14:59:00Z");
  for (const Bar& bar : bars) EXPECT_TRUE(range.Contains(bar.ts_ns));
  // The next range starts where this one ended: together they hold every bar once.
  const auto next = Fetch(provider, "AAPL", Range("2024-01-02T15:00:00Z", "2024-01-02T15:02:00Z"),
                          Timeframe::kOneMinute);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(FormatRfc3339(next.front().ts_ns), "2024-01-02T15:00:00Z");
}

TEST_F(FakeProviderTest, FetchBarsEqualsGenerate) {
  FakeProvider provider(time(), {.page_size = 100});
  const TimeRange day = Range("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z");
  EXPECT_TRUE(SameBars(Fetch(provider, "AAPL", day, Timeframe::kOneMinute),
                       Gen("AAPL", day, Timeframe::kOneMinute)));
}

TEST_F(FakeProviderTest, BadRequestsAreInvalidArgument) {
  FakeProvider provider(time(), {.max_symbols_per_request = 2});
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T14:40:00Z");
  auto code = [&](FetchRequest r) {
    return RunAsync(Collect(provider, std::move(r))).status.code();
  };
  EXPECT_EQ(code(Request({}, range)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Request({"AAPL", "AAPL"}, range)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Request({"AAPL", "IBM", "MSFT"}, range)), absl::StatusCode::kInvalidArgument);
  FetchRequest split = Request({"AAPL"}, range);
  split.adjustment = "split";
  EXPECT_EQ(code(split), absl::StatusCode::kInvalidArgument);
  FetchRequest iex = Request({"AAPL"}, range);
  iex.feed = "iex";
  EXPECT_EQ(code(iex), absl::StatusCode::kInvalidArgument);
  FetchRequest empty_symbol = Request({"AAPL"}, range);
  empty_symbol.symbols.push_back(Symbol());
  EXPECT_EQ(code(empty_symbol), absl::StatusCode::kInvalidArgument);
  FetchRequest fake_feed = Request({"AAPL", "IBM"}, range);
  fake_feed.feed = "fake";
  EXPECT_EQ(code(fake_feed), absl::StatusCode::kOk);
  EXPECT_EQ(provider.max_symbols_per_request(), 2);
}

TEST_F(FakeProviderTest, SinkErrorEndsTheFetchWithThatError) {
  FakeProvider provider(time(), {.page_size = 2});
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T14:40:00Z");
  const Collected c = RunAsync(Collect(provider, Request({"AAPL"}, range), /*stop_after=*/2));
  EXPECT_EQ(c.status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(c.pages.size(), 2u);
}

TEST_F(FakeProviderTest, DestroyingTheProviderMidFetchIsSafe) {
  auto provider =
      std::make_unique<FakeProvider>(time(), FakeProviderOptions{.latency = 100ms, .page_size = 2});
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T14:40:00Z");
  std::optional<absl::StatusOr<std::vector<Bar>>> result;
  boost::asio::co_spawn(io(), provider->FetchBars(Sym("AAPL"), range, Timeframe::kOneMinute),
                        [&](std::exception_ptr e, absl::StatusOr<std::vector<Bar>> bars) {
                          EXPECT_FALSE(e);
                          result = std::move(bars);
                        });
  Poll();
  provider.reset();  // its options and clock pointer are gone; the fetch must not need them
  RunAsync(time().SleepFor(1s));
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_EQ((*result)->size(), 10u);
}

TEST_F(FakeProviderTest, CancellingBetweenPagesIsCancelledStatus) {
  FakeProvider provider(time(), {.latency = 100ms, .page_size = 2});
  const TimeRange range = Range("2024-01-02T14:30:00Z", "2024-01-02T14:40:00Z");
  std::optional<Collected> result;
  const FetchRequest request = Request({"AAPL"}, range);
  RunAsync([&]() -> awaitable<void> {
    auto fetch = [&]() -> awaitable<void> { result = co_await Collect(provider, request); };
    co_await (fetch() || time().SleepFor(250ms));
  }());
  ASSERT_TRUE(result.has_value()) << "Fetch threw instead of returning CANCELLED";
  EXPECT_EQ(result->status.code(), absl::StatusCode::kCancelled) << result->status;
  EXPECT_EQ(result->pages.size(), 2u);
  EXPECT_EQ(time().elapsed(), 250ms);
}

}  // namespace
}  // namespace marketpipe
