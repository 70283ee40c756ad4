#include "marketpipe/core/timeframe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace marketpipe {
namespace {

using ::testing::HasSubstr;

struct NameCase {
  Timeframe::Value value;
  std::string_view ours;
  std::string_view alpaca;
  int64_t seconds;
};

std::ostream& operator<<(std::ostream& os, const NameCase& c) { return os << c.ours; }

class TimeframeNamesTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(TimeframeNamesTest, ParsesBothNames) {
  const NameCase& c = GetParam();
  absl::StatusOr<Timeframe> ours = Timeframe::Parse(c.ours);
  absl::StatusOr<Timeframe> alpaca = Timeframe::Parse(c.alpaca);
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_TRUE(alpaca.ok()) << alpaca.status();
  EXPECT_EQ(*ours, Timeframe(c.value));
  EXPECT_EQ(*alpaca, Timeframe(c.value));
}

TEST_P(TimeframeNamesTest, FormatsOurNameAndAlpacaName) {
  const Timeframe tf = GetParam().value;
  EXPECT_EQ(tf.ToString(), GetParam().ours);
  EXPECT_EQ(tf.AlpacaName(), GetParam().alpaca);
}

TEST_P(TimeframeNamesTest, ToStringRoundTripsThroughParse) {
  const Timeframe tf = GetParam().value;
  EXPECT_EQ(*Timeframe::Parse(tf.ToString()), tf);
  EXPECT_EQ(*Timeframe::Parse(tf.AlpacaName()), tf);
}

TEST_P(TimeframeNamesTest, ReportsItsLength) {
  const Timeframe tf = GetParam().value;
  EXPECT_EQ(tf.seconds(), GetParam().seconds);
  EXPECT_EQ(tf.nanos(), GetParam().seconds * 1'000'000'000);
  EXPECT_EQ(tf.duration(), absl::Seconds(GetParam().seconds));
}

INSTANTIATE_TEST_SUITE_P(
    AllTimeframes, TimeframeNamesTest,
    ::testing::Values(NameCase{Timeframe::kOneMinute, "1m", "1Min", 60},
                      NameCase{Timeframe::kFiveMinutes, "5m", "5Min", 300},
                      NameCase{Timeframe::kFifteenMinutes, "15m", "15Min", 900},
                      NameCase{Timeframe::kThirtyMinutes, "30m", "30Min", 1800},
                      NameCase{Timeframe::kOneHour, "1h", "1Hour", 3600},
                      NameCase{Timeframe::kFourHours, "4h", "4Hour", 14400},
                      NameCase{Timeframe::kOneDay, "1d", "1Day", 86400}));

class TimeframeParseRejectsTest : public ::testing::TestWithParam<std::string_view> {};

TEST_P(TimeframeParseRejectsTest, IsInvalidArgumentNamingTheText) {
  absl::StatusOr<Timeframe> tf = Timeframe::Parse(GetParam());
  ASSERT_FALSE(tf.ok()) << GetParam() << " parsed as " << *tf;
  EXPECT_EQ(tf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tf.status().message()), HasSubstr("\"" + std::string(GetParam()) + "\""));
  EXPECT_THAT(std::string(tf.status().message()), HasSubstr("1m 5m 15m 30m 1h 4h 1d"));
}

INSTANTIATE_TEST_SUITE_P(UnknownNames, TimeframeParseRejectsTest,
                         ::testing::Values("", "1", "m", "2m", "10m", "60m", "1M", "1H", "1D",
                                           "1min", "1MIN", "1hour", "1day", "1Week", "1w", " 1m",
                                           "1m ", "01m", "1Minute", "1Min,"));

TEST(TimeframeTest, DefaultIsOneMinute) { EXPECT_EQ(Timeframe(), Timeframe::kOneMinute); }

TEST(TimeframeTest, OrdersByLength) {
  for (size_t i = 1; i < Timeframe::kAll.size(); ++i) {
    const Timeframe shorter = Timeframe::kAll[i - 1];
    const Timeframe longer = Timeframe::kAll[i];
    EXPECT_LT(shorter, longer);
    EXPECT_LT(shorter.seconds(), longer.seconds());
  }
}

TEST(TimeframeTest, EveryTimeframeDividesADay) {
  for (Timeframe tf : Timeframe::kAll) EXPECT_EQ(86400 % tf.seconds(), 0) << tf;
}

TEST(TimeframeTest, HashesWithAbslHashAndStdHash) {
  EXPECT_EQ(absl::HashOf(Timeframe(Timeframe::kOneHour)), absl::HashOf(*Timeframe::Parse("1h")));
  std::unordered_set<Timeframe> set(Timeframe::kAll.begin(), Timeframe::kAll.end());
  set.insert(*Timeframe::Parse("1Hour"));
  EXPECT_EQ(set.size(), 7u);
}

TEST(TimeframeTest, StreamsOurName) {
  std::ostringstream os;
  os << Timeframe(Timeframe::kFourHours);
  EXPECT_EQ(os.str(), "4h");
}

TEST(TimeframeTest, WorksInSwitch) {
  const Timeframe tf = *Timeframe::Parse("15Min");
  switch (tf.value()) {
    case Timeframe::kFifteenMinutes:
      SUCCEED();
      break;
    default:
      ADD_FAILURE() << tf;
  }
}

}  // namespace
}  // namespace marketpipe
